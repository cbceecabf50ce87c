/* risk_posted.c — what other systems tell the engine (risk, admin):
 *   POST /api/v1/risk/events        one event in the JSONL format (a JSON object): recorded
 *                                   and, for decidable types, decided → {id,action,score,
 *                                   reasons}; a malformed event is 400 and changes nothing
 *   GET  /api/v1/risk/lists/{name}  a declared list's items
 *   PUT  /api/v1/risk/lists/{name}  replace them (text/plain, one item per line); the rules
 *                                   see the new items at once, without recompiling */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "base/text.h"
#include "risk/decision.h"

struct posted_job {
    struct api_job base;
    struct risk_event event;
    struct risk_decision decision;
    bool decided;
    int64_t row;
    char name[LIMIT_RISK_NAME_BYTES + 1];
    char **items;
    int count;
    int64_t actor_id;
    struct buf answer;
};

static void posted_free(struct posted_job *job) {
    for (int i = 0; i < job->count; i++)
        free(job->items[i]);
    free(job->items);
    buf_free(&job->answer);
    free(job);
}

static enum status events_apply(struct db *db, struct api_job *base) {
    struct posted_job *job = (struct posted_job *)base;
    struct risk_live *risk = request_risk(base->req);
    verify(risk != 0);
    if (!job->decided) { /* once, also when the batch runs again */
        risk_live_decide(risk, &job->event, &job->decision, &job->row);
        job->decided = true;
        job->answer.len = 0;
        if (job->decision.decided) {
            enum status status = risk_decision_append_line(
                &job->answer, risk_engine_program(risk->engine), &job->event, &job->decision);
            if (status != STATUS_OK) return status;
        }
    }
    return risk_live_record(risk, db, &job->event, &job->decision, job->row, 0, base->now_s);
}

static void posted_finish(struct request *req) {
    struct posted_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else if (job->answer.len > 0) {
        verify(buf_append(&req->response, job->answer.data, job->answer.len) == STATUS_OK);
        request_json(req, 200);
    } else {
        enum status status = buf_append(&req->response, "{\"id\":", 6);
        if (status == STATUS_OK) status = json_append_string(&req->response, job->event.id);
        if (status == STATUS_OK) status = buf_printf(&req->response, ",\"recorded\":true}");
        verify(status == STATUS_OK);
        request_json(req, 200);
    }
    posted_free(job);
}

void api_risk_events_post(struct request *req) {
    struct posted_job *job = mem_calloc(1, sizeof *job);
    buf_init(&job->answer, 1 << 16);
    char message[200];
    enum status status = risk_event_parse(req->body.data ? req->body.data : "", req->body.len,
                                          &job->event, message, sizeof message);
    if (status != STATUS_OK) {
        request_error(req, status == STATUS_INVALID_VALUE ? STATUS_INVALID_FIELD : status, message);
        posted_free(job);
        return;
    }
    api_job_write(req, &job->base, events_apply, posted_finish);
}

/* ---- lists ---- */

static bool lists_name(struct request *req, struct posted_job *job) {
    const char *name = req->params[0];
    if (strlen(name) > LIMIT_RISK_NAME_BYTES) {
        request_error(req, STATUS_UNKNOWN_LIST, 0);
        return false;
    }
    (void)text_copy(job->name, sizeof job->name, name);
    return true;
}

static enum status lists_get_apply(struct db *db, struct api_job *base) {
    (void)db; /* a read of the writer's engine, which only this thread may touch */
    struct posted_job *job = (struct posted_job *)base;
    struct risk_live *risk = request_risk(base->req);
    const struct risk_list *list = risk_engine_list(risk->engine, job->name);
    if (list == 0) return STATUS_UNKNOWN_LIST;
    enum status status = buf_append(&job->answer, "{\"name\":", 8);
    if (status == STATUS_OK) status = json_append_string(&job->answer, job->name);
    if (status == STATUS_OK)
        status = buf_printf(&job->answer, ",\"count\":%d,\"items\":[", list->count);
    bool first = true;
    for (uint32_t i = 0; status == STATUS_OK && list->items != 0 && i <= list->mask; i++) {
        if (list->hashes[i] == 0) continue;
        if (!first) status = buf_append(&job->answer, ",", 1);
        if (status == STATUS_OK) status = json_append_string(&job->answer, list->items[i]);
        first = false;
    }
    if (status == STATUS_OK) status = buf_append(&job->answer, "]}", 2);
    return status;
}

void api_risk_list_get(struct request *req) {
    struct posted_job *job = mem_calloc(1, sizeof *job);
    buf_init(&job->answer, (size_t)LIMIT_RISK_LIST_ITEMS * (LIMIT_RISK_TEXT_BYTES * 2 + 8));
    if (!lists_name(req, job)) {
        posted_free(job);
        return;
    }
    api_job_write(req, &job->base, lists_get_apply, posted_finish);
}

static enum status lists_put_apply(struct db *db, struct api_job *base) {
    struct posted_job *job = (struct posted_job *)base;
    enum status status = risk_live_list_replace(request_risk(base->req), db, job->name,
                                                (const char *const *)job->items, job->count,
                                                job->actor_id, base->now_s);
    if (status == STATUS_OK) {
        job->answer.len = 0;
        status = buf_append(&job->answer, "{\"name\":", 8);
        if (status == STATUS_OK) status = json_append_string(&job->answer, job->name);
        const struct risk_list *list = risk_engine_list(request_risk(base->req)->engine, job->name);
        verify(list != 0); /* the replace found it */
        /* what the list holds now: a repeated line is one item */
        if (status == STATUS_OK) status = buf_printf(&job->answer, ",\"count\":%d}", list->count);
    }
    return status;
}

/* One item per line; blank lines and surrounding spaces are dropped. */
static enum status lists_split(struct request *req, struct posted_job *job) {
    const char *p = req->body.data ? req->body.data : "", *end = p + req->body.len;
    int capacity = 0;
    while (p < end) {
        const char *newline = memchr(p, '\n', (size_t)(end - p));
        const char *stop = newline ? newline : end;
        const char *item = p;
        size_t len = (size_t)(stop - p);
        text_trim(&item, &len);
        p = newline ? newline + 1 : end;
        if (len == 0) continue;
        if (len > LIMIT_RISK_TEXT_BYTES || !text_printable(item, len)) return STATUS_INVALID_VALUE;
        if (job->count == LIMIT_RISK_LIST_ITEMS) return STATUS_TOO_MANY_CODES;
        if (job->count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            job->items = mem_realloc(job->items, (size_t)capacity * sizeof *job->items);
        }
        job->items[job->count++] = mem_strndup(item, len);
    }
    return STATUS_OK;
}

void api_risk_list_put(struct request *req) {
    struct posted_job *job = mem_calloc(1, sizeof *job);
    buf_init(&job->answer, 4096);
    job->actor_id = req->user.id;
    if (!lists_name(req, job)) {
        posted_free(job);
        return;
    }
    enum status status = STATUS_OK;
    if (!api_content_type_is(req, "text/plain")) {
        request_error(req, STATUS_UNSUPPORTED_MEDIA, "send the items as text/plain, one a line");
    } else if ((status = lists_split(req, job)) == STATUS_INVALID_VALUE) {
        request_error(req, status, "an item is longer than 128 bytes or not printable UTF-8");
    } else if (status != STATUS_OK) {
        request_error(req, STATUS_INVALID_VALUE, "more items than a list holds (100,000)");
    }
    if (req->answered) {
        posted_free(job);
        return;
    }
    api_job_write(req, &job->base, lists_put_apply, posted_finish);
}
