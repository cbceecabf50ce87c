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
/* A decision packed for storage: rules = the fired rules' indices (16-bit little endian),
 * features = the engine's values of the last event (doubles, little endian) then its
 * last-value strings (each NUL-terminated). No formatting on the order path. */
must_check enum status risk_decision_pack(const struct risk_engine *engine,
                                          const struct risk_decision *decision, struct buf *rules,
                                          struct buf *features);
/* Their explanations, with the program of the version that decided: [{"rule","action",
 * "shadow","reason"},…] and {"name":value,…} (profiles as objects). A blob that does not
 * fit the program renders as null. */
must_check enum status risk_decision_render_rules(struct buf *out,
                                                  const struct risk_program *program,
                                                  const void *blob, size_t len);
must_check enum status risk_decision_render_features(struct buf *out,
                                                     const struct risk_program *program,
                                                     const void *blob, size_t len);

#endif
