/* limits.h — every limit Tessera enforces, in one place.
 * Each limit is a named constant with a compile-time guard. Code never uses a bare number
 * where one of these belongs. Changing a value here changes the product's behaviour. */
#ifndef TESSERA_BASE_LIMITS_H
#define TESSERA_BASE_LIMITS_H

#include <stdint.h>

/* HTTP */
#define LIMIT_BODY_BYTES (1024 * 1024)             /* request body; larger answers 413 */
#define LIMIT_IMPORT_BODY_BYTES (32 * 1024 * 1024) /* body of a code import request */
#define LIMIT_HEADER_COUNT 64                      /* request headers; more answers 431 */
#define LIMIT_URL_BYTES 2048                       /* request target; longer answers 414 */
#define LIMIT_CONNECTIONS 1024                     /* concurrent client connections */
#define LIMIT_CONNECTIONS_PER_IP 512               /* of them from one address */
#define LIMIT_CONNECTION_TIMEOUT_S 30              /* idle keep-alive connection */
/* A connection's memory in libmicrohttpd: request line and headers, read buffer, answer
 * headers (larger headers answer 431). libmicrohttpd zeroes all of it for every request,
 * so its 32 KiB default cost each request more than its parsing (callgrind). */
#define LIMIT_CONNECTION_MEMORY_BYTES (16 * 1024)
#define LIMIT_HTTP_THREADS 2          /* libmicrohttpd worker threads */
#define LIMIT_ROUTES 64               /* entries of the route table (metrics) */
#define LIMIT_SHUTDOWN_DRAIN_MS 10000 /* wait for in-flight requests on SIGTERM */

/* Orders and money */
#define LIMIT_ORDER_QUANTITY 100          /* codes per order */
#define LIMIT_AMOUNT_MINOR 100000000000LL /* any single amount: 1e9 CNY in fen */
#define LIMIT_IDEMPOTENCY_KEY_BYTES 128
/* An order's Idempotency-Key is remembered at least this long (src/store/idempotency.c) */
#define LIMIT_IDEMPOTENCY_WINDOW_S (24 * 3600)
#define LIMIT_IDEMPOTENCY_SLACK_S 3600   /* orders kept past the window: ids vs clock steps */
#define LIMIT_IDEMPOTENCY_MIN_SLOTS 1024 /* the writer's key table; power of two */
#define LIMIT_IDEMPOTENCY_DRAIN_SLOTS 64 /* moved to a grown table per lookup and insert */
#define LIMIT_REASON_BYTES 256

/* Catalog and inventory */
#define LIMIT_SKU_BYTES 64
#define LIMIT_NAME_BYTES 200
#define LIMIT_CODE_BYTES 256         /* one card code, in bytes */
#define LIMIT_IMPORT_LINE_BYTES 1024 /* one line of an import file */
#define LIMIT_IMPORT_CODES_PER_REQUEST 100000
#define LIMIT_IMPORT_CHUNK 100000        /* codes per import transaction */
#define LIMIT_IMPORT_STATEMENT_ROWS 2048 /* codes per INSERT (store/code_rows.c) */
#define LIMIT_IMPORT_WAL_PAGES 16384     /* WAL an import lets grow before restarting it */

/* Users and sessions */
#define LIMIT_USERNAME_BYTES 64
#define LIMIT_PASSWORD_MIN_BYTES 8
#define LIMIT_PASSWORD_MAX_BYTES 256
#define LIMIT_SESSION_TTL_S (12 * 3600)
#define LIMIT_TOKEN_BYTES 32            /* random bytes in a bearer token */
#define LIMIT_SESSION_CACHE_S 1         /* an HTTP thread trusts a looked-up token this long */
#define LIMIT_SESSION_CACHE_ENTRIES 256 /* per HTTP thread; power of two */

/* Writer (single-writer group commit) */
#define LIMIT_WRITER_BATCH 512          /* commands per commit */
#define LIMIT_WRITER_QUEUE 65536        /* queued commands before 503 */
#define LIMIT_BUSY_TIMEOUT_MS 30000     /* wait for another process's write lock */
#define LIMIT_WAL_CHECKPOINT_PAGES 4000 /* WAL pages that wake the checkpointer (checkpoint.h) */
#define LIMIT_WAL_BUFFER_BYTES 1048576  /* WAL writes gathered per file (1 MiB) */
#define LIMIT_TICK_MS 1000              /* writer maintenance (expiry sweep) period */
#define LIMIT_EXPIRE_PER_TICK 1000      /* expired codes retired per sweep */

/* Risk events (src/risk/event.c) */
#define LIMIT_RISK_EVENT_BYTES (16 * 1024) /* one event: a JSONL line or a POSTed body */
#define LIMIT_RISK_ID_BYTES 64             /* an event's id */
#define LIMIT_RISK_TEXT_BYTES 128          /* user, device, ip, sku, … and attr strings */
#define LIMIT_RISK_ATTRS 16                /* attrs per event */
#define LIMIT_RISK_ATTR_NAME_BYTES 32
#define LIMIT_RISK_JSON_DEPTH 16 /* nesting inside an ignored unknown field */

/* Risk rules (src/risk/compile.c, vm.c) */
#define LIMIT_RISK_RULE_FILE_BYTES (1024 * 1024)
#define LIMIT_RISK_NAME_BYTES 64    /* rule, feature and list names */
#define LIMIT_RISK_REASON_BYTES 256 /* a rule's reason text, a string literal */
#define LIMIT_RISK_RULES 256
#define LIMIT_RISK_FEATURES 64
#define LIMIT_RISK_LISTS 32
#define LIMIT_RISK_LIST_ITEMS 100000     /* per list */
#define LIMIT_RISK_SET_ITEMS 64          /* strings in one ("a", "b") literal */
#define LIMIT_RISK_EXPR_DEPTH 32         /* nesting of parentheses and operators */
#define LIMIT_RISK_RULE_OPS 1024         /* bytecode instructions per rule */
#define LIMIT_RISK_STACK 64              /* VM value stack */
#define LIMIT_RISK_ERRORS 20             /* compile errors reported per file */
#define LIMIT_RISK_WINDOW_S (90 * 86400) /* the longest feature window */

/* Risk feature state (src/risk/state.c) */
#define LIMIT_RISK_RING 16             /* exact window entries kept per key, then folded */
#define LIMIT_RISK_MEMORY_MB 256       /* default bound of the feature state */
#define LIMIT_RISK_EVICT_SAMPLES 8     /* slots sampled to evict the least recently used */
#define LIMIT_RISK_CYCLE_HOPS 4        /* longest money cycle looked for */
#define LIMIT_RISK_CYCLE_VISITS 512    /* nodes a cycle search may expand */
#define LIMIT_RISK_MODEL_NODES 4000000 /* tree nodes in a loaded model */
#define LIMIT_RISK_MODEL_BYTES (256 * 1024 * 1024)

/* Payment notices (src/pay/) */
#define LIMIT_PAY_NOTICE_BYTES (64 * 1024) /* a notice's raw body (or GET query string) */
#define LIMIT_PAY_FIELDS 64                /* k=v pairs in a form or query notice */
#define LIMIT_PAY_VALUE_BYTES 1024         /* one decoded form value */
#define LIMIT_PAY_REF_BYTES 64             /* order refs, transaction, merchant, event ids */
#define LIMIT_PAY_HEADER_BYTES 4096        /* one header value of a notice */
#define LIMIT_PAY_CERTS 8                  /* WeChat Pay platform certificates in a config */
#define LIMIT_PAY_CONFIG_BYTES (256 * 1024)
#define LIMIT_PAY_PEM_BYTES (64 * 1024)
#define LIMIT_PAY_TOLERANCE_S 300 /* a signed timestamp this far from now is refused */
#define LIMIT_PAY_TIMEOUT_S 900   /* default: a gateway order waits this long for its payment */
#define LIMIT_PAY_TIMEOUT_MAX_S 86400
#define LIMIT_PAY_CONFIRM_ALONE_MINOR 50000 /* default: 补单 above ¥500 needs a second admin */
#define LIMIT_REFUND_RETRY_FIRST_S 10 /* a refund the provider did not answer waits this long */
#define LIMIT_REFUND_IN_FLIGHT_S 300  /* a refund sent this recently may still be answered */
#define LIMIT_REFUND_RETRY_WINDOW_S (20 * 3600) /* retried this long, then a person decides */
#define LIMIT_REFUND_RETRY_MAX_S 3600           /* … doubling up to this */
#define LIMIT_REPORT_CODES LIMIT_ORDER_QUANTITY /* codes marked invalid in one request */
#define LIMIT_PAY_CALL_THREADS 4   /* threads creating payments at providers for orders */
#define LIMIT_PAY_WORKER_MS 1000   /* refunds and reconciliation run this often */
#define LIMIT_PAY_WORKER_BATCH 32  /* refunds or queries per round */
#define LIMIT_RECONCILE_AFTER_S 60 /* a pending order is queried this old, then this often */

/* Installments (src/domain/installment*.c). Defaults are what a plan gets unless the
 * configuration overrides them; the bounds are what a configuration may set. */
#define LIMIT_CREDIT_PLANS 1024      /* plans of one buyer a repayment or a listing walks */
#define LIMIT_INSTALLMENT_PERIODS 12 /* the longest plan; sizes a plan's period array */
#define LIMIT_INSTALLMENT_PRINCIPAL_MINOR LIMIT_AMOUNT_MINOR /* one credit order's price */
#define LIMIT_INSTALLMENT_FEE_3_BP 150    /* default total fee of the 3-period plan: 1.5% */
#define LIMIT_INSTALLMENT_FEE_6_BP 300    /* default, 6 periods: 3% */
#define LIMIT_INSTALLMENT_FEE_12_BP 600   /* default, 12 periods: 6% */
#define LIMIT_INSTALLMENT_FEE_MAX_BP 5000 /* a configured plan fee: at most half the principal */
#define LIMIT_INSTALLMENT_GRACE_S (3 * 86400)      /* default: unpaid this long after due */
#define LIMIT_INSTALLMENT_GRACE_MAX_S (30 * 86400) /* a configured grace period */
#define LIMIT_INSTALLMENT_LATE_DAILY_BP 5       /* default late fee: 0.05% of the overdue a day */
#define LIMIT_INSTALLMENT_LATE_DAILY_MAX_BP 50  /* a configured daily late fee: 0.5% a day */
#define LIMIT_INSTALLMENT_LATE_CAP_BP 2500      /* default: a period's late fee ≤ 25% of it */
#define LIMIT_INSTALLMENT_LATE_CAP_MAX_BP 10000 /* a configured cap: never above the period */
#define LIMIT_INSTALLMENT_TIME_MAX_S 253402300799LL /* due dates end 9999-12-31T23:59:59Z */

/* Requests to payment providers (src/pay/http.c, *_api.c) */
#define LIMIT_PAY_RESPONSE_BYTES (256 * 1024)       /* a provider's answer; larger is refused */
#define LIMIT_PAY_RESPONSE_HEADER_BYTES (16 * 1024) /* all of an answer's header lines */
#define LIMIT_PAY_OUTBOUND_BODY_BYTES (16 * 1024)   /* a request we build and sign */
#define LIMIT_PAY_LINK_BYTES 4096                   /* a code_url, qr_code or EPay pay URL */
#define LIMIT_PAY_SECRET_LINK_BYTES 256             /* a Stripe client_secret */
#define LIMIT_PAY_HTTP_TIMEOUT_MS 5000              /* default: one attempt, connect to answer */
#define LIMIT_PAY_CONNECT_TIMEOUT_MS 2000           /* default: the connection alone */
#define LIMIT_PAY_HTTP_TIMEOUT_MAX_MS 60000         /* the most either may be configured to */
#define LIMIT_PAY_RETRIES 2                         /* default retries of an idempotent call */
#define LIMIT_PAY_RETRIES_MAX 5
#define LIMIT_PAY_BACKOFF_MS 100      /* the wait before the first retry; doubles each time */
#define LIMIT_PAY_BACKOFF_MAX_MS 2000 /* and never exceeds this */

/* Metrics */
#define LIMIT_LATENCY_BUCKETS 14

_Static_assert(LIMIT_BODY_BYTES >= 1024, "body limit too small");
_Static_assert(LIMIT_ORDER_QUANTITY > 0 && LIMIT_ORDER_QUANTITY <= 1000, "quantity limit");
_Static_assert(LIMIT_AMOUNT_MINOR < INT64_MAX / (LIMIT_ORDER_QUANTITY + 1), "amount limit");
_Static_assert(LIMIT_IMPORT_BODY_BYTES >= LIMIT_BODY_BYTES, "import body limit");
_Static_assert(LIMIT_CODE_BYTES < LIMIT_IMPORT_LINE_BYTES, "a code must fit on a line");
_Static_assert(LIMIT_IMPORT_CHUNK > 0 && LIMIT_IMPORT_CHUNK <= LIMIT_IMPORT_CODES_PER_REQUEST,
               "import chunk");
_Static_assert(LIMIT_WRITER_BATCH > 0 && LIMIT_WRITER_BATCH <= LIMIT_WRITER_QUEUE, "batch");
_Static_assert(LIMIT_TOKEN_BYTES >= 16, "tokens need at least 128 bits");
_Static_assert(LIMIT_RISK_RING >= 4 && LIMIT_RISK_RING <= 255, "ring entries fit a byte");
_Static_assert(LIMIT_RISK_TEXT_BYTES < LIMIT_RISK_EVENT_BYTES, "a field must fit an event");
_Static_assert(LIMIT_RISK_CYCLE_HOPS >= 2 && LIMIT_RISK_CYCLE_HOPS <= 6, "cycle search depth");
_Static_assert(LIMIT_PAY_VALUE_BYTES < LIMIT_PAY_NOTICE_BYTES, "a value must fit a notice");
_Static_assert(LIMIT_INSTALLMENT_PERIODS == 12, "the longest plan sizes the period array");
_Static_assert(LIMIT_INSTALLMENT_PRINCIPAL_MINOR <= LIMIT_AMOUNT_MINOR, "credit principal");
_Static_assert(LIMIT_INSTALLMENT_PRINCIPAL_MINOR < INT64_MAX / 10000 / 2,
               "principal times basis points, and principal plus fee, fit int64");
_Static_assert(LIMIT_INSTALLMENT_FEE_12_BP <= LIMIT_INSTALLMENT_FEE_MAX_BP &&
                   LIMIT_INSTALLMENT_FEE_MAX_BP <= 10000,
               "a plan fee is at most the principal");
_Static_assert(LIMIT_INSTALLMENT_GRACE_S <= LIMIT_INSTALLMENT_GRACE_MAX_S, "grace period");
_Static_assert(LIMIT_INSTALLMENT_LATE_DAILY_BP <= LIMIT_INSTALLMENT_LATE_DAILY_MAX_BP,
               "daily late fee");
_Static_assert(LIMIT_INSTALLMENT_LATE_CAP_BP <= LIMIT_INSTALLMENT_LATE_CAP_MAX_BP &&
                   LIMIT_INSTALLMENT_LATE_CAP_MAX_BP <= 10000,
               "late fee cap");
_Static_assert(LIMIT_PAY_CONNECT_TIMEOUT_MS <= LIMIT_PAY_HTTP_TIMEOUT_MS &&
                   LIMIT_PAY_HTTP_TIMEOUT_MS <= LIMIT_PAY_HTTP_TIMEOUT_MAX_MS,
               "outbound timeouts");
_Static_assert(LIMIT_PAY_RETRIES <= LIMIT_PAY_RETRIES_MAX && LIMIT_PAY_RETRIES_MAX <= 10,
               "outbound retries");
_Static_assert(LIMIT_PAY_BACKOFF_MS > 0 && LIMIT_PAY_BACKOFF_MS <= LIMIT_PAY_BACKOFF_MAX_MS,
               "outbound backoff");
_Static_assert(LIMIT_PAY_OUTBOUND_BODY_BYTES >= 4 * LIMIT_PAY_VALUE_BYTES, "outbound body");
_Static_assert((LIMIT_SESSION_CACHE_ENTRIES & (LIMIT_SESSION_CACHE_ENTRIES - 1)) == 0,
               "session cache size must be a power of two");

_Static_assert(LIMIT_REFUND_IN_FLIGHT_S * 1000 > 2 * LIMIT_PAY_HTTP_TIMEOUT_MAX_MS,
               "a refund in flight outlasts any one provider call");

#endif
