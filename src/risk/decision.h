/* decision.h — decisions as JSON text. */
#ifndef TESSERA_RISK_DECISION_H
#define TESSERA_RISK_DECISION_H

#include "base/mem.h"
#include "risk/engine.h"

/* A score 0-100 with at most two decimals and no trailing zeros (72.5, 100, 0). */
must_check enum status risk_score_append(struct buf *out, double score);
/* One replay line: {"id":…,"action":…,"score":…,"reasons":[rule names, shadow excluded]}. */
must_check enum status risk_decision_append_line(struct buf *out,
                                                 const struct risk_program *program,
                                                 const struct risk_event *event,
                                                 const struct risk_decision *decision);
/* [{"rule","action","shadow","reason"},…] of the fired rules. */
must_check enum status risk_decision_append_rules(struct buf *out,
                                                  const struct risk_program *program,
                                                  const struct risk_decision *decision);

#endif
