"""test_refunds.py — after-sales and refunds on a running server, only back to where the
money came from: a delivered order's codes were shown, so nothing is refundable until
support marks codes invalid (by their text, each one of the order's); then up to unit_price
per marked code, partial or full, idempotent under a key, into the wallet for a wallet
order; through the provider for a gateway order (pending, then succeeded by the payment
worker); a second payment for a paid order is given back by itself. A sandbox payment whose
notice was lost is found by reconciliation and delivered. Bad input changes nothing;
`tessera check` holds after each."""
import time

import harness
from test_pay_orders import SANDBOX, Shop, sandbox_notice, server_with, unique, with_merchant

assert_error = harness.assert_error
assert_check = harness.assert_check
wait_for = harness.wait_for


def wallet_shop(server, codes=5, price=1000):
    shop = Shop(server, codes=codes, price=price)
    r = shop.admin.post("/api/v1/wallet/credits", {"username": shop.buyer_name, "amount": 100000,
                                                   "reason": "test"})
    assert r.status == 201, r
    return shop


def support_of(server, shop):
    return server.make_user(shop.admin, unique("support"), role="support")


def balance(client):
    return client.get("/api/v1/wallet").json()["balance"]


@with_merchant
def test_a_wallet_order_is_refunded_for_codes_marked_invalid(merchant):
    server = server_with(merchant)
    try:
        shop = wallet_shop(server)
        support = support_of(server, shop)
        r = shop.order(quantity=3)
        assert r.status == 201, r
        order = r.json()
        oid, codes = order["id"], order["codes"]
        refunds = f"/api/v1/orders/{oid}/refunds"
        # nothing is refundable before support marks a code invalid: the buyer saw them all
        assert_error(support.post(refunds, {"amount": 1000, "reason": "buyer asks"}), 409,
                     "not_refundable")
        # marking: only codes of this order, by their text; bad input changes nothing
        mark = f"/api/v1/orders/{oid}/invalid-codes"
        other = shop.order(quantity=1).json()
        start = balance(shop.buyer)
        for body, status, code in (
                ({"codes": [other["codes"][0]], "reason": "x"}, 422, "invalid_value"),
                ({"codes": ["NOT-A-CODE"], "reason": "x"}, 422, "invalid_value"),
                ({"codes": [], "reason": "x"}, 422, "invalid_value"),
                ({"codes": [7], "reason": "x"}, 400, "invalid_field"),
                ({"codes": "abc", "reason": "x"}, 400, "invalid_field"),
                ({"codes": [codes[0]]}, 400, "invalid_field")):
            r = support.post(mark, body)
            assert_error(r, status, code)
            assert codes[0] not in r.body.decode()  # a code never comes back in an error
        r = support.post(mark, {"codes": [codes[0], codes[1]], "reason": "does not redeem"})
        assert r.status == 200, r
        assert r.json() == {"order_id": oid, "marked": 2, "invalid_codes": 2, "refunded": 0,
                            "refundable": 2000, "currency": "CNY"}, r
        again = support.post(mark, {"codes": [codes[0]], "reason": "again"}).json()
        assert again["marked"] == 0 and again["invalid_codes"] == 2, again
        assert_error(shop.buyer.post(mark, {"codes": [codes[2]], "reason": "me"}), 403,
                     "forbidden")
        # refunds: amount checked, partial, idempotent under a key
        for body, status, code in (({"amount": 2001, "reason": "x"}, 409, "not_refundable"),
                                   ({"amount": 0, "reason": "x"}, 422, "invalid_amount"),
                                   ({"amount": "5", "reason": "x"}, 400, "invalid_field"),
                                   ({"amount": 5}, 400, "invalid_field")):
            assert_error(support.post(refunds, body), status, code)
        assert_error(shop.buyer.post(refunds, {"amount": 1, "reason": "me"}), 403, "forbidden")
        assert_error(support.post("/api/v1/orders/999999/refunds", {"amount": 1, "reason": "x"}),
                     404, "unknown_order")
        assert_error(support.post(f"/api/v1/orders/0{oid}/refunds", {"amount": 1, "reason": "x"}),
                     404, "unknown_order")  # one spelling per id
        assert_error(support.post(refunds, {"amount": 1, "reason": "x"},
                                  headers={"Idempotency-Key": "a\tb"}), 422, "invalid_value")
        assert balance(shop.buyer) == start
        key = {"Idempotency-Key": "rf-1"}
        r = support.post(refunds, {"amount": 1500, "reason": "two codes dead"}, headers=key)
        assert r.status == 201, r
        refund = r.json()
        assert refund["status"] == "succeeded" and refund["instrument"] == "wallet", refund
        assert refund["amount"] == 1500 and refund["kind"] == "order", refund
        assert balance(shop.buyer) == start + 1500
        r = support.post(refunds, {"amount": 1500, "reason": "two codes dead"}, headers=key)
        assert r.status == 200 and r.json()["id"] == refund["id"], r  # a replay
        assert_error(support.post(refunds, {"amount": 100, "reason": "x"}, headers=key), 409,
                     "idempotency_conflict")
        assert balance(shop.buyer) == start + 1500
        got = shop.buyer.get(f"/api/v1/orders/{oid}").json()
        assert got["status"] == "delivered" and got["refunded"] == 1500, got
        # the rest: 500 left for the two marked codes; the third marked, then all of it
        assert_error(support.post(refunds, {"amount": 501, "reason": "x"}), 409, "not_refundable")
        assert support.post(mark, {"codes": [codes[2]], "reason": "dead"}).status == 200
        r = support.post(refunds, {"amount": 1500, "reason": "all dead"})
        assert r.status == 201, r
        got = shop.buyer.get(f"/api/v1/orders/{oid}").json()
        assert got["status"] == "refunded" and got["refunded"] == 3000, got
        assert_error(support.post(refunds, {"amount": 1, "reason": "x"}), 409, "not_refundable")
        listed = shop.buyer.get(refunds).json()
        assert listed["refunded"] == 3000 and listed["refundable"] == 0, listed
        assert [x["amount"] for x in listed["refunds"]] == [1500, 1500], listed
        # another buyer does not see the order's refunds
        stranger = server.make_user(shop.admin, unique("buyer"))
        assert_error(stranger.get(refunds), 404, "unknown_order")
        assert balance(shop.buyer) == start + 3000
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_a_gateway_order_is_refunded_through_its_provider(merchant):
    server = server_with(merchant)
    try:
        shop = Shop(server, price=800)
        support = support_of(server, shop)
        order = shop.order(quantity=2, payment=SANDBOX).json()
        oid = order["id"]
        paid = shop.pay_on_page(order)
        assert paid.status == 200, paid
        codes = shop.buyer.get(f"/api/v1/orders/{oid}/codes").json()["codes"]
        # a pending order (not delivered) cannot be marked or refunded
        pending = shop.order(payment=SANDBOX).json()
        assert_error(support.post(f"/api/v1/orders/{pending['id']}/refunds",
                                  {"amount": 800, "reason": "x"}), 409, "order_not_delivered")
        assert support.post(f"/api/v1/orders/{oid}/invalid-codes",
                            {"codes": codes, "reason": "dead"}).status == 200
        r = support.post(f"/api/v1/orders/{oid}/refunds", {"amount": 1600, "reason": "dead"})
        assert r.status == 201, r
        refund = r.json()
        assert refund["status"] == "pending" and refund["instrument"] == "gateway", refund
        assert refund["provider"] == "sandbox", refund
        assert balance(shop.buyer) == 0  # never into the wallet: back through the provider
        done = wait_for(lambda: next((x for x in shop.buyer.get(
            f"/api/v1/orders/{oid}/refunds").json()["refunds"] if x["status"] == "succeeded"),
            None))
        assert done["provider_refund_id"] == f"sbx_rf_{refund['id']}", done
        # the worker counts the outcome once its write returns, a moment after readers can
        # see the refund succeeded (a test run under load saw the status before the count)
        wait_for(lambda: 'tessera_pay_refunds_total{outcome="succeeded"} 1' in
                 server.client().get("/metrics").body.decode(), what="the refund counted")
        assert shop.buyer.get(f"/api/v1/orders/{oid}").json()["status"] == "refunded"
        assert balance(shop.buyer) == 0
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_a_second_payment_is_given_back_by_itself(merchant):
    server = server_with(merchant)
    try:
        shop = Shop(server, price=700)
        order = shop.order(payment=SANDBOX).json()
        ref = f"T{order['id']}"
        for _ in range(2):  # two transactions for one order: one delivery, one refund
            body, headers = sandbox_notice(merchant, ref, 700)
            r = server.client().post("/api/v1/pay/sandbox/notify", body, raw=True,
                                     headers=headers)
            assert r.status == 200, r
        admin = shop.admin
        listed = wait_for(lambda: [x for x in admin.get(
            f"/api/v1/orders/{order['id']}/refunds").json()["refunds"]
            if x["status"] == "succeeded"])
        assert len(listed) == 1 and listed[0]["kind"] == "payment", listed
        assert listed[0]["amount"] == 700, listed
        got = shop.buyer.get(f"/api/v1/orders/{order['id']}").json()
        assert got["status"] == "delivered" and "refunded" not in got, got
        assert_check(server)
    finally:
        server.close()


@with_merchant
def test_a_payment_whose_notice_was_lost_is_reconciled(merchant):
    server = server_with(merchant, args=["--reconcile-after-s", "0"])
    try:
        shop = Shop(server, price=600)
        order = shop.order(quantity=1, payment=SANDBOX).json()
        unpaid = shop.order(quantity=1, payment=SANDBOX).json()
        page = server.client().get(order["pay_url"])
        assert b"paid_lost" in page.body
        r = shop.pay_on_page(order, "paid_lost")
        assert r.status == 200 and b"notice lost" in r.body, r
        got = wait_for(lambda: (lambda o: o if o["status"] == "delivered" else None)(
            shop.buyer.get(f"/api/v1/orders/{order['id']}").json()))
        assert got["status"] == "delivered", got
        codes = shop.buyer.get(f"/api/v1/orders/{order['id']}/codes")
        assert codes.status == 200 and len(codes.json()["codes"]) == 1, codes
        # the order nobody paid is still waiting
        time.sleep(1.5)
        assert shop.buyer.get(f"/api/v1/orders/{unpaid['id']}").json()["status"] == \
            "pending_payment"
        assert_check(server)
        assert "were applied" in server.read_log()
    finally:
        server.close()


if __name__ == "__main__":
    harness.main([test_a_wallet_order_is_refunded_for_codes_marked_invalid,
                  test_a_gateway_order_is_refunded_through_its_provider,
                  test_a_second_payment_is_given_back_by_itself,
                  test_a_payment_whose_notice_was_lost_is_reconciled])
