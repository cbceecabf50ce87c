/* decision.c — decisions as text: the replay line (an exact interface other tools read) and
 * the full explanation stored with an order (rules fired with their reasons, shadow ones
 * marked, the model score, every feature value). */
#include "risk/decision.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"

enum status risk_score_append(struct buf *out, double score) {
    verify(out != 0 && score >= 0 && score <= 100);
    char text[32];
    int n = snprintf(text, sizeof text, "%.2f", score);
    verify(n > 0 && (size_t)n < sizeof text);
    while (n > 0 && text[n - 1] == '0')
        n--;
    if (n > 0 && text[n - 1] == '.') n--;
    return buf_append(out, text, (size_t)n);
}

enum status risk_decision_append_line(struct buf *out, const struct risk_program *program,
                                      const struct risk_event *event,
                                      const struct risk_decision *decision) {
    verify(out != 0 && program != 0 && event != 0 && decision != 0 && decision->decided);
    enum status status = buf_append(out, "{\"id\":", 6);
    if (status == STATUS_OK) status = text_append_json_string(out, event->id);
    if (status == STATUS_OK) {
        status =
            buf_printf(out, ",\"action\":\"%s\",\"score\":", risk_action_name(decision->action));
    }
    if (status == STATUS_OK) status = risk_score_append(out, decision->score);
    if (status == STATUS_OK) status = buf_append(out, ",\"reasons\":[", 12);
    bool first = true;
    for (int i = 0; status == STATUS_OK && i < decision->fired_count; i++) {
        const struct risk_rule *rule = &program->rules[decision->fired[i]];
        if (rule->shadow) continue;
        status = buf_printf(out, "%s\"%s\"", first ? "" : ",", rule->name);
        first = false;
    }
    if (status == STATUS_OK) status = buf_append(out, "]}", 2);
    return status;
}

enum status risk_decision_append_rules(struct buf *out, const struct risk_program *program,
                                       const struct risk_decision *decision) {
    verify(out != 0 && program != 0 && decision != 0);
    enum status status = buf_append(out, "[", 1);
    for (int i = 0; status == STATUS_OK && i < decision->fired_count; i++) {
        const struct risk_rule *rule = &program->rules[decision->fired[i]];
        status = buf_printf(
            out, "%s{\"rule\":\"%s\",\"action\":\"%s\",\"shadow\":%s,\"reason\":", i ? "," : "",
            rule->name, risk_action_name(rule->action), rule->shadow ? "true" : "false");
        if (status == STATUS_OK) status = text_append_json_string(out, rule->reason);
        if (status == STATUS_OK) status = buf_append(out, "}", 1);
    }
    if (status == STATUS_OK) status = buf_append(out, "]", 1);
    return status;
}
