/* decision.c — decisions as text: the replay line (an exact interface other tools read) and
 * the full explanation stored with an order (rules fired with their reasons, shadow ones
 * marked, the model score, every feature value). */
#include "risk/decision.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"

enum status risk_score_append(struct buf *out, double score) {
    verify(out != 0 && score >= 0 && score <= 100);
    int64_t hundredths = (int64_t)(score * 100 + 0.5); /* no printf on the replay path */
    enum status status = text_append_int64(out, hundredths / 100);
    int64_t fraction = hundredths % 100;
    if (status == STATUS_OK && fraction != 0) {
        char digits[3] = {'.', (char)('0' + fraction / 10), (char)('0' + fraction % 10)};
        status = buf_append(out, digits, fraction % 10 ? 3 : 2);
    }
    return status;
}

enum status risk_decision_append_line(struct buf *out, const struct risk_program *program,
                                      const struct risk_event *event,
                                      const struct risk_decision *decision) {
    verify(out != 0 && program != 0 && event != 0 && decision != 0 && decision->decided);
    enum status status = buf_append(out, "{\"id\":", 6);
    if (status == STATUS_OK) status = text_append_json_string(out, event->id);
    const char *action = risk_action_name(decision->action);
    if (status == STATUS_OK) status = buf_append(out, ",\"action\":\"", 11);
    if (status == STATUS_OK) status = buf_append(out, action, strlen(action));
    if (status == STATUS_OK) status = buf_append(out, "\",\"score\":", 10);
    if (status == STATUS_OK) status = risk_score_append(out, decision->score);
    if (status == STATUS_OK) status = buf_append(out, ",\"reasons\":[", 12);
    bool first = true;
    for (int i = 0; status == STATUS_OK && i < decision->fired_count; i++) {
        const struct risk_rule *rule = &program->rules[decision->fired[i]];
        if (rule->shadow) continue;
        if (!first) status = buf_append(out, ",", 1);
        if (status == STATUS_OK) status = buf_append(out, "\"", 1);
        if (status == STATUS_OK) status = buf_append(out, rule->name, strlen(rule->name));
        if (status == STATUS_OK) status = buf_append(out, "\"", 1);
        first = false;
    }
    if (status == STATUS_OK) status = buf_append(out, "]}", 2);
    return status;
}

enum status risk_decision_pack(const struct risk_engine *engine,
                               const struct risk_decision *decision, struct buf *rules,
                               struct buf *features) {
    verify(engine != 0 && decision != 0 && rules != 0 && features != 0);
    enum status status = STATUS_OK;
    /* packed little-endian in a local array, then appended once (this runs on the writer
     * for every order) */
    unsigned char packed[LIMIT_RISK_FEATURES * 4 * 8 > LIMIT_RISK_RULES * 2
                             ? LIMIT_RISK_FEATURES * 4 * 8
                             : LIMIT_RISK_RULES * 2];
    verify(decision->fired_count >= 0 && decision->fired_count <= LIMIT_RISK_RULES);
    for (int i = 0; i < decision->fired_count; i++) {
        packed[2 * i] = (unsigned char)(decision->fired[i] & 0xFF);
        packed[2 * i + 1] = (unsigned char)(decision->fired[i] >> 8);
    }
    status = buf_append(rules, packed, (size_t)decision->fired_count * 2);
    const struct risk_program *program = risk_engine_program(engine);
    const double *values = risk_engine_values(engine);
    verify(program->value_count >= 0 && (size_t)program->value_count * 8 <= sizeof packed);
    for (int i = 0; i < program->value_count; i++) {
        uint64_t bits;
        memcpy(&bits, &values[i], sizeof bits);
        for (int b = 0; b < 8; b++)
            packed[8 * i + b] = (unsigned char)(bits >> (8 * b));
    }
    if (status == STATUS_OK)
        status = buf_append(features, packed, (size_t)program->value_count * 8);
    for (int i = 0; status == STATUS_OK && i < program->text_count; i++) {
        const char *text = risk_engine_text(engine, i);
        status = buf_append(features, text, strlen(text) + 1);
    }
    return status;
}

enum status risk_decision_render_rules(struct buf *out, const struct risk_program *program,
                                       const void *blob, size_t len) {
    verify(out != 0 && program != 0 && (blob != 0 || len == 0));
    const unsigned char *bytes = blob;
    if (len % 2 != 0) return buf_append(out, "null", 4);
    for (size_t i = 0; i < len; i += 2) {
        if ((bytes[i] | bytes[i + 1] << 8) >= program->rule_count)
            return buf_append(out, "null", 4);
    }
    enum status status = buf_append(out, "[", 1);
    for (size_t i = 0; status == STATUS_OK && i < len; i += 2) {
        const struct risk_rule *rule = &program->rules[bytes[i] | bytes[i + 1] << 8];
        status = buf_printf(
            out, "%s{\"rule\":\"%s\",\"action\":\"%s\",\"shadow\":%s,\"reason\":", i ? "," : "",
            rule->name, risk_action_name(rule->action), rule->shadow ? "true" : "false");
        if (status == STATUS_OK) status = text_append_json_string(out, rule->reason);
        if (status == STATUS_OK) status = buf_append(out, "}", 1);
    }
    if (status == STATUS_OK) status = buf_append(out, "]", 1);
    return status;
}

static double decision_value(const unsigned char *bytes) {
    uint64_t bits = 0;
    for (int b = 7; b >= 0; b--)
        bits = bits << 8 | bytes[b];
    double value;
    memcpy(&value, &bits, sizeof value);
    return isfinite(value) ? value : 0;
}

enum status risk_decision_render_features(struct buf *out, const struct risk_program *program,
                                          const void *blob, size_t len) {
    verify(out != 0 && program != 0 && (blob != 0 || len == 0));
    const unsigned char *bytes = blob;
    size_t numbers = (size_t)program->value_count * 8;
    /* the strings after the numbers: exactly text_count of them */
    const char *texts[LIMIT_RISK_FEATURES];
    size_t at = numbers;
    int found = 0;
    while (len >= numbers && at < len && found < LIMIT_RISK_FEATURES) {
        const unsigned char *nul = memchr(bytes + at, 0, len - at);
        if (nul == 0) break;
        texts[found++] = (const char *)bytes + at;
        at = (size_t)(nul - bytes) + 1;
    }
    if (len < numbers || at != (len > numbers ? len : numbers) || found != program->text_count) {
        return buf_append(out, "null", 4);
    }
    enum status status = buf_append(out, "{", 1);
    for (int f = 0; status == STATUS_OK && f < program->feature_count; f++) {
        const struct risk_feature *feature = &program->features[f];
        status = buf_printf(out, "%s\"%s\":", f ? "," : "", feature->name);
        if (status != STATUS_OK) break;
        const unsigned char *v = bytes + (size_t)feature->value_index * 8;
        if (feature->kind == RISK_F_LAST) {
            status = text_append_json_string(out, texts[feature->value_index]);
        } else if (feature->kind == RISK_F_PROFILE) {
            status = buf_printf(out, "{\"count\":%.15g,\"mean\":%.15g,\"std\":%.15g,\"z\":%.15g}",
                                decision_value(v), decision_value(v + 8), decision_value(v + 16),
                                decision_value(v + 24));
        } else {
            status = buf_printf(out, "%.15g", decision_value(v));
        }
    }
    if (status == STATUS_OK) status = buf_append(out, "}", 1);
    return status;
}
