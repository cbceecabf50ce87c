/* vault.c — libsodium-backed sealing, hashing and password handling.
 * The master key never leaves this file: it is split into subkeys with crypto_kdf. */
#include "vault/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "base/assert.h"

_Static_assert(VAULT_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(VAULT_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(VAULT_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(VAULT_PASSWORD_HASH_BYTES == crypto_pwhash_STRBYTES, "pwhash str");
_Static_assert(VAULT_KEY_BYTES == crypto_kdf_KEYBYTES, "kdf key");

enum { VAULT_SUBKEY_SEAL = 1, VAULT_SUBKEY_HASH = 2 };
static const char vault_kdf_context[crypto_kdf_CONTEXTBYTES] = {'t', 'e', 's', 's',
                                                                'e', 'r', 'a', '1'};

enum status vault_global_init(void) { return sodium_init() < 0 ? STATUS_CRYPTO : STATUS_OK; }

enum status vault_key_create(const char *path) {
    verify(path != 0);
    unsigned char master[VAULT_KEY_BYTES];
    randombytes_buf(master, sizeof master);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return STATUS_IO;
    enum status status = STATUS_OK;
    if (write(fd, master, sizeof master) != (ssize_t)sizeof master) status = STATUS_IO;
    if (status == STATUS_OK && fsync(fd) != 0) status = STATUS_IO;
    if (close(fd) != 0) status = STATUS_IO;
    sodium_memzero(master, sizeof master);
    return status;
}

enum status vault_load(struct vault *vault, const char *path) {
    verify(vault != 0 && path != 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return STATUS_IO;
    unsigned char master[VAULT_KEY_BYTES + 1];
    ssize_t n = read(fd, master, sizeof master);
    close(fd);
    if (n != VAULT_KEY_BYTES) {
        sodium_memzero(master, sizeof master);
        return STATUS_CRYPTO;
    }
    vault_from_master(vault, master);
    sodium_memzero(master, sizeof master);
    return STATUS_OK;
}

void vault_from_master(struct vault *vault, const unsigned char master[VAULT_KEY_BYTES]) {
    verify(vault != 0 && master != 0);
    verify(crypto_kdf_derive_from_key(vault->seal_key, sizeof vault->seal_key, VAULT_SUBKEY_SEAL,
                                      vault_kdf_context, master) == 0);
    verify(crypto_kdf_derive_from_key(vault->hash_key, sizeof vault->hash_key, VAULT_SUBKEY_HASH,
                                      vault_kdf_context, master) == 0);
}

void vault_wipe(struct vault *vault) { sodium_memzero(vault, sizeof *vault); }

void vault_code_hash(const struct vault *vault, const char *code, size_t code_len,
                     unsigned char out[VAULT_CODE_HASH_BYTES]) {
    verify(vault != 0 && code != 0 && out != 0);
    verify(code_len > 0);
    verify(crypto_generichash(out, VAULT_CODE_HASH_BYTES, (const unsigned char *)code, code_len,
                              vault->hash_key, sizeof vault->hash_key) == 0);
}

static void vault_code_ad(int64_t code_id, unsigned char ad[8]) {
    uint64_t id = (uint64_t)code_id;
    for (int i = 0; i < 8; i++)
        ad[i] = (unsigned char)(id >> (8 * i));
}

/* Nonces come from a per-thread pool of random bytes refilled in bulk: one getrandom()
 * per VAULT_NONCE_POOL_BYTES instead of one per code (imports seal millions). */
#define VAULT_NONCE_POOL_BYTES (VAULT_NONCE_BYTES * 512)
static _Thread_local unsigned char vault_nonce_pool[VAULT_NONCE_POOL_BYTES];
static _Thread_local size_t vault_nonce_used = VAULT_NONCE_POOL_BYTES;

static void vault_nonce(unsigned char out[VAULT_NONCE_BYTES]) {
    if (vault_nonce_used == VAULT_NONCE_POOL_BYTES) {
        randombytes_buf(vault_nonce_pool, sizeof vault_nonce_pool);
        vault_nonce_used = 0;
    }
    memcpy(out, vault_nonce_pool + vault_nonce_used, VAULT_NONCE_BYTES);
    sodium_memzero(vault_nonce_pool + vault_nonce_used, VAULT_NONCE_BYTES); /* never reused */
    vault_nonce_used += VAULT_NONCE_BYTES;
}

void vault_code_seal(const struct vault *vault, int64_t code_id, const char *code, size_t code_len,
                     unsigned char *out) {
    verify(vault != 0 && code != 0 && out != 0);
    verify(code_id > 0);
    unsigned char ad[8];
    vault_code_ad(code_id, ad);
    vault_nonce(out);
    unsigned long long written = 0;
    verify(crypto_aead_xchacha20poly1305_ietf_encrypt(out + VAULT_NONCE_BYTES, &written,
                                                      (const unsigned char *)code, code_len, ad,
                                                      sizeof ad, 0, out, vault->seal_key) == 0);
    verify(written == code_len + VAULT_TAG_BYTES);
}

enum status vault_code_open(const struct vault *vault, int64_t code_id, const unsigned char *sealed,
                            size_t sealed_len, char *out, size_t out_cap, size_t *out_len) {
    verify(vault != 0 && sealed != 0 && out != 0 && out_len != 0);
    if (sealed_len < VAULT_SEAL_OVERHEAD) return STATUS_TAMPERED;
    size_t plain_len = sealed_len - VAULT_SEAL_OVERHEAD;
    verify(out_cap > plain_len);
    unsigned char ad[8];
    vault_code_ad(code_id, ad);
    unsigned long long written = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            (unsigned char *)out, &written, 0, sealed + VAULT_NONCE_BYTES,
            sealed_len - VAULT_NONCE_BYTES, ad, sizeof ad, sealed, vault->seal_key) != 0) {
        return STATUS_TAMPERED;
    }
    verify(written == plain_len);
    out[plain_len] = 0;
    *out_len = plain_len;
    return STATUS_OK;
}

enum status vault_password_hash(const char *password, size_t password_len,
                                char out[VAULT_PASSWORD_HASH_BYTES]) {
    verify(password != 0 && out != 0);
    if (crypto_pwhash_str_alg(out, password, password_len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return STATUS_NOMEM;
    }
    return STATUS_OK;
}

bool vault_password_verify(const char *hash, const char *password, size_t password_len) {
    verify(hash != 0 && password != 0);
    return crypto_pwhash_str_verify(hash, password, password_len) == 0;
}

static char vault_dummy_hash[VAULT_PASSWORD_HASH_BYTES];
static pthread_once_t vault_dummy_once = PTHREAD_ONCE_INIT;

static void vault_dummy_init(void) {
    verify(vault_password_hash("tessera-dummy", 13, vault_dummy_hash) == STATUS_OK);
}

void vault_password_burn(const char *password, size_t password_len) {
    verify(pthread_once(&vault_dummy_once, vault_dummy_init) == 0);
    (void)vault_password_verify(vault_dummy_hash, password, password_len);
}

void vault_token_new(char out[VAULT_TOKEN_TEXT_BYTES]) {
    verify(out != 0);
    unsigned char raw[(VAULT_TOKEN_TEXT_BYTES - 1) / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, VAULT_TOKEN_TEXT_BYTES, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

void vault_token_hash(const char *token, size_t token_len,
                      unsigned char out[VAULT_TOKEN_HASH_BYTES]) {
    verify(token != 0 && out != 0);
    verify(crypto_generichash(out, VAULT_TOKEN_HASH_BYTES, (const unsigned char *)token, token_len,
                              0, 0) == 0);
}

void vault_random_password(char *out, size_t len) {
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    verify(out != 0 && len > 1);
    for (size_t i = 0; i + 1 < len; i++) {
        out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof alphabet - 1))];
    }
    out[len - 1] = 0;
}

static void vault_hash_i64(crypto_generichash_state *state, int64_t value) {
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)((uint64_t)value >> (8 * i));
    crypto_generichash_update(state, bytes, sizeof bytes);
}

static void vault_hash_text(crypto_generichash_state *state, const char *text) {
    crypto_generichash_update(state, (const unsigned char *)text, strlen(text) + 1);
}

void vault_audit_hash(const unsigned char prev[VAULT_AUDIT_HASH_BYTES], int64_t id, int64_t at,
                      int64_t actor_id, const char *action, const char *object, const char *detail,
                      unsigned char out[VAULT_AUDIT_HASH_BYTES]) {
    verify(prev != 0 && action != 0 && object != 0 && detail != 0 && out != 0);
    verify(id > 0);
    crypto_generichash_state state;
    verify(crypto_generichash_init(&state, 0, 0, VAULT_AUDIT_HASH_BYTES) == 0);
    crypto_generichash_update(&state, prev, VAULT_AUDIT_HASH_BYTES);
    vault_hash_i64(&state, id);
    vault_hash_i64(&state, at);
    vault_hash_i64(&state, actor_id);
    vault_hash_text(&state, action);
    vault_hash_text(&state, object);
    vault_hash_text(&state, detail);
    verify(crypto_generichash_final(&state, out, VAULT_AUDIT_HASH_BYTES) == 0);
}
