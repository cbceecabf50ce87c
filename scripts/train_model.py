#!/usr/bin/python3
"""train_model.py — trains the risk model on the labeled purchase data set and measures it.

    scripts/train_model.py [--tessera build/release/tessera] [--rules rules/default.rules]
                           [--data ../shared/data/ecom_fraud] [--work /tmp/tessera-model]
                           [--out models/ecom_fraud.json] [--split time|random]

1. scripts/ecom_events.py turns the CSV into events (a signup and an order per row, by time).
2. `tessera risk replay --features-out` computes, for every order, the rule file's features
   exactly as the engine sees them online (only the past), so the model is trained on what
   it will be fed.
3. XGBoost (Debian python3-xgboost) learns from the training orders: by default the
   earlier 70% by purchase time (--split random: a seeded random 70%, for comparison with
   published baselines). The last fifth of the training part is held out for early
   stopping; the test part is never looked at while training.
4. The model is saved as JSON with feature_names that are rule-language expressions
   (feature names, amount, hour, attr.source == "SEO", number(attr.age)), and replayed on
   the test part with and without it: AUC, precision and recall are printed.
Run it with Debian's /usr/bin/python3 (xgboost and numpy live there)."""
import argparse
import csv
import json
import os
import random
import subprocess
import sys

import numpy
import xgboost

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CATEGORIES = {
    "source": ["SEO", "Ads", "Direct"],
    "browser": ["Chrome", "IE", "Safari", "FireFox", "Opera"],
    "sex": ["M"],
}


def run(command, **kwargs):
    print("+ " + " ".join(command), file=sys.stderr)
    return subprocess.run(command, check=True, **kwargs)


def replay(tessera, rules, events, model=None, features=None):
    command = [tessera, "risk", "replay", "--rules", rules, "--events", events, "--out", os.devnull]
    if model:
        command += ["--model", model]
    if features:
        command += ["--features-out", features]
    return run(command, stderr=subprocess.PIPE, text=True).stderr


def load_orders(events_path):
    attrs = {}
    with open(events_path) as f:
        for line in f:
            event = json.loads(line)
            if event["type"] == "order":
                attrs[event["id"]] = event.get("attrs", {})
    return attrs


def design(features_path, attrs):
    """Rows of the feature CSV plus one-hot attrs; column names are rule expressions."""
    with open(features_path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    names = header[2:]
    extra = ['attr.%s == "%s"' % (key, value) for key, values in CATEGORIES.items() for value in values]
    extra.append("number(attr.age)")
    ids, labels, matrix = [], [], []
    for row in rows:
        event_id = row[0]
        a = attrs[event_id]
        values = [float(v) for v in row[2:]]
        values += [1.0 if a.get(key) == value else 0.0 for key, vs in CATEGORIES.items() for value in vs]
        values.append(float(a.get("age", 0)))
        ids.append(event_id)
        labels.append(int(row[1]))
        matrix.append(values)
    return ids, numpy.array(labels), numpy.array(matrix), names + extra


def write_test_events(events_path, test_ids, out_path):
    with open(events_path) as f, open(out_path, "w") as out:
        for line in f:
            event = json.loads(line)
            if "label" in event and event["id"] not in test_ids:
                del event["label"]
            out.write(json.dumps(event, separators=(",", ":")) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tessera", default=os.path.join(ROOT, "build/release/tessera"))
    parser.add_argument("--rules", default=os.path.join(ROOT, "rules/default.rules"))
    parser.add_argument("--data", default=os.path.join(ROOT, "../shared/data/ecom_fraud"))
    parser.add_argument("--work", default="/tmp/tessera-model")
    parser.add_argument("--out", default=os.path.join(ROOT, "models/ecom_fraud.json"))
    parser.add_argument("--split", choices=["time", "random"], default="time")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    run([sys.executable, os.path.join(HERE, "ecom_events.py"), args.data, args.work])
    events = os.path.join(args.work, "events.jsonl")
    with open(os.path.join(args.work, "split.json")) as f:
        split = json.load(f)
    orders = split["train"] + split["test"]  # in time order
    if args.split == "time":
        train_ids = split["train"]
    else:
        shuffled = list(orders)
        random.Random(7).shuffle(shuffled)
        train_ids = shuffled[: len(split["train"])]
    train_set = set(train_ids)
    test_set = set(orders) - train_set

    features = os.path.join(args.work, "features.csv")
    replay(args.tessera, args.rules, events, features=features)
    ids, labels, matrix, names = design(features, load_orders(events))
    train_rows = [i for i, event_id in enumerate(ids) if event_id in train_set]  # time order
    cut = int(len(train_rows) * 0.8)
    fit, early = train_rows[:cut], train_rows[cut:]
    train = xgboost.DMatrix(matrix[fit], label=labels[fit], feature_names=names)
    valid = xgboost.DMatrix(matrix[early], label=labels[early], feature_names=names)
    params = {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 4, "eta": 0.05,
              "subsample": 0.8, "colsample_bytree": 0.8, "min_child_weight": 5, "seed": 7,
              "nthread": 2}
    booster = xgboost.train(params, train, num_boost_round=1000, evals=[(valid, "early")],
                            early_stopping_rounds=50, verbose_eval=False)
    best = booster.best_iteration + 1
    booster = xgboost.train(params, train, num_boost_round=best)  # exactly the trees kept
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    booster.save_model(args.out)
    print("model: %d trees on %d orders (%d fraud), %d inputs -> %s" %
          (best, len(fit), int(labels[fit].sum()), len(names), args.out))

    test_events = os.path.join(args.work, "events_test_%s.jsonl" % args.split)
    write_test_events(events, test_set, test_events)
    print("\n== %s split, test part: %d orders ==" % (args.split, len(test_set)))
    print("-- default pack alone --")
    print(replay(args.tessera, args.rules, test_events))
    print("-- default pack with the model --")
    print(replay(args.tessera, args.rules, test_events, model=args.out))


if __name__ == "__main__":
    main()
