/* users.c — POST /api/v1/users (admin): a new user with an Argon2id-hashed password.
 * Hashing runs on the offload pool; the insert (and the buyer's wallet) on the writer. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/risk_events.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "base/text.h"
#include "base/limits.h"

struct user_job {
    struct api_job base;
    char username[LIMIT_USERNAME_BYTES + 1];
    char password[LIMIT_PASSWORD_MAX_BYTES + 1];
    size_t password_len;
    char hash[VAULT_PASSWORD_HASH_BYTES];
    enum role role;
    int64_t actor_id;
    int64_t id;
    int64_t event_row;             /* the signup's risk event, once recorded */
    struct risk_decision decision; /* kept for a re-run of the batch */
};

/* Usernames: 1–64 of [A-Za-z0-9_.-@]; they appear in URLs, logs of ids and the audit log. */
static bool users_name_valid(const char *name) {
    size_t len = strlen(name);
    if (len == 0 || len > LIMIT_USERNAME_BYTES) return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-' || c == '@';
        if (!ok) return false;
    }
    return true;
}

static enum status users_apply(struct db *db, struct api_job *base) {
    struct user_job *job = (struct user_job *)base;
    enum status status =
        store_user_create(db, job->username, job->hash, job->role, base->now_s, &job->id);
    if (status != STATUS_OK) return status;
    char object[48], detail[64];
    snprintf(object, sizeof object, "user:%lld", (long long)job->id);
    snprintf(detail, sizeof detail, "{\"role\":\"%s\"}", role_name(job->role));
    status = store_audit_append(db, job->actor_id, "user.create", object, detail, base->now_s);
    struct risk_live *risk = request_risk(base->req);
    if (status == STATUS_OK && risk != 0) {
        static struct risk_event event; /* the writer thread's */
        risk_event_signup(&event, job->username, role_name(job->role), base->now_s);
        status = risk_live_emit(risk, db, &event, &job->decision, &job->event_row, base->now_s);
    }
    return status;
}

static void users_hash(void *context) {
    struct user_job *job = context;
    enum status status = vault_password_hash(job->password, job->password_len, job->hash);
    sodium_memzero(job->password, sizeof job->password);
    if (status != STATUS_OK) {
        job->base.status = status;
        request_resume(job->base.req);
        return;
    }
    api_job_write_next(&job->base, users_apply);
}

static void users_finish(struct request *req) {
    struct user_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status,
                      job->base.status == STATUS_EXISTS ? "this username is taken" : 0);
    } else {
        enum status status =
            buf_printf(&req->response, "{\"id\":%lld,\"username\":", (long long)job->id);
        if (status == STATUS_OK) status = json_append_string(&req->response, job->username);
        if (status == STATUS_OK) {
            status = buf_printf(&req->response, ",\"role\":\"%s\"}", role_name(job->role));
        }
        verify(status == STATUS_OK);
        request_json(req, 201);
    }
    sodium_memzero(job, sizeof *job);
    free(job);
}

void api_users_create(struct request *req) {
    const char *username = 0, *password = 0, *role = 0;
    struct json_field fields[] = {
        {"username", JSON_FIELD_STRING, true, LIMIT_USERNAME_BYTES, &username, 0, 0, 0},
        {"password", JSON_FIELD_STRING, true, LIMIT_PASSWORD_MAX_BYTES, &password, 0, 0, 0},
        {"role", JSON_FIELD_STRING, true, 16, &role, 0, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 3, &root)) return;
    enum role parsed_role = ROLE_BUYER;
    if (!users_name_valid(username)) {
        request_error(req, STATUS_INVALID_VALUE, "username must be 1 to 64 of A-Z a-z 0-9 _ . - @");
    } else if (strlen(password) < LIMIT_PASSWORD_MIN_BYTES) {
        request_error(req, STATUS_INVALID_VALUE, "password must be at least 8 bytes");
    } else if (!role_parse(role, &parsed_role)) {
        request_error(req, STATUS_INVALID_VALUE,
                      "role must be admin, support, risk, supplier, reseller or buyer");
    }
    if (req->answered) {
        json_decref(root);
        return;
    }
    struct user_job *job = mem_calloc(1, sizeof *job);
    (void)text_copy(job->username, sizeof job->username, username);
    job->password_len = strlen(password);
    memcpy(job->password, password, job->password_len);
    job->role = parsed_role;
    job->actor_id = req->user.id;
    json_decref(root);
    api_job_offload(req, &job->base, users_hash, users_finish);
}
