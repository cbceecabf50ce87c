/* products.c — the catalog: GET /api/v1/products (public), POST /api/v1/products (admin)
 * and POST /api/v1/products/{sku}/codes (admin, supplier) to import codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "base/assert.h"
#include "base/text.h"
#include "base/clock.h"
#include "base/limits.h"

static enum status products_append(struct buf *out, const struct store_product *product) {
    enum status status = buf_append(out, "{\"sku\":", 7);
    if (status == STATUS_OK) status = json_append_string(out, product->sku);
    if (status == STATUS_OK) status = buf_append(out, ",\"name\":", 8);
    if (status == STATUS_OK) status = json_append_string(out, product->name);
    if (status == STATUS_OK) {
        status = buf_printf(out,
                            ",\"face_value\":%lld,\"price\":%lld,\"currency\":\"%s\","
                            "\"liquidity\":\"%s\",\"stock\":%lld}",
                            (long long)product->face_value, (long long)product->price,
                            product->currency, product->liquidity, (long long)product->stock);
    }
    return status;
}

struct products_list {
    struct buf *out;
    int count;
};

static enum status products_list_one(void *context, const struct store_product *product) {
    struct products_list *list = context;
    enum status status = list->count++ ? buf_append(list->out, ",", 1) : STATUS_OK;
    return status == STATUS_OK ? products_append(list->out, product) : status;
}

void api_products_list(struct request *req) {
    struct products_list list = {&req->response, 0};
    enum status status = buf_append(&req->response, "{\"products\":[", 13);
    if (status == STATUS_OK)
        status = store_product_each(request_reader(req), products_list_one, &list);
    if (status == STATUS_OK) status = buf_append(&req->response, "]}", 2);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, 200);
}

/* SKUs: 1–64 of [A-Za-z0-9_.-]; they appear in URLs. */
static bool products_sku_valid(const char *sku) {
    size_t len = strlen(sku);
    if (len == 0 || len > LIMIT_SKU_BYTES) return false;
    for (size_t i = 0; i < len; i++) {
        char c = sku[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

struct product_job {
    struct api_job base;
    struct store_product product;
    int64_t actor_id;
};

static enum status products_create_apply(struct db *db, struct api_job *base) {
    struct product_job *job = (struct product_job *)base;
    enum status status = store_product_create(db, &job->product, base->now_s, &job->product.id);
    if (status != STATUS_OK) return status;
    char object[48], detail[160];
    snprintf(object, sizeof object, "product:%lld", (long long)job->product.id);
    snprintf(detail, sizeof detail, "{\"sku\":\"%s\",\"price\":%lld,\"face_value\":%lld}",
             job->product.sku, (long long)job->product.price, (long long)job->product.face_value);
    return store_audit_append(db, job->actor_id, "product.create", object, detail, base->now_s);
}

static void products_create_finish(struct request *req) {
    struct product_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status,
                      job->base.status == STATUS_EXISTS ? "a product with this SKU exists" : 0);
    } else {
        verify(products_append(&req->response, &job->product) == STATUS_OK);
        request_json(req, 201);
    }
    free(job);
}

void api_products_create(struct request *req) {
    const char *sku = 0, *name = 0, *currency = "CNY", *liquidity = 0;
    int64_t face_value = 0, price = 0;
    struct json_field fields[] = {
        {"sku", JSON_FIELD_STRING, true, LIMIT_SKU_BYTES, &sku, 0, 0, 0},
        {"name", JSON_FIELD_STRING, true, LIMIT_NAME_BYTES, &name, 0, 0, 0},
        {"face_value", JSON_FIELD_INT, true, 0, 0, &face_value, 0, 0},
        {"price", JSON_FIELD_INT, true, 0, 0, &price, 0, 0},
        {"currency", JSON_FIELD_STRING, false, 3, &currency, 0, 0, 0},
        {"liquidity", JSON_FIELD_STRING, true, 4, &liquidity, 0, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 6, &root)) return;
    if (!products_sku_valid(sku)) {
        request_error(req, STATUS_INVALID_VALUE, "sku must be 1 to 64 of A-Z a-z 0-9 _ . -");
    } else if (!money_amount_valid(face_value) || !money_amount_valid(price)) {
        request_error(req, STATUS_INVALID_AMOUNT,
                      "face_value and price must be positive minor units within the limit");
    } else if (!money_currency_valid(currency)) {
        request_error(req, STATUS_INVALID_VALUE, "currency must be three upper-case letters");
    } else if (strcmp(liquidity, "high") != 0 && strcmp(liquidity, "low") != 0) {
        request_error(req, STATUS_INVALID_VALUE, "liquidity must be \"high\" or \"low\"");
    }
    if (req->answered) {
        json_decref(root);
        return;
    }
    struct product_job *job = mem_calloc(1, sizeof *job);
    (void)text_copy(job->product.sku, sizeof job->product.sku, sku);
    (void)text_copy(job->product.name, sizeof job->product.name, name);
    (void)text_copy(job->product.currency, sizeof job->product.currency, currency);
    (void)text_copy(job->product.liquidity, sizeof job->product.liquidity, liquidity);
    job->product.face_value = face_value;
    job->product.price = price;
    job->actor_id = req->user.id;
    json_decref(root);
    api_job_write(req, &job->base, products_create_apply, products_create_finish);
}

struct import_job {
    struct api_job base;
    char sku[LIMIT_SKU_BYTES + 1];
    int64_t actor_id;
    struct import_batch batch;
    int64_t rejected;
    bool too_many;
    struct store_import_result result;
};

static enum status import_collect(void *context, const struct import_code *code) {
    struct import_job *job = context;
    if (job->batch.count >= LIMIT_IMPORT_CODES_PER_REQUEST) {
        job->too_many = true;
        return STATUS_TOO_MANY_CODES;
    }
    import_batch_add(&job->batch, code);
    return STATUS_OK;
}

static enum status import_apply(struct db *db, struct api_job *base) {
    struct import_job *job = (struct import_job *)base;
    struct store_product product;
    enum status status = store_product_by_sku(db, job->sku, &product);
    if (status != STATUS_OK) return status;
    status = store_codes_insert(db, request_vault(base->req), product.id, &job->batch, base->now_s,
                                &job->result);
    if (status != STATUS_OK) return status;
    char object[48], detail[128];
    snprintf(object, sizeof object, "product:%lld", (long long)product.id);
    snprintf(detail, sizeof detail, "{\"imported\":%lld,\"duplicates\":%lld,\"rejected\":%lld}",
             (long long)job->result.imported, (long long)job->result.duplicates,
             (long long)job->rejected);
    return store_audit_append(db, job->actor_id, "codes.import", object, detail, base->now_s);
}

static void import_free(struct import_job *job) {
    import_batch_free(&job->batch);
    free(job);
}

static void import_finish(struct request *req) {
    struct import_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        verify(buf_printf(&req->response,
                          "{\"imported\":%lld,\"duplicates\":%lld,\"rejected\":%lld}",
                          (long long)job->result.imported, (long long)job->result.duplicates,
                          (long long)job->rejected) == STATUS_OK);
        request_json(req, 200);
    }
    import_free(job);
}

/* "text/plain" or "text/csv", parameters (charset) ignored; anything else is refused. */
static bool import_content_type(struct request *req, bool *csv) {
    *csv = api_content_type_is(req, "text/csv");
    return *csv || api_content_type_is(req, "text/plain");
}

void api_codes_import(struct request *req) {
    bool csv = false;
    if (!import_content_type(req, &csv)) {
        request_error(req, STATUS_UNSUPPORTED_MEDIA, "send codes as text/plain or text/csv");
        return;
    }
    if (strlen(req->params[0]) > LIMIT_SKU_BYTES) {
        request_error(req, STATUS_UNKNOWN_SKU, 0);
        return;
    }
    struct import_job *job = mem_calloc(1, sizeof *job);
    (void)text_copy(job->sku, sizeof job->sku, req->params[0]);
    job->actor_id = req->user.id;
    import_batch_init(&job->batch);
    struct import_parser parser;
    import_parser_init(&parser, csv, clock_now_s(), import_collect, job);
    enum status status = import_parser_feed(&parser, req->body.data, req->body.len);
    if (status == STATUS_OK) status = import_parser_finish(&parser);
    job->rejected = parser.rejected;
    if (status == STATUS_OK && job->batch.count == 0) {
        request_error(req, STATUS_INVALID_VALUE,
                      job->rejected ? "no valid code in the body" : "the body holds no codes");
    } else if (status != STATUS_OK) {
        request_error(req, status, 0);
    }
    if (req->answered) {
        import_free(job);
        return;
    }
    api_job_write(req, &job->base, import_apply, import_finish);
}
