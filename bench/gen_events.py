#!/usr/bin/env python3
"""gen_events.py — a synthetic risk event stream for benchmarks: N events in time order from a
fixed population (users, devices, IPs, payout accounts), one JSON object per line.

    gen_events.py N [--users 200000] [--seed 1] > events.jsonl

The mix: 10% signups, 20% logins, 55% orders (a fifth of them high-liquidity), 5% refunds,
5% transfers, 5% withdrawals; events 0-20 ms apart. The same population whatever N, so a
longer stream has more events per key, not more keys (for the flat-memory measurement)."""
import json
import random
import sys


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    n = int(argv[1])
    users = int(argv[argv.index("--users") + 1]) if "--users" in argv else 200000
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    rng = random.Random(seed)
    kinds = ["signup"] * 10 + ["login"] * 20 + ["order"] * 55 + ["refund"] * 5 + \
            ["transfer"] * 5 + ["withdrawal"] * 5
    t_ms = 1767225600 * 1000  # 2026-01-01
    out = sys.stdout
    for i in range(n):
        t_ms += rng.randint(0, 20)
        seconds = t_ms // 1000
        kind = rng.choice(kinds)
        u = rng.randrange(users)
        event = {"id": "g%d" % i, "type": kind,
                 "time": "%04d-%02d-%02dT%02d:%02d:%02dZ" % civil(seconds), "user": "u%d" % u,
                 "device": "d%d" % (u // 2 if rng.random() < 0.9 else rng.randrange(users)),
                 "ip": "10.%d.%d.%d" % (u % 250, (u // 250) % 250, rng.randrange(4))}
        if kind in ("order", "refund", "transfer", "withdrawal"):
            event["amount"] = rng.randint(100, 500000)
            event["currency"] = "CNY"
        if kind == "order":
            event["sku"] = "SKU-%d" % rng.randrange(200)
            event["liquidity"] = "high" if rng.random() < 0.2 else "low"
            event["payment"] = rng.choice(["wallet", "wallet", "gateway", "credit"])
            event["attrs"] = {"quantity": rng.randint(1, 3)}
        elif kind == "transfer":
            event["counterparty"] = "u%d" % rng.randrange(users)
        elif kind == "withdrawal":
            event["payout_account"] = "p%d" % (u * 3 + rng.randrange(3))
        out.write(json.dumps(event, separators=(",", ":")) + "\n")


def civil(t):
    days, rest = divmod(t, 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return (year + (month <= 2), month, day, rest // 3600, rest // 60 % 60, rest % 60)


if __name__ == "__main__":
    main(sys.argv)
