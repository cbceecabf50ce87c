/* config.h — the merchant configuration (`tessera serve --pay-config FILE`, `tessera pay
 * verify --config FILE`): a JSON object with one member per provider (and "sandbox", the
 * built-in test provider), documented in
 * docs/PAYMENTS.md. PEM paths are relative to the file. Keys are loaded once; secrets are
 * wiped when the configuration is freed and never printed. */
#ifndef TESSERA_PAY_CONFIG_H
#define TESSERA_PAY_CONFIG_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "base/limits.h"
#include "base/status.h"

#define PAY_SECRET_BYTES 128 /* EPay keys, Stripe webhook secrets */
#define PAY_APIV3_KEY_BYTES 32
#define PAY_URL_BYTES 512

/* A public key and the id a notice names it by (a certificate's serial number in upper-case
 * hex, or WeChat Pay's platform public key id). */
struct pay_key {
    char id[LIMIT_PAY_REF_BYTES + 1];
    EVP_PKEY *key;
};

struct pay_config {
    struct {
        bool on;
        char mchid[LIMIT_PAY_REF_BYTES + 1];
        bool has_apiv3_key;
        unsigned char apiv3_key[PAY_APIV3_KEY_BYTES];
        struct pay_key keys[LIMIT_PAY_CERTS + 1]; /* certificates, then the public key */
        int key_count;
        /* calling the API (outbound.h); "" / NULL when not configured */
        char appid[LIMIT_PAY_REF_BYTES + 1];
        EVP_PKEY *merchant_key; /* signs our requests */
        char merchant_serial_no[LIMIT_PAY_REF_BYTES + 1];
        char api_base[PAY_URL_BYTES + 1]; /* default https://api.mch.weixin.qq.com */
        char notify_url[PAY_URL_BYTES + 1];
    } wechatpay;
    struct {
        bool on;
        char app_id[LIMIT_PAY_REF_BYTES + 1];
        char seller_id[LIMIT_PAY_REF_BYTES + 1]; /* "" when not configured */
        EVP_PKEY *public_key;
        EVP_PKEY *app_private_key;       /* signs our requests; NULL when not configured */
        char gateway[PAY_URL_BYTES + 1]; /* default https://openapi.alipay.com/gateway.do */
        char notify_url[PAY_URL_BYTES + 1];
    } alipay;
    struct {
        bool on;
        char pid[LIMIT_PAY_REF_BYTES + 1];
        char key[PAY_SECRET_BYTES + 1];
        /* taking orders: the gateway's submit.php, where it sends notices (our
         * /api/v1/pay/epay/notify as the gateway reaches it), where it returns the buyer,
         * and the channel ("alipay", "wxpay", …); "" when not configured */
        char submit_url[PAY_URL_BYTES + 1];
        char notify_url[PAY_URL_BYTES + 1];
        char return_url[PAY_URL_BYTES + 1];
        char type[LIMIT_PAY_REF_BYTES + 1];
        char api_url[PAY_URL_BYTES + 1]; /* the gateway's api.php: query and refund */
    } epay;
    struct {
        bool on;
        char webhook_secret[PAY_SECRET_BYTES + 1];
        char secret_key[PAY_SECRET_BYTES + 1]; /* sk_…: calling the API; "" when not set */
        char api_base[PAY_URL_BYTES + 1];      /* default https://api.stripe.com */
    } stripe;
    struct {
        bool on;
        char secret[PAY_SECRET_BYTES + 1]; /* signs the built-in provider's notices */
    } sandbox;
    /* 补单: a payment confirmed by hand above this amount (minor units) needs a second
     * admin ("manual_confirm":{"second_admin_above":N}); -1: never */
    int64_t second_admin_above;
    /* requests to the providers ("outbound":{"timeout_ms","connect_timeout_ms","retries"}):
     * each attempt's limits, and how often an idempotent call is tried again */
    struct {
        long timeout_ms;
        long connect_timeout_ms;
        int retries;
    } outbound;
};

/* Loads path. On failure message says what is wrong (the file, the member, never a secret's
 * value) and *out is NULL. */
must_check enum status pay_config_load(const char *path, struct pay_config **out, char *message,
                                       size_t size);
void pay_config_free(struct pay_config *config);
/* A configuration with no provider set up (outbound defaults from limits.h) (then
 * pay_config_sandbox, for `make run`). */
struct pay_config *pay_config_empty(void);
/* Turns the built-in sandbox provider on with a fresh random secret, unless the file set
 * one. */
void pay_config_sandbox(struct pay_config *config);

#endif
