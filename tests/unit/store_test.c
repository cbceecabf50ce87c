/* store_test.c — the store against a real temporary SQLite database: the wallet order
 * transaction (delivery, out of stock, insufficient funds, idempotent replay and conflict,
 * expired codes), code import with duplicates, the single writer's per-command rollback,
 * and store_check, which must pass on a good database and name the broken invariant after
 * a row is corrupted directly with SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>

#include "store/writer.h"
#include "unit_db.h"

#define NOW 1800000000LL
#define PRICE_A 500
#define FACE_A 550
#define PRICE_B 100
#define CODES_A 3

struct fixture {
    struct unit_db t;
    int64_t product_a, product_b;
    int64_t buyer, buyer2, support;
};

static void fixture_product(struct fixture *f, const char *sku, int64_t price, int64_t face,
                            int64_t *id) {
    unit_db_product(&f->t, sku, price, face, NOW, id);
}

static struct store_import_result fixture_codes(struct fixture *f, int64_t product_id,
                                                const char *prefix, int count, int64_t expires_at) {
    return unit_db_codes(&f->t, product_id, prefix, count, expires_at, NOW);
}

static int fixture_setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    unit_db_open(&f->t);
    struct db *db = &f->t.db;
    unit_db_begin(&f->t);
    assert_int_equal(store_setup(db, &f->t.vault, "not-a-real-hash", false, NOW), STATUS_OK);
    fixture_product(f, "SKU-A", PRICE_A, FACE_A, &f->product_a);
    fixture_product(f, "SKU-B", PRICE_B, PRICE_B, &f->product_b);
    assert_int_equal(store_user_create(db, "buyer", "h", ROLE_BUYER, NOW, &f->buyer), STATUS_OK);
    assert_int_equal(store_user_create(db, "buyer2", "h", ROLE_BUYER, NOW, &f->buyer2), STATUS_OK);
    assert_int_equal(store_user_create(db, "support", "h", ROLE_SUPPORT, NOW, &f->support),
                     STATUS_OK);
    int64_t transfer = 0;
    assert_int_equal(
        store_wallet_credit(db, "buyer", 1200, "CNY", "test credit", 1, NOW, &transfer), STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    struct store_import_result imported = fixture_codes(f, f->product_a, "A-CODE", CODES_A, 0);
    assert_int_equal(imported.imported, CODES_A);
    imported = fixture_codes(f, f->product_b, "B-CODE", 2, 0);
    assert_int_equal(imported.imported, 2);
    *state = f;
    return 0;
}

UNIT_DB_FIXTURE(struct fixture);

static int64_t wallet(struct fixture *f, int64_t user_id) {
    int64_t balance = -1;
    assert_int_equal(store_account_balance(&f->t.db, LEDGER_BUYER_WALLET, user_id, "CNY", &balance),
                     STATUS_OK);
    return balance;
}

static int64_t stock(struct fixture *f, const char *sku) {
    struct store_product product;
    assert_int_equal(store_product_by_sku(&f->t.db, sku, &product), STATUS_OK);
    return product.stock;
}

static struct store_order_request request(int64_t buyer, const char *sku, int64_t quantity,
                                          const char *key, unsigned char body_seed) {
    struct store_order_request r;
    memset(&r, 0, sizeof r);
    r.buyer_id = buyer;
    r.sku = sku;
    r.quantity = quantity;
    r.idempotency_key = key;
    memset(r.request_hash, body_seed, sizeof r.request_hash);
    r.now_s = NOW;
    return r;
}

/* Places an order the way the writer does: inside a savepoint rolled back on failure. */
static enum status place(struct fixture *f, const struct store_order_request *r,
                         struct store_order_result *result) {
    unit_db_begin(&f->t);
    enum status status = store_order_place(&f->t.db, r, result);
    unit_db_end(&f->t, status);
    return status;
}

/* Opens every code of result; they must be distinct codes of the given prefix. */
static void assert_codes(struct fixture *f, const struct store_order_result *result,
                         const char *prefix, char opened[][LIMIT_CODE_BYTES + 1]) {
    for (int i = 0; i < result->code_count; i++) {
        size_t len = 0;
        const struct store_sealed_code *sealed = &result->codes[i];
        assert_int_equal(vault_code_open(&f->t.vault, sealed->id, sealed->sealed, sealed->len,
                                         opened[i], LIMIT_CODE_BYTES + 1, &len),
                         STATUS_OK);
        assert_int_equal(strncmp(opened[i], prefix, strlen(prefix)), 0);
        for (int k = 0; k < i; k++)
            assert_true(strcmp(opened[i], opened[k]) != 0);
    }
}

static bool check_ok(struct fixture *f) { return unit_db_check_ok(&f->t); }

static void assert_unchanged(struct fixture *f, int64_t orders, int64_t buyer_wallet,
                             int64_t stock_a) {
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM orders"), orders);
    assert_int_equal(wallet(f, f->buyer), buyer_wallet);
    assert_int_equal(stock(f, "SKU-A"), stock_a);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM codes WHERE state = 1"),
                     unit_db_int(&f->t, "SELECT coalesce(sum(quantity), 0) FROM orders"));
    assert_true(check_ok(f));
}

static void a_good_database_passes_check(void **state) {
    struct fixture *f = *state;
    struct buf out;
    buf_init(&out, 1 << 20);
    bool ok = false;
    assert_int_equal(store_check(&f->t.db, &out, &ok), STATUS_OK);
    assert_true(ok);
    json_error_t error;
    json_t *root = json_loadb(out.data, out.len, 0, &error);
    assert_non_null(root);
    assert_true(json_is_true(json_object_get(root, "ok")));
    assert_int_equal(json_array_size(json_object_get(root, "broken")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "counts"), "codes")),
                     CODES_A + 2);
    json_decref(root);
    buf_free(&out);
}

static void an_order_delivers_codes(void **state) {
    struct fixture *f = *state;
    struct store_order_request r = request(f->buyer, "SKU-A", 2, "key-1", 1);
    struct store_order_result result = {0};
    assert_int_equal(place(f, &r, &result), STATUS_OK);
    assert_false(result.replayed);
    assert_int_equal(result.code_count, 2);
    assert_true(result.order.id > 0);
    assert_int_equal(result.order.buyer_id, f->buyer);
    assert_string_equal(result.order.sku, "SKU-A");
    assert_int_equal(result.order.quantity, 2);
    assert_int_equal(result.order.unit_price, PRICE_A);
    assert_int_equal(result.order.face_value, FACE_A);
    assert_int_equal(result.order.amount, 2 * PRICE_A);
    assert_string_equal(result.order.status, "delivered");
    char opened[2][LIMIT_CODE_BYTES + 1];
    assert_codes(f, &result, "A-CODE-", opened);
    assert_int_equal(wallet(f, f->buyer), 1200 - 2 * PRICE_A);
    assert_int_equal(stock(f, "SKU-A"), CODES_A - 2);
    assert_int_equal(unit_db_int(&f->t, "SELECT balance FROM accounts WHERE "
                                        "kind = 'platform_revenue' AND currency = 'CNY'"),
                     2 * PRICE_A);
    /* The order keeps its snapshot when the product's price changes later. */
    unit_db_exec(&f->t, "UPDATE products SET price = 999 WHERE sku = 'SKU-A'");
    struct store_order order;
    assert_int_equal(store_order_get(&f->t.db, result.order.id, &order), STATUS_OK);
    assert_int_equal(order.unit_price, PRICE_A);
    assert_int_equal(order.amount, 2 * PRICE_A);
    assert_true(check_ok(f));
    store_order_result_free(&result);
}

static void the_same_key_replays_the_first_answer(void **state) {
    struct fixture *f = *state;
    struct store_order_request r = request(f->buyer, "SKU-A", 2, "key-1", 1);
    struct store_order_result first = {0}, again = {0};
    assert_int_equal(place(f, &r, &first), STATUS_OK);
    assert_int_equal(place(f, &r, &again), STATUS_OK);
    assert_true(again.replayed);
    assert_int_equal(again.order.id, first.order.id);
    assert_int_equal(again.order.amount, first.order.amount);
    assert_int_equal(again.code_count, first.code_count);
    char a[2][LIMIT_CODE_BYTES + 1], b[2][LIMIT_CODE_BYTES + 1];
    assert_codes(f, &first, "A-CODE-", a);
    assert_codes(f, &again, "A-CODE-", b);
    for (int i = 0; i < 2; i++)
        assert_true(strcmp(a[i], b[i]) == 0);
    /* Nothing charged or sold twice. */
    assert_unchanged(f, 1, 1200 - 2 * PRICE_A, CODES_A - 2);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM transfers WHERE kind = 'order'"), 1);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM audit WHERE action = "
                                        "'codes.reveal'"),
                     1); /* the replay revealed the codes again: audited */

    /* The same key with another body is a conflict, and changes nothing. */
    struct store_order_request other = request(f->buyer, "SKU-A", 1, "key-1", 2);
    struct store_order_result conflict = {0};
    assert_int_equal(place(f, &other, &conflict), STATUS_IDEMPOTENCY_CONFLICT);
    assert_int_equal(conflict.code_count, 0);
    assert_unchanged(f, 1, 1200 - 2 * PRICE_A, CODES_A - 2);

    /* Keys belong to their buyer: another buyer's "key-1" is a new order (and fails on
     * funds here, leaving nothing). */
    struct store_order_request theirs = request(f->buyer2, "SKU-A", 1, "key-1", 1);
    struct store_order_result fresh = {0};
    assert_int_equal(place(f, &theirs, &fresh), STATUS_INSUFFICIENT_FUNDS);
    assert_unchanged(f, 1, 1200 - 2 * PRICE_A, CODES_A - 2);
    store_order_result_free(&first);
    store_order_result_free(&again);
    store_order_result_free(&conflict);
    store_order_result_free(&fresh);
}

static void out_of_stock_changes_nothing(void **state) {
    struct fixture *f = *state;
    struct store_order_result result = {0};
    struct store_order_request r = request(f->buyer, "SKU-B", 3, "key-oos", 1);
    assert_int_equal(place(f, &r, &result), STATUS_OUT_OF_STOCK);
    assert_int_equal(result.code_count, 0);
    assert_int_equal(stock(f, "SKU-B"), 2);
    assert_unchanged(f, 0, 1200, CODES_A);
    assert_int_equal(
        unit_db_int(&f->t, "SELECT count(*) FROM orders WHERE idempotency_key = 'key-oos'"), 0);
    /* The failed attempt left no idempotency record: the key can be used again. */
    r.quantity = 2;
    assert_int_equal(place(f, &r, &result), STATUS_OK);
    assert_int_equal(result.code_count, 2);
    assert_int_equal(stock(f, "SKU-B"), 0);
    r = request(f->buyer, "SKU-B", 1, "key-oos-2", 1);
    assert_int_equal(place(f, &r, &result), STATUS_OUT_OF_STOCK);
    assert_int_equal(wallet(f, f->buyer), 1200 - 2 * PRICE_B);
    assert_true(check_ok(f));
    store_order_result_free(&result);
}

static void insufficient_funds_changes_nothing(void **state) {
    struct fixture *f = *state;
    struct store_order_result result = {0};
    struct store_order_request r = request(f->buyer, "SKU-A", 3, "key-too-dear", 1);
    assert_int_equal(place(f, &r, &result), STATUS_INSUFFICIENT_FUNDS); /* 1500 > 1200 */
    assert_int_equal(result.code_count, 0);
    assert_unchanged(f, 0, 1200, CODES_A);
    r = request(f->buyer2, "SKU-A", 1, "key-empty", 1);
    assert_int_equal(place(f, &r, &result), STATUS_INSUFFICIENT_FUNDS); /* wallet at 0 */
    /* A user without a wallet (not a buyer) cannot pay either. */
    r = request(f->support, "SKU-A", 1, "key-support", 1);
    assert_int_equal(place(f, &r, &result), STATUS_INSUFFICIENT_FUNDS);
    assert_unchanged(f, 0, 1200, CODES_A);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM codes WHERE state = 0"), CODES_A + 2);
    /* Exactly the balance is enough. */
    unit_db_begin(&f->t);
    int64_t transfer = 0;
    enum status status =
        store_wallet_credit(&f->t.db, "buyer", 300, "CNY", "top-up", 1, NOW, &transfer);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_OK);
    r = request(f->buyer, "SKU-A", 3, "key-exact", 1);
    assert_int_equal(place(f, &r, &result), STATUS_OK);
    assert_int_equal(wallet(f, f->buyer), 0);
    assert_int_equal(stock(f, "SKU-A"), 0);
    assert_true(check_ok(f));
    store_order_result_free(&result);
}

static void unknown_sku(void **state) {
    struct fixture *f = *state;
    struct store_order_result result = {0};
    struct store_order_request r = request(f->buyer, "NO-SUCH-SKU", 1, "key-x", 1);
    assert_int_equal(place(f, &r, &result), STATUS_UNKNOWN_SKU);
    assert_unchanged(f, 0, 1200, CODES_A);
}

static void expired_codes_are_not_sold(void **state) {
    struct fixture *f = *state;
    struct store_import_result imported = fixture_codes(f, f->product_b, "B-SOON", 1, NOW + 100);
    assert_int_equal(imported.imported, 1);
    assert_int_equal(stock(f, "SKU-B"), 3);
    struct store_order_result result = {0};
    struct store_order_request r = request(f->buyer, "SKU-B", 3, "key-late", 1);
    r.now_s = NOW + 200;
    assert_int_equal(place(f, &r, &result), STATUS_OUT_OF_STOCK);
    r.now_s = NOW + 50; /* before it expires: all three can be sold */
    assert_int_equal(place(f, &r, &result), STATUS_OK);
    assert_int_equal(result.code_count, 3);
    assert_true(check_ok(f));
    store_order_result_free(&result);
}

static void reveal_is_for_the_buyer_only(void **state) {
    struct fixture *f = *state;
    struct store_order_result placed = {0}, shown = {0};
    struct store_order_request r = request(f->buyer, "SKU-A", 1, "key-r", 1);
    assert_int_equal(place(f, &r, &placed), STATUS_OK);
    unit_db_begin(&f->t);
    enum status status = store_order_reveal(&f->t.db, placed.order.id, f->buyer, NOW, &shown);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_OK);
    assert_int_equal(shown.code_count, 1);
    assert_int_equal(shown.codes[0].id, placed.codes[0].id);
    unit_db_begin(&f->t);
    status = store_order_reveal(&f->t.db, placed.order.id, f->buyer2, NOW, &shown);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_UNKNOWN_ORDER);
    unit_db_begin(&f->t);
    status = store_order_reveal(&f->t.db, placed.order.id + 100, f->buyer, NOW, &shown);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_UNKNOWN_ORDER);
    struct store_order order;
    assert_int_equal(store_order_get(&f->t.db, 12345, &order), STATUS_UNKNOWN_ORDER);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM audit WHERE action = "
                                        "'codes.reveal'"),
                     1);
    store_order_result_free(&placed);
    store_order_result_free(&shown);
}

static void import_counts_duplicates(void **state) {
    struct fixture *f = *state;
    /* The same codes again, for another product: all duplicates (hashes are global). */
    struct store_import_result again = fixture_codes(f, f->product_b, "A-CODE", CODES_A, 0);
    assert_int_equal(again.imported, 0);
    assert_int_equal(again.duplicates, CODES_A);
    assert_int_equal(stock(f, "SKU-B"), 2);
    /* Duplicates inside one batch, and a mix of new and known codes. */
    struct import_batch batch;
    import_batch_init(&batch);
    static const char *const codes[] = {"NEW-1", "NEW-1", "A-CODE-2", "NEW-2", "NEW-1"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct import_code code = {.expires_at = 0};
        code.code_len = (size_t)snprintf(code.code, sizeof code.code, "%s", codes[i]);
        import_batch_add(&batch, &code);
    }
    struct store_import_result result = {0, 0};
    unit_db_begin(&f->t);
    enum status status =
        store_codes_insert(&f->t.db, &f->t.vault, f->product_b, &batch, NOW, &result);
    unit_db_end(&f->t, status);
    import_batch_free(&batch);
    assert_int_equal(status, STATUS_OK);
    assert_int_equal(result.imported, 2);
    assert_int_equal(result.duplicates, 3);
    assert_int_equal(stock(f, "SKU-B"), 4);
    /* No plaintext code is stored anywhere. */
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM codes WHERE instr(sealed, "
                                        "CAST('NEW-1' AS BLOB)) > 0 OR instr(hash, "
                                        "CAST('NEW-1' AS BLOB)) > 0"),
                     0);
    assert_true(check_ok(f));
}

/* ---- the single writer ---- */

struct test_cmd {
    struct writer_cmd cmd;
    struct store_order_request request;
    struct store_order_result result;
    bool fail_after_write;
    int64_t fail_after_stock; /* a product id: keep a stock change for it, then fail */
    bool lose_transaction;    /* write, then end the transaction as SQLite does on a full disk */
};

static enum status test_cmd_apply(struct db *db, struct writer_cmd *cmd) {
    struct test_cmd *test = (struct test_cmd *)cmd;
    if (test->fail_after_write) {
        enum status status = store_audit_append(db, 1, "test.write", "x", "{}", NOW);
        if (status != STATUS_OK) return status;
        return STATUS_INVALID_VALUE; /* the write above must be rolled back */
    }
    if (test->lose_transaction) {
        enum status status = store_audit_append(db, 1, "test.write", "x", "{}", NOW);
        if (status != STATUS_OK) return status;
        (void)sqlite3_exec(db->handle, "ROLLBACK", 0, 0, 0);
        return STATUS_DB;
    }
    if (test->fail_after_stock > 0) { /* no SQL yet: the change waits in the writer's cache */
        enum status status = store_stock_change(db, test->fail_after_stock, -1);
        if (status != STATUS_OK) return status;
        return STATUS_INVALID_VALUE; /* the kept change must be dropped */
    }
    return store_order_place(db, &test->request, &test->result);
}

/* Stock changes are kept in the writer's cache and written once per batch: a command that
 * fails after keeping one leaves the stock as it was, and the orders around it count. */
static void a_kept_stock_change_of_a_failed_command_is_dropped(void **state) {
    struct fixture *f = *state;
    struct writer *writer = 0;
    assert_int_equal(writer_start(f->t.path, &writer), STATUS_OK);
    struct store_product product;
    assert_int_equal(store_product_by_sku(&f->t.db, "SKU-A", &product), STATUS_OK);
    struct test_cmd failing;
    memset(&failing, 0, sizeof failing);
    failing.cmd.apply = test_cmd_apply;
    failing.fail_after_stock = product.id;
    assert_int_equal(writer_call(writer, &failing.cmd), STATUS_INVALID_VALUE);
    struct test_cmd order;
    memset(&order, 0, sizeof order);
    order.cmd.apply = test_cmd_apply;
    order.request = request(f->buyer, "SKU-A", 2, "key-k", 1);
    assert_int_equal(writer_call(writer, &order.cmd), STATUS_OK);
    store_order_result_free(&order.result);
    struct writer_stats stats;
    writer_stats(writer, &stats);
    writer_stop(writer);
    assert_true(stats.slow_batches >= 1); /* the kept change made the failure dirty */
    assert_int_equal(stock(f, "SKU-A"), CODES_A - 2);
    assert_true(check_ok(f));
}

static void the_writer_rolls_back_a_failed_command(void **state) {
    struct fixture *f = *state;
    struct writer *writer = 0;
    assert_int_equal(writer_start(f->t.path, &writer), STATUS_OK);
    int64_t audit_before = unit_db_int(&f->t, "SELECT count(*) FROM audit");
    struct test_cmd failing;
    memset(&failing, 0, sizeof failing);
    failing.cmd.apply = test_cmd_apply;
    failing.fail_after_write = true;
    assert_int_equal(writer_call(writer, &failing.cmd), STATUS_INVALID_VALUE);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM audit"), audit_before);

    struct test_cmd order;
    memset(&order, 0, sizeof order);
    order.cmd.apply = test_cmd_apply;
    order.request = request(f->buyer, "SKU-A", 1, "key-w", 1);
    assert_int_equal(writer_call(writer, &order.cmd), STATUS_OK);
    assert_int_equal(order.result.code_count, 1);
    store_order_result_free(&order.result);
    order.request = request(f->buyer, "SKU-A", 5, "key-w2", 1);
    assert_int_equal(writer_call(writer, &order.cmd), STATUS_OUT_OF_STOCK);
    writer_stop(writer);
    /* Committed and durable: visible on another connection. */
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM orders"), 1);
    assert_int_equal(stock(f, "SKU-A"), CODES_A - 1);
    assert_true(check_ok(f));
    store_order_result_free(&order.result);
}

/* A command that holds the writer until the test opens the gate, so the commands
 * submitted meanwhile are taken as one batch. */
struct gate {
    struct writer_cmd cmd;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool entered, open;
    int done; /* commands completed, counted by batch_done */
};

static struct gate gate = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static enum status gate_apply(struct db *db, struct writer_cmd *cmd) {
    pthread_mutex_lock(&gate.lock);
    gate.entered = true;
    pthread_cond_broadcast(&gate.changed);
    while (!gate.open)
        pthread_cond_wait(&gate.changed, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
    return STATUS_OK;
}

static void batch_done(struct writer_cmd *cmd) {
    pthread_mutex_lock(&gate.lock);
    gate.done++;
    pthread_cond_broadcast(&gate.changed);
    pthread_mutex_unlock(&gate.lock);
}

static void gate_wait(bool *flag_or_null, int done) {
    pthread_mutex_lock(&gate.lock);
    while (flag_or_null ? !*flag_or_null : gate.done < done) {
        pthread_cond_wait(&gate.changed, &gate.lock);
    }
    pthread_mutex_unlock(&gate.lock);
}

/* One batch holds two good orders, a command that fails after writing and an order that
 * fails on funds: the failed ones leave nothing, the good ones are committed exactly once
 * and their results describe what was committed. */
/* Runs cmds as one batch: a gate command holds the writer until all are queued behind it.
 * Returns the writer's stats; the writer is stopped. */
static struct writer_stats run_one_batch(struct fixture *f, struct test_cmd *cmds, int count) {
    struct writer *writer = 0;
    assert_int_equal(writer_start(f->t.path, &writer), STATUS_OK);
    gate.entered = gate.open = false;
    gate.done = 0;
    memset(&gate.cmd, 0, sizeof gate.cmd);
    gate.cmd.apply = gate_apply;
    gate.cmd.done = batch_done;
    assert_int_equal(writer_submit(writer, &gate.cmd), STATUS_OK);
    gate_wait(&gate.entered, 0);
    for (int i = 0; i < count; i++) {
        cmds[i].cmd.apply = test_cmd_apply;
        cmds[i].cmd.done = batch_done;
        assert_int_equal(writer_submit(writer, &cmds[i].cmd), STATUS_OK);
    }
    pthread_mutex_lock(&gate.lock);
    gate.open = true;
    pthread_cond_broadcast(&gate.changed);
    pthread_mutex_unlock(&gate.lock);
    gate_wait(0, count + 1);
    struct writer_stats stats;
    writer_stats(writer, &stats);
    writer_stop(writer);
    return stats;
}

static void a_batch_with_a_dirty_failure(void **state) {
    struct fixture *f = *state;
    struct test_cmd cmds[4];
    memset(cmds, 0, sizeof cmds);
    cmds[0].request = request(f->buyer, "SKU-A", 1, "key-b0", 1);
    cmds[1].fail_after_write = true;
    cmds[2].request = request(f->buyer, "SKU-B", 2, "key-b2", 1);
    cmds[3].request = request(f->buyer2, "SKU-A", 1, "key-b3", 1); /* wallet at 0 */
    struct writer_stats stats = run_one_batch(f, cmds, 4);

    assert_int_equal(cmds[0].cmd.status, STATUS_OK);
    assert_int_equal(cmds[1].cmd.status, STATUS_INVALID_VALUE);
    assert_int_equal(cmds[2].cmd.status, STATUS_OK);
    assert_int_equal(cmds[3].cmd.status, STATUS_INSUFFICIENT_FUNDS);
    assert_true(stats.batches >= 2);
    assert_true(stats.slow_batches >= 1); /* the dirty failure re-ran the batch */
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM orders"), 2);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM audit WHERE action = "
                                        "'test.write'"),
                     0);
    assert_int_equal(wallet(f, f->buyer), 1200 - PRICE_A - 2 * PRICE_B);
    assert_int_equal(wallet(f, f->buyer2), 0);
    assert_int_equal(stock(f, "SKU-A"), CODES_A - 1);
    assert_int_equal(stock(f, "SKU-B"), 0);
    /* Each good command's result names the order and the codes that were committed. */
    for (int i = 0; i <= 2; i += 2) {
        struct store_order_result *result = &cmds[i].result;
        assert_int_equal(result->code_count, cmds[i].request.quantity);
        for (int k = 0; k < result->code_count; k++) {
            char sql[160];
            snprintf(sql, sizeof sql, "SELECT order_id FROM codes WHERE id = %lld",
                     (long long)result->codes[k].id);
            assert_int_equal(unit_db_int(&f->t, sql), result->order.id);
        }
        store_order_result_free(result);
    }
    store_order_result_free(&cmds[3].result);
    assert_true(check_ok(f));
}

/* A stock write that fails in the fast path (here a trigger refusing SKU-A's stock to go
 * down, standing in for an I/O error) loses the change an earlier order of the batch kept:
 * the writer must roll the batch back and re-run it, never commit that order with its
 * stock unchanged. */
static void a_failed_stock_write_undoes_the_batch(void **state) {
    struct fixture *f = *state;
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TRIGGER refuse_a BEFORE UPDATE OF stock ON products WHEN NEW.stock < "
             "OLD.stock AND OLD.id = %lld BEGIN SELECT RAISE(ABORT, 'refused'); END",
             (long long)f->product_a);
    unit_db_exec(&f->t, sql);
    struct test_cmd cmds[2];
    memset(cmds, 0, sizeof cmds);
    cmds[0].request = request(f->buyer, "SKU-A", 1, "key-t0", 1);
    cmds[1].request = request(f->buyer, "SKU-B", 1, "key-t1", 1); /* flushes A's change */
    struct writer_stats stats = run_one_batch(f, cmds, 2);
    store_order_result_free(&cmds[0].result);
    store_order_result_free(&cmds[1].result);
    unit_db_exec(&f->t, "DROP TRIGGER refuse_a");
    assert_true(stats.slow_batches >= 1);
    assert_int_not_equal(cmds[0].cmd.status, STATUS_OK); /* its stock could not go down */
    assert_int_equal(cmds[1].cmd.status, STATUS_OK);
    assert_int_equal(stock(f, "SKU-A"), CODES_A);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM orders"), 1);
    assert_true(check_ok(f));
}

static int64_t revenue(struct fixture *f) {
    return unit_db_int(&f->t, "SELECT coalesce(sum(balance), 0) FROM accounts "
                              "WHERE kind = 'platform_revenue'");
}

/* A batch of orders credits the revenue account once (kept in the writer's cache), with
 * the balance equal to its postings afterwards. (One product: reading a product the cache
 * does not hold yet writes what is kept, since the same read returns its stock.) */
static void a_batch_writes_the_revenue_balance_once(void **state) {
    struct fixture *f = *state;
    unit_db_exec(&f->t, "CREATE TABLE revenue_writes (n INTEGER NOT NULL)");
    unit_db_exec(&f->t, "INSERT INTO revenue_writes VALUES (0)");
    unit_db_exec(&f->t, "CREATE TRIGGER count_revenue AFTER UPDATE OF balance ON accounts "
                        "WHEN NEW.kind = 'platform_revenue' "
                        "BEGIN UPDATE revenue_writes SET n = n + 1; END");
    struct test_cmd cmds[2];
    memset(cmds, 0, sizeof cmds);
    cmds[0].request = request(f->buyer, "SKU-A", 1, "key-r0", 1);
    cmds[1].request = request(f->buyer, "SKU-A", 1, "key-r1", 1);
    int64_t before = revenue(f);
    struct writer_stats stats = run_one_batch(f, cmds, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cmds[i].cmd.status, STATUS_OK);
        store_order_result_free(&cmds[i].result);
    }
    unit_db_exec(&f->t, "DROP TRIGGER count_revenue");
    assert_int_equal(stats.slow_batches, 0);
    assert_int_equal(unit_db_int(&f->t, "SELECT n FROM revenue_writes"), 1);
    assert_int_equal(revenue(f) - before, 2 * PRICE_A);
    assert_int_equal(wallet(f, f->buyer), 1200 - 2 * PRICE_A);
    assert_true(check_ok(f));
}

/* The kept revenue change is written at the end of the batch; when that write fails, the
 * batch runs again command by command and only the order whose own change is refused
 * fails — its payment, codes and stock undone with it. */
static void a_failed_revenue_write_fails_only_its_order(void **state) {
    struct fixture *f = *state;
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TRIGGER refuse_revenue BEFORE UPDATE OF balance ON accounts "
             "WHEN NEW.kind = 'platform_revenue' AND NEW.balance - OLD.balance >= %d "
             "BEGIN SELECT RAISE(ABORT, 'refused'); END",
             PRICE_A);
    unit_db_exec(&f->t, sql);
    struct test_cmd cmds[2];
    memset(cmds, 0, sizeof cmds);
    cmds[0].request = request(f->buyer, "SKU-A", 1, "key-v0", 1); /* refused alone */
    cmds[1].request = request(f->buyer, "SKU-B", 1, "key-v1", 1); /* passes alone */
    int64_t before = revenue(f);
    struct writer_stats stats = run_one_batch(f, cmds, 2);
    store_order_result_free(&cmds[0].result);
    store_order_result_free(&cmds[1].result);
    unit_db_exec(&f->t, "DROP TRIGGER refuse_revenue");
    assert_true(stats.slow_batches >= 1);
    assert_int_not_equal(cmds[0].cmd.status, STATUS_OK);
    assert_int_equal(cmds[1].cmd.status, STATUS_OK);
    assert_int_equal(revenue(f) - before, PRICE_B);
    assert_int_equal(wallet(f, f->buyer), 1200 - PRICE_B);
    assert_int_equal(stock(f, "SKU-A"), CODES_A);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM orders"), 1);
    assert_true(check_ok(f));
}

/* On a full disk or an I/O error SQLite may roll back the whole transaction under a
 * command. The batch then fails as a whole — nothing of it committed, no command run on in
 * autocommit mode — and the writer goes on with the next one. */
static void a_transaction_lost_under_a_command_fails_its_batch(void **state) {
    struct fixture *f = *state;
    int64_t audit_before = unit_db_int(&f->t, "SELECT count(*) FROM audit");
    struct test_cmd cmds[3];
    memset(cmds, 0, sizeof cmds);
    cmds[0].request = request(f->buyer, "SKU-A", 1, "key-l0", 1);
    cmds[1].lose_transaction = true;
    cmds[2].request = request(f->buyer, "SKU-B", 1, "key-l2", 1);
    (void)run_one_batch(f, cmds, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_not_equal(cmds[i].cmd.status, STATUS_OK);
        store_order_result_free(&cmds[i].result);
    }
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM orders"), 0);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM audit"), audit_before);
    assert_int_equal(stock(f, "SKU-A"), CODES_A);
    assert_int_equal(wallet(f, f->buyer), 1200);
    struct test_cmd again;
    memset(&again, 0, sizeof again);
    again.request = request(f->buyer, "SKU-A", 1, "key-l0", 1);
    (void)run_one_batch(f, &again, 1);
    assert_int_equal(again.cmd.status, STATUS_OK);
    store_order_result_free(&again.result);
    assert_int_equal(stock(f, "SKU-A"), CODES_A - 1);
    assert_true(check_ok(f));
}

/* A command that appends one audit entry with a large detail: about a page of WAL. */
struct page_cmd {
    struct writer_cmd cmd;
};

static enum status page_apply(struct db *db, struct writer_cmd *cmd) {
    (void)cmd;
    char detail[3000];
    memset(detail, 'x', sizeof detail - 1);
    detail[sizeof detail - 1] = 0;
    return store_audit_append(db, 1, "test.page", "x", detail, NOW);
}

/* Steady writes, with the writer never idle, still get checkpointed: the WAL restarts
 * instead of growing with every commit (the checkpoint thread copies the bulk, the writer
 * the tail), and every entry is in the database afterwards. */
static void steady_writes_keep_the_wal_bounded(void **state) {
    struct fixture *f = *state;
    struct writer *writer = 0;
    assert_int_equal(writer_start(f->t.path, &writer), STATUS_OK);
    /* each command writes most of a page: unbounded, the WAL would pass the bound below */
    enum { COMMANDS = 6 * LIMIT_WAL_CHECKPOINT_PAGES };
    struct page_cmd *cmds = calloc(COMMANDS, sizeof *cmds);
    assert_non_null(cmds);
    gate.done = 0;
    for (int i = 0; i < COMMANDS; i++) {
        cmds[i].cmd.apply = page_apply;
        cmds[i].cmd.done = batch_done;
        assert_int_equal(writer_submit(writer, &cmds[i].cmd), STATUS_OK);
    }
    gate_wait(0, COMMANDS);
    for (int i = 0; i < COMMANDS; i++)
        assert_int_equal(cmds[i].cmd.status, STATUS_OK);
    struct writer_stats stats;
    writer_stats(writer, &stats);
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->t.path);
    struct stat info;
    assert_int_equal(stat(wal, &info), 0);
    writer_stop(writer);
    free(cmds);
    assert_true(stats.checkpoints >= 1);
    /* The WAL restarts only after the writer copied a tail between batches, and every
     * batch's COMMIT was timed once. */
    assert_true(stats.checkpoint_finishes >= 1 && stats.checkpoint_finish_ns > 0);
    uint64_t commits = 0;
    for (int b = 0; b < WRITER_COMMIT_BUCKETS; b++)
        commits += stats.commit_buckets[b];
    assert_true(commits == stats.batches && stats.commit_ns > 0);
    /* ~4.5 thresholds of pages written; a WAL that restarts stays near one threshold. */
    assert_true(info.st_size < (off_t)3 * LIMIT_WAL_CHECKPOINT_PAGES * 4096);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM audit WHERE action = 'test.page'"),
                     COMMANDS);
    assert_true(check_ok(f));
}

/* Answers (done callbacks) come on their own thread, in the order the commands were
 * queued, only after their batch is in the database, and writer_stop returns only once
 * every queued command was answered. */
enum { ANSWER_COMMANDS = 300 };

struct answer_cmd {
    struct writer_cmd cmd;
    int index;
    pthread_t applied_on;
};

static struct {
    int order[ANSWER_COMMANDS];
    int count;
    bool off_writer, visible, succeeded; /* the answer thread records; the test asserts */
    struct unit_db *t;                   /* used by the answer thread alone while the test waits */
} answers;

static enum status answer_apply(struct db *db, struct writer_cmd *cmd) {
    struct answer_cmd *a = (struct answer_cmd *)cmd;
    a->applied_on = pthread_self();
    char object[16];
    snprintf(object, sizeof object, "%d", a->index);
    return store_audit_append(db, 1, "test.answer", object, "", NOW);
}

/* On the answer thread: no cmocka assertion here (it would jump across threads). */
static void answer_done(struct writer_cmd *cmd) {
    struct answer_cmd *a = (struct answer_cmd *)cmd;
    if (cmd->status != STATUS_OK) answers.succeeded = false;
    if (pthread_equal(a->applied_on, pthread_self())) answers.off_writer = false;
    if (a->index % 50 == 0) { /* committed before its answer: another connection sees it */
        char object[16];
        snprintf(object, sizeof object, "%d", a->index); /* as answer_apply wrote it */
        sqlite3_stmt *stmt = 0;
        bool seen =
            sqlite3_prepare_v2(answers.t->db.handle, "SELECT count(*) FROM audit WHERE object = ?",
                               -1, &stmt, 0) == SQLITE_OK &&
            sqlite3_bind_text(stmt, 1, object, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 1;
        sqlite3_finalize(stmt);
        if (!seen) answers.visible = false;
    }
    pthread_mutex_lock(&gate.lock);
    answers.order[answers.count++] = a->index;
    pthread_mutex_unlock(&gate.lock);
}

static void answers_come_in_order_after_commit_off_the_writer(void **state) {
    struct fixture *f = *state;
    memset(&answers, 0, sizeof answers);
    answers.off_writer = answers.visible = answers.succeeded = true;
    answers.t = &f->t;
    struct writer *writer = 0;
    assert_int_equal(writer_start(f->t.path, &writer), STATUS_OK);
    struct answer_cmd *cmds = calloc(ANSWER_COMMANDS, sizeof *cmds);
    assert_non_null(cmds);
    for (int i = 0; i < ANSWER_COMMANDS; i++) {
        cmds[i].index = i;
        cmds[i].cmd.apply = answer_apply;
        cmds[i].cmd.done = answer_done;
        assert_int_equal(writer_submit(writer, &cmds[i].cmd), STATUS_OK);
    }
    writer_stop(writer); /* without waiting first: stop answers everything queued */
    assert_int_equal(answers.count, ANSWER_COMMANDS);
    for (int i = 0; i < ANSWER_COMMANDS; i++)
        assert_int_equal(answers.order[i], i);
    assert_true(answers.succeeded);
    assert_true(answers.off_writer);
    assert_true(answers.visible);
    free(cmds);
    assert_true(check_ok(f));
}

/* ---- store_check after direct corruption ---- */

/* Places two orders (SKU-A ×1 and SKU-B ×1) so every table has rows to corrupt. */
static void two_orders(struct fixture *f, int64_t *first, int64_t *second) {
    struct store_order_result result = {0};
    struct store_order_request r = request(f->buyer, "SKU-A", 1, "key-c1", 1);
    assert_int_equal(place(f, &r, &result), STATUS_OK);
    *first = result.order.id;
    r = request(f->buyer, "SKU-A", 1, "key-c2", 1);
    assert_int_equal(place(f, &r, &result), STATUS_OK);
    *second = result.order.id;
    store_order_result_free(&result);
    assert_true(check_ok(f));
}

/* Runs store_check: must report failure, with `name` broken (and, when exact, only it). */
static void assert_broken(struct fixture *f, const char *name, bool exact) {
    struct buf out;
    buf_init(&out, 1 << 20);
    bool ok = true;
    assert_int_equal(store_check(&f->t.db, &out, &ok), STATUS_OK);
    assert_false(ok);
    json_error_t error;
    json_t *root = json_loadb(out.data, out.len, 0, &error);
    assert_non_null(root);
    assert_true(json_is_false(json_object_get(root, "ok")));
    json_t *invariant = json_object_get(json_object_get(root, "invariants"), name);
    assert_non_null(invariant);
    assert_true(json_is_false(json_object_get(invariant, "ok")));
    assert_true(json_integer_value(json_object_get(invariant, "violations")) > 0);
    json_t *broken = json_object_get(root, "broken");
    bool listed = false;
    for (size_t i = 0; i < json_array_size(broken); i++) {
        if (strcmp(json_string_value(json_array_get(broken, i)), name) == 0) listed = true;
    }
    if (!listed) fail_msg("%s is not listed as broken: %s", name, out.data);
    if (exact && json_array_size(broken) != 1) fail_msg("more than %s broken: %s", name, out.data);
    json_decref(root);
    buf_free(&out);
}

static void check_names_a_changed_balance(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    unit_db_exec(&f->t, "UPDATE accounts SET balance = balance + 1 WHERE kind = 'buyer_wallet'"
                        " AND balance > 0");
    assert_broken(f, "balances_equal_postings", true);
}

static void check_names_a_deleted_posting(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    unit_db_exec(&f->t, "DELETE FROM postings WHERE seq = 1 AND transfer_id = "
                        "(SELECT max(id) FROM transfers)");
    assert_broken(f, "transfers_balanced", false);
    assert_broken(f, "balances_equal_postings", false);
}

static void check_names_a_code_sold_twice(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    /* The code the first order holds is handed to the second order as well. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE codes SET order_id = %lld WHERE id = (SELECT id FROM codes WHERE "
             "order_id = %lld)",
             (long long)second, (long long)first);
    unit_db_exec(&f->t, sql);
    assert_broken(f, "orders_hold_exactly_their_codes", false);
    assert_broken(f, "orders_list_their_codes", false); /* the first order lists it still */
}

static void check_names_a_free_code_marked_sold(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE codes SET state = 1, order_id = %lld WHERE id = (SELECT min(id) FROM "
             "codes WHERE state = 0 AND product_id = %lld)",
             (long long)first, (long long)f->product_a);
    unit_db_exec(&f->t, sql);
    assert_broken(f, "orders_hold_exactly_their_codes", false);
    assert_broken(f, "stock_matches_free_codes", false);
}

static void check_names_a_code_of_another_product(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE codes SET product_id = %lld WHERE order_id = %lld",
             (long long)f->product_b, (long long)first);
    unit_db_exec(&f->t, sql);
    assert_broken(f, "codes_sold_at_most_once", false);
}

static void check_names_an_edited_audit_entry(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    unit_db_exec(&f->t, "UPDATE audit SET detail = '{\"codes\":0}' WHERE id = 2");
    assert_broken(f, "audit_chain_intact", true);
}

static void check_names_a_deleted_audit_entry(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    unit_db_exec(&f->t, "DELETE FROM audit WHERE id = 2");
    assert_broken(f, "audit_chain_intact", true);
}

static void check_names_a_changed_stock(void **state) {
    struct fixture *f = *state;
    unit_db_exec(&f->t, "UPDATE products SET stock = stock + 1 WHERE sku = 'SKU-B'");
    assert_broken(f, "stock_matches_free_codes", true);
}

static void check_names_a_negative_wallet(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    /* A hand-made balanced transfer takes 201 from a wallet holding 200, and the cached
     * balances follow the postings: only the sign rule is broken. */
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO transfers(id, kind, created_at) VALUES(900, 'manual', 0);"
             "INSERT INTO postings VALUES(900, 0, (SELECT id FROM accounts WHERE kind = "
             "'buyer_wallet' AND owner_id = %lld), -201, 'CNY');"
             "INSERT INTO postings VALUES(900, 1, (SELECT id FROM accounts WHERE kind = "
             "'funding'), 201, 'CNY');",
             (long long)f->buyer);
    unit_db_exec(&f->t, sql);
    unit_db_exec(&f->t, "UPDATE accounts SET balance = (SELECT coalesce(sum(amount), 0) "
                        "FROM postings p WHERE p.account_id = accounts.id)");
    assert_int_equal(wallet(f, f->buyer), -1);
    assert_broken(f, "no_negative_wallet", true);
}

static void check_names_a_changed_order_amount(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE orders SET amount = amount + 1 WHERE id = %lld",
             (long long)first);
    unit_db_exec(&f->t, sql);
    assert_broken(f, "paid_orders_delivered", true);
}

static void check_names_a_broken_idempotency_record(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE orders SET request_hash = x'00' WHERE id = %lld",
             (long long)first);
    unit_db_exec(&f->t, sql);
    assert_broken(f, "idempotency_records_valid", true);
}

/* Runs sql_format with one order id in it. */
static void exec_for_order(struct fixture *f, const char *sql_format, int64_t order_id) {
    char sql[512];
    snprintf(sql, sizeof sql, sql_format, (long long)order_id);
    unit_db_exec(&f->t, sql);
}

static void check_names_an_order_and_risk_event_out_of_step(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    exec_for_order(f,
                   "INSERT INTO risk_events(id, event_id, type, at, user_key, body, order_id, "
                   "action, rules, features, created_at) VALUES(5, 'e5', 'order', 1, 'u', '{}', "
                   "%lld, 'allow', x'00', x'00', 1)",
                   first);
    assert_broken(f, "risk_events_named", true); /* the order does not name its event */
    exec_for_order(f, "UPDATE orders SET risk_event_id = 5 WHERE id = %lld", first);
    assert_true(check_ok(f));
    exec_for_order(f, "UPDATE orders SET risk_event_id = 5 WHERE id = %lld", second);
    assert_broken(f, "risk_events_named", true); /* another order names it too */
    unit_db_exec(&f->t, "UPDATE orders SET risk_event_id = 99 WHERE risk_event_id = 5");
    assert_broken(f, "risk_events_named", true); /* names an event that does not exist */
}

/* An order lists exactly the codes that name it, ascending (orders.code_ids): a list naming
 * another order's code, a code listed twice, a list out of order, an id that is not an
 * integer, a list that is not JSON, and no list at all for an order holding a code are each
 * named. */
static void check_names_an_order_listing_other_codes(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    struct store_order_result result = {0};
    struct store_order_request r = request(f->buyer, "SKU-B", 2, "key-c3", 1);
    assert_int_equal(place(f, &r, &result), STATUS_OK);
    int64_t pair = result.order.id;
    char sql[256]; /* the lists as the orders' INSERTs wrote them */
    snprintf(sql, sizeof sql,
             "SELECT code_ids = json_array(%lld, %lld) FROM orders WHERE id = %lld",
             (long long)result.codes[0].id, (long long)result.codes[1].id, (long long)pair);
    assert_true(result.codes[0].id < result.codes[1].id);
    assert_int_equal(unit_db_int(&f->t, sql), 1);
    store_order_result_free(&result);
    assert_true(check_ok(f));
    const struct {
        const char *sql;
        int64_t order;
    } broken[] = {
        {"UPDATE orders SET code_ids = (SELECT code_ids FROM orders WHERE id != %1$lld "
         "AND quantity = 1) WHERE id = %1$lld",
         first},
        {"UPDATE orders SET code_ids = json_array((SELECT id FROM codes WHERE order_id = "
         "%1$lld), (SELECT id FROM codes WHERE order_id = %1$lld)) WHERE id = %1$lld",
         first},
        {"UPDATE orders SET code_ids = json_array(code_ids ->> '$[1]', code_ids ->> '$[0]') "
         "WHERE id = %1$lld",
         pair},
        {"UPDATE orders SET code_ids = json_array(CAST((SELECT id FROM codes WHERE order_id = "
         "%1$lld) AS TEXT)) WHERE id = %1$lld",
         first},
        {"UPDATE orders SET code_ids = '[1,' WHERE id = %1$lld", first},
        {"UPDATE orders SET code_ids = NULL WHERE id = %1$lld", first},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        unit_db_exec(&f->t, "CREATE TEMP TABLE kept AS SELECT id, code_ids FROM orders");
        exec_for_order(f, broken[i].sql, broken[i].order);
        assert_broken(f, "orders_list_their_codes", true);
        unit_db_exec(&f->t, "UPDATE orders SET code_ids = (SELECT code_ids FROM kept k "
                            "WHERE k.id = orders.id)");
        unit_db_exec(&f->t, "DROP TABLE kept");
        assert_true(check_ok(f));
    }
}

/* The writer leaves references to the design (see writer.c); check verifies them. */
static void check_names_a_dangling_reference(void **state) {
    struct fixture *f = *state;
    int64_t first = 0, second = 0;
    two_orders(f, &first, &second);
    unit_db_exec(&f->t, "PRAGMA foreign_keys=OFF");
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE codes SET order_id = 999999 WHERE order_id = %lld",
             (long long)first);
    unit_db_exec(&f->t, sql);
    assert_broken(f, "references_intact", false);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, unit_db_teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(a_good_database_passes_check),
        FIXTURE_TEST(an_order_delivers_codes),
        FIXTURE_TEST(the_same_key_replays_the_first_answer),
        FIXTURE_TEST(out_of_stock_changes_nothing),
        FIXTURE_TEST(insufficient_funds_changes_nothing),
        FIXTURE_TEST(unknown_sku),
        FIXTURE_TEST(expired_codes_are_not_sold),
        FIXTURE_TEST(reveal_is_for_the_buyer_only),
        FIXTURE_TEST(import_counts_duplicates),
        FIXTURE_TEST(the_writer_rolls_back_a_failed_command),
        FIXTURE_TEST(a_batch_with_a_dirty_failure),
        FIXTURE_TEST(a_kept_stock_change_of_a_failed_command_is_dropped),
        FIXTURE_TEST(a_failed_stock_write_undoes_the_batch),
        FIXTURE_TEST(a_batch_writes_the_revenue_balance_once),
        FIXTURE_TEST(a_transaction_lost_under_a_command_fails_its_batch),
        FIXTURE_TEST(a_failed_revenue_write_fails_only_its_order),
        FIXTURE_TEST(steady_writes_keep_the_wal_bounded),
        FIXTURE_TEST(answers_come_in_order_after_commit_off_the_writer),
        FIXTURE_TEST(check_names_a_changed_balance),
        FIXTURE_TEST(check_names_a_deleted_posting),
        FIXTURE_TEST(check_names_a_code_sold_twice),
        FIXTURE_TEST(check_names_a_free_code_marked_sold),
        FIXTURE_TEST(check_names_a_code_of_another_product),
        FIXTURE_TEST(check_names_an_edited_audit_entry),
        FIXTURE_TEST(check_names_a_deleted_audit_entry),
        FIXTURE_TEST(check_names_a_changed_stock),
        FIXTURE_TEST(check_names_a_negative_wallet),
        FIXTURE_TEST(check_names_a_changed_order_amount),
        FIXTURE_TEST(check_names_a_broken_idempotency_record),
        FIXTURE_TEST(check_names_an_order_and_risk_event_out_of_step),
        FIXTURE_TEST(check_names_an_order_listing_other_codes),
        FIXTURE_TEST(check_names_a_dangling_reference),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
