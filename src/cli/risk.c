/* risk.c — `tessera risk check RULES [--model MODEL]` (compile only) and
 * `tessera risk replay --rules RULES [--model MODEL] --events FILE|- [--out FILE]
 *  [--features-out FILE] [--memory-mb N]`: events in file order through a fresh engine,
 * one decision line per decidable event, a progress bar on a terminal, and, when events
 * carry labels, AUC, precision/recall and hits per rule at the end (on stderr, so the
 * decisions on stdout stay a clean JSONL stream). Memory is the engine's bound plus one
 * line: nothing grows with the number of events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/text.h"
#include "cli/cli.h"
#include "risk/decision.h"
#include "risk/metrics.h"

#define RISK_OUT_BUFFER (1 << 20)

/* Compiles the rule file (and attaches the model) into a new engine. */
static bool risk_load(const char *rules_path, const char *model_path, size_t memory_mb,
                      struct risk_engine **out, struct risk_model **model_out) {
    *model_out = 0;
    struct buf source;
    if (!cli_read_file("risk", rules_path, LIMIT_RISK_RULE_FILE_BYTES, &source)) return false;
    struct risk_program *program = 0;
    struct risk_diags diags;
    enum status status = risk_compile(source.data ? source.data : "", source.len, &program, &diags);
    buf_free(&source);
    struct risk_model *model = 0;
    char message[200];
    if (status == STATUS_OK && model_path != 0 &&
        risk_model_load(model_path, &model, message, sizeof message) != STATUS_OK) {
        fprintf(stderr, "%s: %s\n", model_path, message);
        risk_program_free(program);
        return false;
    }
    struct risk_engine_config config = {memory_mb * 1024 * 1024, 0, false};
    if (status == STATUS_OK) status = risk_engine_create(&config, out);
    if (status == STATUS_OK) {
        status = risk_engine_install(*out, program, model, &diags);
        if (status != STATUS_OK) risk_engine_free(*out);
    } else {
        risk_program_free(program);
    }
    *model_out = model;
    if (status != STATUS_OK) {
        risk_model_free(model);
        *model_out = 0;
    }
    if (status != STATUS_OK) {
        struct buf text;
        buf_init(&text, 1 << 20);
        if (diags.count > 0 && risk_diags_format(&diags, rules_path, &text) == STATUS_OK) {
            fputs(text.data, stderr);
        } else {
            fprintf(stderr, "tessera risk: cannot start the engine (%s)\n", status_message(status));
        }
        buf_free(&text);
        return false;
    }
    return true;
}

static int risk_check(int argc, char **argv) {
    const char *rules = 0, *model = 0;
    struct cli_option options[] = {{"--model", true, &model}};
    if (!cli_parse(argc, argv, options, 1, &rules) || rules == 0) {
        fprintf(stderr, "usage: tessera risk check RULES [--model MODEL]\n");
        return 2;
    }
    struct risk_engine *engine = 0;
    struct risk_model *loaded = 0;
    if (!risk_load(rules, model, 1, &engine, &loaded)) return 1;
    const struct risk_program *p = risk_engine_program(engine);
    printf("%s: %d rules, %d features, %d lists%s\n", rules, p->rule_count, p->feature_count,
           p->list_count, model ? ", model inputs compiled" : "");
    risk_engine_free(engine);
    risk_model_free(loaded);
    return 0;
}

/* Reads one line (without its newline) into line; *too_long when it did not fit (the rest
 * of it is skipped). False at the end of the file. */
static bool risk_read_line(FILE *file, char *line, size_t cap, size_t *len, bool *too_long) {
    *too_long = false;
    if (fgets(line, (int)cap, file) == 0) return false;
    *len = strlen(line);
    if (*len > 0 && line[*len - 1] == '\n') {
        line[--*len] = 0;
        if (*len > 0 && line[*len - 1] == '\r') line[--*len] = 0;
        return true;
    }
    if (feof(file)) return true; /* a last line without a newline */
    *too_long = true;
    int c;
    while ((c = fgetc(file)) != EOF && c != '\n') {
    }
    return true;
}

static void risk_features_header(FILE *out, const struct risk_program *p) {
    fputs("id,label", out);
    static const char *const members[RISK_P_MEMBERS] = {"count", "mean", "std", "z"};
    for (int f = 0; f < p->feature_count; f++) {
        const struct risk_feature *feature = &p->features[f];
        if (feature->kind == RISK_F_LAST) continue;
        if (feature->kind == RISK_F_PROFILE) {
            for (int m = 0; m < RISK_P_MEMBERS; m++)
                fprintf(out, ",%s.%s", feature->name, members[m]);
        } else {
            fprintf(out, ",%s", feature->name);
        }
    }
    fputs(",amount,hour\n", out);
}

static void risk_features_row(FILE *out, const struct risk_engine *engine,
                              const struct risk_event *event) {
    const struct risk_program *p = risk_engine_program(engine);
    const double *values = risk_engine_values(engine);
    fputc('"', out); /* RFC 4180: quoted, inner quotes doubled */
    for (const char *c = event->id; *c; c++) {
        if (*c == '"') fputc('"', out);
        fputc(*c, out);
    }
    fprintf(out, "\",%d", event->label);
    for (int f = 0; f < p->feature_count; f++) {
        const struct risk_feature *feature = &p->features[f];
        if (feature->kind == RISK_F_LAST) continue;
        int n = feature->kind == RISK_F_PROFILE ? RISK_P_MEMBERS : 1;
        for (int m = 0; m < n; m++)
            fprintf(out, ",%.10g", values[feature->value_index + m]);
    }
    fprintf(out, ",%lld,%lld\n", event->has_amount ? (long long)event->amount : 0LL,
            (long long)((event->time_s % 86400) / 3600));
}

struct replay_run {
    struct risk_engine *engine;
    FILE *in, *out, *features;
    const char *events_path;
    struct risk_metrics metrics;
    uint64_t events, decided, malformed;
};

static bool risk_replay_loop(struct replay_run *run) {
    struct stat st;
    long long total =
        run->in != stdin && fstat(fileno(run->in), &st) == 0 ? (long long)st.st_size : 0;
    bool tty = isatty(STDERR_FILENO) == 1 && total > 0;
    static char line[LIMIT_RISK_EVENT_BYTES + 2];
    static struct risk_event event;
    struct risk_decision decision;
    struct buf out;
    buf_init(&out, 1 << 20);
    size_t len = 0;
    bool too_long = false;
    uint64_t line_number = 0;
    long long done = 0;
    while (risk_read_line(run->in, line, sizeof line, &len, &too_long)) {
        line_number++;
        done += (long long)len + 1;
        char message[200];
        if (too_long) {
            fprintf(stderr, "%s:%llu: longer than %d bytes; skipped\n", run->events_path,
                    (unsigned long long)line_number, LIMIT_RISK_EVENT_BYTES);
            run->malformed++;
            continue;
        }
        if (len == 0) continue;
        if (risk_event_parse(line, len, &event, message, sizeof message) != STATUS_OK) {
            fprintf(stderr, "%s:%llu: %s; skipped\n", run->events_path,
                    (unsigned long long)line_number, message);
            run->malformed++;
            continue;
        }
        run->events++;
        risk_engine_process(run->engine, &event, &decision);
        if (decision.decided) {
            run->decided++;
            out.len = 0;
            verify(risk_decision_append_line(&out, risk_engine_program(run->engine), &event,
                                             &decision) == STATUS_OK);
            fwrite(out.data, 1, out.len, run->out);
            fputc('\n', run->out);
            if (event.label >= 0) risk_metrics_add(&run->metrics, &decision, event.label);
            if (run->features) risk_features_row(run->features, run->engine, &event);
        }
        if (tty && (run->events & 0xFFFF) == 0) cli_progress(done, total, "");
    }
    if (tty) cli_progress(total, total, "\n");
    buf_free(&out);
    if (ferror(run->in)) {
        fprintf(stderr, "tessera risk replay: cannot read %s\n", run->events_path);
        return false;
    }
    return true;
}

static FILE *risk_open_out(const char *path) {
    FILE *file = fopen(path, "wb");
    if (file == 0) fprintf(stderr, "tessera risk replay: cannot write %s\n", path);
    return file;
}

static int risk_replay(int argc, char **argv) {
    const char *rules = 0, *model = 0, *events = 0, *out_path = 0, *features_path = 0, *memory = 0;
    struct cli_option options[] = {
        {"--rules", true, &rules},
        {"--model", true, &model},
        {"--events", true, &events},
        {"--out", true, &out_path},
        {"--features-out", true, &features_path},
        {"--memory-mb", true, &memory},
    };
    int64_t memory_mb = LIMIT_RISK_MEMORY_MB;
    if (!cli_parse(argc, argv, options, 6, 0) || rules == 0 || events == 0 ||
        (memory != 0 && (text_parse_int(memory, strlen(memory), &memory_mb) != STATUS_OK ||
                         memory_mb < 1 || memory_mb > 65536))) {
        fprintf(stderr, "usage: tessera risk replay --rules RULES [--model MODEL] --events "
                        "FILE|- [--out FILE] [--features-out FILE] [--memory-mb 1-65536]\n");
        return 2;
    }
    struct replay_run run;
    memset(&run, 0, sizeof run);
    run.events_path = strcmp(events, "-") == 0 ? "stdin" : events;
    struct risk_model *loaded = 0;
    if (!risk_load(rules, model, (size_t)memory_mb, &run.engine, &loaded)) return 1;
    run.in = strcmp(events, "-") == 0 ? stdin : fopen(events, "rb");
    run.out = out_path ? risk_open_out(out_path) : stdout;
    run.features = features_path ? risk_open_out(features_path) : 0;
    int code = 1;
    if (run.in == 0) fprintf(stderr, "tessera risk replay: cannot open %s\n", events);
    if (run.in != 0 && run.out != 0 && (features_path == 0 || run.features != 0)) {
        static char out_buffer[RISK_OUT_BUFFER], in_buffer[RISK_OUT_BUFFER];
        setvbuf(run.out, out_buffer, _IOFBF, sizeof out_buffer);
        setvbuf(run.in, in_buffer, _IOFBF, sizeof in_buffer);
        if (run.features) risk_features_header(run.features, risk_engine_program(run.engine));
        risk_metrics_init(&run.metrics);
        uint64_t started = clock_monotonic_ns();
        bool ok = risk_replay_loop(&run);
        double seconds = (double)(clock_monotonic_ns() - started) / 1e9;
        if (fflush(run.out) != 0 || ferror(run.out)) ok = false;
        fprintf(stderr,
                "replayed %llu events (%llu decided, %llu malformed) in %.2f s, %.0f events/s\n",
                (unsigned long long)run.events, (unsigned long long)run.decided,
                (unsigned long long)run.malformed, seconds,
                seconds > 0 ? (double)run.events / seconds : 0);
        if (run.metrics.labeled > 0) {
            struct buf summary;
            buf_init(&summary, 1 << 20);
            verify(risk_metrics_format(&run.metrics, risk_engine_program(run.engine), &summary) ==
                   STATUS_OK);
            fputs(summary.data, stderr);
            buf_free(&summary);
        }
        risk_metrics_free(&run.metrics);
        code = ok ? 0 : 1;
    }
    if (run.in != 0 && run.in != stdin) fclose(run.in);
    if (run.out != 0 && run.out != stdout) fclose(run.out);
    if (run.features != 0) fclose(run.features);
    risk_engine_free(run.engine);
    risk_model_free(loaded);
    return code;
}

int cli_risk(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "check") == 0) return risk_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "replay") == 0) return risk_replay(argc - 1, argv + 1);
    fprintf(stderr, "usage: tessera risk check RULES [--model MODEL]\n"
                    "       tessera risk replay --rules RULES [--model MODEL] --events FILE|- "
                    "[--out FILE] [--features-out FILE] [--memory-mb N]\n");
    return 2;
}
