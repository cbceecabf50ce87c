/* risk_store.c — the risk engine's records: events with their decisions (the engine's
 * history, replayed at start and by backtests), rule file versions and list contents. */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

enum status store_risk_event_insert(struct db *db, const struct store_risk_row *row,
                                    int64_t now_s) {
    verify(db != 0 && row != 0 && row->id > 0 && row->body != 0);
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO risk_events(id, event_id, type, at, user_key, body, order_id, action, "
            "score, model_score, rules_version, rules, features, label, created_at) "
            "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(stmt, 1, row->id);
    db_bind_text(stmt, 2, row->event_id);
    db_bind_text(stmt, 3, row->type);
    sqlite3_bind_int64(stmt, 4, row->at);
    db_bind_text(stmt, 5, row->user);
    db_bind_text(stmt, 6, row->body);
    if (row->order_id > 0) sqlite3_bind_int64(stmt, 7, row->order_id);
    if (row->action != 0) {
        db_bind_text(stmt, 8, row->action);
        sqlite3_bind_double(stmt, 9, row->score);
        if (row->model_score >= 0) sqlite3_bind_double(stmt, 10, row->model_score);
        sqlite3_bind_int64(stmt, 11, row->rules_version);
        sqlite3_bind_blob(stmt, 12, row->rules_len ? row->rules : "", (int)row->rules_len,
                          SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 13, row->features_len ? row->features : "", (int)row->features_len,
                          SQLITE_STATIC);
    }
    if (row->label >= 0) sqlite3_bind_int(stmt, 14, row->label);
    sqlite3_bind_int64(stmt, 15, now_s);
    return db_step_done(db, stmt);
}

enum status store_risk_last_id(struct db *db, int64_t *id_out) {
    verify(db != 0 && id_out != 0);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT coalesce(max(id), 0) FROM risk_events");
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return STATUS_DB;
    *id_out = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return STATUS_OK;
}

enum status store_risk_event_each(struct db *db, int64_t after_id, store_risk_event_fn fn,
                                  void *context) {
    verify(db != 0 && after_id >= 0 && fn != 0);
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT id, body, coalesce(label, -1), coalesce(action, '') "
                       "FROM risk_events WHERE id > ? ORDER BY id");
    sqlite3_bind_int64(stmt, 1, after_id);
    enum status status = STATUS_OK;
    int rc = 0;
    while (status == STATUS_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *body = (const char *)sqlite3_column_text(stmt, 1);
        int len = sqlite3_column_bytes(stmt, 1);
        status = fn(context, sqlite3_column_int64(stmt, 0), body ? body : "", (size_t)len,
                    sqlite3_column_int(stmt, 2), db_text(stmt, 3));
    }
    if (status == STATUS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = STATUS_DB;
    sqlite3_reset(stmt);
    return status;
}

static enum status risk_blob(sqlite3_stmt *stmt, int column, struct buf *out) {
    const void *data = sqlite3_column_blob(stmt, column);
    int bytes = sqlite3_column_bytes(stmt, column);
    return bytes > 0 ? buf_append(out, data, (size_t)bytes) : STATUS_OK;
}

enum status store_risk_decision_get(struct db *db, int64_t order_id, int64_t event_row,
                                    struct store_risk_decision *out) {
    verify(db != 0 && out != 0 && (order_id > 0) != (event_row > 0));
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT e.id, coalesce(e.order_id, 0), e.action, e.score, coalesce(e.model_score, -1), "
            "e.created_at, e.rules_version, e.rules, e.features, e.body, r.decision, r.note, "
            "r.actor_id, r.created_at FROM risk_events e LEFT JOIN risk_reviews r "
            "ON r.order_id = e.order_id WHERE e.action IS NOT NULL AND e.id = "
            "CASE WHEN ?1 > 0 THEN (SELECT risk_event_id FROM orders WHERE id = ?1) ELSE ?2 END");
    sqlite3_bind_int64(stmt, 1, order_id);
    sqlite3_bind_int64(stmt, 2, event_row);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_DECISION;
    if (status != STATUS_OK) return status;
    out->event_row = sqlite3_column_int64(stmt, 0);
    out->order_id = sqlite3_column_int64(stmt, 1);
    (void)text_copy(out->action, sizeof out->action, db_text(stmt, 2));
    out->score = sqlite3_column_double(stmt, 3);
    out->model_score = sqlite3_column_double(stmt, 4);
    out->decided_at = sqlite3_column_int64(stmt, 5);
    out->rules_version = sqlite3_column_int64(stmt, 6);
    status = risk_blob(stmt, 7, &out->rules);
    if (status == STATUS_OK) status = risk_blob(stmt, 8, &out->features);
    if (status == STATUS_OK) status = risk_blob(stmt, 9, &out->body);
    out->reviewed = sqlite3_column_type(stmt, 10) != SQLITE_NULL;
    if (out->reviewed) {
        (void)text_copy(out->review, sizeof out->review, db_text(stmt, 10));
        (void)text_copy(out->note, sizeof out->note, db_text(stmt, 11));
        out->reviewer_id = sqlite3_column_int64(stmt, 12);
        out->reviewed_at = sqlite3_column_int64(stmt, 13);
    }
    sqlite3_reset(stmt);
    return status;
}

enum status store_ruleset_get(struct db *db, int64_t version, struct buf *source) {
    verify(db != 0 && source != 0);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT source FROM risk_rulesets WHERE version = ?");
    sqlite3_bind_int64(stmt, 1, version);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status;
    status =
        buf_append(source, sqlite3_column_text(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0));
    sqlite3_reset(stmt);
    return status;
}

enum status store_ruleset_insert(struct db *db, const char *source, int64_t actor_id, int64_t now_s,
                                 int64_t *version_out) {
    verify(db != 0 && source != 0 && version_out != 0);
    sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO risk_rulesets(source, actor_id, created_at) "
                                        "VALUES(?,?,?)");
    db_bind_text(stmt, 1, source);
    sqlite3_bind_int64(stmt, 2, actor_id);
    sqlite3_bind_int64(stmt, 3, now_s);
    enum status status = db_step_done(db, stmt);
    if (status != STATUS_OK) return status;
    *version_out = sqlite3_last_insert_rowid(db->handle);
    char detail[64];
    snprintf(detail, sizeof detail, "{\"bytes\":%zu}", strlen(source));
    return store_audit_of(db, actor_id, "risk.rules", "rules", *version_out, detail, now_s);
}

enum status store_ruleset_active(struct db *db, int64_t *version_out, struct buf *source) {
    verify(db != 0 && version_out != 0 && source != 0);
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT version, source FROM risk_rulesets ORDER BY version DESC LIMIT 1");
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status;
    *version_out = sqlite3_column_int64(stmt, 0);
    status =
        buf_append(source, sqlite3_column_text(stmt, 1), (size_t)sqlite3_column_bytes(stmt, 1));
    sqlite3_reset(stmt);
    return status;
}

enum status store_risk_list_replace(struct db *db, const char *name, const char *const *items,
                                    int count, int64_t actor_id, int64_t now_s) {
    verify(db != 0 && name != 0 && (items != 0 || count == 0) && count >= 0);
    sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM risk_list_items WHERE list = ?");
    db_bind_text(stmt, 1, name);
    enum status status = db_step_done(db, stmt);
    for (int i = 0; status == STATUS_OK && i < count; i++) {
        stmt = db_prepare(db, "INSERT OR IGNORE INTO risk_list_items(list, item) VALUES(?,?)");
        db_bind_text(stmt, 1, name);
        db_bind_text(stmt, 2, items[i]);
        status = db_step_done(db, stmt);
    }
    if (status == STATUS_OK) {
        stmt = db_prepare(db, "INSERT INTO risk_lists(name, updated_by, updated_at) VALUES(?,?,?) "
                              "ON CONFLICT(name) DO UPDATE SET updated_by = excluded.updated_by, "
                              "updated_at = excluded.updated_at");
        db_bind_text(stmt, 1, name);
        sqlite3_bind_int64(stmt, 2, actor_id);
        sqlite3_bind_int64(stmt, 3, now_s);
        status = db_step_done(db, stmt);
    }
    if (status == STATUS_OK) {
        char object[96], detail[48];
        snprintf(object, sizeof object, "list:%s", name);
        snprintf(detail, sizeof detail, "{\"items\":%d}", count);
        status = store_audit_append(db, actor_id, "risk.list", object, detail, now_s);
    }
    return status;
}

enum status store_risk_list_each(struct db *db, const char *name, store_list_item_fn fn,
                                 void *context) {
    verify(db != 0 && fn != 0);
    sqlite3_stmt *stmt = db_prepare(
        db,
        "SELECT l.name, i.item FROM risk_lists l LEFT JOIN risk_list_items i ON i.list = l.name "
        "WHERE ?1 IS NULL OR l.name = ?1 ORDER BY l.name, i.item");
    if (name != 0) db_bind_text(stmt, 1, name);
    enum status status = STATUS_OK;
    int rc = 0;
    while (status == STATUS_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        bool has_item = sqlite3_column_type(stmt, 1) != SQLITE_NULL;
        status = fn(context, db_text(stmt, 0), has_item ? db_text(stmt, 1) : 0);
    }
    if (status == STATUS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = STATUS_DB;
    sqlite3_reset(stmt);
    return status;
}
