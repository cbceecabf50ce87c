"""test_credit.py — credit lines and installment plans (分期) on a running server: an admin
sets a buyer's line; the cost is quoted before buying (fee and IRR annualised rate); credit
cannot buy high-liquidity goods (403 credit_not_allowed) nor more than the line has; a
credit order is delivered with an exact schedule; repayments come from the wallet, oldest
period first; an early payoff waives the fees not yet due; a refund goes back to the line,
never to the wallet; moving the clock past a due date and the grace period makes the plan
overdue with a late fee. Bad input changes nothing; `tessera check` holds after each."""
import os
import time

import harness
from test_pay_orders import unique

assert_error = harness.assert_error
assert_check = harness.assert_check


def product(admin, price, liquidity):
    sku = unique("SKU")
    r = admin.post("/api/v1/products", {"sku": sku, "name": "Credit card " + liquidity,
                                        "face_value": price, "price": price, "currency": "CNY",
                                        "liquidity": liquidity})
    assert r.status == 201, r
    r = admin.request("POST", f"/api/v1/products/{sku}/codes",
                      "\n".join(unique("CODE") for _ in range(10)), raw=True,
                      headers={"Content-Type": "text/plain"})
    assert r.status == 200, r
    return sku


def order(buyer, sku, quantity, periods=3, key=None):
    return buyer.post("/api/v1/orders", {"sku": sku, "quantity": quantity,
                                         "payment": {"method": "credit", "periods": periods}},
                      headers={"Idempotency-Key": key or unique("key")})


def credit(buyer):
    r = buyer.get("/api/v1/credit")
    assert r.status == 200, r
    return r.json()


def balance(buyer):
    return buyer.get("/api/v1/wallet").json()["balance"]


def test_a_credit_line_buys_low_liquidity_goods_in_installments():
    server = harness.Server()
    try:
        admin = server.admin()
        low, high = product(admin, 1000, "low"), product(admin, 1000, "high")
        name = unique("buyer")
        password = "pw-" + unique("x")
        buyer = server.make_user(admin, name, password=password)
        risk = server.make_user(admin, unique("risk"), role="risk")
        # no line yet
        assert_error(buyer.get("/api/v1/credit"), 404, "no_credit_line")
        assert_error(order(buyer, low, 1), 404, "no_credit_line")
        # setting the line: admin or risk; bad input changes nothing
        assert_error(buyer.request("PUT", f"/api/v1/credit/{name}", {"limit": 5000}), 403,
                     "forbidden")
        assert_error(admin.request("PUT", f"/api/v1/credit/{name}", {"limit": -1}), 422,
                     "invalid_value")
        assert_error(admin.request("PUT", f"/api/v1/credit/{name}", {"limit": "5"}), 400,
                     "invalid_field")
        assert_error(admin.request("PUT", "/api/v1/credit/nobody-here", {"limit": 5}), 404,
                     "unknown_user")
        assert_error(admin.request("PUT", "/api/v1/credit/admin", {"limit": 5}), 422,
                     "not_a_buyer")
        r = risk.request("PUT", f"/api/v1/credit/{name}", {"limit": 5000})
        assert r.status == 200 and r.json()["available"] == 5000, r
        assert_error(admin.request("PUT", f"/api/v1/credit/{name}",
                                   {"limit": 5000, "currency": "USD"}), 422, "invalid_value")
        # the cost, before buying: 3 × ¥10 over 3 months, fee 1.5%, IRR-annualised
        q = buyer.get(f"/api/v1/credit/quote?sku={low}&quantity=3&periods=3")
        assert q.status == 200, q
        quote = q.json()
        assert quote["principal"] == 3000 and quote["fee"] == 45 and quote["total"] == 3045, quote
        assert quote["first_installment"] == 1015 and quote["apr_method"] == "irr", quote
        assert 800 < quote["apr_bp"] < 1000, quote  # ≈ 8.98% a year for 1.5% over 3 months
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={high}&quantity=1&periods=3"), 403,
                     "credit_not_allowed")
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={low}&quantity=1&periods=5"), 422,
                     "invalid_plan")
        # a missing argument is a malformed query (400); a present one out of range is 422
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={low}"), 400, "invalid_field")
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={low}&periods=3"), 400, "invalid_field")
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={low}&quantity=1"), 400, "invalid_field")
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={low}&quantity=0&periods=3"), 422,
                     "invalid_quantity")
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={low}&quantity=x&periods=3"), 422,
                     "invalid_quantity")
        assert_error(buyer.get("/api/v1/credit/quote?quantity=1&periods=3"), 400, "invalid_field")
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={low}&quantity=1&periods=-3"), 422,
                     "invalid_plan")
        assert_error(buyer.get(f"/api/v1/credit/quote?sku={low}&quantity=99999999999999999999"
                               "&periods=3"), 422, "invalid_quantity")
        assert_error(buyer.get("/api/v1/credit/quote?sku=NO%20SUCH&quantity=1&periods=3"), 404,
                     "unknown_sku")
        # credit cannot buy gift cards that are as good as cash
        assert_error(order(buyer, high, 1), 403, "credit_not_allowed")
        assert_error(order(buyer, low, 1, periods=5), 422, "invalid_plan")
        assert_error(buyer.post("/api/v1/orders", {"sku": low, "quantity": 1,
                                                   "payment": {"method": "credit"}},
                                headers={"Idempotency-Key": "k"}), 400, "invalid_field")
        assert_error(order(buyer, low, 6), 402, "insufficient_credit")  # 6000 > 5000
        assert credit(buyer)["used"] == 0
        # a credit order: delivered, the schedule exact
        r = order(buyer, low, 3, key="c1")
        assert r.status == 201, r
        first = r.json()
        assert first["status"] == "delivered" and first["payment"] == "credit", first
        assert len(first["codes"]) == 3
        again = order(buyer, low, 3, key="c1")  # a replay, not a second order
        assert again.json()["id"] == first["id"]
        line = credit(buyer)
        assert line["used"] == 3000 and line["available"] == 2000, line
        plan = line["plans"][0]
        assert plan["order_id"] == first["id"] and plan["state"] == "active", plan
        assert [p["principal"] for p in plan["schedule"]] == [1000, 1000, 1000], plan
        assert sum(p["fee"] for p in plan["schedule"]) == 45 and plan["apr_bp"] == quote["apr_bp"]
        assert plan["outstanding"]["total"] == 3045 and plan["due"]["total"] == 0, plan
        assert balance(buyer) == 0  # nothing was taken from the wallet
        # repayments from the wallet
        assert_error(buyer.post("/api/v1/credit/repayments", {"amount": 1015}), 402,
                     "insufficient_funds")
        assert admin.post("/api/v1/wallet/credits", {"username": name, "amount": 10000,
                                                     "reason": "top-up"}).status == 201
        assert_error(buyer.post("/api/v1/credit/repayments", {"amount": 3046}), 422,
                     "invalid_amount")
        assert_error(buyer.post("/api/v1/credit/repayments", {"amount": 0}), 422,
                     "invalid_amount")
        key = {"Idempotency-Key": "repay-1"}
        r = buyer.post("/api/v1/credit/repayments", {"amount": 1015}, headers=key)
        assert r.status == 200, r
        again = buyer.post("/api/v1/credit/repayments", {"amount": 1015}, headers=key)
        assert again.status == 200 and again.json()["applied"] == r.json()["applied"], again
        assert_error(buyer.post("/api/v1/credit/repayments", {"amount": 500}, headers=key), 409,
                     "idempotency_conflict")
        assert r.json()["applied"] == {"principal": 1000, "fee": 15, "late_fee": 0,
                                       "total": 1015}, r
        assert r.json()["used"] == 2000 and balance(buyer) == 10000 - 1015
        plan = credit(buyer)["plans"][0]
        assert plan["schedule"][0]["state"] == "settled", plan
        # early payoff: exactly the quote; the fees not yet due are waived
        payoff = plan["payoff"]
        assert payoff == 2000, plan  # no period is due yet: only the principal
        url = f"/api/v1/credit/plans/{first['id']}/payoff"
        assert_error(buyer.post(url, {"amount": payoff - 1}), 422, "invalid_amount")
        r = buyer.post(url, {"amount": payoff})
        assert r.status == 200 and r.json()["fee_waived"] == 30, r
        line = credit(buyer)
        assert line["used"] == 0 and line["plans"][0]["state"] == "paid_off", line
        assert_error(buyer.post("/api/v1/credit/repayments", {"amount": 1}), 409, "nothing_owed")
        assert_check(server)

        # a refund of a credit order goes back to the line, never to the wallet
        r = order(buyer, low, 2, periods=6)
        assert r.status == 201, r
        second = r.json()
        assert credit(buyer)["used"] == 2000
        r = buyer.post("/api/v1/credit/repayments", {"amount": 344})  # its first period
        assert r.status == 200 and r.json()["applied"]["principal"] == 334, r
        support = server.make_user(admin, unique("support"), role="support")
        assert support.post(f"/api/v1/orders/{second['id']}/invalid-codes",
                            {"codes": second["codes"][:1], "reason": "dead"}).status == 200
        wallet = balance(buyer)
        r = support.post(f"/api/v1/orders/{second['id']}/refunds", {"amount": 1000,
                                                                     "reason": "dead"})
        assert r.status == 201 and r.json()["instrument"] == "credit", r
        assert r.json()["status"] == "succeeded"
        line = credit(buyer)
        assert line["used"] == 666 and balance(buyer) == wallet, line  # 2000 - 334 paid - 1000
        plan = next(p for p in line["plans"] if p["order_id"] == second["id"])
        assert plan["outstanding"]["principal"] == 666, plan
        assert support.post(f"/api/v1/orders/{second['id']}/invalid-codes",
                            {"codes": second["codes"][1:], "reason": "dead"}).status == 200
        assert support.post(f"/api/v1/orders/{second['id']}/refunds",
                            {"amount": 1000, "reason": "dead"}).status == 201
        line = credit(buyer)
        plan = next(p for p in line["plans"] if p["order_id"] == second["id"])
        assert plan["state"] == "cancelled" and line["used"] == 0, line
        # what the buyer had repaid (334 + 10 of fee) stays on the line, not in the wallet
        assert line["credit_balance"] == 344 and balance(buyer) == wallet, line
        assert_check(server)

        # time moves past the first due date and the grace period: overdue, a late fee
        r = order(buyer, low, 1, periods=3)
        assert r.status == 201, r
        third = r.json()
        server.stop()
        os.environ["TESSERA_FAKE_NOW"] = str(int(time.time()) + 40 * 86400)
        try:
            server.start()
        finally:
            del os.environ["TESSERA_FAKE_NOW"]
        buyer = server.client(server.login(name, password))  # the old session has expired
        plan = next(p for p in credit(buyer)["plans"] if p["order_id"] == third["id"])
        assert plan["state"] == "overdue", plan
        assert plan["schedule"][0]["state"] == "overdue", plan
        assert plan["due"]["late_fee"] > 0 and plan["due"]["principal"] == 334, plan
        owed = plan["due"]["total"]
        wallet = balance(buyer)
        r = buyer.post("/api/v1/credit/repayments", {"amount": owed})
        assert r.status == 200 and r.json()["applied"]["late_fee"] == plan["due"]["late_fee"], r
        # the line's credit balance pays first, the wallet the rest
        line = credit(buyer)
        assert balance(buyer) == wallet - max(0, owed - 344), (owed, wallet, line)
        assert line["credit_balance"] == max(0, 344 - owed), line
        plan = next(p for p in credit(buyer)["plans"] if p["order_id"] == third["id"])
        assert plan["state"] == "active", plan
        assert_check(server)
    finally:
        server.close()


def test_a_credit_order_held_and_rejected_goes_back_to_the_line():
    server = harness.Server(rules='rule credit_waits\n  when type == order and payment == "credit"\n'
                                  '  then review score 10\n  reason "credit orders wait"\n')
    try:
        admin = server.admin()
        low = product(admin, 700, "low")
        name = unique("buyer")
        buyer = server.make_user(admin, name)
        assert admin.request("PUT", f"/api/v1/credit/{name}", {"limit": 2000}).status == 200
        r = order(buyer, low, 2, periods=12)
        assert r.status == 202 and r.json()["status"] == "review" and "codes" not in r.json(), r
        held = r.json()
        line = credit(buyer)
        assert line["used"] == 1400 and line["plans"][0]["state"] == "held", line
        assert line["plans"][0]["due"]["total"] == 0 and line["plans"][0]["payoff"] == 0, line
        # nothing is due or repayable while a person decides
        assert admin.post("/api/v1/wallet/credits", {"username": name, "amount": 5000,
                                                     "reason": "top-up"}).status == 201
        assert_error(buyer.post("/api/v1/credit/repayments", {"amount": 100}), 409,
                     "plan_held")  # not "nothing_owed": the plan exists, its review comes first
        assert_error(buyer.post(f"/api/v1/credit/plans/{held['id']}/payoff", {"amount": 1400}),
                     409, "plan_held")
        assert balance(buyer) == 5000
        assert_check(server)
        r = admin.post(f"/api/v1/risk/reviews/{held['id']}", {"decision": "reject",
                                                              "note": "cash-out pattern"})
        assert r.status == 200 and r.json()["status"] == "cancelled", r
        line = credit(buyer)
        assert line["used"] == 0 and line["available"] == 2000, line
        assert line["plans"][0]["state"] == "cancelled", line
        assert balance(buyer) == 5000 and line["credit_balance"] == 0, line  # nothing moved
        assert_error(buyer.post("/api/v1/credit/repayments", {"amount": 100}), 409,
                     "nothing_owed")
        assert_error(buyer.post(f"/api/v1/credit/plans/{held['id']}/payoff", {"amount": 1400}),
                     409, "plan_closed")
        # approved: the schedule starts at the approval
        r = order(buyer, low, 1, periods=3)
        assert r.status == 202, r
        second = r.json()
        r = admin.post(f"/api/v1/risk/reviews/{second['id']}", {"decision": "approve",
                                                                "note": "known buyer"})
        assert r.status == 200 and r.json()["status"] == "delivered", r
        plan = next(p for p in credit(buyer)["plans"] if p["order_id"] == second["id"])
        assert plan["state"] == "active" and plan["outstanding"]["principal"] == 700, plan
        r = buyer.post("/api/v1/credit/repayments", {"amount": 100})
        assert r.status == 200 and r.json()["applied"]["total"] == 100, r
        assert_check(server)
    finally:
        server.close()


if __name__ == "__main__":
    harness.main([test_a_credit_line_buys_low_liquidity_goods_in_installments,
                  test_a_credit_order_held_and_rejected_goes_back_to_the_line])
