/* risk_rules_test.c — the rule language end to end without I/O: compile errors with their
 * positions (a table of hostile and mistaken files), every feature kind against events
 * whose answer is known, the decision rules (strongest action, noisy-OR score, shadow,
 * model rules without a model), lists changed without recompiling, state kept across a
 * rule change, and the memory bound under many keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "risk/engine.h"

#define T0 1700000000LL

static bool near(double a, double b) { return fabs(a - b) < 1e-9; }

static struct risk_program *compile_ok(const char *source) {
    struct risk_program *program = 0;
    struct risk_diags diags;
    enum status status = risk_compile(source, strlen(source), &program, &diags);
    if (status != STATUS_OK) {
        fail_msg("%d:%d: %s", diags.items[0].line, diags.items[0].col, diags.items[0].message);
    }
    return program;
}

struct bad_rules {
    const char *source;
    int line, col;
    const char *message_part;
};

static void errors_have_positions(void **state) {
    (void)state;
    static char deep[400], long_name[200], many_rules[40000];
    int n = snprintf(deep, sizeof deep, "rule deep when ");
    for (int i = 0; i < 40; i++)
        n += snprintf(deep + n, sizeof deep - (size_t)n, "(");
    snprintf(deep + n, sizeof deep - (size_t)n, "1 > 0");
    n = snprintf(long_name, sizeof long_name, "feature ");
    for (int i = 0; i < 70; i++)
        long_name[n++] = 'x';
    snprintf(long_name + n, sizeof long_name - (size_t)n, " = age of user");
    n = 0;
    for (int i = 0; i <= LIMIT_RISK_RULES; i++) {
        n += snprintf(many_rules + n, sizeof many_rules - (size_t)n,
                      "rule r%d when true then allow reason \"x\"\n", i);
    }
    const struct bad_rules bad[] = {
        {"rule a when amount > \"x\" then block reason \"r\"", 1, 22, "needs a number"},
        {"rule a when amount == \"x\" then block reason \"r\"", 1, 20, "cannot compare"},
        {"rule a when nobody > 1 then block reason \"r\"", 1, 13, "unknown name 'nobody'"},
        {"rule a when amount / 0 > 1 then block reason \"r\"", 1, 22, "division by zero"},
        {"rule a when amount > 1 then block", 1, 34, "needs reason"},
        {"rule a when amount > 1 block reason \"r\"", 1, 24, "expected 'then'"},
        {"rule a when amount > 1 then deny reason \"r\"", 1, 29,
         "allow, challenge, review or block"},
        {"rule a when amount then block reason \"r\"", 1, 13, "a condition must be true or false"},
        {"rule a when attr.vip then block reason \"r\"", 1, 13, "an attr alone has no type"},
        {"rule a when attr.x == attr.y then block reason \"r\"", 1, 20, "two attrs"},
        {"rule a when \"x\" in nolist then block reason \"r\"", 1, 20, "not a declared list"},
        {"feature f = count of order by user over 91d", 1, 41, "1s to 90d"},
        {"feature f = count of order by user over 10", 1, 41, "a duration"},
        {"feature f = count of order by user over 10x", 1, 41, "no suffix"},
        {"feature f = count of purchase by user over 1h", 1, 22, "an event type"},
        {"feature f = sum of user in order by user over 1h", 1, 13, "amount or attr"},
        {"feature user = age of user", 1, 9, "reserved word"},
        {"feature f = age of user\nfeature f = age of device", 2, 9, "already declared"},
        {"feature f = profile of amount in order by user\nrule a when f > 1 then block reason "
         "\"r\"",
         2, 13, ".count, .mean, .std or .z"},
        {"rule a when true then block reason \"r\"\nrule a when true then block reason \"r\"", 2, 6,
         "already declared"},
        {"rule a when model_score > 1 and hour > \"3\" then block reason \"r\"", 1, 40,
         "needs a number"},
        {"rule a when amount > 1 then block reason \"unterminated", 1, 42, "unterminated"},
        {"rule a when amount > 12345678901234567 then block reason \"r\"", 1, 22, "too large"},
        {"rule a when amount > ¥1,00 then block reason \"r\"", 1, 22, "money amount"},
        {"rule a when (amount > 1 then block reason \"r\"", 1, 13, "'(' without ')'"},
        {"rule a when min(amount) > 1 then block reason \"r\"", 1, 13, "takes 2 arguments"},
        {"rule a when amount > 1 && true then block reason \"r\"", 1, 24, "write 'and'"},
        {"# 注释 中文\nrule a when 金额 > 1 then block reason \"r\"", 2, 13,
         "unexpected character"},
        {"rule a when true then block reason \"r\" extra", 1, 40, "after the declaration"},
        {"rules are fun", 1, 1, "expected a declaration"},
        {deep, 1, 48, "nested deeper"},
        {long_name, 1, 9, "longer than"},
        {many_rules, 257, 1, "more than 256 rules"},
        {"rule a when true then block reason \"\xff\"", 1, 1, "not valid UTF-8"},
        {"list l of ip = \"a\", \"\"", 1, 21, "a list item is 1 to 128 bytes"},
        {"list l of ip = \"a\\tb\"", 1, 16, "printable"},
        /* found by fuzz_risk_rules: an attr compared with a condition aborted the compiler;
         * a long money amount overflowed while it was read; a first string that failed
         * before storing a byte left no string storage */
        {"rule a when amount > 1 == attr.x then block reason \"r\"", 1, 24, "no true/false"},
        {"rule a when attr.x != (amount > 1) then block reason \"r\"", 1, 20, "no true/false"},
        {"rule a when amount > ¥99999999999999999999 then block reason \"r\"", 1, 22,
         "money amount"},
        {"x \"\n", 1, 3, "unterminated"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct risk_program *program = 0;
        struct risk_diags diags;
        enum status status = risk_compile(bad[i].source, strlen(bad[i].source), &program, &diags);
        if (status == STATUS_OK) fail_msg("case %zu compiled", i);
        assert_null(program);
        const struct risk_diag *d = &diags.items[0];
        if (d->line != bad[i].line || d->col != bad[i].col ||
            strstr(d->message, bad[i].message_part) == 0) {
            fail_msg("case %zu: %d:%d: %s (want %d:%d '%s')", i, d->line, d->col, d->message,
                     bad[i].line, bad[i].col, bad[i].message_part);
        }
    }
}

static void several_errors_are_reported_at_once(void **state) {
    (void)state;
    const char *source = "feature f = count of order by user over 1h\n"
                         "rule a when f > \"3\" then block reason \"r\"\n"
                         "rule b when f > 3 then review reason \"fine\"\n"
                         "rule c when g > 3 then review reason \"r\"\n";
    struct risk_program *program = 0;
    struct risk_diags diags;
    assert_int_equal(risk_compile(source, strlen(source), &program, &diags), STATUS_INVALID_VALUE);
    assert_int_equal(diags.count, 2);
    assert_int_equal(diags.items[0].line, 2);
    assert_int_equal(diags.items[1].line, 4);
    struct buf out;
    buf_init(&out, 4096);
    assert_int_equal(risk_diags_format(&diags, "x.rules", &out), STATUS_OK);
    assert_non_null(strstr(out.data, "x.rules:4:13: unknown name 'g'"));
    buf_free(&out);
}

/* ---- evaluation ---- */

struct harness {
    struct risk_engine *engine;
    struct risk_decision decision;
};

static void harness_open(struct harness *h, const char *source, size_t memory_bytes) {
    struct risk_engine_config config = {memory_bytes ? memory_bytes : 1 << 20, 0, false};
    assert_int_equal(risk_engine_create(&config, &h->engine), STATUS_OK);
    struct risk_diags diags;
    assert_int_equal(risk_engine_install(h->engine, compile_ok(source), 0, &diags), STATUS_OK);
}

/* Sends "type user [key=value …]" at T0 + at_s; keys: device ip sku payment liquidity
 * counterparty payout amount attr:NAME=text attrn:NAME=number. */
static void send(struct harness *h, int64_t at_s, const char *type, const char *user,
                 const char *extra) {
    struct risk_event event;
    risk_event_init(&event);
    snprintf(event.id, sizeof event.id, "e%lld", (long long)at_s);
    assert_true(risk_type_parse(type, strlen(type), &event.type));
    event.time_s = T0 + at_s;
    (void)text_copy(event.fields[RISK_FIELD_USER], sizeof event.fields[0], user);
    char copy[512];
    (void)text_copy(copy, sizeof copy, extra ? extra : "");
    for (char *save = 0, *item = strtok_r(copy, " ", &save); item; item = strtok_r(0, " ", &save)) {
        char *eq = strchr(item, '=');
        assert_non_null(eq);
        *eq = 0;
        const char *value = eq + 1;
        enum risk_field field;
        if (strcmp(item, "amount") == 0) {
            event.has_amount = true;
            event.amount = strtoll(value, 0, 10);
        } else if (strncmp(item, "attr", 4) == 0) {
            struct risk_attr *attr = &event.attrs[event.attr_count++];
            (void)text_copy(attr->name, sizeof attr->name, strchr(item, ':') + 1);
            attr->is_number = item[4] == 'n';
            if (attr->is_number) {
                attr->number = strtod(value, 0);
            } else {
                (void)text_copy(attr->text, sizeof attr->text, value);
            }
        } else {
            assert_true(risk_field_parse(item, strlen(item), &field));
            (void)text_copy(event.fields[field], sizeof event.fields[0], value);
        }
    }
    risk_engine_process(h->engine, &event, &h->decision);
}

static double value_of(struct harness *h, const char *feature, int member) {
    const struct risk_program *p = risk_engine_program(h->engine);
    int f = risk_program_feature(p, feature, strlen(feature));
    assert_true(f >= 0);
    return risk_engine_values(h->engine)[p->features[f].value_index + member];
}

static bool fired(struct harness *h, const char *rule) {
    const struct risk_program *p = risk_engine_program(h->engine);
    for (int i = 0; i < h->decision.fired_count; i++) {
        if (strcmp(p->rules[h->decision.fired[i]].name, rule) == 0) return true;
    }
    return false;
}

static void windows_count_and_sum(void **state) {
    (void)state;
    struct harness h;
    harness_open(&h,
                 "feature orders_1h = count of order by user over 1h\n"
                 "feature spend_1d = sum of amount in order by user over 1d\n"
                 "feature biggest = max of amount in order by user over 1d\n"
                 "feature smallest = min of amount in order by user over 1d\n"
                 "feature average = avg of amount in order by user over 1d\n"
                 "rule burst when orders_1h >= 3 then review score 40 reason \"burst\"\n",
                 0);
    send(&h, 0, "order", "u1", "amount=100");
    send(&h, 600, "order", "u1", "amount=300");
    assert_false(fired(&h, "burst"));
    send(&h, 1200, "order", "u1", "amount=200");
    assert_true(value_of(&h, "orders_1h", 0) == 3);
    assert_true(value_of(&h, "spend_1d", 0) == 600);
    assert_true(value_of(&h, "biggest", 0) == 300);
    assert_true(value_of(&h, "smallest", 0) == 100);
    assert_true(value_of(&h, "average", 0) == 200);
    assert_true(fired(&h, "burst"));
    assert_int_equal(h.decision.action, RISK_REVIEW);
    assert_true(near(h.decision.score, 40));
    send(&h, 4300, "order", "u1", "amount=1"); /* the first two left the hour */
    assert_true(value_of(&h, "orders_1h", 0) == 2);
    send(&h, 3700, "order", "u2", "amount=5"); /* another user */
    assert_true(value_of(&h, "orders_1h", 0) == 1);
    /* 40 orders in a minute: the ring folds, the count stays exact inside the window */
    for (int i = 0; i < 40; i++)
        send(&h, 10000 + i, "order", "u3", "amount=10");
    assert_true(value_of(&h, "orders_1h", 0) == 40);
    assert_true(value_of(&h, "spend_1d", 0) == 400);
    risk_engine_free(h.engine);
}

static void devices_ages_and_sequences(void **state) {
    (void)state;
    struct harness h;
    harness_open(&h,
                 "feature device_users = distinct user in signup, login, order by device over 30d\n"
                 "feature user_age = age of user\n"
                 "feature since_order = since order by user\n"
                 "feature last_device = last device in login, order by user\n"
                 "feature history = profile of amount in order by user\n"
                 "rule farm when device_users >= 3 then block score 90 reason \"shared device\"\n"
                 "rule instant when type == order and user_age < 1m then review score 50 "
                 "reason \"instant purchase\"\n"
                 "rule quick_refund when type == refund and since_order < 1h then review score 60 "
                 "reason \"refund right after buying\"\n"
                 "rule new_device when type == order and last_device != \"\" and "
                 "last_device != device then challenge score 10 reason \"device changed\"\n"
                 "rule outlier when history.count >= 3 and history.z > 5 then review score 30 "
                 "reason \"far above history\"\n",
                 0);
    send(&h, 0, "signup", "a", "device=D1");
    send(&h, 10, "signup", "b", "device=D1");
    send(&h, 20, "order", "a", "device=D1 amount=100");
    assert_true(value_of(&h, "user_age", 0) == 20);
    assert_true(fired(&h, "instant"));
    assert_false(fired(&h, "farm"));
    send(&h, 30, "signup", "c", "device=D1");
    send(&h, 40, "order", "c", "device=D1 amount=100");
    assert_true(value_of(&h, "device_users", 0) == 3);
    assert_true(fired(&h, "farm"));
    assert_int_equal(h.decision.action, RISK_BLOCK);
    assert_true(h.decision.score > 94.9 && h.decision.score < 95.1); /* 1 − 0.1 × 0.5 */
    assert_true(value_of(&h, "since_order", 0) == 1e12);             /* c never ordered before */
    send(&h, 600, "refund", "a", "amount=100");
    assert_true(value_of(&h, "since_order", 0) == 580);
    assert_true(fired(&h, "quick_refund"));
    send(&h, 1000, "login", "a", "device=D9");
    send(&h, 1100, "order", "a", "device=D2 amount=100");
    assert_true(fired(&h, "new_device"));
    send(&h, 1200, "order", "a", "device=D2 amount=110");
    send(&h, 1300, "order", "a", "device=D2 amount=90");
    assert_true(value_of(&h, "history", RISK_P_COUNT) == 3);
    double mean = value_of(&h, "history", RISK_P_MEAN); /* 100, 100, 110: before this one */
    assert_true(mean > 103.33 && mean < 103.34);
    send(&h, 1400, "order", "a", "device=D2 amount=5000");
    assert_true(value_of(&h, "history", RISK_P_Z) > 5);
    assert_true(fired(&h, "outlier"));
    risk_engine_free(h.engine);
}

static void money_graphs(void **state) {
    (void)state;
    struct harness h;
    harness_open(&h,
                 "feature fan_in = distinct user in transfer by counterparty over 7d\n"
                 "feature fan_out = distinct counterparty in transfer by user over 7d\n"
                 "feature loop = cycle in transfer over 7d\n"
                 "rule money_cycle when loop >= 2 then block score 80 reason \"money returns\"\n"
                 "rule collector when type == withdrawal and fan_in[user] >= 3 then review "
                 "score 50 reason \"many senders, one withdrawal\"\n",
                 0);
    send(&h, 0, "transfer", "A", "counterparty=B amount=100");
    assert_true(value_of(&h, "loop", 0) == 0);
    send(&h, 10, "transfer", "B", "counterparty=C amount=100");
    send(&h, 20, "transfer", "C", "counterparty=A amount=100");
    assert_true(value_of(&h, "loop", 0) == 3);
    assert_true(fired(&h, "money_cycle"));
    send(&h, 30, "transfer", "A", "counterparty=B amount=50");
    send(&h, 40, "transfer", "B", "counterparty=A amount=50");
    assert_true(value_of(&h, "loop", 0) == 2);
    send(&h, 100, "transfer", "X", "counterparty=M amount=1");
    send(&h, 110, "transfer", "Y", "counterparty=M amount=1");
    send(&h, 120, "transfer", "Z", "counterparty=M amount=1");
    assert_true(value_of(&h, "fan_in", 0) == 3);
    send(&h, 130, "withdrawal", "M", "amount=3 payout_account=P1");
    assert_true(fired(&h, "collector"));
    assert_false(fired(&h, "money_cycle"));
    /* edges older than the window do not close a cycle */
    send(&h, 8 * 86400, "transfer", "C", "counterparty=A amount=1");
    assert_true(value_of(&h, "loop", 0) == 0);
    risk_engine_free(h.engine);
}

static void decisions_lists_sets_and_shadow(void **state) {
    (void)state;
    struct harness h;
    harness_open(&h,
                 "list bad_ips of ip = \"1.2.3.4\", \"5.6.7.8\"\n"
                 "rule bad_ip when ip in bad_ips then block score 50 reason \"listed IP\"\n"
                 "rule credit_cards when payment == \"credit\" and liquidity == \"high\" then "
                 "block score 50 reason \"credit may not buy prepaid cards\"\n"
                 "shadow rule night when hour >= 0 and hour < 6 then review score 99 reason "
                 "\"night owl\"\n"
                 "rule odd_channel when attr.channel not in (\"app\", \"web\") then challenge "
                 "reason \"unknown channel\"\n"
                 "rule ratio when amount / number(attr.items) > ¥1,000 then review score 20 "
                 "reason \"expensive items\"\n"
                 "rule modelled when model_score > 90 then block score 100 reason \"model\"\n",
                 0);
    send(&h, 3600 * 3, "order", "u", "ip=1.2.3.4 payment=credit liquidity=high attr:channel=app");
    assert_int_equal(h.decision.action, RISK_BLOCK);
    assert_true(near(h.decision.score, 75)); /* 1 − 0.5 × 0.5 */
    assert_true(fired(&h, "night"));         /* recorded… */
    assert_true(h.decision.model_score == -1);
    assert_false(fired(&h, "modelled")); /* no model: skipped */
    send(&h, 3600 * 12, "order", "u", "ip=9.9.9.9 attr:channel=api amount=500000 attrn:items=0");
    assert_int_equal(h.decision.action, RISK_CHALLENGE); /* x / 0 is 0: ratio does not fire */
    assert_false(fired(&h, "ratio"));
    assert_false(fired(&h, "night"));
    send(&h, 3600 * 12, "order", "u", "ip=9.9.9.9 attr:channel=web amount=500000 attrn:items=4");
    assert_true(fired(&h, "ratio"));
    assert_true(near(h.decision.score, 20));
    /* the list changes without recompiling */
    struct risk_list *list = risk_engine_list(h.engine, "bad_ips");
    assert_non_null(list);
    risk_list_clear(list);
    assert_int_equal(risk_list_add(list, "9.9.9.9", 7), STATUS_OK);
    send(&h, 3600 * 13, "order", "u", "ip=9.9.9.9 attr:channel=web");
    assert_true(fired(&h, "bad_ip"));
    send(&h, 3600 * 13, "order", "u", "ip=1.2.3.4 attr:channel=web");
    assert_false(fired(&h, "bad_ip"));
    send(&h, 3600 * 13, "signup", "v", "ip=9.9.9.9");
    assert_false(h.decision.decided); /* signups feed features only */
    risk_engine_free(h.engine);
}

static void where_filters_pick_the_events_a_feature_counts(void **state) {
    (void)state;
    struct harness h;
    harness_open(
        &h,
        "feature near_10k = count of order where liquidity == \"high\" and amount >= "
        "¥9,000 and amount < ¥10,000 by user over 1d\n"
        "feature prepaid_1d = sum of amount in order where liquidity == \"high\" by user "
        "over 1d\n"
        "feature all_1d = count of order by user over 1d\n"
        "rule splitting when near_10k >= 2 then challenge score 40 reason \"splitting under "
        "the real-name line\"\n",
        0);
    send(&h, 0, "order", "u", "liquidity=high amount=950000");
    send(&h, 10, "order", "u", "liquidity=low amount=950000");
    send(&h, 20, "order", "u", "liquidity=high amount=1000000");
    assert_false(fired(&h, "splitting"));
    send(&h, 30, "order", "u", "liquidity=high amount=999999");
    assert_true(value_of(&h, "near_10k", 0) == 2);
    assert_true(value_of(&h, "prepaid_1d", 0) == 2949999);
    assert_true(value_of(&h, "all_1d", 0) == 4);
    assert_true(fired(&h, "splitting"));
    assert_int_equal(h.decision.action, RISK_CHALLENGE);
    risk_engine_free(h.engine);
    struct risk_program *program = 0;
    struct risk_diags diags;
    const char *bad = "feature a = age of user\nfeature b = count of order where a > 1 by user "
                      "over 1h\n";
    assert_int_equal(risk_compile(bad, strlen(bad), &program, &diags), STATUS_INVALID_VALUE);
    assert_non_null(strstr(diags.items[0].message, "event only"));
}

static void state_survives_a_rule_change(void **state) {
    (void)state;
    struct harness h;
    harness_open(&h, "feature n = count of order by user over 1d\n", 0);
    send(&h, 0, "order", "u", 0);
    send(&h, 1, "order", "u", 0);
    struct risk_diags diags;
    assert_int_equal(risk_engine_install(h.engine,
                                         compile_ok("feature orders = count of order by user over "
                                                    "1d\nfeature other = count of login by user "
                                                    "over 1d\nlist l of ip\n"),
                                         0, &diags),
                     STATUS_OK);
    send(&h, 2, "order", "u", 0);
    assert_true(value_of(&h, "orders", 0) == 3); /* same stream: kept */
    assert_true(value_of(&h, "other", 0) == 0);
    risk_engine_free(h.engine);
}

static void memory_stays_bounded(void **state) {
    (void)state;
    struct harness h;
    harness_open(&h, "feature n = count of order by user over 1d\nfeature a = age of user\n",
                 64 * 256);
    char user[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(user, sizeof user, "user-%d", i);
        send(&h, i, "order", user, 0);
        assert_true(value_of(&h, "n", 0) == 1);
    }
    struct risk_state_stats stats;
    risk_engine_state_stats(h.engine, &stats);
    assert_int_equal(stats.capacity, 64);
    assert_true(stats.used <= 56);
    assert_true(stats.evictions > 4000);
    /* the most recent key is still there */
    send(&h, 6000, "order", "user-4999", 0);
    assert_true(value_of(&h, "n", 0) == 2);
    risk_engine_free(h.engine);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors_have_positions),
        cmocka_unit_test(several_errors_are_reported_at_once),
        cmocka_unit_test(windows_count_and_sum),
        cmocka_unit_test(devices_ages_and_sequences),
        cmocka_unit_test(money_graphs),
        cmocka_unit_test(decisions_lists_sets_and_shadow),
        cmocka_unit_test(where_filters_pick_the_events_a_feature_counts),
        cmocka_unit_test(state_survives_a_rule_change),
        cmocka_unit_test(memory_stays_bounded),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
