/* crypto.h — the primitives the gateways' protocols need, over OpenSSL libcrypto (RSA, AES-GCM,
 * MD5) and libsodium (HMAC-SHA256, base64, constant-time compares). Nothing here logs. */
#ifndef TESSERA_PAY_CRYPTO_H
#define TESSERA_PAY_CRYPTO_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/mem.h"
#include "base/status.h"

/* Standard base64 (with padding) into out; false when text is not base64. */
bool pay_base64_decode(const char *text, size_t len, struct buf *out);
/* SHA256withRSA, PKCS#1 v1.5. */
bool pay_rsa_sha256_verify(EVP_PKEY *key, const void *message, size_t len,
                           const unsigned char *signature, size_t signature_len);
/* AES-256-GCM: sealed is ciphertext ‖ 16-byte tag; the plaintext is appended to out. False
 * when the tag does not authenticate (out unchanged). */
bool pay_aes256gcm_open(const unsigned char key[32], const void *nonce, size_t nonce_len,
                        const void *aad, size_t aad_len, const unsigned char *sealed,
                        size_t sealed_len, struct buf *out);
/* Lower-case hex digests. */
void pay_md5_hex(const void *data, size_t len, char out[33]);
void pay_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                         char out[65]);
/* Signing our requests (outbound.h). SHA256withRSA (PKCS#1 v1.5) with a private key, the
 * signature appended to out in standard base64; STATUS_CRYPTO when the key cannot sign. */
must_check enum status pay_rsa_sha256_sign(EVP_PKEY *key, const void *message, size_t len,
                                           struct buf *out);
/* Standard base64 (with padding) of data, appended to out. */
must_check enum status pay_base64_encode(const void *data, size_t len, struct buf *out);
/* 32 random lower-case hex digits (a request nonce). */
void pay_nonce(char out[33]);

/* Constant-time equality of two strings of the same length; false for different lengths. */
bool pay_equal(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
