/* vm.h — runs the bytecode of one condition, score or model input. Bounded by
 * construction: jumps only go forward, so a run takes at most as many steps as the code
 * has instructions (LIMIT_RISK_RULE_OPS per rule), and the stack never grows past what the
 * compiler counted (LIMIT_RISK_STACK). Pure: reads the event, the feature values computed
 * for it and the lists; a keyed feature (fan_in[user]) is asked of the engine. */
#ifndef TESSERA_RISK_VM_H
#define TESSERA_RISK_VM_H

#include "risk/event.h"
#include "risk/lists.h"
#include "risk/program.h"

struct risk_vm_env {
    const struct risk_program *program;
    const struct risk_event *event;
    const double *values;                 /* program->value_count */
    const char *const *texts;             /* program->text_count */
    const struct risk_list *const *lists; /* program->list_count */
    double model_score;                   /* 0-100 */
    /* A feature for another key of the event: member for profiles, else 0. */
    double (*keyed_number)(void *context, int feature, int member, const char *key);
    const char *(*keyed_text)(void *context, int feature, const char *key);
    void *context;
};

/* The value of the expression at offset: 1/0 for conditions, a number otherwise. */
double risk_vm_run(const struct risk_vm_env *env, int offset);

#endif
