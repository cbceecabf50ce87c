"""test_pay_orders.py — orders paid through a gateway, end to end on a running server:
a sandbox order waits for its payment holding its codes (201 pending_payment, a pay_url,
nothing charged, nothing shown); the sandbox page pays it and it is delivered; the same
notice delivered 50 times in parallel delivers once; a notice with another amount, for
another order or badly signed changes nothing, is answered as each gateway expects and
becomes a risk event; an unpaid order expires and gives its codes back, and a payment that
arrives after that is recorded as money to give back; bad payment objects are refused.
`tessera check` holds after each."""
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import tempfile
import threading
import time
import urllib.parse

import harness
import paysign


def unique(prefix):
    return f"{prefix}-{secrets.token_hex(5)}"


assert_error = harness.assert_error
assert_check = harness.assert_check


class Shop:
    def __init__(self, server, codes=5, price=1000):
        self.server = server
        admin = server.admin()
        self.sku = unique("SKU")
        r = admin.post("/api/v1/products", {"sku": self.sku, "name": "Gateway card",
                                            "face_value": price, "price": price,
                                            "currency": "CNY", "liquidity": "low"})
        assert r.status == 201, r
        r = admin.request("POST", f"/api/v1/products/{self.sku}/codes",
                          "\n".join(unique("CODE") for _ in range(codes)), raw=True,
                          headers={"Content-Type": "text/plain"})
        assert r.status == 200, r
        self.buyer_name = unique("buyer")
        self.buyer = server.make_user(admin, self.buyer_name)
        self.admin = admin

    def order(self, quantity=1, payment=None, key=None):
        body = {"sku": self.sku, "quantity": quantity}
        if payment is not None:
            body["payment"] = payment
        return self.buyer.post("/api/v1/orders", body,
                               headers={"Idempotency-Key": key or unique("key")})

    def pay_on_page(self, order, outcome="paid"):
        """The sandbox payment page's button for the order (paid, failed, paid_lost)."""
        return self.server.client().request(
            "POST", order["pay_url"], f"outcome={outcome}", raw=True,
            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def stock(self):
        products = self.server.client().get("/api/v1/products").json()["products"]
        return next(p["stock"] for p in products if p["sku"] == self.sku)


SANDBOX = {"method": "gateway", "provider": "sandbox"}


def server_with(merchant, args=(), second_admin_above=None):
    config = dict(merchant.config, sandbox={"secret": merchant.sandbox_secret})
    if second_admin_above is not None:
        config["manual_confirm"] = {"second_admin_above": second_admin_above}
    config["epay"] = dict(config["epay"], submit_url="https://pay.example.com/submit.php",
                          notify_url="https://shop.example.com/api/v1/pay/epay/notify",
                          return_url="https://shop.example.com/paid", type="wxpay")
    path = os.path.join(merchant.dir, "serve-pay.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return harness.Server(args=["--pay-config", path, *args])


def sandbox_notice(merchant, ref, amount, now=None, currency="CNY", state="paid", tx=None):
    body = json.dumps({"id": "sbx_evt_" + secrets.token_hex(6), "order_ref": ref,
                       "transaction": tx or "sbx_" + secrets.token_hex(6), "amount": amount,
                       "currency": currency, "state": state}).encode()
    t = now or int(time.time())
    mac = hmac.new(merchant.sandbox_secret.encode(), f"{t}.".encode() + body,
                   hashlib.sha256).hexdigest()
    return body, {"Sandbox-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}


def with_merchant(test):
    def run():
        with tempfile.TemporaryDirectory() as d:
            merchant = paysign.Merchant(d)
            merchant.sandbox_secret = secrets.token_hex(16)
            test(merchant)
    run.__name__ = test.__name__
    return run


@with_merchant
def test_a_sandbox_order_waits_then_is_paid_and_delivered(merchant):
    server = server_with(merchant)
    try:
        shop = Shop(server)
        r = shop.order(quantity=2, payment=SANDBOX, key="k-sbx")
        assert r.status == 201, r
        order = r.json()
        assert order["status"] == "pending_payment" and order["payment"] == "gateway"
        assert order["pay_url"] == f"/pay/sandbox/T{order['id']}" and "codes" not in order
        assert shop.stock() == 3
        assert shop.buyer.get("/api/v1/wallet").json()["balance"] == 0  # nothing charged
        assert_error(shop.buyer.get(f"/api/v1/orders/{order['id']}/codes"), 409,
                     "order_not_delivered")
        again = shop.order(quantity=2, payment=SANDBOX, key="k-sbx")  # the same key: a replay
        assert again.status == 201 and again.json()["id"] == order["id"], again
        assert_error(shop.order(quantity=1, payment=SANDBOX, key="k-sbx"), 409,
                     "idempotency_conflict")
        page = server.client().get(order["pay_url"])
        assert page.status == 200 and b"<form" in page.body and b"pending_payment" in page.body
        paid = shop.pay_on_page(order)
        assert paid.status == 200 and b"Paid" in paid.body, paid
        now = shop.buyer.get(f"/api/v1/orders/{order['id']}").json()
        assert now["status"] == "delivered", now
        codes = shop.buyer.get(f"/api/v1/orders/{order['id']}/codes")
        assert codes.status == 200 and len(codes.json()["codes"]) == 2, codes
        # paying a delivered order again through the page: it is not waiting any more
        page = server.client().get(order["pay_url"])
        assert page.status == 200 and b"<form" not in page.body
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_fifty_copies_of_a_notice_deliver_once(merchant):
    server = server_with(merchant)
    try:
        shop = Shop(server, price=700)
        order = shop.order(payment=SANDBOX).json()
        body, headers = sandbox_notice(merchant, f"T{order['id']}", 700)
        answers = []

        def send():
            c = server.client()
            answers.append(c.post("/api/v1/pay/sandbox/notify", body, raw=True, headers=headers))
            c.close()

        threads = [threading.Thread(target=send) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 50 and all(a.status == 200 for a in answers), answers[:3]
        assert shop.buyer.get(f"/api/v1/orders/{order['id']}").json()["status"] == "delivered"
        code, summary = server.check()
        assert code == 0 and summary["ok"], summary
        assert summary["counts"]["codes_sold"] == 1, summary
        # a second transaction for the delivered order: acknowledged, no second delivery
        body2, headers2 = sandbox_notice(merchant, f"T{order['id']}", 700)
        r = server.client().post("/api/v1/pay/sandbox/notify", body2, raw=True, headers=headers2)
        assert r.status == 200, r
        assert shop.stock() == 4
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_notices_that_do_not_fit_change_nothing(merchant):
    server = server_with(merchant)
    try:
        shop = Shop(server, price=500)
        order = shop.order(payment=SANDBOX).json()
        ref = f"T{order['id']}"
        metrics = lambda: int(next(l.split()[1] for l in server.client().get("/metrics").body
                                   .decode().splitlines()
                                   if l.startswith("tessera_risk_events_total")))
        events = metrics()
        notify = lambda b, h: server.client().post("/api/v1/pay/sandbox/notify", b, raw=True,
                                                   headers=h)
        for (body, headers), status, code in (
                (sandbox_notice(merchant, ref, 499), 409, "payment_mismatch"),
                (sandbox_notice(merchant, ref, 500, currency="USD"), 409, "payment_mismatch"),
                (sandbox_notice(merchant, "T999999", 500), 404, "unknown_order"),
                (sandbox_notice(merchant, "ORDER-1", 500), 400, "invalid_notice"),
                (sandbox_notice(merchant, ref, 500, now=int(time.time()) - 600), 400,
                 "invalid_notice")):
            assert_error(notify(body, headers), status, code)
        body, headers = sandbox_notice(merchant, ref, 500)
        assert_error(notify(body.replace(b"500", b"501"), headers), 400, "invalid_notice")
        assert_error(notify(body, {}), 400, "invalid_notice")
        assert metrics() - events == 7  # each refusal is a risk event
        # a notice that says the payment failed changes nothing and is acknowledged
        failed, fh = sandbox_notice(merchant, ref, 500, state="failed")
        assert notify(failed, fh).status == 200
        now = shop.buyer.get(f"/api/v1/orders/{order['id']}").json()
        assert now["status"] == "pending_payment" and shop.stock() == 4
        # the other gateways answer in their own words
        r = server.client().post("/api/v1/pay/wechatpay/notify", b"{}", raw=True,
                                 headers={"Content-Type": "application/json"})
        assert r.status == 400 and r.json()["code"] == "FAIL", r
        r = server.client().post("/api/v1/pay/alipay/notify", b"app_id=1", raw=True,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 400 and r.body == b"failure", r
        r = server.client().get("/api/v1/pay/epay/notify?pid=1&money=1.00")
        assert r.status == 400 and r.body == b"fail", r
        r = server.client().post("/api/v1/pay/stripe/notify", b"{}", raw=True)
        assert_error(r, 400, "invalid_notice")
        assert_error(server.client().post("/api/v1/pay/paypal/notify", b"{}", raw=True), 404,
                     "not_found")
        # a valid WeChat Pay notice for an order that is not a WeChat Pay order
        wbody, wheaders = merchant.wechat_notice(merchant.wechat_resource(out_trade_no=ref,
                                                                          total=500),
                                                 int(time.time()))
        r = server.client().post("/api/v1/pay/wechatpay/notify", wbody, raw=True,
                                 headers=wheaders)
        assert r.status == 400 and r.json()["code"] == "FAIL", r
        # a valid EPay notice (GET, as EPay sends it) for an order of another gateway
        query = merchant.epay_query(merchant.epay_fields(out_trade_no=ref, money="5.00"))
        r = server.client().get("/api/v1/pay/epay/notify?" + query.decode())
        assert r.status == 400 and r.body == b"fail", r
        assert shop.buyer.get(f"/api/v1/orders/{order['id']}").json()["status"] == \
            "pending_payment"
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_an_epay_order_is_paid_by_its_notice(merchant):
    server = server_with(merchant)
    try:
        shop = Shop(server, price=1234)
        r = shop.order(payment={"method": "gateway", "provider": "epay"})
        assert r.status == 201, r
        order = r.json()
        ref = f"T{order['id']}"
        url = urllib.parse.urlsplit(order["pay_url"])
        assert url.scheme == "https" and url.netloc == "pay.example.com", url
        params = dict(urllib.parse.parse_qsl(url.query))
        assert params["out_trade_no"] == ref and params["money"] == "12.34", params
        assert params["type"] == "wxpay" and params["pid"] == paysign.EPAY_PID
        signed = {k: v for k, v in params.items() if k not in ("sign", "sign_type") and v}
        content = "&".join(f"{k}={signed[k]}" for k in sorted(signed)) + merchant.epay_key
        assert params["sign"] == hashlib.md5(content.encode()).hexdigest()  # as EPay checks it
        assert merchant.epay_key not in order["pay_url"]
        notify = lambda q: server.client().get("/api/v1/pay/epay/notify?" + q.decode())
        wrong = merchant.epay_query(merchant.epay_fields(out_trade_no=ref, money="12.33"))
        r = notify(wrong)
        assert r.status == 400 and r.body == b"fail", r
        query = merchant.epay_query(merchant.epay_fields(out_trade_no=ref, money="12.34"))
        for _ in range(3):  # EPay repeats its notice until it reads "success"
            r = notify(query)
            assert r.status == 200 and r.body == b"success", r
        assert shop.buyer.get(f"/api/v1/orders/{order['id']}").json()["status"] == "delivered"
        codes = shop.buyer.get(f"/api/v1/orders/{order['id']}/codes").json()["codes"]
        assert len(codes) == 1
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_an_unpaid_order_expires_and_a_late_payment_is_kept_for_refund(merchant):
    server = server_with(merchant, args=["--pay-timeout-s", "1"])
    try:
        shop = Shop(server, price=300)
        order = shop.order(quantity=2, payment=SANDBOX).json()
        assert shop.stock() == 3
        deadline = time.time() + 15
        while shop.buyer.get(f"/api/v1/orders/{order['id']}").json()["status"] != "expired":
            assert time.time() < deadline, "the order did not expire"
            time.sleep(0.2)
        assert shop.stock() == 5
        body, headers = sandbox_notice(merchant, f"T{order['id']}", 600)
        r = server.client().post("/api/v1/pay/sandbox/notify", body, raw=True, headers=headers)
        assert r.status == 200, r  # acknowledged: the money is recorded, to be given back
        assert shop.buyer.get(f"/api/v1/orders/{order['id']}").json()["status"] == "expired"
        assert shop.stock() == 5
        db = sqlite3.connect(server.db)
        assert db.execute("SELECT outcome, refund_due FROM payments").fetchall() == [("late", 1)]
        db.close()
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_a_payment_confirmed_by_hand(merchant):
    """补单: an admin names the provider's transaction and a reason; above the limit a second,
    different admin must confirm it too; every step is audited."""
    server = server_with(merchant, second_admin_above=5000)
    try:
        small, big = Shop(server, price=1000), Shop(server, price=10000)
        first = small.admin
        second = server.make_user(first, unique("admin2"), role="admin")
        a = small.order(payment=SANDBOX).json()
        b = big.order(payment=SANDBOX).json()
        confirm = lambda who, order, tx, reason="buyer sent the bank slip": who.post(
            f"/api/v1/orders/{order['id']}/confirmations", {"transaction": tx, "reason": reason})
        r = confirm(first, a, "4200009999")
        assert r.status == 200 and r.json() == {"order_id": a["id"], "payment": "applied",
                                                "status": "delivered"}, r
        assert confirm(first, a, "4200009999").json()["payment"] == "repeated"
        r = confirm(first, b, "4200008888")
        assert r.status == 202 and r.json()["status"] == "awaiting_second_admin", r
        assert big.buyer.get(f"/api/v1/orders/{b['id']}").json()["status"] == "pending_payment"
        assert_error(confirm(first, b, "4200008888"), 409, "second_admin_required")
        r = confirm(second, b, "4200008888", "checked with the gateway")
        assert r.status == 200 and r.json()["status"] == "delivered", r
        assert len(big.buyer.get(f"/api/v1/orders/{b['id']}/codes").json()["codes"]) == 1
        # refused: no reason, a buyer, an unknown order
        assert_error(first.post(f"/api/v1/orders/{a['id']}/confirmations", {"transaction": "x"}),
                     400, "invalid_field")
        assert_error(small.buyer.post(f"/api/v1/orders/{a['id']}/confirmations",
                                      {"transaction": "x", "reason": "y"}), 403, "forbidden")
        assert_error(confirm(first, {"id": 999999}, "x"), 404, "unknown_order")
        db = sqlite3.connect(server.db)
        actions = [row[0] for row in db.execute(
            "SELECT action FROM audit WHERE action LIKE 'payment.confirm%' ORDER BY id")]
        db.close()
        assert actions == ["payment.confirm", "payment.confirm.propose", "payment.confirm"], actions
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_one_admin_confirms_up_to_500_yuan_by_default(merchant):
    """Without manual_confirm in the merchant configuration, 补单 of ¥500 or less is applied
    by one admin, and above ¥500 it waits for a second (the documented default)."""
    server = server_with(merchant)
    try:
        at, over = Shop(server, price=50000), Shop(server, price=50001)
        a = at.order(payment=SANDBOX).json()
        b = over.order(payment=SANDBOX).json()
        confirm = lambda order: at.admin.post(f"/api/v1/orders/{order['id']}/confirmations",
                                              {"transaction": f"tx-{order['id']}",
                                               "reason": "buyer sent the bank slip"})
        r = confirm(a)
        assert r.status == 200 and r.json()["payment"] == "applied", r
        r = confirm(b)
        assert r.status == 202 and r.json()["status"] == "awaiting_second_admin", r
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_bad_payment_objects_are_refused(merchant):
    server = server_with(merchant)
    try:
        shop = Shop(server)
        for payment, status, code in (
                ({"method": "cash"}, 422, "invalid_value"),
                ({"method": "gateway"}, 400, "invalid_field"),
                ({"method": "gateway", "provider": "paypal"}, 422, "unknown_provider"),
                ({"method": "gateway", "provider": "wechatpay"}, 422, "unknown_provider"),
                ({"method": "gateway", "provider": "stripe"}, 422, "unknown_provider"),
                ({"method": "wallet", "provider": "sandbox"}, 400, "invalid_field"),
                ({"method": "credit"}, 400, "invalid_field"),  # periods are required
                ({"method": "credit", "periods": 4}, 422, "invalid_plan"),
                ({"method": "wallet", "periods": 3}, 400, "invalid_field"),
                ({"provider": "sandbox"}, 400, "invalid_field"),
                ({"method": "gateway", "provider": "sandbox", "extra": 1}, 400, "invalid_field"),
                ("gateway", 400, "invalid_field")):
            r = shop.order(payment=payment)
            assert_error(r, status, code)
        assert shop.stock() == 5
        r = shop.order(payment={"method": "wallet"})
        assert_error(r, 402, "insufficient_funds")  # the wallet, as without a payment object
        assert_check(server)
    finally:
        server.close()


if __name__ == "__main__":
    harness.main([test_a_sandbox_order_waits_then_is_paid_and_delivered,
                  test_fifty_copies_of_a_notice_deliver_once,
                  test_notices_that_do_not_fit_change_nothing,
                  test_an_epay_order_is_paid_by_its_notice,
                  test_an_unpaid_order_expires_and_a_late_payment_is_kept_for_refund,
                  test_a_payment_confirmed_by_hand,
                  test_one_admin_confirms_up_to_500_yuan_by_default,
                  test_bad_payment_objects_are_refused])
