/* model.c — loads an XGBoost JSON model into flat node arrays and walks its trees. A model
 * file is read once, so jansson parses it; every array is checked (lengths agree, children
 * point forward inside the tree, split features exist) before any tree is walked, so a
 * hostile file can neither loop nor read out of bounds. */
#include "risk/model.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/mem.h"

struct model_node {
    int32_t left, right; /* -1 for a leaf */
    int32_t feature;
    bool default_left;
    float value; /* the split threshold, or the leaf's value */
};

struct risk_model {
    int input_count;
    char **input_names;
    int tree_count;
    int32_t *tree_start; /* node offset of each tree */
    struct model_node *nodes;
    int node_count;
    float base_margin;
    bool probability; /* apply the sigmoid */
};

static enum status model_fail(char *message, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum status model_fail(char *message, size_t size, const char *fmt, ...) {
    if (message != 0 && size > 0) {
        va_list args;
        va_start(args, fmt);
        (void)vsnprintf(message, size, fmt, args);
        va_end(args);
    }
    return STATUS_INVALID_VALUE;
}

void risk_model_free(struct risk_model *model) {
    if (model == 0) return;
    for (int i = 0; i < model->input_count; i++)
        free(model->input_names[i]);
    free(model->input_names);
    free(model->tree_start);
    free(model->nodes);
    free(model);
}

static json_t *model_path(json_t *root, const char *a, const char *b, const char *c) {
    json_t *node = json_object_get(root, a);
    if (node && b) node = json_object_get(node, b);
    if (node && c) node = json_object_get(node, c);
    return node;
}

/* A number that XGBoost may have written as a string ("5E-1"). */
static bool model_number(json_t *value, double *out) {
    if (json_is_number(value)) {
        *out = json_number_value(value);
        return isfinite(*out);
    }
    if (!json_is_string(value)) return false;
    char *end = 0;
    *out = strtod(json_string_value(value), &end);
    return end != json_string_value(value) && *end == 0 && isfinite(*out);
}

static enum status model_objective(struct risk_model *model, json_t *root, char *message,
                                   size_t size) {
    json_t *name = model_path(root, "learner", "objective", "name");
    const char *objective = json_string_value(name);
    if (objective == 0) return model_fail(message, size, "no learner.objective.name");
    double base_score = 0.5;
    json_t *base = model_path(root, "learner", "learner_model_param", "base_score");
    if (base != 0 && !model_number(base, &base_score)) {
        return model_fail(message, size, "learner_model_param.base_score is not a number");
    }
    if (strcmp(objective, "binary:logistic") == 0 || strcmp(objective, "reg:logistic") == 0) {
        if (!(base_score > 0 && base_score < 1)) {
            return model_fail(message, size, "base_score must be inside (0, 1)");
        }
        model->probability = true;
        model->base_margin = (float)-log(1.0 / base_score - 1.0);
    } else if (strcmp(objective, "binary:logitraw") == 0) {
        model->probability = false;
        model->base_margin = (float)base_score;
    } else {
        return model_fail(message, size,
                          "objective %.40s is not supported (binary:logistic, reg:logistic, "
                          "binary:logitraw)",
                          objective);
    }
    return STATUS_OK;
}

static enum status model_inputs(struct risk_model *model, json_t *root, char *message,
                                size_t size) {
    json_t *names = model_path(root, "learner", "feature_names", 0);
    if (!json_is_array(names) || json_array_size(names) == 0) {
        return model_fail(message, size,
                          "the model has no feature_names: train it on named columns (they name "
                          "the rule-language inputs)");
    }
    if (json_array_size(names) > LIMIT_RISK_FEATURES * 4) {
        return model_fail(message, size, "more than %d inputs", LIMIT_RISK_FEATURES * 4);
    }
    model->input_count = (int)json_array_size(names);
    model->input_names = mem_calloc((size_t)model->input_count, sizeof *model->input_names);
    for (int i = 0; i < model->input_count; i++) {
        const char *name = json_string_value(json_array_get(names, (size_t)i));
        if (name == 0 || name[0] == 0 || strlen(name) > 200) {
            return model_fail(message, size, "feature_names[%d] is not a usable name", i);
        }
        model->input_names[i] = mem_strdup(name);
    }
    return STATUS_OK;
}

static bool model_int_array(json_t *array, size_t n, size_t i, int64_t *out) {
    json_t *v = json_array_get(array, i);
    if (!json_is_integer(v) || json_array_size(array) != n) return false;
    *out = json_integer_value(v);
    return true;
}

/* Every node is reached from the root exactly once at most: walks end within n steps. */
static enum status model_check_tree(const struct model_node *nodes, int32_t n) {
    bool *seen = mem_calloc((size_t)n, sizeof *seen);
    int32_t *stack = mem_alloc((size_t)n * sizeof *stack);
    int32_t top = 0;
    enum status status = STATUS_OK;
    stack[top++] = 0;
    while (top > 0 && status == STATUS_OK) {
        int32_t i = stack[--top];
        if (seen[i]) {
            status = STATUS_INVALID_VALUE;
            break;
        }
        seen[i] = true;
        if (nodes[i].left < 0) continue;
        if (top + 2 > n) {
            status = STATUS_INVALID_VALUE;
            break;
        }
        stack[top++] = nodes[i].left;
        stack[top++] = nodes[i].right;
    }
    free(seen);
    free(stack);
    return status;
}

static enum status model_tree(struct risk_model *model, json_t *tree, int index, char *message,
                              size_t size) {
    json_t *left = json_object_get(tree, "left_children");
    json_t *right = json_object_get(tree, "right_children");
    json_t *features = json_object_get(tree, "split_indices");
    json_t *conditions = json_object_get(tree, "split_conditions");
    json_t *defaults = json_object_get(tree, "default_left");
    json_t *types = json_object_get(tree, "split_type");
    size_t n = json_array_size(left);
    if (n == 0 || n > LIMIT_RISK_MODEL_NODES ||
        (size_t)model->node_count + n > LIMIT_RISK_MODEL_NODES) {
        return model_fail(message, size, "tree %d: no nodes, or too many", index);
    }
    model->tree_start[index] = model->node_count;
    model->nodes =
        mem_realloc(model->nodes, ((size_t)model->node_count + n) * sizeof *model->nodes);
    for (size_t i = 0; i < n; i++) {
        int64_t l = 0, r = 0, f = 0, d = 0, t = 0;
        double c = 0;
        if (!model_int_array(left, n, i, &l) || !model_int_array(right, n, i, &r) ||
            !model_int_array(features, n, i, &f) || !model_int_array(defaults, n, i, &d) ||
            json_array_size(conditions) != n || !model_number(json_array_get(conditions, i), &c)) {
            return model_fail(message, size, "tree %d node %zu: malformed arrays", index, i);
        }
        if (types != 0 && model_int_array(types, n, i, &t) && t != 0) {
            return model_fail(message, size, "tree %d: categorical splits are not supported",
                              index);
        }
        bool leaf = l == -1;
        if (!leaf && (l < 0 || r < 0 || l >= (int64_t)n || r >= (int64_t)n || f < 0 ||
                      f >= model->input_count)) {
            return model_fail(message, size, "tree %d node %zu: bad children or feature", index, i);
        }
        if (leaf && r != -1)
            return model_fail(message, size, "tree %d node %zu: half a leaf", index, i);
        struct model_node *node = &model->nodes[model->node_count + (int)i];
        node->left = leaf ? -1 : (int32_t)l;
        node->right = leaf ? -1 : (int32_t)r;
        node->feature = (int32_t)f;
        node->default_left = d != 0;
        node->value = (float)c;
    }
    enum status status = model_check_tree(&model->nodes[model->node_count], (int32_t)n);
    if (status != STATUS_OK) return model_fail(message, size, "tree %d is not a tree", index);
    model->node_count += (int)n;
    return STATUS_OK;
}

static enum status model_trees(struct risk_model *model, json_t *root, char *message, size_t size) {
    json_t *booster = model_path(root, "learner", "gradient_booster", 0);
    const char *name = json_string_value(json_object_get(booster, "name"));
    if (name == 0 || strcmp(name, "gbtree") != 0) {
        return model_fail(message, size, "only gbtree boosters are supported");
    }
    json_t *trees = model_path(booster, "model", "trees", 0);
    json_t *info = model_path(booster, "model", "tree_info", 0);
    if (!json_is_array(trees) || json_array_size(trees) == 0) {
        return model_fail(message, size, "the model has no trees");
    }
    model->tree_count = (int)json_array_size(trees);
    model->tree_start = mem_calloc((size_t)model->tree_count, sizeof *model->tree_start);
    for (int i = 0; i < model->tree_count; i++) {
        json_t *group = json_array_get(info, (size_t)i);
        if (info != 0 && json_integer_value(group) != 0) {
            return model_fail(message, size, "multi-class models are not supported");
        }
        enum status status = model_tree(model, json_array_get(trees, (size_t)i), i, message, size);
        if (status != STATUS_OK) return status;
    }
    return STATUS_OK;
}

enum status risk_model_parse(const char *json, size_t len, struct risk_model **out, char *message,
                             size_t message_size) {
    verify(json != 0 && out != 0);
    *out = 0;
    if (len > LIMIT_RISK_MODEL_BYTES) {
        return model_fail(message, message_size, "the model is larger than %d bytes",
                          LIMIT_RISK_MODEL_BYTES);
    }
    json_error_t error;
    json_t *root = json_loadb(json, len, 0, &error);
    if (root == 0) {
        return model_fail(message, message_size, "not JSON (line %d): %.80s", error.line,
                          error.text);
    }
    struct risk_model *model = mem_calloc(1, sizeof *model);
    enum status status = model_objective(model, root, message, message_size);
    if (status == STATUS_OK) status = model_inputs(model, root, message, message_size);
    if (status == STATUS_OK) status = model_trees(model, root, message, message_size);
    json_decref(root);
    if (status != STATUS_OK) {
        risk_model_free(model);
        return status;
    }
    *out = model;
    return STATUS_OK;
}

enum status risk_model_load(const char *path, struct risk_model **out, char *message,
                            size_t message_size) {
    verify(path != 0 && out != 0);
    FILE *file = fopen(path, "rb");
    if (file == 0) return model_fail(message, message_size, "cannot open the model file");
    struct buf text;
    buf_init(&text, LIMIT_RISK_MODEL_BYTES);
    char chunk[65536];
    size_t n = 0;
    enum status status = STATUS_OK;
    while (status == STATUS_OK && (n = fread(chunk, 1, sizeof chunk, file)) > 0)
        status = buf_append(&text, chunk, n);
    bool failed = ferror(file) != 0;
    fclose(file);
    if (status != STATUS_OK || failed) {
        buf_free(&text);
        return model_fail(message, message_size,
                          "cannot read the model file (or it is over %d bytes)",
                          LIMIT_RISK_MODEL_BYTES);
    }
    status = risk_model_parse(text.data ? text.data : "", text.len, out, message, message_size);
    buf_free(&text);
    return status;
}

int risk_model_input_count(const struct risk_model *model) {
    verify(model != 0);
    return model->input_count;
}

const char *const *risk_model_input_names(const struct risk_model *model) {
    verify(model != 0);
    return (const char *const *)model->input_names;
}

int risk_model_is_probability(const struct risk_model *model) {
    verify(model != 0);
    return model->probability;
}

double risk_model_predict(const struct risk_model *model, const double *inputs) {
    verify(model != 0 && inputs != 0);
    float sum = model->base_margin; /* single precision, summed in tree order, as libxgboost */
    for (int t = 0; t < model->tree_count; t++) {
        const struct model_node *tree = &model->nodes[model->tree_start[t]];
        int32_t i = 0;
        while (tree[i].left >= 0) {
            float value = (float)inputs[tree[i].feature];
            bool left = isnan(value) ? tree[i].default_left : value < tree[i].value;
            i = left ? tree[i].left : tree[i].right;
        }
        sum += tree[i].value;
    }
    if (!model->probability) return sum;
    return 1.0f / (1.0f + expf(-sum));
}
