/* vault.h — every secret operation: the vault key, sealing and opening card codes,
 * keyed duplicate hashes, password hashing (Argon2id), bearer tokens.
 * Owns no I/O beyond the key file; never logs or returns a secret in an error. */
#ifndef TESSERA_VAULT_VAULT_H
#define TESSERA_VAULT_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define VAULT_KEY_BYTES 32
#define VAULT_CODE_HASH_BYTES 16 /* keyed BLAKE2b-128: dedup only, never reversible */
#define VAULT_NONCE_BYTES 24     /* XChaCha20-Poly1305 */
#define VAULT_TAG_BYTES 16
#define VAULT_SEAL_OVERHEAD (VAULT_NONCE_BYTES + VAULT_TAG_BYTES)
#define VAULT_PASSWORD_HASH_BYTES 128 /* crypto_pwhash_STRBYTES */
#define VAULT_TOKEN_TEXT_BYTES 65     /* 32 random bytes as hex + NUL */
#define VAULT_TOKEN_HASH_BYTES 32

struct vault {
    unsigned char seal_key[VAULT_KEY_BYTES];
    unsigned char hash_key[VAULT_KEY_BYTES];
};

/* Must be called once before any other vault function (initialises libsodium). */
must_check enum status vault_global_init(void);

/* Creates PATH with mode 0600 holding 32 random bytes; fails if it exists. */
must_check enum status vault_key_create(const char *path);
/* Loads the key file and derives the sealing and hashing subkeys. */
must_check enum status vault_load(struct vault *vault, const char *path);
void vault_from_master(struct vault *vault, const unsigned char master[VAULT_KEY_BYTES]);
void vault_wipe(struct vault *vault);

void vault_code_hash(const struct vault *vault, const char *code, size_t code_len,
                     unsigned char out[VAULT_CODE_HASH_BYTES]);
/* out must hold code_len + VAULT_SEAL_OVERHEAD bytes: nonce || ciphertext || tag. */
void vault_code_seal(const struct vault *vault, int64_t code_id, const char *code, size_t code_len,
                     unsigned char *out);
/* Writes the plaintext and a NUL into out (out_cap ≥ sealed_len - overhead + 1).
 * STATUS_TAMPERED when the id, nonce, ciphertext or tag was altered. */
must_check enum status vault_code_open(const struct vault *vault, int64_t code_id,
                                       const unsigned char *sealed, size_t sealed_len, char *out,
                                       size_t out_cap, size_t *out_len);

must_check enum status vault_password_hash(const char *password, size_t password_len,
                                           char out[VAULT_PASSWORD_HASH_BYTES]);
bool vault_password_verify(const char *hash, const char *password, size_t password_len);
/* A fixed-cost verify against a dummy hash, so unknown users take as long as known ones. */
void vault_password_burn(const char *password, size_t password_len);

void vault_token_new(char out[VAULT_TOKEN_TEXT_BYTES]);
void vault_token_hash(const char *token, size_t token_len,
                      unsigned char out[VAULT_TOKEN_HASH_BYTES]);
/* Fills out with random printable characters (for generated passwords). */
void vault_random_password(char *out, size_t len);

#define VAULT_AUDIT_HASH_BYTES 32
/* The audit chain link: BLAKE2b-256(prev || id || at || actor || action || object || detail). */
void vault_audit_hash(const unsigned char prev[VAULT_AUDIT_HASH_BYTES], int64_t id, int64_t at,
                      int64_t actor_id, const char *action, const char *object, const char *detail,
                      unsigned char out[VAULT_AUDIT_HASH_BYTES]);

#endif
