"""test_risk.py — the risk engine in a running server, end to end: the default pack on a
fresh install, review (202, codes and money held, approve delivers, reject releases and
refunds), block and challenge (403, nothing reserved or charged), every decision explained,
rule files refused with their errors while the running version stays, new features rebuilt
from the recorded events (also under load), wallet credits and refunds as events, lists
changed without recompiling, posted events, the backtest, the role matrix of the risk
routes, feature state across a restart, and a model's score in decisions. `tessera check` holds after each."""
import json
import os
import secrets
import sqlite3
import threading

import harness

ROOT = harness.ROOT
PERMISSIVE = ""  # an empty rule file allows everything


def unique(prefix):
    return f"{prefix}-{secrets.token_hex(5)}"


def text(client, method, path, body, **kw):
    return client.request(method, path, body, raw=True, headers={"Content-Type": "text/plain"}, **kw)


assert_error = harness.assert_error
assert_check = harness.assert_check


class Shop:
    """A product with codes and a funded buyer on a server."""

    def __init__(self, server, admin, price=1000, liquidity="low", codes=5, funds=100000):
        self.server, self.admin = server, admin
        self.sku = unique("SKU")
        r = admin.post("/api/v1/products", {"sku": self.sku, "name": "Risk test card",
                                            "face_value": price, "price": price,
                                            "currency": "CNY", "liquidity": liquidity})
        assert r.status == 201, r
        r = text(admin, "POST", f"/api/v1/products/{self.sku}/codes",
                 "\n".join(unique("CODE") for _ in range(codes)))
        assert r.status == 200 and r.json()["imported"] == codes, r
        self.name = unique("buyer")
        self.buyer = server.make_user(admin, self.name)
        r = admin.post("/api/v1/wallet/credits", {"username": self.name, "amount": funds,
                                                   "reason": "test"})
        assert r.status == 201, r

    def order(self, quantity=1, key=None, device=None):
        headers = {"Idempotency-Key": key or unique("key")}
        if device:
            headers["X-Device-Id"] = device
        return self.buyer.post("/api/v1/orders", {"sku": self.sku, "quantity": quantity},
                               headers=headers)

    def reconnect(self):
        """After a restart the server listens on a new port."""
        self.buyer.close()
        self.buyer.port = self.server.port

    def stock(self):
        products = self.server.client().get("/api/v1/products").json()["products"]
        return next(p["stock"] for p in products if p["sku"] == self.sku)

    def balance(self):
        return self.buyer.get("/api/v1/wallet").json()["balance"]


def event_label(server, order_id):
    """The label of the risk event that decided order_id, read from the database."""
    db = sqlite3.connect(f"file:{server.db}?mode=ro", uri=True)
    try:
        return db.execute("SELECT e.label FROM orders o JOIN risk_events e "
                          "ON e.id = o.risk_event_id WHERE o.id = ?", (order_id,)).fetchone()[0]
    finally:
        db.close()


def test_default_pack_reviews_an_instant_purchase():
    server = harness.Server(rules=None)  # what a fresh install runs
    try:
        admin = server.admin()
        r = admin.get("/api/v1/risk/rules")
        assert r.status == 200 and r.headers["X-Rules-Version"] == "1", r
        with open(os.path.join(ROOT, "rules", "default.rules"), "rb") as f:
            assert r.body == f.read()
        shop = Shop(server, admin)
        r = shop.order(key="first", device="phone-1")
        assert r.status == 202, r  # the buyer signed up seconds ago: held for a person
        order = r.json()
        assert order["status"] == "review" and "codes" not in order, order
        assert shop.stock() == 4 and shop.balance() == 100000 - 1000  # reserved, in escrow
        again = shop.order(key="first", device="phone-1")
        assert again.status == 202 and again.json()["id"] == order["id"], again  # replay
        assert_error(shop.buyer.get(f"/api/v1/orders/{order['id']}/codes"), 409,
                     "order_not_delivered")
        decision = admin.get(f"/api/v1/risk/decisions/{order['id']}").json()
        assert decision["action"] == "review" and decision["rules_version"] == 1, decision
        fired = [rule["rule"] for rule in decision["rules"]]
        assert "instant_purchase" in fired, decision
        assert decision["rules"][0]["reason"], decision
        assert decision["features"]["user_age"] < 60, decision
        assert decision["event"]["device"] == "phone-1" and decision["event"]["ip"] == "127.0.0.1"
        assert decision["event"]["amount"] == 1000 and decision["event"]["sku"] == shop.sku
        reviews = admin.get("/api/v1/risk/reviews").json()["reviews"]
        assert [x["order_id"] for x in reviews] == [order["id"]], reviews
        assert_check(server)
        r = admin.post(f"/api/v1/risk/reviews/{order['id']}", {"decision": "approve",
                                                                 "note": "known customer"})
        assert r.status == 200 and r.json()["status"] == "delivered", r
        codes = shop.buyer.get(f"/api/v1/orders/{order['id']}/codes")
        assert codes.status == 200 and len(codes.json()["codes"]) == 1, codes
        assert_error(admin.post(f"/api/v1/risk/reviews/{order['id']}",
                                {"decision": "reject", "note": "again"}), 409, "not_in_review")
        decision = admin.get(f"/api/v1/risk/decisions/{order['id']}").json()
        assert decision["review"]["decision"] == "approve", decision
        assert decision["review"]["note"] == "known customer", decision
        assert event_label(server, order["id"]) == 0  # an approved order labels its event good
        assert_check(server)
    finally:
        server.close()


def test_reject_releases_codes_and_refunds():
    server = harness.Server(rules='rule hold when type == order then review score 50 '
                                  'reason "every order is checked"')
    try:
        admin = server.admin()
        shop = Shop(server, admin, codes=3)
        r = shop.order(quantity=2)
        assert r.status == 202, r
        assert shop.stock() == 1 and shop.balance() == 100000 - 2000
        for bad, code in (({"decision": "maybe", "note": "x"}, "invalid_value"),
                          ({"decision": "reject"}, "invalid_field"),
                          ({"decision": "reject", "note": "x", "extra": 1}, "invalid_field")):
            r2 = admin.post(f"/api/v1/risk/reviews/{r.json()['id']}", bad)
            assert r2.status in (400, 422) and r2.error_code() == code, r2
        assert_error(admin.post("/api/v1/risk/reviews/999999", {"decision": "reject",
                                                                 "note": "x"}), 404,
                     "unknown_order")
        r2 = admin.post(f"/api/v1/risk/reviews/{r.json()['id']}",
                        {"decision": "reject", "note": "stolen card"})
        assert r2.status == 200 and r2.json()["status"] == "cancelled", r2
        assert shop.stock() == 3 and shop.balance() == 100000  # codes back, money back
        assert_error(shop.buyer.get(f"/api/v1/orders/{r.json()['id']}/codes"), 409,
                     "order_not_delivered")
        assert admin.get("/api/v1/risk/reviews").json()["reviews"] == []
        assert event_label(server, r.json()["id"]) == 1  # a rejected order labels its event fraud
        assert_check(server)
    finally:
        server.close()


def test_wallet_credits_and_refunds_feed_the_engine():
    """A wallet credit is a payment event and a rejected review a refund event: the rules
    see both, so an order after a big credit, or after a refund, is decided with them."""
    server = harness.Server(rules='feature credited_1d = sum of amount in payment by user over 1d\n'
                                  'feature refunds_30d = count of refund by user over 30d\n'
                                  'rule hold when type == order and attr.quantity == 2 then review '
                                  'reason "held"\n'
                                  'rule after_refund when type == order and refunds_30d >= 1 then '
                                  'block score 90 reason "refunded before"\n'
                                  'rule fresh_money when type == order and credited_1d >= ¥1,500 '
                                  'then challenge reason "big credit today"\n')
    try:
        admin = server.admin()
        shop = Shop(server, admin, codes=4)  # credited ¥1,000: under the line
        assert shop.order().status == 201
        r = shop.order(quantity=2)
        assert r.status == 202, r
        r2 = admin.post(f"/api/v1/risk/reviews/{r.json()['id']}",
                        {"decision": "reject", "note": "test"})
        assert r2.status == 200, r2
        assert_error(shop.order(), 403, "risk_blocked")  # the refund counted
        other = Shop(server, admin, codes=2)
        assert other.order().status == 201
        r = admin.post("/api/v1/wallet/credits", {"username": other.name, "amount": 50000,
                                                   "reason": "top-up"})
        assert r.status == 201, r
        assert_error(other.order(), 403, "challenge_required")  # ¥1,500 credited today
        assert_check(server)
    finally:
        server.close()


def test_block_and_challenge_reserve_and_charge_nothing():
    server = harness.Server(rules=PERMISSIVE)
    try:
        admin = server.admin()
        shop = Shop(server, admin)
        rules = (f'rule no_big when type == order and amount >= ¥100 then block score 100 '
                 f'reason "too big"\n'
                 f'rule verify when type == order and attr.quantity >= 2 then challenge '
                 f'reason "prove who you are"\n')
        assert server.set_rules(rules)["rules"] == 2
        r = shop.order(quantity=3)  # 3 × ¥10: challenge only
        assert_error(r, 403, "challenge_required")
        big = Shop(server, admin, price=20000)
        r = big.order()
        assert_error(r, 403, "risk_blocked")
        row = r.json()["error"]["decision"]
        assert "too big" not in r.body.decode()  # the reasons stay with the risk team
        event = admin.get(f"/api/v1/risk/events/{row}").json()
        assert event["action"] == "block" and "order_id" not in event, event
        assert event["rules"][0]["rule"] == "no_big", event
        assert shop.stock() == 5 and shop.balance() == 100000
        assert big.stock() == 5 and big.balance() == 100000
        assert_check(server)
    finally:
        server.close()


def test_a_bad_rule_file_is_refused_and_the_running_one_stays():
    server = harness.Server(rules=PERMISSIVE)
    try:
        admin = server.admin()
        good = 'rule hold when amount > 0 then review reason "r"\n'
        assert server.set_rules(good)["version"] == 3  # 1 default, 2 permissive, 3 this
        bad = 'feature n = count of order by user over 1h\nrule a when n > "x" then block reason "r"\n' \
              'rule b when nothing then block reason "r"\n'
        r = text(admin, "PUT", "/api/v1/risk/rules", bad)
        assert_error(r, 422, "invalid_rules")
        errors = r.json()["error"]["errors"]
        assert [(e["line"], e["col"]) for e in errors] == [(2, 17), (3, 13)], errors
        assert "unknown name 'nothing'" in errors[1]["message"], errors
        r = admin.get("/api/v1/risk/rules")
        assert r.headers["X-Rules-Version"] == "3" and r.body == good.encode(), r
        assert_error(admin.request("PUT", "/api/v1/risk/rules", {"rules": good}), 415,
                     "unsupported_media_type")
        assert_error(text(admin, "PUT", "/api/v1/risk/rules", b"rule a when true then allow "
                          b"reason \"\xff\""), 422, "invalid_rules")
        assert server.set_rules("")["rules"] == 0  # empty is valid: allow everything
    finally:
        server.close()


def test_a_new_feature_starts_with_the_past():
    """A rule file that adds a feature rebuilds its state from the recorded events before it
    goes live (what the backtest showed is what runs); one that only moves a threshold keeps
    the live state and replays nothing."""
    server = harness.Server(rules=PERMISSIVE)
    try:
        admin = server.admin()
        shop = Shop(server, admin, codes=8)
        assert [shop.order().status for _ in range(3)] == [201, 201, 201]
        burst = ('feature orders_1h = count of order by user over 1h\n'
                 'rule burst when type == order and orders_1h >= {} then review score 50 '
                 'reason "burst"\n')
        answer = server.set_rules(burst.format(4))
        assert answer["rebuilt"] is True and answer["replayed"] >= 5, answer  # signup, credit, 3 orders
        r = shop.order()
        assert r.status == 202, r  # the fourth of the hour, three of them before the rules
        decision = admin.get(f"/api/v1/risk/decisions/{r.json()['id']}").json()
        assert decision["features"]["orders_1h"] == 4, decision
        answer = server.set_rules(burst.format(6))
        assert answer["rebuilt"] is False and answer["replayed"] == 0, answer
        assert shop.order().status == 201  # the fifth: under the new line, the count kept
        r = shop.order()
        assert r.status == 202, r
        decision = admin.get(f"/api/v1/risk/decisions/{r.json()['id']}").json()
        assert decision["features"]["orders_1h"] == 6, decision
        assert_check(server)
    finally:
        server.close()


def test_a_rebuild_under_load_loses_and_doubles_nothing():
    """Orders keep coming while a rule file with a new feature is rebuilt and swapped in:
    every order is counted once, those before the snapshot, during the catch-up and after."""
    server = harness.Server(rules=PERMISSIVE)
    try:
        admin = server.admin()
        shop = Shop(server, admin, codes=400, funds=10000000)
        placed, errors, stop = [], [], threading.Event()

        def buy():
            client = server.client(shop.buyer.token)
            while not stop.is_set() and len(placed) < 300:
                r = client.post("/api/v1/orders", {"sku": shop.sku, "quantity": 1},
                                headers={"Idempotency-Key": unique("key")})
                (placed if r.status == 201 else errors).append(r.status)
            client.close()

        threads = [threading.Thread(target=buy) for _ in range(4)]
        for t in threads:
            t.start()
        while len(placed) < 20:
            threading.Event().wait(0.005)
        answers = []
        for n in range(3):  # three rebuilds: each filter is a new stream
            answers.append(server.set_rules(
                f'feature orders_seen = count of order where amount > {n} by user over 1h\n'
                f'rule never when type == order and orders_seen > 1000 then block '
                f'reason "unreachable"\n'))
        stop.set()
        for t in threads:
            t.join()
        assert errors == [] and len(placed) > 20, errors
        assert all(a["rebuilt"] for a in answers), answers
        r = shop.order()
        assert r.status == 201, r
        decision = admin.get(f"/api/v1/risk/decisions/{r.json()['id']}").json()
        assert decision["features"]["orders_seen"] == len(placed) + 1, decision
        assert_check(server)
    finally:
        server.close()


def test_lists_change_without_recompiling():
    server = harness.Server(rules="list blocked_ips of ip\n"
                                  "rule listed when ip in blocked_ips then block score 100 "
                                  "reason \"listed\"\n")
    try:
        admin = server.admin()
        shop = Shop(server, admin)
        assert shop.order().status == 201
        # a repeated line is one item, and the answer counts what the list holds
        r = text(admin, "PUT", "/api/v1/risk/lists/blocked_ips",
                 "10.0.0.1\n  127.0.0.1  \n\n10.0.0.1\n")
        assert r.status == 200 and r.json()["count"] == 2, r
        assert_error(shop.order(), 403, "risk_blocked")
        r = admin.get("/api/v1/risk/lists/blocked_ips").json()
        assert sorted(r["items"]) == ["10.0.0.1", "127.0.0.1"], r
        assert_error(text(admin, "PUT", "/api/v1/risk/lists/nope", "x"), 404, "unknown_list")
        assert_error(admin.request("PUT", "/api/v1/risk/lists/blocked_ips", {"a": 1}), 415,
                     "unsupported_media_type")
        assert_error(text(admin, "PUT", "/api/v1/risk/lists/blocked_ips", "x" * 200), 422,
                     "invalid_value")
        r = admin.get("/api/v1/risk/lists/blocked_ips").json()
        assert r["count"] == 2, r  # a refused update changed nothing
        # the list survives a restart and a new rule file that declares it
        server.stop()
        server.start()
        admin = server.admin()
        shop.reconnect()
        assert_error(shop.order(), 403, "risk_blocked")
        server.set_rules("list blocked_ips of ip\nrule listed when ip in blocked_ips then review "
                         "reason \"listed\"\n")
        assert shop.order().status == 202
        assert text(admin, "PUT", "/api/v1/risk/lists/blocked_ips", "").json()["count"] == 0
        assert shop.order().status == 201
        assert_check(server)
    finally:
        server.close()


def test_posted_events_and_the_backtest():
    server = harness.Server(rules='feature users_on_device = distinct user in signup, order by '
                                  'device over 30d\n'
                                  'rule farm when type == order and users_on_device >= 3 then '
                                  'review score 60 reason "farm"\n')
    try:
        admin = server.admin()
        events = []
        for i, user in enumerate(("a", "b", "c")):
            events.append({"id": f"s{i}", "type": "signup", "time": "2026-01-01T00:00:00Z",
                           "user": user, "device": "D"})
        events.append({"id": "o1", "type": "order", "time": "2026-01-01T00:05:00Z", "user": "c",
                       "device": "D", "amount": 5000, "label": 1})
        answers = [admin.post("/api/v1/risk/events", e) for e in events]
        assert all(a.status == 200 for a in answers), answers
        assert answers[0].json() == {"id": "s0", "recorded": True}
        decision = answers[3].json()
        assert decision == {"id": "o1", "action": "review", "score": 60, "reasons": ["farm"]}, decision
        for bad in ({"id": "x", "type": "order"},
                    {"id": "x", "type": "purchase", "time": "2026-01-01T00:00:00Z", "user": "u"},
                    {"id": "x", "type": "order", "time": "2026-01-01T00:00:00Z", "user": "u",
                     "amount": -1}):
            r = admin.post("/api/v1/risk/events", bad)
            assert r.status == 400, r
        r = admin.request("POST", "/api/v1/risk/events", b'{"id":"x",', raw=True)
        assert_error(r, 400, "invalid_json")
        # the backtest: the same events under a candidate file that blocks instead
        candidate = ('feature users_on_device = distinct user in signup, order by device over 30d\n'
                     'rule farm when type == order and users_on_device >= 2 then block score 90 '
                     'reason "farm"\n')
        report = text(admin, "POST", "/api/v1/risk/rules/test", candidate).json()
        assert report["decided"] == 1 and report["actions"]["block"] == 1, report
        assert report["changed"] == 1, report  # review → block
        assert report["labeled"]["fraud"] == 1 and report["labeled"]["block"]["recall"] == 1.0
        r = text(admin, "POST", "/api/v1/risk/rules/test", "rule x when nope then block "
                 "reason \"r\"")
        assert_error(r, 422, "invalid_rules")
        assert admin.get("/api/v1/risk/rules").headers["X-Rules-Version"] == "2"  # unchanged
        assert_check(server)
    finally:
        server.close()


def test_feature_state_survives_a_restart():
    server = harness.Server(rules='feature orders_1h = count of order by user over 1h\n'
                                  'rule burst when type == order and orders_1h >= 4 then review '
                                  'score 50 reason "burst"\n')
    try:
        admin = server.admin()
        shop = Shop(server, admin, codes=6)
        assert [shop.order().status for _ in range(2)] == [201, 201]
        server.stop()
        server.start()
        shop.reconnect()
        assert shop.order().status == 201  # the third of the hour
        server.kill()  # kill -9: the recorded events are the truth
        server.start()
        shop.reconnect()
        r = shop.order()
        assert r.status == 202, r  # the fourth, counted across both restarts
        decision = server.admin().get(f"/api/v1/risk/decisions/{r.json()['id']}").json()
        assert decision["features"]["orders_1h"] == 4, decision
        assert_check(server)
    finally:
        server.close()


def test_risk_routes_are_for_risk_and_admin():
    server = harness.Server(rules=PERMISSIVE)
    try:
        admin = server.admin()
        routes = [("GET", "/api/v1/risk/rules", None), ("PUT", "/api/v1/risk/rules", ""),
                  ("POST", "/api/v1/risk/rules/test", ""), ("POST", "/api/v1/risk/events", "{}"),
                  ("GET", "/api/v1/risk/events/1", None), ("GET", "/api/v1/risk/decisions/1", None),
                  ("GET", "/api/v1/risk/reviews", None),
                  ("POST", "/api/v1/risk/reviews/1", "{}"),
                  ("GET", "/api/v1/risk/lists/x", None), ("PUT", "/api/v1/risk/lists/x", "")]
        risk = server.make_user(admin, unique("analyst"), role="risk")
        for role in ("buyer", "support", "supplier", "reseller"):
            user = server.make_user(admin, unique(role), role=role)
            for method, path, body in routes:
                r = user.request(method, path, body, raw=body is not None,
                                 headers={"Content-Type": "text/plain"})
                assert_error(r, 403, "forbidden")
        for method, path, body in routes:
            r = server.client().request(method, path, body, raw=body is not None)
            assert_error(r, 401, "unauthorized")
        assert risk.get("/api/v1/risk/reviews").status == 200
        assert_error(risk.get("/api/v1/risk/decisions/abc"), 404, "unknown_order")
        assert_error(risk.get("/api/v1/risk/decisions/424242"), 404, "unknown_decision")
        assert_error(risk.get("/api/v1/risk/events/0"), 404, "unknown_decision")
    finally:
        server.close()


def test_a_model_scores_every_decision():
    """The shipped model reads the default pack's features (it was trained on them)."""
    model = os.path.join(ROOT, "models", "ecom_fraud.json")
    server = harness.Server(rules=None, args=["--model", model])
    try:
        admin = server.admin()
        shop = Shop(server, admin)
        r = text(admin, "PUT", "/api/v1/risk/rules", 'rule a when true then allow reason "r"')
        assert_error(r, 422, "invalid_rules")  # the model's inputs are not in this file
        assert "model input" in r.json()["error"]["errors"][0]["message"], r
        r = shop.order()
        assert r.status == 202, r  # the default pack: instant purchase
        decision = admin.get(f"/api/v1/risk/decisions/{r.json()['id']}").json()
        assert 0 < decision["model_score"] <= 100, decision
        assert "model_signal" in [rule["rule"] for rule in decision["rules"]], decision
        assert_check(server)
    finally:
        server.close()


if __name__ == "__main__":
    harness.main([
        test_default_pack_reviews_an_instant_purchase,
        test_reject_releases_codes_and_refunds,
        test_wallet_credits_and_refunds_feed_the_engine,
        test_block_and_challenge_reserve_and_charge_nothing,
        test_a_bad_rule_file_is_refused_and_the_running_one_stays,
        test_a_new_feature_starts_with_the_past,
        test_a_rebuild_under_load_loses_and_doubles_nothing,
        test_lists_change_without_recompiling,
        test_posted_events_and_the_backtest,
        test_feature_state_survives_a_restart,
        test_risk_routes_are_for_risk_and_admin,
        test_a_model_scores_every_decision,
    ])
