/* setup.c — what `tessera init` writes into a new database: platform accounts, the admin
 * user and, with --demo, a small catalog with random codes. Runs inside one transaction. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

#define SETUP_DEMO_CODES 50

struct setup_product {
    const char *sku, *name, *liquidity;
    int64_t face_value, price;
};

static const struct setup_product setup_demo_products[] = {
    {"JD-E100", "JD.com gift card 100 CNY", "high", 10000, 9850},
    {"STEAM-CN-50", "Steam wallet code 50 CNY", "high", 5000, 4900},
    {"IQIYI-VIP-M", "iQIYI VIP one month", "low", 2500, 1980},
    {"MOBILE-TOPUP-30", "Mobile top-up voucher 30 CNY", "low", 3000, 2970},
};

static enum status setup_demo(struct db *db, const struct vault *vault, int64_t now_s) {
    for (size_t i = 0; i < sizeof setup_demo_products / sizeof setup_demo_products[0]; i++) {
        const struct setup_product *demo = &setup_demo_products[i];
        struct store_product product;
        memset(&product, 0, sizeof product);
        (void)text_copy(product.sku, sizeof product.sku, demo->sku);
        (void)text_copy(product.name, sizeof product.name, demo->name);
        snprintf(product.currency, sizeof product.currency, "CNY");
        (void)text_copy(product.liquidity, sizeof product.liquidity, demo->liquidity);
        product.face_value = demo->face_value;
        product.price = demo->price;
        int64_t product_id = 0;
        enum status status = store_product_create(db, &product, now_s, &product_id);
        if (status != STATUS_OK) return status;
        struct import_batch batch;
        import_batch_init(&batch);
        for (int k = 0; k < SETUP_DEMO_CODES; k++) {
            unsigned char raw[10];
            randombytes_buf(raw, sizeof raw);
            char hex[2 * sizeof raw + 1];
            sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
            struct import_code code = {.expires_at = 0};
            code.code_len = (size_t)snprintf(code.code, sizeof code.code, "DEMO-%s", hex);
            import_batch_add(&batch, &code);
            sodium_memzero(&code, sizeof code);
        }
        struct store_import_result result = {0, 0};
        status = store_codes_insert(db, vault, product_id, &batch, now_s, &result);
        import_batch_free(&batch);
        if (status != STATUS_OK) return status;
        verify(result.imported == SETUP_DEMO_CODES);
    }
    return STATUS_OK;
}

enum status store_setup(struct db *db, const struct vault *vault, const char *admin_password_hash,
                        bool demo, int64_t now_s) {
    verify(db != 0 && vault != 0 && admin_password_hash != 0);
    int64_t id = 0;
    enum status status = store_account_id(db, LEDGER_PLATFORM_REVENUE, 0, "CNY", true, &id);
    if (status == STATUS_OK) status = store_account_id(db, LEDGER_FUNDING, 0, "CNY", true, &id);
    if (status == STATUS_OK) {
        status = store_user_create(db, "admin", admin_password_hash, ROLE_ADMIN, now_s, &id);
    }
    if (status == STATUS_OK)
        status = store_audit_append(db, id, "system.init", "database",
                                    demo ? "{\"demo\":true}" : "{\"demo\":false}", now_s);
    if (status == STATUS_OK && demo) status = setup_demo(db, vault, now_s);
    return status;
}
