/* pay_bench.c — payment notice verification alone, in process, one core: for each gateway a
 * valid notice is made here (keys generated at start: RSA-2048 for WeChat Pay and Alipay,
 * the APIv3 key, EPay's and the sandbox's secrets) and pay_verify runs on it N times —
 * signature, time window, decryption, fields. Prints notices/s and the mean µs per notice.
 * usage: pay_bench [N] (default 20000) */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "pay/config.h"
#include "pay/crypto.h"
#include "pay/form.h"
#include "pay/providers.h"

#define NOW 1764583200

static void bench_sign(EVP_PKEY *key, const char *message, size_t len, char *out, size_t size) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char signature[512];
    size_t sig_len = sizeof signature;
    verify(ctx != 0 && EVP_DigestSignInit(ctx, 0, EVP_sha256(), 0, key) == 1 &&
           EVP_DigestSign(ctx, signature, &sig_len, (const unsigned char *)message, len) == 1);
    EVP_MD_CTX_free(ctx);
    sodium_bin2base64(out, size, signature, sig_len, sodium_base64_VARIANT_ORIGINAL);
}

static void bench_run(const char *name, const struct pay_config *config,
                      enum pay_provider provider, const struct pay_request *request, int n) {
    struct pay_notice notice;
    char reason[200];
    verify(pay_verify(config, provider, request, &notice, 0, reason, sizeof reason) ==
           STATUS_OK); /* a valid notice, or the figures mean nothing */
    uint64_t started = clock_monotonic_ns();
    for (int i = 0; i < n; i++)
        verify(pay_verify(config, provider, request, &notice, 0, reason, sizeof reason) ==
               STATUS_OK);
    double seconds = (double)(clock_monotonic_ns() - started) / 1e9;
    printf("PAYBENCH provider=%s notices=%d seconds=%.3f notices_per_s=%.0f us_per_notice=%.2f\n",
           name, n, seconds, n / seconds, seconds * 1e6 / n);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    verify(n > 0 && sodium_init() >= 0);
    struct pay_config config;
    memset(&config, 0, sizeof config);
    config.epay.on = config.wechatpay.on = config.alipay.on = config.stripe.on = true;
    config.sandbox.on = true;
    snprintf(config.epay.pid, sizeof config.epay.pid, "1001");
    snprintf(config.epay.key, sizeof config.epay.key, "bench-epay-key-0123456789abcdef");
    snprintf(config.stripe.webhook_secret, sizeof config.stripe.webhook_secret, "whsec_bench");
    snprintf(config.sandbox.secret, sizeof config.sandbox.secret, "bench-sandbox-secret");
    snprintf(config.wechatpay.mchid, sizeof config.wechatpay.mchid, "1900000109");
    verify(RAND_bytes(config.wechatpay.apiv3_key, 32) == 1);
    for (int i = 0; i < 32; i++) /* an APIv3 key is 32 printable characters */
        config.wechatpay.apiv3_key[i] = (unsigned char)('a' + config.wechatpay.apiv3_key[i] % 26);
    config.wechatpay.has_apiv3_key = true;
    EVP_PKEY *wechat = EVP_RSA_gen(2048), *alipay = EVP_RSA_gen(2048);
    verify(wechat != 0 && alipay != 0);
    config.wechatpay.keys[0].key = wechat;
    snprintf(config.wechatpay.keys[0].id, sizeof config.wechatpay.keys[0].id, "5157F09E");
    config.wechatpay.key_count = 1;
    snprintf(config.alipay.app_id, sizeof config.alipay.app_id, "2021000117600001");
    config.alipay.public_key = alipay;

    /* EPay: a GET query string */
    struct buf epay;
    buf_init(&epay, 1 << 16);
    const char *fields = "money=98.50&name=card&out_trade_no=T1001&pid=1001&trade_no=2026120110"
                         "000001&trade_status=TRADE_SUCCESS&type=alipay";
    char text[512], md5[33];
    snprintf(text, sizeof text, "%s%s", fields, config.epay.key);
    pay_md5_hex(text, strlen(text), md5);
    verify(buf_printf(&epay, "%s&sign=%s&sign_type=MD5", fields, md5) == STATUS_OK);
    struct pay_request request = {epay.data, epay.len, 0, 0, NOW};
    bench_run("epay", &config, PAY_EPAY, &request, n);

    /* Stripe and the sandbox: HMAC headers */
    const char *event = "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\",\"data\":{"
                        "\"object\":{\"id\":\"pi_1\",\"amount\":9850,\"amount_received\":9850,"
                        "\"currency\":\"cny\",\"metadata\":{\"order_id\":\"T1001\"}}}}";
    char header[PAY_SIGNATURE_HEADER_BYTES];
    pay_hmac_header_make(config.stripe.webhook_secret, event, strlen(event), NOW, header);
    struct pay_header stripe_header = {"Stripe-Signature", header};
    struct pay_request stripe = {event, strlen(event), &stripe_header, 1, NOW};
    bench_run("stripe", &config, PAY_STRIPE, &stripe, n);
    struct buf sandbox;
    buf_init(&sandbox, 1 << 16);
    char sandbox_header[PAY_SIGNATURE_HEADER_BYTES];
    verify(pay_sandbox_notice(&config, "T1001", 9850, "CNY", true, NOW, &sandbox,
                              sandbox_header) == STATUS_OK);
    struct pay_header sh = {"Sandbox-Signature", sandbox_header};
    struct pay_request sandbox_request = {sandbox.data, sandbox.len, &sh, 1, NOW};
    bench_run("sandbox", &config, PAY_SANDBOX, &sandbox_request, n);

    /* Alipay: a form body signed RSA2 */
    const char *form = "app_id=2021000117600001&notify_id=ac05099524730693a8b330c5ecf72da9786&"
                       "out_trade_no=T1001&total_amount=98.50&trade_no=2026120122001400000000000001&"
                       "trade_status=TRADE_SUCCESS";
    char signature[1024];
    bench_sign(alipay, form, strlen(form), signature, sizeof signature);
    struct buf alipay_body;
    buf_init(&alipay_body, 1 << 16);
    verify(buf_printf(&alipay_body, "%s&sign_type=RSA2&sign=", form) == STATUS_OK);
    verify(pay_url_escape(&alipay_body, signature) == STATUS_OK);
    struct pay_request alipay_request = {alipay_body.data, alipay_body.len, 0, 0, NOW};
    bench_run("alipay", &config, PAY_ALIPAY, &alipay_request, n);

    /* WeChat Pay: an encrypted resource, signed headers */
    const char *resource = "{\"mchid\":\"1900000109\",\"out_trade_no\":\"T1001\",\"transaction_id"
                           "\":\"4200001234\",\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":"
                           "9850,\"currency\":\"CNY\"}}";
    unsigned char sealed[1024];
    int len = 0, tail = 0;
    const char *nonce = "0123456789ab", *aad = "transaction";
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    verify(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), 0, config.wechatpay.apiv3_key,
                              (const unsigned char *)nonce) == 1 &&
           EVP_EncryptUpdate(ctx, 0, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
           EVP_EncryptUpdate(ctx, sealed, &len, (const unsigned char *)resource,
                             (int)strlen(resource)) == 1 &&
           EVP_EncryptFinal_ex(ctx, sealed + len, &tail) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, sealed + len + tail) == 1);
    EVP_CIPHER_CTX_free(ctx);
    char ciphertext[2048];
    sodium_bin2base64(ciphertext, sizeof ciphertext, sealed, (size_t)(len + tail + 16),
                      sodium_base64_VARIANT_ORIGINAL);
    struct buf body, message;
    buf_init(&body, 1 << 16);
    buf_init(&message, 1 << 16);
    verify(buf_printf(&body,
                      "{\"id\":\"EV-1\",\"event_type\":\"TRANSACTION.SUCCESS\",\"resource\":{"
                      "\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"%s\","
                      "\"associated_data\":\"%s\",\"nonce\":\"%s\"}}",
                      ciphertext, aad, nonce) == STATUS_OK);
    verify(buf_printf(&message, "%d\nnonce-1\n%s\n", NOW, body.data) == STATUS_OK);
    char wechat_signature[1024], timestamp[16];
    bench_sign(wechat, message.data, message.len, wechat_signature, sizeof wechat_signature);
    snprintf(timestamp, sizeof timestamp, "%d", NOW);
    struct pay_header wh[] = {{"Wechatpay-Timestamp", timestamp},
                              {"Wechatpay-Nonce", "nonce-1"},
                              {"Wechatpay-Signature", wechat_signature},
                              {"Wechatpay-Serial", "5157F09E"}};
    struct pay_request wechat_request = {body.data, body.len, wh, 4, NOW};
    bench_run("wechatpay", &config, PAY_WECHATPAY, &wechat_request, n);

    buf_free(&epay);
    buf_free(&sandbox);
    buf_free(&alipay_body);
    buf_free(&body);
    buf_free(&message);
    EVP_PKEY_free(wechat);
    EVP_PKEY_free(alipay);
    return 0;
}
