/* metrics.c — backtest figures (see metrics.h). */
#include "risk/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"

void risk_metrics_init(struct risk_metrics *metrics) {
    verify(metrics != 0);
    memset(metrics, 0, sizeof *metrics);
    metrics->positive_buckets = mem_calloc(RISK_METRICS_BUCKETS, sizeof(uint32_t));
    metrics->negative_buckets = mem_calloc(RISK_METRICS_BUCKETS, sizeof(uint32_t));
}

void risk_metrics_free(struct risk_metrics *metrics) {
    verify(metrics != 0);
    free(metrics->positive_buckets);
    free(metrics->negative_buckets);
    metrics->positive_buckets = metrics->negative_buckets = 0;
}

void risk_metrics_add(struct risk_metrics *metrics, const struct risk_decision *decision,
                      int label) {
    verify(metrics != 0 && decision != 0 && decision->decided);
    verify(label == 0 || label == 1);
    verify(decision->score >= 0 && decision->score <= 100);
    metrics->labeled++;
    metrics->positives += (uint64_t)label;
    long bucket = lround(decision->score * 1000);
    verify(bucket >= 0 && bucket < RISK_METRICS_BUCKETS);
    uint32_t *buckets = label ? metrics->positive_buckets : metrics->negative_buckets;
    if (buckets[bucket] < UINT32_MAX) buckets[bucket]++;
    if (decision->action >= RISK_REVIEW) {
        metrics->flagged++;
        metrics->flagged_positive += (uint64_t)label;
    }
    if (decision->action == RISK_BLOCK) {
        metrics->blocked++;
        metrics->blocked_positive += (uint64_t)label;
    }
    for (int i = 0; i < decision->fired_count; i++) {
        metrics->rule_hits[decision->fired[i]]++;
        metrics->rule_positive[decision->fired[i]] += (uint64_t)label;
    }
}

double risk_metrics_auc(const struct risk_metrics *metrics) {
    verify(metrics != 0);
    double positives = 0, negatives = 0;
    for (int i = 0; i < RISK_METRICS_BUCKETS; i++) {
        positives += metrics->positive_buckets[i];
        negatives += metrics->negative_buckets[i];
    }
    if (positives == 0 || negatives == 0) return 0.5;
    double below = 0, area = 0; /* negatives with a lower score; pairs ranked right */
    for (int i = 0; i < RISK_METRICS_BUCKETS; i++) {
        double p = metrics->positive_buckets[i], n = metrics->negative_buckets[i];
        area += p * below + 0.5 * p * n;
        below += n;
    }
    return area / (positives * negatives);
}

static double metrics_ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0; }

/* The figures both reports show, computed once. */
struct metrics_figures {
    double auc, flag_precision, flag_recall, block_precision, block_recall;
};

static struct metrics_figures metrics_figures(const struct risk_metrics *m) {
    return (struct metrics_figures){risk_metrics_auc(m),
                                    metrics_ratio(m->flagged_positive, m->flagged),
                                    metrics_ratio(m->flagged_positive, m->positives),
                                    metrics_ratio(m->blocked_positive, m->blocked),
                                    metrics_ratio(m->blocked_positive, m->positives)};
}

enum status risk_metrics_format(const struct risk_metrics *metrics,
                                const struct risk_program *program, struct buf *out) {
    verify(metrics != 0 && program != 0 && out != 0);
    struct metrics_figures f = metrics_figures(metrics);
    enum status status = buf_printf(
        out,
        "labeled %llu (fraud %llu)\nAUC %.4f\n"
        "review-or-worse: flagged %llu, precision %.4f, recall %.4f\n"
        "block: blocked %llu, precision %.4f, recall %.4f\nhits per rule (fraud among them):\n",
        (unsigned long long)metrics->labeled, (unsigned long long)metrics->positives, f.auc,
        (unsigned long long)metrics->flagged, f.flag_precision, f.flag_recall,
        (unsigned long long)metrics->blocked, f.block_precision, f.block_recall);
    for (int r = 0; status == STATUS_OK && r < program->rule_count; r++) {
        status = buf_printf(out, "  %-32s %10llu  (%llu)%s\n", program->rules[r].name,
                            (unsigned long long)metrics->rule_hits[r],
                            (unsigned long long)metrics->rule_positive[r],
                            program->rules[r].shadow ? "  shadow" : "");
    }
    return status;
}

enum status risk_metrics_json(const struct risk_metrics *metrics,
                              const struct risk_program *program, struct buf *out) {
    verify(metrics != 0 && program != 0 && out != 0);
    struct metrics_figures f = metrics_figures(metrics);
    enum status status =
        buf_printf(out,
                   "{\"labeled\":%llu,\"fraud\":%llu,\"auc\":%.6f,"
                   "\"review_or_worse\":{\"flagged\":%llu,\"precision\":%.6f,\"recall\":%.6f},"
                   "\"block\":{\"blocked\":%llu,\"precision\":%.6f,\"recall\":%.6f},\"rules\":[",
                   (unsigned long long)metrics->labeled, (unsigned long long)metrics->positives,
                   f.auc, (unsigned long long)metrics->flagged, f.flag_precision, f.flag_recall,
                   (unsigned long long)metrics->blocked, f.block_precision, f.block_recall);
    for (int r = 0; status == STATUS_OK && r < program->rule_count; r++) {
        status = buf_printf(out, "%s{\"rule\":\"%s\",\"hits\":%llu,\"fraud\":%llu,\"shadow\":%s}",
                            r ? "," : "", program->rules[r].name,
                            (unsigned long long)metrics->rule_hits[r],
                            (unsigned long long)metrics->rule_positive[r],
                            program->rules[r].shadow ? "true" : "false");
    }
    if (status == STATUS_OK) status = buf_append(out, "]}", 2);
    return status;
}
