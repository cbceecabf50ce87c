/* vm.c — the rule bytecode interpreter (see vm.h). A value is a number (booleans are 1/0)
 * or a string; the compiler has checked every type, so the interpreter only asserts. */
#include "risk/vm.h"

#include <math.h>
#include <string.h>

#include "base/assert.h"

struct vm_value {
    double n;
    const char *s;
};

static const char *vm_attr_text(const struct risk_event *event, const char *name) {
    const struct risk_attr *attr = risk_event_attr(event, name, strlen(name));
    return attr != 0 && !attr->is_number ? attr->text : "";
}

static double vm_attr_number(const struct risk_event *event, const char *name) {
    const struct risk_attr *attr = risk_event_attr(event, name, strlen(name));
    return attr != 0 && attr->is_number ? attr->number : 0;
}

/* The key a keyed load names: a field of the event or one of its string attrs. */
static const char *vm_key(const struct risk_vm_env *env, int32_t packed) {
    enum risk_ref_kind kind = (enum risk_ref_kind)((uint32_t)packed >> 28);
    int index = packed & ((1 << 28) - 1);
    if (kind == RISK_REF_FIELD) {
        verify(index >= 0 && index < RISK_FIELD_COUNT);
        return env->event->fields[index];
    }
    verify(kind == RISK_REF_ATTR && index < env->program->string_count);
    return vm_attr_text(env->event, env->program->strings[index]);
}

static bool vm_in_set(const struct risk_program *program, const char *s, int first, int count) {
    verify(first >= 0 && count >= 0 && first + count <= program->string_count);
    for (int i = 0; i < count; i++) {
        if (strcmp(program->strings[first + i], s) == 0) return true;
    }
    return false;
}

static double vm_load_keyed(const struct risk_vm_env *env, const struct risk_op *op,
                            struct vm_value *out) {
    int feature = op->a & 0xFFFF, member = op->a >> 16;
    verify(feature >= 0 && feature < env->program->feature_count);
    const char *key = vm_key(env, op->b);
    if (env->program->features[feature].kind == RISK_F_LAST) {
        out->s = env->keyed_text(env->context, feature, key);
        verify(out->s != 0);
        return 0;
    }
    return env->keyed_number(env->context, feature, member, key);
}

/* Values each instruction reads from the stack. */
static const uint8_t vm_needs[OP_COUNT] = {
    [OP_ADD] = 2,          [OP_SUB] = 2,     [OP_MUL] = 2,    [OP_DIV] = 2,
    [OP_LT] = 2,           [OP_LE] = 2,      [OP_GT] = 2,     [OP_GE] = 2,
    [OP_EQ_NUM] = 2,       [OP_NE_NUM] = 2,  [OP_EQ_STR] = 2, [OP_NE_STR] = 2,
    [OP_MIN] = 2,          [OP_MAX] = 2,     [OP_NEG] = 1,    [OP_NOT] = 1,
    [OP_ABS] = 1,          [OP_IN_LIST] = 1, [OP_IN_SET] = 1, [OP_JUMP_IF_FALSE] = 1,
    [OP_JUMP_IF_TRUE] = 1, [OP_END] = 1,
};

double risk_vm_run(const struct risk_vm_env *env, int offset) {
    verify(env != 0 && env->program != 0 && env->event != 0);
    const struct risk_program *program = env->program;
    verify(offset >= 0 && offset < program->code_count);
    struct vm_value stack[LIMIT_RISK_STACK];
    int top = 0; /* next free slot */
    const struct risk_event *event = env->event;
    for (int pc = offset;; pc++) {
        verify(pc < program->code_count);
        const struct risk_op *op = &program->code[pc];
        /* the compiler counted the stack; one table lookup checks it stays so */
        verify(op->op < OP_COUNT && top >= vm_needs[op->op] && top < LIMIT_RISK_STACK);
        struct vm_value *a = top >= 2 ? &stack[top - 2] : stack,
                        *b = top >= 1 ? &stack[top - 1] : stack;
        switch ((enum risk_opcode)op->op) {
        case OP_PUSH_NUM:
            verify(op->a >= 0 && op->a < program->number_count);
            stack[top++] = (struct vm_value){program->numbers[op->a], 0};
            break;
        case OP_PUSH_STR:
            verify(op->a >= 0 && op->a < program->string_count);
            stack[top++] = (struct vm_value){0, program->strings[op->a]};
            break;
        case OP_LOAD_TYPE:
            stack[top++] = (struct vm_value){0, risk_type_name(event->type)};
            break;
        case OP_LOAD_FIELD:
            verify(op->a >= 0 && op->a < RISK_FIELD_COUNT);
            stack[top++] = (struct vm_value){0, event->fields[op->a]};
            break;
        case OP_LOAD_AMOUNT:
            stack[top++] = (struct vm_value){event->has_amount ? (double)event->amount : 0, 0};
            break;
        case OP_LOAD_HOUR:
            stack[top++] = (struct vm_value){(double)((event->time_s % 86400) / 3600), 0};
            break;
        case OP_LOAD_ATTR_NUM:
            stack[top++] = (struct vm_value){vm_attr_number(event, program->strings[op->a]), 0};
            break;
        case OP_LOAD_ATTR_STR:
            stack[top++] = (struct vm_value){0, vm_attr_text(event, program->strings[op->a])};
            break;
        case OP_LOAD_VALUE:
            verify(op->a >= 0 && op->a < program->value_count);
            stack[top++] = (struct vm_value){env->values[op->a], 0};
            break;
        case OP_LOAD_TEXT:
            verify(op->a >= 0 && op->a < program->text_count);
            stack[top++] = (struct vm_value){0, env->texts[op->a]};
            break;
        case OP_LOAD_KEYED: {
            struct vm_value value = {0, 0};
            value.n = vm_load_keyed(env, op, &value);
            stack[top++] = value;
            break;
        }
        case OP_LOAD_MODEL:
            stack[top++] = (struct vm_value){env->model_score, 0};
            break;
        case OP_ADD:
            a->n += b->n, top--;
            break;
        case OP_SUB:
            a->n -= b->n, top--;
            break;
        case OP_MUL:
            a->n *= b->n, top--;
            break;
        case OP_DIV:
            a->n = b->n == 0 ? 0 : a->n / b->n, top--;
            break;
        case OP_NEG:
            b->n = -b->n;
            break;
        case OP_LT:
            a->n = a->n < b->n, top--;
            break;
        case OP_LE:
            a->n = a->n <= b->n, top--;
            break;
        case OP_GT:
            a->n = a->n > b->n, top--;
            break;
        case OP_GE:
            a->n = a->n >= b->n, top--;
            break;
        case OP_EQ_NUM:
            a->n = a->n == b->n, top--;
            break;
        case OP_NE_NUM:
            a->n = a->n != b->n, top--;
            break;
        case OP_EQ_STR:
            a->n = strcmp(a->s, b->s) == 0, a->s = 0, top--;
            break;
        case OP_NE_STR:
            a->n = strcmp(a->s, b->s) != 0, a->s = 0, top--;
            break;
        case OP_NOT:
            b->n = b->n == 0;
            break;
        case OP_IN_LIST:
            verify(op->a >= 0 && op->a < program->list_count && b->s != 0);
            b->n = risk_list_contains(env->lists[op->a], b->s), b->s = 0;
            break;
        case OP_IN_SET:
            verify(b->s != 0);
            b->n = vm_in_set(program, b->s, op->a, op->b), b->s = 0;
            break;
        case OP_JUMP_IF_FALSE:
        case OP_JUMP_IF_TRUE: {
            verify(op->a > pc); /* forward only: runs are bounded */
            bool truth = b->n != 0;
            if (truth == (op->op == OP_JUMP_IF_TRUE)) {
                pc = op->a - 1;
            } else {
                top--;
            }
            break;
        }
        case OP_MIN:
            a->n = a->n < b->n ? a->n : b->n, top--;
            break;
        case OP_MAX:
            a->n = a->n > b->n ? a->n : b->n, top--;
            break;
        case OP_ABS:
            b->n = fabs(b->n);
            break;
        case OP_TYPE_IS:
            stack[top++] = (struct vm_value){
                (double)((((uint32_t)op->a >> event->type) & 1u) ^ (uint32_t)op->b), 0};
            break;
        case OP_END:
            verify(top == 1);
            return stack[0].n;
        case OP_LOAD_ATTR: /* the compiler types every attr load */
        case OP_COUNT:
            verify(false);
        }
        verify(top >= 0 && top <= LIMIT_RISK_STACK);
    }
}
