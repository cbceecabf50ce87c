/* api.h — the handlers behind each route (one file per resource) and the job helper they
 * share to run work on the writer or the offload pool while the request is suspended. */
#ifndef TESSERA_API_API_H
#define TESSERA_API_API_H

#include "http/json.h"
#include "http/request.h"
#include "http/router.h"
#include "store/writer.h"

/* A unit of deferred work. Handlers embed it as the first member of their own struct. */
struct api_job;
typedef enum status (*api_apply_fn)(struct db *db, struct api_job *job);

struct api_job {
    struct writer_cmd cmd; /* first: the writer hands back &cmd */
    struct request *req;
    api_apply_fn apply;
    enum status status; /* the outcome, read by the finish callback */
    int64_t now_s;
    uint64_t submitted_ns, applied_ns; /* for metrics_stage; applied: first run, 0 before */
};

/* Suspends req and queues job on the writer; finish runs once the batch is durable (or
 * the writer refused it: job->status is then STATUS_BUSY). */
void api_job_write(struct request *req, struct api_job *job, api_apply_fn apply,
                   request_finish_fn finish);
/* Suspends req and runs fn on the offload pool; fn must end with request_resume. */
void api_job_offload(struct request *req, struct api_job *job, void (*fn)(void *),
                     request_finish_fn finish);
/* The same on another pool (request_pay_calls: calls to payment providers). */
void api_job_offload_to(struct request *req, struct offload *pool, struct api_job *job,
                        void (*fn)(void *), request_finish_fn finish);
/* From an offload job: continue on the writer; finish is the one given at first. */
void api_job_write_next(struct api_job *job, api_apply_fn apply);

/* Parses the JSON body into fields; on failure answers the error and returns false. */
bool api_parse(struct request *req, struct json_field *fields, int count, json_t **root);
/* True when the request's Content-Type is type (parameters such as charset ignored). */
bool api_content_type_is(struct request *req, const char *type);
/* The request's Idempotency-Key: false after answering 400 missing_idempotency_key (absent
 * or empty when required) or 422 invalid_value (not 1 to 128 printable bytes); *key NULL when
 * absent and not required. */
bool api_idempotency_key(struct request *req, bool required, const char **key);
/* Parses a path segment as a positive int64 id. */
bool api_parse_id(const char *text, int64_t *id);
/* Appends a code list ["…",…] opened from sealed codes; STATUS_TAMPERED on a bad seal. */
must_check enum status api_append_codes(struct request *req, const struct store_order_result *r);

void api_healthz(struct request *req);
void api_metrics(struct request *req);
void api_login(struct request *req);
void api_users_create(struct request *req);
void api_products_list(struct request *req);
void api_products_create(struct request *req);
void api_codes_import(struct request *req);
void api_wallet_credit(struct request *req);
void api_wallet_get(struct request *req);
void api_orders_create(struct request *req);
void api_orders_get(struct request *req);
void api_orders_codes(struct request *req);
void api_risk_rules_get(struct request *req);
void api_risk_rules_put(struct request *req);
void api_risk_rules_test(struct request *req);
void api_risk_events_post(struct request *req);
void api_risk_event_get(struct request *req);
void api_risk_decision_get(struct request *req);
void api_risk_reviews_list(struct request *req);
void api_risk_review_decide(struct request *req);
void api_risk_list_get(struct request *req);
void api_risk_list_put(struct request *req);
void api_pay_notify(struct request *req);
void api_pay_sandbox_page(struct request *req);
void api_pay_sandbox_pay(struct request *req);
void api_pay_confirm(struct request *req);
void api_orders_invalid_codes(struct request *req);
void api_orders_refund(struct request *req);
void api_orders_refunds_list(struct request *req);
void api_refunds_settle(struct request *req);
void api_credit_get(struct request *req);
void api_credit_put(struct request *req);
void api_credit_quote(struct request *req);
void api_credit_repay(struct request *req);
void api_credit_payoff(struct request *req);

#endif
