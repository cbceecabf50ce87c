/* model.h — XGBoost models in the JSON format the Python package saves (Booster.save_model
 * to a .json file), scored natively: gbtree boosters with numeric splits, objectives
 * binary:logistic, reg:logistic (a probability) and binary:logitraw (a margin). The
 * arithmetic follows libxgboost's: inputs and leaf sums in single precision, then the
 * sigmoid; tests/unit/risk_model_test.c checks predictions against libxgboost to 1e-6.
 * The model's feature_names are rule-language expressions ("user_age",
 * "attr.source == \"SEO\"") compiled against the rule file it is used with. */
#ifndef TESSERA_RISK_MODEL_H
#define TESSERA_RISK_MODEL_H

#include <stddef.h>

#include "base/status.h"

struct risk_model;

/* Parses a model; on failure message says why. */
must_check enum status risk_model_parse(const char *json, size_t len, struct risk_model **out,
                                        char *message, size_t message_size);
must_check enum status risk_model_load(const char *path, struct risk_model **out, char *message,
                                       size_t message_size);
void risk_model_free(struct risk_model *model);
int risk_model_input_count(const struct risk_model *model);
const char *const *risk_model_input_names(const struct risk_model *model);
/* The model's output for one row of input_count values: a probability (0-1) for the
 * logistic objectives, the raw margin for logitraw. */
double risk_model_predict(const struct risk_model *model, const double *inputs);
/* True when risk_model_predict returns a probability. */
int risk_model_is_probability(const struct risk_model *model);

#endif
