/* vault_test.c — sealing and opening card codes (any altered byte or a different code id is
 * STATUS_TAMPERED), keyed duplicate hashes, the key file, Argon2id passwords and bearer
 * tokens. Test values are made up; nothing secret is printed on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/limits.h"
#include "vault/vault.h"

static void vault_fixed(struct vault *vault, unsigned char seed) {
    unsigned char master[VAULT_KEY_BYTES];
    for (size_t i = 0; i < sizeof master; i++)
        master[i] = (unsigned char)(seed + i * 3);
    vault_from_master(vault, master);
}

static int group_setup(void **state) { return vault_global_init() == STATUS_OK ? 0 : -1; }

static void seal_open_round_trip(void **state) {
    struct vault vault;
    vault_fixed(&vault, 1);
    static const size_t lengths[] = {1, 2, 16, 19, 100, LIMIT_CODE_BYTES};
    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
        char code[LIMIT_CODE_BYTES + 1];
        for (size_t i = 0; i < lengths[k]; i++)
            code[i] = (char)('A' + (i * 7 + k) % 26);
        unsigned char sealed[LIMIT_CODE_BYTES + VAULT_SEAL_OVERHEAD];
        vault_code_seal(&vault, 42, code, lengths[k], sealed);
        char out[LIMIT_CODE_BYTES + 1];
        size_t out_len = 0;
        assert_int_equal(vault_code_open(&vault, 42, sealed, lengths[k] + VAULT_SEAL_OVERHEAD, out,
                                         sizeof out, &out_len),
                         STATUS_OK);
        assert_int_equal(out_len, lengths[k]);
        assert_true(memcmp(out, code, lengths[k]) == 0);
        assert_int_equal(out[out_len], 0);
        /* The plaintext does not appear in the sealed bytes. */
        if (lengths[k] >= 16) {
            assert_null(memmem(sealed, lengths[k] + VAULT_SEAL_OVERHEAD, code, lengths[k]));
        }
    }
    vault_wipe(&vault);
}

static void sealing_twice_uses_fresh_nonces(void **state) {
    struct vault vault;
    vault_fixed(&vault, 1);
    unsigned char a[8 + VAULT_SEAL_OVERHEAD], b[8 + VAULT_SEAL_OVERHEAD];
    vault_code_seal(&vault, 9, "CODE-123", 8, a);
    vault_code_seal(&vault, 9, "CODE-123", 8, b);
    assert_true(memcmp(a, b, VAULT_NONCE_BYTES) != 0);
    assert_true(memcmp(a + VAULT_NONCE_BYTES, b + VAULT_NONCE_BYTES, 8 + VAULT_TAG_BYTES) != 0);
}

static void any_flipped_byte_is_tampering(void **state) {
    struct vault vault;
    vault_fixed(&vault, 1);
    const char *code = "GIFT-5555-6666-7777";
    size_t len = strlen(code);
    size_t sealed_len = len + VAULT_SEAL_OVERHEAD;
    unsigned char sealed[64];
    vault_code_seal(&vault, 1001, code, len, sealed);
    for (size_t i = 0; i < sealed_len; i++) {
        static const unsigned char flips[] = {0x01, 0x80, 0xFF};
        for (size_t f = 0; f < sizeof flips; f++) {
            unsigned char copy[64];
            memcpy(copy, sealed, sealed_len);
            copy[i] ^= flips[f];
            char out[64];
            size_t out_len = 12345;
            enum status status =
                vault_code_open(&vault, 1001, copy, sealed_len, out, sizeof out, &out_len);
            if (status != STATUS_TAMPERED) fail_msg("byte %zu flip 0x%02x opened", i, flips[f]);
            assert_int_equal(out_len, 12345);
        }
    }
    /* The untouched blob still opens. */
    char out[64];
    size_t out_len = 0;
    assert_int_equal(vault_code_open(&vault, 1001, sealed, sealed_len, out, sizeof out, &out_len),
                     STATUS_OK);
}

static void another_code_id_is_tampering(void **state) {
    struct vault vault;
    vault_fixed(&vault, 1);
    unsigned char sealed[6 + VAULT_SEAL_OVERHEAD];
    vault_code_seal(&vault, 77, "ABC123", 6, sealed);
    static const int64_t others[] = {76,       78, 1,  INT64_MAX, 77 + ((int64_t)1 << 32),
                                     77 + 256, 0,  -77};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char out[16];
        size_t out_len = 0;
        assert_int_equal(
            vault_code_open(&vault, others[i], sealed, sizeof sealed, out, sizeof out, &out_len),
            STATUS_TAMPERED);
    }
    char out[16];
    size_t out_len = 0;
    assert_int_equal(vault_code_open(&vault, 77, sealed, sizeof sealed, out, sizeof out, &out_len),
                     STATUS_OK);
}

static void truncated_or_extended_blobs_are_tampering(void **state) {
    struct vault vault;
    vault_fixed(&vault, 1);
    unsigned char sealed[6 + VAULT_SEAL_OVERHEAD + 1];
    vault_code_seal(&vault, 5, "ABC123", 6, sealed);
    sealed[sizeof sealed - 1] = 0;
    char out[64];
    size_t out_len = 0;
    for (size_t len = 0; len < sizeof sealed - 1; len++) {
        assert_int_equal(vault_code_open(&vault, 5, sealed, len, out, sizeof out, &out_len),
                         STATUS_TAMPERED);
    }
    assert_int_equal(vault_code_open(&vault, 5, sealed, sizeof sealed, out, sizeof out, &out_len),
                     STATUS_TAMPERED);
}

static void another_key_is_tampering(void **state) {
    struct vault one, two;
    vault_fixed(&one, 1);
    vault_fixed(&two, 2);
    unsigned char sealed[6 + VAULT_SEAL_OVERHEAD];
    vault_code_seal(&one, 5, "ABC123", 6, sealed);
    char out[16];
    size_t out_len = 0;
    assert_int_equal(vault_code_open(&two, 5, sealed, sizeof sealed, out, sizeof out, &out_len),
                     STATUS_TAMPERED);
}

static void code_hash_is_keyed(void **state) {
    struct vault one, one_again, two;
    vault_fixed(&one, 1);
    vault_fixed(&one_again, 1);
    vault_fixed(&two, 2);
    unsigned char a[VAULT_CODE_HASH_BYTES], b[VAULT_CODE_HASH_BYTES], c[VAULT_CODE_HASH_BYTES];
    unsigned char d[VAULT_CODE_HASH_BYTES], plain[VAULT_CODE_HASH_BYTES];
    vault_code_hash(&one, "CODE-1", 6, a);
    vault_code_hash(&one_again, "CODE-1", 6, b);
    vault_code_hash(&two, "CODE-1", 6, c);
    vault_code_hash(&one, "CODE-2", 6, d);
    assert_memory_equal(a, b, sizeof a);     /* same key, same code: same hash */
    assert_memory_not_equal(a, c, sizeof a); /* another key: another hash */
    assert_memory_not_equal(a, d, sizeof a); /* another code: another hash */
    /* Not the unkeyed hash: a stolen database gives no dictionary to test codes against. */
    assert_int_equal(
        crypto_generichash(plain, sizeof plain, (const unsigned char *)"CODE-1", 6, 0, 0), 0);
    assert_memory_not_equal(a, plain, sizeof a);
    /* The sealing and hashing subkeys differ. */
    assert_true(memcmp(one.seal_key, one.hash_key, VAULT_KEY_BYTES) != 0);
    /* Only code_len bytes count. */
    vault_code_hash(&one, "CODE-1XYZ", 6, d);
    assert_memory_equal(a, d, sizeof a);
}

static void key_file_create_and_load(void **state) {
    char dir[] = "/tmp/tessera-vault-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], other[64];
    snprintf(path, sizeof path, "%s/db.key", dir);
    snprintf(other, sizeof other, "%s/bad.key", dir);
    assert_int_equal(vault_key_create(path), STATUS_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, VAULT_KEY_BYTES);
    assert_int_equal(vault_key_create(path), STATUS_IO); /* never overwrites a key */

    struct vault a, b;
    assert_int_equal(vault_load(&a, path), STATUS_OK);
    assert_int_equal(vault_load(&b, path), STATUS_OK);
    assert_true(memcmp(a.seal_key, b.seal_key, VAULT_KEY_BYTES) == 0); /* never print keys */
    assert_true(memcmp(a.hash_key, b.hash_key, VAULT_KEY_BYTES) == 0);
    unsigned char sealed[4 + VAULT_SEAL_OVERHEAD];
    vault_code_seal(&a, 3, "WXYZ", 4, sealed);
    char out[8];
    size_t out_len = 0;
    assert_int_equal(vault_code_open(&b, 3, sealed, sizeof sealed, out, sizeof out, &out_len),
                     STATUS_OK);

    FILE *file = fopen(other, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite("short", 1, 5, file), 5);
    fclose(file);
    assert_int_equal(vault_load(&a, other), STATUS_CRYPTO);
    file = fopen(other, "wb");
    assert_non_null(file);
    unsigned char long_key[VAULT_KEY_BYTES + 1] = {0};
    assert_int_equal(fwrite(long_key, 1, sizeof long_key, file), sizeof long_key);
    fclose(file);
    assert_int_equal(vault_load(&a, other), STATUS_CRYPTO);
    unlink(other);
    assert_int_equal(vault_load(&a, other), STATUS_IO);
    vault_wipe(&a);
    vault_wipe(&b);
    unlink(path);
    rmdir(dir);
}

static void password_hash_and_verify(void **state) {
    char hash[VAULT_PASSWORD_HASH_BYTES];
    char again[VAULT_PASSWORD_HASH_BYTES];
    const char *password = "correct horse battery";
    assert_int_equal(vault_password_hash(password, strlen(password), hash), STATUS_OK);
    assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
    assert_null(strstr(hash, password));
    assert_true(vault_password_verify(hash, password, strlen(password)));
    assert_false(vault_password_verify(hash, "correct horse battery!", 22));
    assert_false(vault_password_verify(hash, "Correct horse battery", 21));
    assert_false(vault_password_verify(hash, password, strlen(password) - 1)); /* a prefix */
    assert_false(vault_password_verify(hash, "", 0));
    assert_false(vault_password_verify("not a hash", password, strlen(password)));
    /* A fresh salt every time. */
    assert_int_equal(vault_password_hash(password, strlen(password), again), STATUS_OK);
    assert_true(strcmp(hash, again) != 0);
    assert_true(vault_password_verify(again, password, strlen(password)));
    vault_password_burn(password, strlen(password)); /* fixed cost; must not crash */
}

static bool is_lower_hex(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    }
    return true;
}

static void tokens_are_random_and_hashed(void **state) {
    char a[VAULT_TOKEN_TEXT_BYTES], b[VAULT_TOKEN_TEXT_BYTES];
    memset(a, 'x', sizeof a);
    vault_token_new(a);
    vault_token_new(b);
    assert_int_equal(strlen(a), 2 * LIMIT_TOKEN_BYTES);
    assert_int_equal(strlen(a), VAULT_TOKEN_TEXT_BYTES - 1);
    assert_true(is_lower_hex(a, strlen(a)));
    assert_true(strcmp(a, b) != 0); /* compared silently: tokens are secrets */

    unsigned char ha[VAULT_TOKEN_HASH_BYTES], ha2[VAULT_TOKEN_HASH_BYTES];
    unsigned char hb[VAULT_TOKEN_HASH_BYTES];
    vault_token_hash(a, strlen(a), ha);
    vault_token_hash(a, strlen(a), ha2);
    vault_token_hash(b, strlen(b), hb);
    assert_memory_equal(ha, ha2, sizeof ha);
    assert_memory_not_equal(ha, hb, sizeof ha);
    assert_true(memcmp(ha, a, sizeof ha) != 0); /* the stored form is not the token */
    vault_token_hash(a, strlen(a) - 1, ha2);
    assert_memory_not_equal(ha, ha2, sizeof ha);
}

static void random_passwords(void **state) {
    char a[25], b[25];
    vault_random_password(a, sizeof a);
    vault_random_password(b, sizeof b);
    assert_int_equal(strlen(a), sizeof a - 1);
    assert_true(strcmp(a, b) != 0);
    for (size_t i = 0; i < strlen(a); i++) {
        assert_non_null(strchr("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", a[i]));
    }
}

static void audit_hash_covers_every_field(void **state) {
    unsigned char prev[VAULT_AUDIT_HASH_BYTES] = {0};
    unsigned char base[VAULT_AUDIT_HASH_BYTES], other[VAULT_AUDIT_HASH_BYTES];
    vault_audit_hash(prev, 1, 100, 2, "act", "obj", "{}", base);
    vault_audit_hash(prev, 1, 100, 2, "act", "obj", "{}", other);
    assert_memory_equal(base, other, sizeof base);
    vault_audit_hash(prev, 2, 100, 2, "act", "obj", "{}", other);
    assert_memory_not_equal(base, other, sizeof base);
    vault_audit_hash(prev, 1, 101, 2, "act", "obj", "{}", other);
    assert_memory_not_equal(base, other, sizeof base);
    vault_audit_hash(prev, 1, 100, 3, "act", "obj", "{}", other);
    assert_memory_not_equal(base, other, sizeof base);
    vault_audit_hash(prev, 1, 100, 2, "acto", "bj", "{}", other); /* field boundaries count */
    assert_memory_not_equal(base, other, sizeof base);
    vault_audit_hash(prev, 1, 100, 2, "act", "obj", "{ }", other);
    assert_memory_not_equal(base, other, sizeof base);
    prev[31] = 1;
    vault_audit_hash(prev, 1, 100, 2, "act", "obj", "{}", other);
    assert_memory_not_equal(base, other, sizeof base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_open_round_trip),
        cmocka_unit_test(sealing_twice_uses_fresh_nonces),
        cmocka_unit_test(any_flipped_byte_is_tampering),
        cmocka_unit_test(another_code_id_is_tampering),
        cmocka_unit_test(truncated_or_extended_blobs_are_tampering),
        cmocka_unit_test(another_key_is_tampering),
        cmocka_unit_test(code_hash_is_keyed),
        cmocka_unit_test(key_file_create_and_load),
        cmocka_unit_test(password_hash_and_verify),
        cmocka_unit_test(tokens_are_random_and_hashed),
        cmocka_unit_test(random_passwords),
        cmocka_unit_test(audit_hash_covers_every_field),
    };
    return cmocka_run_group_tests(tests, group_setup, 0);
}
