/* auth.c — POST /api/v1/auth/login. The Argon2id check runs on the offload pool; a new
 * session (only the token's hash is stored) is written by the writer. Unknown users cost
 * the same time as wrong passwords. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/risk_events.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/text.h"

struct login_job {
    struct api_job base;
    char username[LIMIT_USERNAME_BYTES + 1];
    char password[LIMIT_PASSWORD_MAX_BYTES + 1];
    size_t password_len;
    struct store_user user;
    char token[VAULT_TOKEN_TEXT_BYTES];
    int64_t expires_at;
    struct risk_origin origin;
    int64_t event_row;             /* the login's risk event, once recorded */
    struct risk_decision decision; /* kept for a re-run of the batch */
};

static enum status login_apply(struct db *db, struct api_job *base) {
    struct login_job *job = (struct login_job *)base;
    unsigned char hash[VAULT_TOKEN_HASH_BYTES];
    vault_token_hash(job->token, strlen(job->token), hash);
    enum status status = store_session_create(db, hash, job->user.id, job->expires_at);
    if (status != STATUS_OK) return status;
    char object[48];
    snprintf(object, sizeof object, "user:%lld", (long long)job->user.id);
    status = store_audit_append(db, job->user.id, "auth.login", object, "{}", base->now_s);
    struct risk_live *risk = request_risk(base->req);
    if (status == STATUS_OK && risk != 0) {
        static struct risk_event event; /* the writer thread's */
        risk_event_login(&event, &job->origin, job->user.username, base->now_s);
        status = risk_live_emit(risk, db, &event, &job->decision, &job->event_row, base->now_s);
    }
    return status;
}

static void login_verify(void *context) {
    struct login_job *job = context;
    char hash[VAULT_PASSWORD_HASH_BYTES];
    enum status status =
        store_user_by_name(request_reader(job->base.req), job->username, &job->user, hash);
    bool ok = false;
    if (status == STATUS_OK) {
        ok = vault_password_verify(hash, job->password, job->password_len);
    } else if (status == STATUS_NOT_FOUND) {
        vault_password_burn(job->password, job->password_len);
    }
    sodium_memzero(job->password, sizeof job->password);
    if (status != STATUS_OK && status != STATUS_NOT_FOUND) {
        job->base.status = status;
        request_resume(job->base.req);
        return;
    }
    if (!ok) {
        job->base.status = STATUS_BAD_CREDENTIALS;
        request_resume(job->base.req);
        return;
    }
    vault_token_new(job->token);
    job->base.now_s = clock_now_s();
    job->expires_at = job->base.now_s + LIMIT_SESSION_TTL_S;
    api_job_write_next(&job->base, login_apply);
}

static void login_finish(struct request *req) {
    struct login_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        char expires[21];
        text_format_time(job->expires_at, expires);
        verify(buf_printf(&req->response,
                          "{\"token\":\"%s\",\"expires_at\":\"%s\",\"role\":\"%s\"}", job->token,
                          expires, role_name(job->user.role)) == STATUS_OK);
        request_json(req, 200);
    }
    sodium_memzero(job, sizeof *job);
    free(job);
}

void api_login(struct request *req) {
    const char *username = 0, *password = 0;
    struct json_field fields[] = {
        {"username", JSON_FIELD_STRING, true, LIMIT_USERNAME_BYTES, &username, 0, 0, 0},
        {"password", JSON_FIELD_STRING, true, LIMIT_PASSWORD_MAX_BYTES, &password, 0, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 2, &root)) return;
    struct risk_origin origin;
    char message[96];
    enum status status = risk_origin_capture(req, &origin, message, sizeof message);
    if (status != STATUS_OK) {
        json_decref(root);
        request_error(req, status, message);
        return;
    }
    struct login_job *job = mem_calloc(1, sizeof *job);
    job->origin = origin;
    (void)text_copy(job->username, sizeof job->username, username);
    job->password_len = strlen(password);
    memcpy(job->password, password, job->password_len);
    json_decref(root);
    api_job_offload(req, &job->base, login_verify, login_finish);
}
