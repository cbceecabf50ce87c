/* crypto.c — protocol primitives (see crypto.h). */
#include "pay/crypto.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

bool pay_base64_decode(const char *text, size_t len, struct buf *out) {
    verify(text != 0 && out != 0);
    size_t max = len / 4 * 3 + 3;
    unsigned char *decoded = mem_alloc(max);
    size_t n = 0;
    const char *end = 0;
    bool ok = sodium_base642bin(decoded, max, text, len, 0, &n, &end,
                                sodium_base64_VARIANT_ORIGINAL) == 0 &&
              end == text + len;
    if (ok) ok = buf_append(out, decoded, n) == STATUS_OK;
    free(decoded);
    return ok;
}

bool pay_rsa_sha256_verify(EVP_PKEY *key, const void *message, size_t len,
                           const unsigned char *signature, size_t signature_len) {
    verify(key != 0 && message != 0 && signature != 0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == 0) return false;
    bool ok = EVP_DigestVerifyInit(ctx, 0, EVP_sha256(), 0, key) == 1 &&
              EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
              EVP_DigestVerify(ctx, signature, signature_len, message, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

bool pay_aes256gcm_open(const unsigned char key[32], const void *nonce, size_t nonce_len,
                        const void *aad, size_t aad_len, const unsigned char *sealed,
                        size_t sealed_len, struct buf *out) {
    verify(key != 0 && nonce != 0 && (aad != 0 || aad_len == 0) && sealed != 0 && out != 0);
    enum { TAG = 16 };
    if (sealed_len < TAG || nonce_len == 0 || nonce_len > 64) return false;
    size_t text_len = sealed_len - TAG;
    unsigned char *plain = mem_alloc(text_len + 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, tail = 0;
    bool ok = ctx != 0 && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), 0, 0, 0) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)nonce_len, 0) == 1 &&
              EVP_DecryptInit_ex(ctx, 0, 0, key, nonce) == 1;
    if (ok && aad_len > 0) ok = EVP_DecryptUpdate(ctx, 0, &n, aad, (int)aad_len) == 1;
    if (ok) {
        ok = EVP_DecryptUpdate(ctx, plain, &n, sealed, (int)text_len) == 1;
    }
    if (ok) {
        ok =
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(sealed + text_len)) == 1 &&
            EVP_DecryptFinal_ex(ctx, plain + n, &tail) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (ok) ok = buf_append(out, plain, (size_t)(n + tail)) == STATUS_OK;
    sodium_memzero(plain, text_len + 16);
    free(plain);
    return ok;
}

enum status pay_rsa_sha256_sign(EVP_PKEY *key, const void *message, size_t len, struct buf *out) {
    verify(key != 0 && (message != 0 || len == 0) && out != 0);
    verify(EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == 0) return STATUS_NOMEM;
    size_t signature_len = 0;
    unsigned char *signature = 0;
    bool ok = EVP_DigestSignInit(ctx, 0, EVP_sha256(), 0, key) == 1 &&
              EVP_DigestSign(ctx, 0, &signature_len, message, len) == 1 && signature_len > 0;
    if (ok) {
        signature = mem_alloc(signature_len);
        ok = EVP_DigestSign(ctx, signature, &signature_len, message, len) == 1;
    }
    EVP_MD_CTX_free(ctx);
    enum status status = ok ? pay_base64_encode(signature, signature_len, out) : STATUS_CRYPTO;
    free(signature);
    return status;
}

enum status pay_base64_encode(const void *data, size_t len, struct buf *out) {
    verify((data != 0 || len == 0) && out != 0);
    size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *text = mem_alloc(size);
    sodium_bin2base64(text, size, data, len, sodium_base64_VARIANT_ORIGINAL);
    enum status status = buf_append(out, text, strlen(text));
    free(text);
    return status;
}

void pay_nonce(char out[33]) {
    verify(out != 0);
    unsigned char random[16];
    randombytes_buf(random, sizeof random);
    sodium_bin2hex(out, 33, random, sizeof random);
}

static void crypto_hex(const unsigned char *digest, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[2 * len] = 0;
}

void pay_md5_hex(const void *data, size_t len, char out[33]) {
    verify(data != 0 || len == 0);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    verify(EVP_Digest(data, len, digest, &digest_len, EVP_md5(), 0) == 1 && digest_len == 16);
    crypto_hex(digest, 16, out);
}

void pay_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                         char out[65]) {
    verify((key != 0 || key_len == 0) && (data != 0 || len == 0));
    crypto_auth_hmacsha256_state state;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    verify(crypto_auth_hmacsha256_init(&state, key, key_len) == 0);
    verify(crypto_auth_hmacsha256_update(&state, data, len) == 0);
    verify(crypto_auth_hmacsha256_final(&state, mac) == 0);
    crypto_hex(mac, sizeof mac, out);
    sodium_memzero(&state, sizeof state);
}

bool pay_equal(const char *a, size_t a_len, const char *b, size_t b_len) {
    verify(a != 0 && b != 0);
    if (a_len != b_len) return false;
    return a_len == 0 || sodium_memcmp(a, b, a_len) == 0;
}
