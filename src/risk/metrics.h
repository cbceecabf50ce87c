/* metrics.h — how well decisions match labels, in constant memory: AUC from a histogram of
 * scores (0.001 wide: scores closer than that count as ties), precision and recall of
 * review-or-worse and of block, and hits per rule (with how many were labeled fraud). */
#ifndef TESSERA_RISK_METRICS_H
#define TESSERA_RISK_METRICS_H

#include <stdint.h>

#include "base/mem.h"
#include "risk/engine.h"

#define RISK_METRICS_BUCKETS 100001 /* score 0.000 … 100.000 */

struct risk_metrics {
    uint64_t labeled, positives;
    uint64_t flagged, flagged_positive; /* review or block */
    uint64_t blocked, blocked_positive;
    uint64_t rule_hits[LIMIT_RISK_RULES], rule_positive[LIMIT_RISK_RULES];
    uint32_t *positive_buckets, *negative_buckets;
};

void risk_metrics_init(struct risk_metrics *metrics);
void risk_metrics_free(struct risk_metrics *metrics);
/* Counts a decision whose event had label 0 or 1. */
void risk_metrics_add(struct risk_metrics *metrics, const struct risk_decision *decision,
                      int label);
/* Area under the ROC curve of the scores; 0.5 when one class is missing. */
double risk_metrics_auc(const struct risk_metrics *metrics);
/* The summary as text lines. */
must_check enum status risk_metrics_format(const struct risk_metrics *metrics,
                                           const struct risk_program *program, struct buf *out);
/* The same as one JSON object (for POST /api/v1/risk/rules/test). */
must_check enum status risk_metrics_json(const struct risk_metrics *metrics,
                                         const struct risk_program *program, struct buf *out);

#endif
