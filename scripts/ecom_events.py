#!/usr/bin/python3
"""ecom_events.py — turns the labeled purchase data set (../shared/data/ecom_fraud/) into
Tessera risk events: for each row a signup (at signup_time) and an order (at
purchase_time), sorted by time, one JSON object per line.

    ecom_events.py DATA_DIR OUT_DIR [--train-fraction 0.7]

writes OUT_DIR/events.jsonl (every order labeled), OUT_DIR/events_test.jsonl (the same
events, labels only on the later orders: the test part) and OUT_DIR/split.json (the order
ids of each part). The split is by time: the earlier train_fraction of orders (by purchase
time) train, the rest test. Users are u<user_id>, amounts are the purchase value in fen,
the IP's country comes from ip_to_country.csv. No third-party modules."""
import bisect
import csv
import datetime
import json
import os
import sys


def parse_time(text):
    return datetime.datetime.strptime(text, "%m/%d/%Y %H:%M").replace(tzinfo=datetime.timezone.utc)


def rfc3339(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def dotted(ip_number):
    n = int(float(ip_number))
    return "%d.%d.%d.%d" % (n >> 24 & 255, n >> 16 & 255, n >> 8 & 255, n & 255)


def load_countries(path):
    lows, highs, names = [], [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            lows.append(int(float(row["lower_bound_ip_address"])))
            highs.append(int(float(row["upper_bound_ip_address"])))
            names.append(row["country"])
    order = sorted(range(len(lows)), key=lambda i: lows[i])
    return [lows[i] for i in order], [highs[i] for i in order], [names[i] for i in order]


def country_of(ip_number, table):
    lows, highs, names = table
    n = int(float(ip_number))
    i = bisect.bisect_right(lows, n) - 1
    return names[i] if i >= 0 and n <= highs[i] else "unknown"


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    data, out = argv[1], argv[2]
    fraction = float(argv[argv.index("--train-fraction") + 1]) if "--train-fraction" in argv else 0.7
    table = load_countries(os.path.join(data, "ip_to_country.csv"))
    with open(os.path.join(data, "fraud_data.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    events = []
    for row in rows:
        user = "u" + row["user_id"]
        ip = dotted(row["ip_address"])
        attrs = {"source": row["source"], "browser": row["browser"], "sex": row["sex"],
                 "age": int(row["age"]), "country": country_of(row["ip_address"], table)}
        signup, purchase = parse_time(row["signup_time"]), parse_time(row["purchase_time"])
        events.append((signup, 0, {"id": "s" + row["user_id"], "type": "signup",
                                   "time": rfc3339(signup), "user": user,
                                   "device": row["device_id"], "ip": ip, "attrs": attrs}))
        events.append((purchase, 1, {"id": "o" + row["user_id"], "type": "order",
                                     "time": rfc3339(purchase), "user": user,
                                     "device": row["device_id"], "ip": ip,
                                     "amount": int(row["purchase_value"]) * 100, "currency": "CNY",
                                     "sku": "ECOM", "payment": "card", "liquidity": "low",
                                     "attrs": attrs, "label": int(row["class"])}))
    events.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    orders = [e[2]["id"] for e in events if e[1] == 1]
    cut = int(len(orders) * fraction)
    train, test = set(orders[:cut]), orders[cut:]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "events.jsonl"), "w") as all_out, \
            open(os.path.join(out, "events_test.jsonl"), "w") as test_out:
        for _, _, event in events:
            line = json.dumps(event, separators=(",", ":"))
            all_out.write(line + "\n")
            if "label" in event and event["id"] in train:
                event = dict(event)
                del event["label"]
                line = json.dumps(event, separators=(",", ":"))
            test_out.write(line + "\n")
    with open(os.path.join(out, "split.json"), "w") as f:
        json.dump({"train_fraction": fraction, "train": orders[:cut], "test": test}, f)
    print("%d events, %d orders: %d train, %d test (from %s)" %
          (len(events), len(orders), cut, len(test), rfc3339(events[0][0])))


if __name__ == "__main__":
    main(sys.argv)
