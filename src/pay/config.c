/* config.c — loading the merchant configuration (see config.h). */
#include "pay/config.h"

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/text.h"

struct config_load {
    char dir[PATH_MAX];
    char *message;
    size_t size;
};

static enum status config_fail(struct config_load *load, const char *what, const char *member) {
    snprintf(load->message, load->size, "%s%s%s", member ? member : "", member ? ": " : "", what);
    return STATUS_INVALID_VALUE;
}

/* Reads a whole file of at most limit bytes; NULL when it cannot. */
static char *config_read(const char *path, size_t limit, size_t *len) {
    FILE *file = fopen(path, "rb");
    if (file == 0) return 0;
    char *data = mem_alloc(limit + 1);
    size_t n = fread(data, 1, limit + 1, file);
    bool ok = !ferror(file) && n <= limit;
    fclose(file);
    if (!ok) {
        free(data);
        return 0;
    }
    data[n] = 0;
    *len = n;
    return data;
}

/* A string member of object: absent is "" when optional; too long or not a string fails. */
static enum status config_string(struct config_load *load, json_t *object, const char *provider,
                                 const char *name, bool required, char *out, size_t size) {
    char member[96];
    snprintf(member, sizeof member, "%s.%s", provider, name);
    json_t *value = json_object_get(object, name);
    out[0] = 0;
    if (value == 0) return required ? config_fail(load, "is required", member) : STATUS_OK;
    if (!json_is_string(value)) return config_fail(load, "must be a string", member);
    size_t len = json_string_length(value);
    if (len == 0 || len >= size || memchr(json_string_value(value), 0, len) != 0 ||
        !text_printable(json_string_value(value), len)) {
        return config_fail(load, "must be 1 to a limited number of printable characters", member);
    }
    memcpy(out, json_string_value(value), len + 1);
    return STATUS_OK;
}

static void config_path(const struct config_load *load, const char *name, char *out, size_t size) {
    if (name[0] == '/') {
        snprintf(out, size, "%s", name);
    } else {
        snprintf(out, size, "%s/%s", load->dir, name);
    }
}

/* Upper-case hex of a certificate's serial number, without leading zeros. */
static bool config_serial(X509 *cert, char *out, size_t size) {
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), 0);
    char *hex = serial ? BN_bn2hex(serial) : 0;
    bool ok = hex != 0 && strlen(hex) < size;
    if (ok) snprintf(out, size, "%s", hex);
    OPENSSL_free(hex);
    BN_free(serial);
    return ok;
}

enum config_pem_kind { PEM_CERTIFICATE, PEM_PUBLIC_KEY, PEM_PRIVATE_KEY };

/* Loads a PEM file: a certificate (its key and serial), a public key or a private key (any
 * PEM form OpenSSL reads, unencrypted: PKCS#8 or PKCS#1). */
static enum status config_pem(struct config_load *load, const char *member, const char *name,
                              enum config_pem_kind kind, struct pay_key *out) {
    char path[PATH_MAX + 256];
    config_path(load, name, path, sizeof path);
    size_t len = 0;
    char *pem = config_read(path, LIMIT_PAY_PEM_BYTES, &len);
    if (pem == 0) return config_fail(load, "cannot read the PEM file it names", member);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    enum status status = STATUS_OK;
    if (kind == PEM_CERTIFICATE) {
        X509 *cert = bio ? PEM_read_bio_X509(bio, 0, 0, 0) : 0;
        out->key = cert ? X509_get_pubkey(cert) : 0;
        if (cert == 0 || out->key == 0 || !config_serial(cert, out->id, sizeof out->id)) {
            status = config_fail(load, "is not a PEM certificate with an RSA key", member);
        }
        X509_free(cert);
    } else if (kind == PEM_PUBLIC_KEY) {
        out->key = bio ? PEM_read_bio_PUBKEY(bio, 0, 0, 0) : 0;
        if (out->key == 0) status = config_fail(load, "is not a PEM public key", member);
    } else {
        out->key = bio ? PEM_read_bio_PrivateKey(bio, 0, 0, 0) : 0;
        if (out->key == 0)
            status = config_fail(load, "is not an unencrypted PEM private key", member);
    }
    if (status == STATUS_OK && EVP_PKEY_get_base_id(out->key) != EVP_PKEY_RSA) {
        status = config_fail(load, "must hold an RSA key", member);
    }
    if (status != STATUS_OK) {
        EVP_PKEY_free(out->key);
        out->key = 0;
    }
    BIO_free(bio);
    sodium_memzero(pem, len); /* a private key's bytes */
    free(pem);
    return status;
}

/* An http:// or https:// URL member (a base: without a trailing '/'), or def when absent. */
static enum status config_url(struct config_load *load, json_t *object, const char *provider,
                              const char *name, const char *def, char *out, size_t size) {
    enum status status = config_string(load, object, provider, name, false, out, size);
    if (status != STATUS_OK) return status;
    if (out[0] == 0 && def != 0) snprintf(out, size, "%s", def);
    if (out[0] == 0) return STATUS_OK;
    if (strncmp(out, "https://", 8) != 0 && strncmp(out, "http://", 7) != 0) {
        char member[96];
        snprintf(member, sizeof member, "%s.%s", provider, name);
        return config_fail(load, "must be an http:// or https:// URL", member);
    }
    size_t len = strlen(out);
    while (len > 8 && out[len - 1] == '/')
        out[--len] = 0;
    return STATUS_OK;
}

/* An optional private key member: the key, or NULL when absent. */
static enum status config_private_key(struct config_load *load, json_t *object,
                                      const char *provider, const char *name, EVP_PKEY **out) {
    char path_name[PATH_MAX];
    *out = 0;
    enum status status =
        config_string(load, object, provider, name, false, path_name, sizeof path_name);
    if (status != STATUS_OK || path_name[0] == 0) return status;
    char member[96];
    snprintf(member, sizeof member, "%s.%s", provider, name);
    struct pay_key key = {{0}, 0};
    status = config_pem(load, member, path_name, PEM_PRIVATE_KEY, &key);
    *out = key.key;
    return status;
}

/* WeChat Pay's API members (outbound.h): all optional; the key and its serial together. */
static enum status config_wechatpay_api(struct config_load *load, json_t *o, struct pay_config *c) {
    enum status status = config_string(load, o, "wechatpay", "appid", false, c->wechatpay.appid,
                                       sizeof c->wechatpay.appid);
    if (status == STATUS_OK) {
        status = config_private_key(load, o, "wechatpay", "merchant_private_key",
                                    &c->wechatpay.merchant_key);
    }
    if (status == STATUS_OK) {
        status =
            config_string(load, o, "wechatpay", "merchant_serial_no", false,
                          c->wechatpay.merchant_serial_no, sizeof c->wechatpay.merchant_serial_no);
    }
    if (status == STATUS_OK &&
        (c->wechatpay.merchant_key != 0) != (c->wechatpay.merchant_serial_no[0] != 0)) {
        status = config_fail(load, "merchant_private_key and merchant_serial_no go together",
                             "wechatpay");
    }
    if (status == STATUS_OK) {
        status = config_url(load, o, "wechatpay", "api_base", "https://api.mch.weixin.qq.com",
                            c->wechatpay.api_base, sizeof c->wechatpay.api_base);
    }
    if (status == STATUS_OK) {
        status = config_url(load, o, "wechatpay", "notify_url", 0, c->wechatpay.notify_url,
                            sizeof c->wechatpay.notify_url);
    }
    return status;
}

static enum status config_wechatpay(struct config_load *load, json_t *o, struct pay_config *c) {
    enum status status = config_string(load, o, "wechatpay", "mchid", true, c->wechatpay.mchid,
                                       sizeof c->wechatpay.mchid);
    char key[PAY_SECRET_BYTES + 1];
    if (status == STATUS_OK) {
        status = config_string(load, o, "wechatpay", "apiv3_key", false, key, sizeof key);
    }
    if (status == STATUS_OK && key[0] != 0) {
        if (strlen(key) != PAY_APIV3_KEY_BYTES) {
            status = config_fail(load, "must be 32 characters", "wechatpay.apiv3_key");
        } else {
            memcpy(c->wechatpay.apiv3_key, key, PAY_APIV3_KEY_BYTES);
            c->wechatpay.has_apiv3_key = true;
        }
    }
    sodium_memzero(key, sizeof key);
    json_t *certs = json_object_get(o, "platform_certs");
    if (status == STATUS_OK && certs != 0) {
        if (!json_is_array(certs) || json_array_size(certs) > LIMIT_PAY_CERTS) {
            status = config_fail(load, "must be an array of at most 8 PEM paths",
                                 "wechatpay.platform_certs");
        }
        for (size_t i = 0; status == STATUS_OK && i < json_array_size(certs); i++) {
            json_t *item = json_array_get(certs, i);
            if (!json_is_string(item)) {
                status = config_fail(load, "must hold strings", "wechatpay.platform_certs");
                break;
            }
            status = config_pem(load, "wechatpay.platform_certs", json_string_value(item),
                                PEM_CERTIFICATE, &c->wechatpay.keys[c->wechatpay.key_count]);
            if (status == STATUS_OK) c->wechatpay.key_count++;
        }
    }
    char name[PATH_MAX];
    if (status == STATUS_OK) {
        status =
            config_string(load, o, "wechatpay", "platform_public_key", false, name, sizeof name);
    }
    if (status == STATUS_OK && name[0] != 0) {
        struct pay_key *k = &c->wechatpay.keys[c->wechatpay.key_count];
        status = config_string(load, o, "wechatpay", "platform_public_key_id", true, k->id,
                               sizeof k->id);
        if (status == STATUS_OK) {
            status = config_pem(load, "wechatpay.platform_public_key", name, PEM_PUBLIC_KEY, k);
        }
        if (status == STATUS_OK) c->wechatpay.key_count++;
    }
    if (status == STATUS_OK && c->wechatpay.key_count == 0) {
        status = config_fail(load, "needs platform_certs or platform_public_key", "wechatpay");
    }
    if (status == STATUS_OK) status = config_wechatpay_api(load, o, c);
    return status;
}

static enum status config_alipay(struct config_load *load, json_t *o, struct pay_config *c) {
    enum status status =
        config_string(load, o, "alipay", "app_id", true, c->alipay.app_id, sizeof c->alipay.app_id);
    if (status == STATUS_OK) {
        status = config_string(load, o, "alipay", "seller_id", false, c->alipay.seller_id,
                               sizeof c->alipay.seller_id);
    }
    char name[PATH_MAX];
    if (status == STATUS_OK) {
        status = config_string(load, o, "alipay", "alipay_public_key", true, name, sizeof name);
    }
    struct pay_key key = {{0}, 0};
    if (status == STATUS_OK)
        status = config_pem(load, "alipay.alipay_public_key", name, PEM_PUBLIC_KEY, &key);
    c->alipay.public_key = key.key;
    if (status == STATUS_OK) {
        status =
            config_private_key(load, o, "alipay", "app_private_key", &c->alipay.app_private_key);
    }
    if (status == STATUS_OK) {
        status = config_url(load, o, "alipay", "gateway", "https://openapi.alipay.com/gateway.do",
                            c->alipay.gateway, sizeof c->alipay.gateway);
    }
    if (status == STATUS_OK) {
        status = config_url(load, o, "alipay", "notify_url", 0, c->alipay.notify_url,
                            sizeof c->alipay.notify_url);
    }
    return status;
}

static enum status config_epay(struct config_load *load, json_t *o, struct pay_config *c) {
    enum status status =
        config_string(load, o, "epay", "pid", true, c->epay.pid, sizeof c->epay.pid);
    if (status == STATUS_OK) {
        status = config_string(load, o, "epay", "key", true, c->epay.key, sizeof c->epay.key);
    }
    static const struct {
        const char *name;
        size_t offset, size;
    } urls[] = {{"submit_url", offsetof(struct pay_config, epay.submit_url), PAY_URL_BYTES + 1},
                {"notify_url", offsetof(struct pay_config, epay.notify_url), PAY_URL_BYTES + 1},
                {"return_url", offsetof(struct pay_config, epay.return_url), PAY_URL_BYTES + 1},
                {"type", offsetof(struct pay_config, epay.type), LIMIT_PAY_REF_BYTES + 1}};
    for (size_t i = 0; status == STATUS_OK && i < sizeof urls / sizeof urls[0]; i++) {
        status = config_string(load, o, "epay", urls[i].name, false, (char *)c + urls[i].offset,
                               urls[i].size);
    }
    if (status == STATUS_OK && (c->epay.submit_url[0] != 0) != (c->epay.notify_url[0] != 0)) {
        status = config_fail(load, "submit_url and notify_url go together", "epay");
    }
    if (status == STATUS_OK && c->epay.type[0] == 0) snprintf(c->epay.type, 8, "alipay");
    if (status == STATUS_OK) {
        status = config_url(load, o, "epay", "api_url", 0, c->epay.api_url, sizeof c->epay.api_url);
    }
    return status;
}

static enum status config_stripe(struct config_load *load, json_t *o, struct pay_config *c) {
    enum status status = config_string(load, o, "stripe", "webhook_secret", true,
                                       c->stripe.webhook_secret, sizeof c->stripe.webhook_secret);
    if (status == STATUS_OK) {
        status = config_string(load, o, "stripe", "secret_key", false, c->stripe.secret_key,
                               sizeof c->stripe.secret_key);
    }
    if (status == STATUS_OK) {
        status = config_url(load, o, "stripe", "api_base", "https://api.stripe.com",
                            c->stripe.api_base, sizeof c->stripe.api_base);
    }
    return status;
}

/* "outbound":{"timeout_ms":N,"connect_timeout_ms":N,"retries":N}, each optional. */
static enum status config_outbound(struct config_load *load, json_t *root, struct pay_config *c) {
    json_t *o = json_object_get(root, "outbound");
    if (o == 0) return STATUS_OK;
    if (!json_is_object(o)) return config_fail(load, "must be an object", "outbound");
    static const struct {
        const char *name;
        json_int_t min, max;
    } members[] = {{"timeout_ms", 1, LIMIT_PAY_HTTP_TIMEOUT_MAX_MS},
                   {"connect_timeout_ms", 1, LIMIT_PAY_HTTP_TIMEOUT_MAX_MS},
                   {"retries", 0, LIMIT_PAY_RETRIES_MAX}};
    json_int_t values[3] = {c->outbound.timeout_ms, c->outbound.connect_timeout_ms,
                            c->outbound.retries};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        json_t *value = json_object_get(o, members[i].name);
        if (value == 0) continue;
        if (!json_is_integer(value) || json_integer_value(value) < members[i].min ||
            json_integer_value(value) > members[i].max) {
            char member[64];
            snprintf(member, sizeof member, "outbound.%s", members[i].name);
            return config_fail(load,
                               i == 2 ? "must be an integer from 0 to 5"
                                      : "must be an integer of milliseconds up to 60000",
                               member);
        }
        values[i] = json_integer_value(value);
    }
    c->outbound.timeout_ms = (long)values[0];
    c->outbound.connect_timeout_ms = (long)values[1];
    c->outbound.retries = (int)values[2];
    return STATUS_OK;
}

static enum status config_sandbox(struct config_load *load, json_t *o, struct pay_config *c) {
    return config_string(load, o, "sandbox", "secret", false, c->sandbox.secret,
                         sizeof c->sandbox.secret);
}

struct pay_config *pay_config_empty(void) {
    struct pay_config *config = mem_calloc(1, sizeof(struct pay_config));
    config->outbound.timeout_ms = LIMIT_PAY_HTTP_TIMEOUT_MS;
    config->outbound.connect_timeout_ms = LIMIT_PAY_CONNECT_TIMEOUT_MS;
    config->outbound.retries = LIMIT_PAY_RETRIES;
    config->second_admin_above = LIMIT_PAY_CONFIRM_ALONE_MINOR;
    return config;
}

void pay_config_sandbox(struct pay_config *config) {
    verify(config != 0);
    config->sandbox.on = true;
    if (config->sandbox.secret[0] != 0) return;
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    sodium_bin2hex(config->sandbox.secret, sizeof config->sandbox.secret, random, sizeof random);
    sodium_memzero(random, sizeof random);
}

enum status pay_config_load(const char *path, struct pay_config **out, char *message, size_t size) {
    verify(path != 0 && out != 0 && message != 0 && size > 0);
    *out = 0;
    struct config_load load = {.message = message, .size = size};
    const char *slash = strrchr(path, '/');
    if (slash == 0) {
        snprintf(load.dir, sizeof load.dir, ".");
    } else {
        snprintf(load.dir, sizeof load.dir, "%.*s", (int)(slash - path), path);
        if (slash == path) snprintf(load.dir, sizeof load.dir, "/");
    }
    size_t len = 0;
    char *text = config_read(path, LIMIT_PAY_CONFIG_BYTES, &len);
    if (text == 0) {
        snprintf(message, size, "cannot read the payment configuration %s", path);
        return STATUS_IO;
    }
    json_error_t error;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    sodium_memzero(text, len);
    free(text);
    if (!json_is_object(root)) {
        snprintf(message, size, "%s: not a JSON object (line %d)", path, error.line);
        json_decref(root);
        return STATUS_INVALID_JSON;
    }
    struct pay_config *config = pay_config_empty();
    static const struct {
        const char *name;
        enum status (*load)(struct config_load *, json_t *, struct pay_config *);
    } providers[] = {{"wechatpay", config_wechatpay},
                     {"alipay", config_alipay},
                     {"epay", config_epay},
                     {"stripe", config_stripe},
                     {"sandbox", config_sandbox}};
    enum status status = STATUS_OK;
    for (size_t i = 0; status == STATUS_OK && i < sizeof providers / sizeof providers[0]; i++) {
        json_t *member = json_object_get(root, providers[i].name);
        if (member == 0) continue;
        if (!json_is_object(member)) {
            status = config_fail(&load, "must be an object", providers[i].name);
            break;
        }
        status = providers[i].load(&load, member, config);
    }
    if (status == STATUS_OK) status = config_outbound(&load, root, config);
    json_t *manual = json_object_get(root, "manual_confirm");
    json_t *above = json_object_get(manual, "second_admin_above");
    if (status == STATUS_OK && manual != 0 &&
        (!json_is_object(manual) || !json_is_integer(above) || json_integer_value(above) < -1 ||
         json_integer_value(above) > LIMIT_AMOUNT_MINOR)) {
        status = config_fail(&load, "must be {\"second_admin_above\": minor units, or -1}",
                             "manual_confirm");
    }
    if (status == STATUS_OK && manual != 0) config->second_admin_above = json_integer_value(above);
    config->wechatpay.on = json_object_get(root, "wechatpay") != 0;
    config->alipay.on = json_object_get(root, "alipay") != 0;
    config->epay.on = json_object_get(root, "epay") != 0;
    config->stripe.on = json_object_get(root, "stripe") != 0;
    config->sandbox.on = json_object_get(root, "sandbox") != 0;
    if (config->sandbox.on) pay_config_sandbox(config); /* a secret of its own if none given */
    json_decref(root); /* jansson does not wipe; the file's secrets were in its strings */
    if (status != STATUS_OK) {
        pay_config_free(config);
        return status;
    }
    *out = config;
    return STATUS_OK;
}

void pay_config_free(struct pay_config *config) {
    if (config == 0) return;
    for (int i = 0; i < config->wechatpay.key_count; i++)
        EVP_PKEY_free(config->wechatpay.keys[i].key);
    EVP_PKEY_free(config->wechatpay.merchant_key); /* OpenSSL clears private key material */
    EVP_PKEY_free(config->alipay.public_key);
    EVP_PKEY_free(config->alipay.app_private_key);
    sodium_memzero(config, sizeof *config);
    free(config);
}
