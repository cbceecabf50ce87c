/* fuzz_risk_rules.c — libFuzzer harness for the rule language: lexer, compiler (errors or a
 * program) and, for every program that compiles, the engine running it over a fixed stream
 * of events, so hostile programs reach the VM and the feature state too. Invariants: errors
 * carry positions inside the input; decisions stay within 0-100 with a known action; a run
 * never crashes, leaks or loops (the VM only jumps forward). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "risk/engine.h"

static void fuzz_events(struct risk_engine *engine) {
    static const char *const lines[] = {
        "{\"id\":\"1\",\"type\":\"signup\",\"time\":\"2026-01-01T00:00:00Z\",\"user\":\"a\","
        "\"device\":\"d\",\"ip\":\"1.2.3.4\",\"attrs\":{\"x\":\"y\",\"n\":3}}",
        "{\"id\":\"2\",\"type\":\"order\",\"time\":\"2026-01-01T00:00:10Z\",\"user\":\"a\","
        "\"device\":\"d\",\"ip\":\"1.2.3.4\",\"amount\":250000,\"payment\":\"credit\","
        "\"liquidity\":\"high\",\"attrs\":{\"x\":\"y\",\"n\":0}}",
        "{\"id\":\"3\",\"type\":\"transfer\",\"time\":\"2026-01-01T00:01:00Z\",\"user\":\"a\","
        "\"counterparty\":\"b\",\"amount\":100}",
        "{\"id\":\"4\",\"type\":\"transfer\",\"time\":\"2026-01-01T00:02:00Z\",\"user\":\"b\","
        "\"counterparty\":\"a\",\"amount\":100}",
        "{\"id\":\"5\",\"type\":\"withdrawal\",\"time\":\"2026-01-02T00:00:00Z\",\"user\":\"a\","
        "\"payout_account\":\"p\",\"amount\":99999}",
        "{\"id\":\"6\",\"type\":\"refund\",\"time\":\"2026-01-02T00:00:05Z\",\"user\":\"a\","
        "\"amount\":250000}",
    };
    static struct risk_event event;
    char message[160];
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        verify(risk_event_parse(lines[i], strlen(lines[i]), &event, message, sizeof message) ==
               STATUS_OK);
        struct risk_decision decision;
        risk_engine_process(engine, &event, &decision);
        if (!decision.decided) continue;
        verify(decision.action >= RISK_ALLOW && decision.action < RISK_ACTION_COUNT);
        verify(decision.score >= 0 && decision.score <= 100);
        verify(decision.fired_count >= 0 && decision.fired_count <= LIMIT_RISK_RULES);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *copy = malloc(size ? size : 1); /* exactly size bytes: ASan sees any overread */
    verify(copy != 0);
    if (size) memcpy(copy, data, size);
    struct risk_program *program = 0;
    struct risk_diags diags;
    enum status status = risk_compile(copy, size, &program, &diags);
    if (status != STATUS_OK) {
        verify(program == 0 && diags.count > 0 && diags.count <= LIMIT_RISK_ERRORS);
        for (int i = 0; i < diags.count; i++) {
            verify(diags.items[i].line >= 1 && diags.items[i].col >= 1);
            verify(diags.items[i].message[0] != 0);
        }
    } else {
        struct risk_engine_config config = {1 << 16, 1, false};
        struct risk_engine *engine = 0;
        verify(risk_engine_create(&config, &engine) == STATUS_OK);
        verify(risk_engine_install(engine, program, 0, &diags) == STATUS_OK);
        fuzz_events(engine);
        risk_engine_free(engine);
    }
    free(copy);
    return 0;
}
