/* risk_bench.c — the risk engine alone, in process: every event of a JSONL file is parsed
 * up front, then fed to the engine in order, timing each decidable event's decision
 * (risk_engine_process: features, state update, rules, model) with the monotonic clock.
 * Prints events/s of the engine loop and the decision latency percentiles: over every pass,
 * and warm (the passes after the first: a server's table has had its pages touched once;
 * the first touch of a page of the reserved table is a page fault of a few microseconds).
 * usage: risk_bench RULES EVENTS [MODEL] [REPEAT] — REPEAT passes over the file (times moved
 * forward each pass, so windows keep sliding); the engine's state persists across passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "risk/engine.h"

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static char *bench_read(const char *path, size_t *len) {
    FILE *file = fopen(path, "rb");
    if (file == 0) return 0;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (text == 0 || fread(text, 1, (size_t)size, file) != (size_t)size) {
        fclose(file);
        free(text);
        return 0;
    }
    fclose(file);
    text[size] = 0;
    *len = (size_t)size;
    return text;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: risk_bench RULES EVENTS [MODEL] [REPEAT]\n");
        return 2;
    }
    int repeat = argc > 4 ? atoi(argv[4]) : 1;
    size_t rules_len = 0, events_len = 0;
    char *rules = bench_read(argv[1], &rules_len), *text = bench_read(argv[2], &events_len);
    if (rules == 0 || text == 0 || repeat < 1) return 1;
    struct risk_program *program = 0;
    struct risk_diags diags;
    struct risk_model *model = 0;
    char message[200];
    if (risk_compile(rules, rules_len, &program, &diags) != STATUS_OK) return 1;
    if (argc > 3 && argv[3][0] && risk_model_load(argv[3], &model, message, 200) != STATUS_OK) {
        fprintf(stderr, "%s\n", message);
        return 1;
    }
    /* as the server runs it: the bound reserved, no rehash pauses */
    struct risk_engine_config config = {0, 0, getenv("RISK_BENCH_GROW") == 0};
    struct risk_engine *engine = 0;
    if (risk_engine_create(&config, &engine) != STATUS_OK ||
        risk_engine_install(engine, program, model, &diags) != STATUS_OK) {
        return 1;
    }
    size_t capacity = 1024, count = 0;
    struct risk_event *events = malloc(capacity * sizeof *events);
    for (char *line = text, *next = 0; line < text + events_len; line = next + 1) {
        next = memchr(line, '\n', (size_t)(text + events_len - line));
        if (next == 0) next = text + events_len;
        if (next == line) continue;
        if (count == capacity) events = realloc(events, (capacity *= 2) * sizeof *events);
        if (risk_event_parse(line, (size_t)(next - line), &events[count], message, 200) ==
            STATUS_OK) {
            count++;
        }
    }
    int64_t span = count ? events[count - 1].time_s - events[0].time_s + 86400 : 0;
    uint64_t *latency = malloc(count * (size_t)repeat * sizeof *latency);
    size_t decided = 0, first_pass = 0;
    uint64_t started = clock_monotonic_ns();
    for (int pass = 0; pass < repeat; pass++) {
        for (size_t i = 0; i < count; i++) {
            struct risk_event *event = &events[i];
            if (pass > 0) event->time_s += span;
            struct risk_decision decision;
            uint64_t t0 = clock_monotonic_ns();
            risk_engine_process(engine, event, &decision);
            uint64_t t1 = clock_monotonic_ns();
            if (decision.decided) latency[decided++] = t1 - t0;
        }
        if (pass == 0) first_pass = decided;
    }
    double seconds = (double)(clock_monotonic_ns() - started) / 1e9;
    /* warm: the passes after the first, when every key's memory has been touched once */
    size_t warm = decided - first_pass;
    qsort(latency + first_pass, warm, sizeof *latency, compare_u64);
    double warm_p99 = warm ? latency[first_pass + warm * 99 / 100] / 1e3 : 0;
    double warm_p999 = warm ? latency[first_pass + warm * 999 / 1000] / 1e3 : 0;
    qsort(latency, decided, sizeof *latency, compare_u64);
    struct risk_state_stats stats;
    risk_engine_state_stats(engine, &stats);
    printf("RISKBENCH events=%zu decided=%zu seconds=%.3f events_per_s=%.0f p50_us=%.2f "
           "p99_us=%.2f p999_us=%.2f max_us=%.2f warm_p99_us=%.2f warm_p999_us=%.2f model=%s "
           "state_keys=%llu state_mb=%.1f\n",
           count * (size_t)repeat, decided, seconds, (double)(count * (size_t)repeat) / seconds,
           decided ? latency[decided / 2] / 1e3 : 0,
           decided ? latency[decided * 99 / 100] / 1e3 : 0,
           decided ? latency[decided * 999 / 1000] / 1e3 : 0,
           decided ? latency[decided - 1] / 1e3 : 0, warm_p99, warm_p999, model ? "yes" : "no",
           (unsigned long long)stats.used, (double)stats.bytes / 1048576);
    risk_engine_free(engine);
    risk_model_free(model);
    free(latency);
    free(events);
    free(rules);
    free(text);
    return 0;
}
