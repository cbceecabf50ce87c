/* program.h — a compiled rule file: lists, features (and the streams of event data they
 * read), rules, and the bytecode of their conditions and scores. Built by compile.c,
 * executed by vm.c, fed by the feature state (state.c) through engine.c. Immutable once
 * compiled, so one program can be shared by readers while the writer swaps in the next. */
#ifndef TESSERA_RISK_PROGRAM_H
#define TESSERA_RISK_PROGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/status.h"
#include "risk/event.h"

enum risk_action { RISK_ALLOW, RISK_CHALLENGE, RISK_REVIEW, RISK_BLOCK, RISK_ACTION_COUNT };

const char *risk_action_name(enum risk_action action);
bool risk_action_parse(const char *name, size_t len, enum risk_action *action);

enum risk_type_tag { RISK_T_NUMBER, RISK_T_STRING, RISK_T_BOOL, RISK_T_ATTR };

/* A piece of an event: a string field, the amount, or an attr (by name). */
enum risk_ref_kind { RISK_REF_NONE, RISK_REF_FIELD, RISK_REF_AMOUNT, RISK_REF_ATTR };

struct risk_ref {
    enum risk_ref_kind kind;
    int index; /* enum risk_field, or the attr name's index in names */
};

enum risk_feature_kind {
    RISK_F_COUNT,
    RISK_F_SUM,
    RISK_F_AVG,
    RISK_F_MAX,
    RISK_F_MIN,
    RISK_F_DISTINCT,
    RISK_F_AGE,
    RISK_F_SINCE,
    RISK_F_PROFILE, /* four values: count, mean, std, z */
    RISK_F_LAST,    /* a string */
    RISK_F_CYCLE,
};

/* What the state keeps per key: the unit features share (one ring serves count, sum, avg,
 * max and min over any window of the same events). */
enum risk_stream_kind {
    RISK_S_RING,     /* (time, number) entries of the matching events */
    RISK_S_DISTINCT, /* (time, value hash) of distinct values, newest time per value */
    RISK_S_SEEN,     /* first time the key appeared in any event */
    RISK_S_LAST,     /* time and value of the latest matching event */
    RISK_S_PROFILE,  /* count, mean and spread of a number (Welford) */
};

struct risk_stream {
    enum risk_stream_kind kind;
    struct risk_ref key;
    uint32_t types; /* bit per enum risk_type */
    struct risk_ref value;
    int filter; /* code offset of a `where` condition on the event, or -1 */
    char filter_text[LIMIT_RISK_REASON_BYTES + 1]; /* its source, part of the identity */
};

/* Members of a profile feature, in the order of its values. */
enum risk_profile_member { RISK_P_COUNT, RISK_P_MEAN, RISK_P_STD, RISK_P_Z, RISK_P_MEMBERS };

struct risk_feature {
    char name[LIMIT_RISK_NAME_BYTES + 1];
    enum risk_feature_kind kind;
    int stream;
    int64_t window_s;
    int value_index; /* first slot in the per-event number values (or string slot for LAST) */
    int line, col;
};

struct risk_list_decl {
    char name[LIMIT_RISK_NAME_BYTES + 1];
    char of[LIMIT_RISK_NAME_BYTES + 1]; /* what it holds (documentation: ip, device, …) */
    int first_item, item_count;         /* initial items: indices into strings */
};

enum risk_opcode {
    OP_PUSH_NUM,   /* a: index into numbers */
    OP_PUSH_STR,   /* a: index into strings */
    OP_LOAD_TYPE,  /* the event type's name */
    OP_LOAD_FIELD, /* a: enum risk_field ("" when absent) */
    OP_LOAD_AMOUNT,
    OP_LOAD_HOUR,     /* UTC hour of the event, 0-23 */
    OP_LOAD_ATTR,     /* not yet typed: the compiler always patches it to one of the next two */
    OP_LOAD_ATTR_NUM, /* a: attr name index; 0 when absent or a string */
    OP_LOAD_ATTR_STR, /* a: attr name index; "" when absent or a number */
    OP_LOAD_VALUE,    /* a: number value index (features of this event) */
    OP_LOAD_TEXT,     /* a: string value index (last features) */
    OP_LOAD_KEYED,    /* a: feature | member << 16; b: ref kind << 28 | ref index (the key) */
    OP_LOAD_MODEL,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV, /* x / 0 is 0 */
    OP_NEG,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_EQ_NUM,
    OP_NE_NUM,
    OP_EQ_STR,
    OP_NE_STR,
    OP_NOT,
    OP_IN_LIST,       /* a: list index */
    OP_IN_SET,        /* a: first string, b: count */
    OP_JUMP_IF_FALSE, /* a: target (forward); keeps the value when jumping, else pops it */
    OP_JUMP_IF_TRUE,
    OP_MIN,
    OP_MAX,
    OP_ABS,
    OP_TYPE_IS, /* a: bit mask of event types, b: 1 to negate (type == order, fused) */
    OP_END,
    OP_COUNT
};

struct risk_op {
    uint8_t op;
    int32_t a, b;
};

struct risk_rule {
    char name[LIMIT_RISK_NAME_BYTES + 1];
    enum risk_action action;
    bool shadow;
    bool uses_model; /* active only while a model is loaded */
    int condition;   /* code offset; ends with OP_END */
    uint32_t types;  /* event types the condition can hold for (a leading `type == …
                        and`), all bits when any */
    int score;       /* code offset, or -1: score 0 */
    char reason[LIMIT_RISK_REASON_BYTES + 1];
    int line;
};

struct risk_program {
    int list_count, feature_count, stream_count, rule_count;
    struct risk_list_decl lists[LIMIT_RISK_LISTS];
    struct risk_feature features[LIMIT_RISK_FEATURES];
    struct risk_stream streams[LIMIT_RISK_FEATURES * 2];
    struct risk_rule rules[LIMIT_RISK_RULES];
    int value_count; /* numbers a decision computes: one per feature, four per profile */
    int text_count;  /* strings a decision computes: one per last feature */
    int64_t longest_window_s;
    struct risk_op *code;
    int code_count, code_capacity;
    double *numbers;
    int number_count, number_capacity;
    char **strings; /* constants, attr names, list items */
    int string_count, string_capacity;
    /* Model inputs, compiled against this program by risk_program_attach_inputs. */
    int input_count;
    int *inputs; /* code offsets, numeric expressions */
};

struct risk_diag {
    int line, col;
    char message[200];
};

struct risk_diags {
    int count;
    bool truncated;
    struct risk_diag items[LIMIT_RISK_ERRORS];
};

/* Compiles a rule file. On errors returns STATUS_INVALID_VALUE with diags filled (up to
 * LIMIT_RISK_ERRORS, positions 1-based) and *out NULL. An empty file is a valid program
 * that allows everything. */
must_check enum status risk_compile(const char *source, size_t len, struct risk_program **out,
                                    struct risk_diags *diags);
void risk_program_free(struct risk_program *program);
/* Compiles each model input name (a numeric or boolean expression of the language, such as
 * "user_age" or "attr.source == \"SEO\"") against program; model_score is not allowed. */
must_check enum status risk_program_attach_inputs(struct risk_program *program,
                                                  const char *const *names, int count,
                                                  struct risk_diags *diags);
/* The feature named name, or -1. */
int risk_program_feature(const struct risk_program *program, const char *name, size_t len);
/* "file:line:col: message" lines for diags, for CLI and API answers. */
must_check enum status risk_diags_format(const struct risk_diags *diags, const char *file,
                                         struct buf *out);

#endif
