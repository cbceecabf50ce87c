"""wechat_world.py — the WeChat Pay side of bench/pay.sh: the fake WeChat Pay API of
tests/api/fake_providers.py (so Tessera can create Native payments for its orders), a merchant
configuration naming it, and notices signed and encrypted as WeChat Pay sends them.

Run as a long-lived helper: `python3 wechat_world.py DIR EXTRA_JSON` writes DIR/pay.json (the
fake's configuration merged with EXTRA_JSON, e.g. the sandbox and EPay settings of the
benchmark), prints `READY DIR/pay.json`, then reads commands on stdin:
  notices DB OUT   one signed notice per pending WeChat Pay order of DB, into OUT, a line
                   each: TIMESTAMP<TAB>NONCE<TAB>SIGNATURE<TAB>SERIAL<TAB>BODY; prints `DONE N`
  quit
Keys are generated per run (paysign.Merchant); nothing is written but DIR."""
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "api"))
import fake_providers  # noqa: E402


def notices(providers, db_path, out_path):
    m = providers.merchant
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = db.execute("SELECT id, amount FROM orders WHERE status = 'pending_payment' AND "
                      "provider = 'wechatpay' ORDER BY id").fetchall()
    db.close()
    now = int(time.time()) + 30  # used within the 300 s window
    with open(out_path, "w") as out:
        for order_id, amount in rows:
            resource = m.wechat_resource(out_trade_no=f"T{order_id}", total=amount,
                                         transaction=f"42000{order_id:023d}")
            body, headers = m.wechat_notice(resource, now)
            out.write("\t".join([headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"],
                                 headers["Wechatpay-Signature"], headers["Wechatpay-Serial"],
                                 body.decode()]) + "\n")
    return len(rows)


def main():
    directory, extra = sys.argv[1], json.loads(sys.argv[2])
    providers = fake_providers.Providers(directory, timeout_ms=5000, retries=0)
    config = dict(providers.config, **extra)
    path = providers.write_config(config, os.path.join(directory, "pay.json"))
    print("READY " + path, flush=True)
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "notices":
            print(f"DONE {notices(providers, words[1], words[2])}", flush=True)
        elif words and words[0] == "quit":
            break
    providers.close()


if __name__ == "__main__":
    main()
