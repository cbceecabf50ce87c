/* risk_model_test.c — the native XGBoost evaluator against libxgboost itself: models are
 * trained here through the XGBoost C API (random data from a fixed seed, named features,
 * missing values), saved as JSON, loaded by risk/model.c, and every prediction on a held-out
 * set must match libxgboost's to 1e-6, for each supported objective and a base score that
 * is not 0.5. Hostile model files must be refused with a reason. Built only when
 * libxgboost-dev is installed (the Makefile installs it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#include "risk/model.h"

#define ROWS 2000
#define TEST_ROWS 1000
#define COLUMNS 6

static uint64_t seed = 42;

static double uniform(void) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (double)(seed >> 11) / 9007199254740992.0;
}

static void make_rows(float *x, float *y, int rows) {
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < COLUMNS; c++) {
            float v = (float)(uniform() * 100);
            if (c == 3 && uniform() < 0.2) v = NAN; /* missing: the default direction */
            x[r * COLUMNS + c] = v;
        }
        float score = x[r * COLUMNS] * 0.03f - x[r * COLUMNS + 1] * 0.02f +
                      (isnan(x[r * COLUMNS + 3]) ? 1.0f : 0.0f) + (float)uniform();
        y[r] = score > 1.0f ? 1.0f : 0.0f;
    }
}

#define XGB(call) assert_int_equal((call), 0)

static void train_and_compare(const char *objective, const char *base_score, int rounds) {
    static float x[ROWS * COLUMNS], y[ROWS], tx[TEST_ROWS * COLUMNS], ty[TEST_ROWS];
    make_rows(x, y, ROWS);
    make_rows(tx, ty, TEST_ROWS);
    const char *names[COLUMNS] = {
        "user_age", "amount", "device_users", "attr.age", "attr.source == \"SEO\"", "hour"};
    DMatrixHandle train, test;
    XGB(XGDMatrixCreateFromMat(x, ROWS, COLUMNS, NAN, &train));
    XGB(XGDMatrixSetFloatInfo(train, "label", y, ROWS));
    XGB(XGDMatrixSetStrFeatureInfo(train, "feature_name", names, COLUMNS));
    XGB(XGDMatrixCreateFromMat(tx, TEST_ROWS, COLUMNS, NAN, &test));
    BoosterHandle booster;
    XGB(XGBoosterCreate(&train, 1, &booster));
    XGB(XGBoosterSetParam(booster, "objective", objective));
    XGB(XGBoosterSetParam(booster, "max_depth", "5"));
    XGB(XGBoosterSetParam(booster, "eta", "0.3"));
    XGB(XGBoosterSetParam(booster, "nthread", "1"));
    if (base_score) XGB(XGBoosterSetParam(booster, "base_score", base_score));
    XGB(XGBoosterSetStrFeatureInfo(booster, "feature_name", names, COLUMNS));
    for (int i = 0; i < rounds; i++)
        XGB(XGBoosterUpdateOneIter(booster, i, train));
    char path[] = "/tmp/tessera-model-XXXXXX.json";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    XGB(XGBoosterSaveModel(booster, path));
    bst_ulong out_len = 0;
    const float *expected = 0;
    XGB(XGBoosterPredict(booster, test, 0, 0, 0, &out_len, &expected));
    assert_int_equal(out_len, TEST_ROWS);

    struct risk_model *model = 0;
    char message[200];
    if (risk_model_load(path, &model, message, sizeof message) != STATUS_OK)
        fail_msg("%s", message);
    unlink(path);
    assert_int_equal(risk_model_input_count(model), COLUMNS);
    assert_string_equal(risk_model_input_names(model)[4], "attr.source == \"SEO\"");
    double worst = 0;
    for (int r = 0; r < TEST_ROWS; r++) {
        double row[COLUMNS];
        for (int c = 0; c < COLUMNS; c++)
            row[c] = tx[r * COLUMNS + c];
        double diff = fabs(risk_model_predict(model, row) - expected[r]);
        if (diff > worst) worst = diff;
    }
    if (!(worst <= 1e-6)) fail_msg("%s: worst difference %.3g", objective, worst);
    risk_model_free(model);
    XGB(XGBoosterFree(booster));
    XGB(XGDMatrixFree(train));
    XGB(XGDMatrixFree(test));
}

static void binary_logistic_matches(void **state) {
    (void)state;
    train_and_compare("binary:logistic", 0, 40);
}

static void base_score_and_other_objectives_match(void **state) {
    (void)state;
    train_and_compare("binary:logistic", "0.2", 25);
    train_and_compare("reg:logistic", "0.7", 10);
    train_and_compare("binary:logitraw", "0.5", 15);
}

static void hostile_models_are_refused(void **state) {
    (void)state;
    const char *head = "{\"learner\":{\"objective\":{\"name\":\"binary:logistic\"},"
                       "\"learner_model_param\":{\"base_score\":\"5E-1\"},"
                       "\"feature_names\":[\"a\"],\"gradient_booster\":{\"name\":\"gbtree\","
                       "\"model\":{\"tree_info\":[0],\"trees\":[";
    struct {
        const char *trees;
        const char *message_part;
    } bad[] = {
        {"{\"left_children\":[1,-1],\"right_children\":[0,-1],\"split_indices\":[0,0],"
         "\"split_conditions\":[1,2],\"default_left\":[0,0]}",
         "not a tree"},
        {"{\"left_children\":[5,-1],\"right_children\":[1,-1],\"split_indices\":[0,0],"
         "\"split_conditions\":[1,2],\"default_left\":[0,0]}",
         "bad children"},
        {"{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],\"split_indices\":[3,0,0],"
         "\"split_conditions\":[1,2,3],\"default_left\":[0,0,0]}",
         "bad children or feature"},
        {"{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],\"split_indices\":[0,0],"
         "\"split_conditions\":[1,2,3],\"default_left\":[0,0,0]}",
         "malformed"},
        {"{\"left_children\":[],\"right_children\":[],\"split_indices\":[],"
         "\"split_conditions\":[],\"default_left\":[]}",
         "no nodes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[2048];
        snprintf(json, sizeof json, "%s%s]}}}}", head, bad[i].trees);
        struct risk_model *model = 0;
        char message[200] = "";
        assert_int_equal(risk_model_parse(json, strlen(json), &model, message, sizeof message),
                         STATUS_INVALID_VALUE);
        assert_null(model);
        if (strstr(message, bad[i].message_part) == 0) fail_msg("case %zu: %s", i, message);
    }
    const char *others[] = {"not json", "{}",
                            "{\"learner\":{\"objective\":{\"name\":\"multi:softmax\"}}}"};
    for (size_t i = 0; i < 3; i++) {
        struct risk_model *model = 0;
        char message[200] = "";
        assert_int_equal(risk_model_parse(others[i], strlen(others[i]), &model, message, 200),
                         STATUS_INVALID_VALUE);
        assert_true(message[0] != 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_logistic_matches),
        cmocka_unit_test(base_score_and_other_objectives_match),
        cmocka_unit_test(hostile_models_are_refused),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
