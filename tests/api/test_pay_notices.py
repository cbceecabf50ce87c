"""test_pay_notices.py — every provider's notices against real orders on a running server
(created through the fake providers), signed with keys the test generated: a table of
tampered variants — a body byte, the amount, the currency, the merchant id, the order id, a
stale timestamp, a wrong serial — each answered exactly as that provider expects and each
leaving the database as it was (order, payments, stock, books); then the true notice
delivers, a duplicate is acknowledged and changes nothing, and a notice arriving out of
order (the payment "closed" or "failed" after it succeeded) changes nothing either."""
import json
import sqlite3
import time
import urllib.parse

import harness
import paysign
from test_pay_gateways import World, with_world
from test_pay_orders import Shop

assert_check = harness.assert_check


def snapshot(world, oid):
    db = sqlite3.connect(f"file:{world.server.db}?mode=ro", uri=True)
    try:
        return (db.execute("SELECT status FROM orders WHERE id = ?", (oid,)).fetchone(),
                db.execute("SELECT count(*) FROM payments").fetchone(),
                db.execute("SELECT sum(stock) FROM products").fetchone(),
                db.execute("SELECT count(*), coalesce(sum(amount), 0) FROM postings").fetchone())
    finally:
        db.close()


def flip(body, at=None):
    """The body with one byte changed (inside the signed bytes)."""
    b = bytearray(body)
    i = at if at is not None else len(b) // 2
    b[i] = b[i] ^ 0x01 if chr(b[i]).isalnum() else b[i]
    if b == body:
        b[i + 1] ^= 0x01
    return bytes(b)


def send(world, provider, body, headers=None, get=False):
    c = world.server.client()
    if get:
        return c.get(f"/api/v1/pay/{provider}/notify?" + body.decode())
    return c.post(f"/api/v1/pay/{provider}/notify", body, raw=True, headers=headers or {})


def refused(provider, r):
    """The provider's own word for a refusal."""
    if provider == "wechatpay":
        return r.status == 400 and r.json()["code"] == "FAIL"
    if provider in ("alipay", "epay"):
        return r.status == 400 and r.body in (b"failure", b"fail")
    return r.status in (400, 404, 409) and "error" in r.json()


def accepted(provider, r):
    if provider == "wechatpay":
        return r.status == 204
    if provider in ("alipay", "epay"):
        return r.status == 200 and r.body == b"success"
    return r.status == 200 and r.json() == {"received": True}


def run_table(world, provider, oid, variants, good, duplicate, late):
    before = snapshot(world, oid)
    for name, (body, headers, get) in variants:
        r = send(world, provider, body, headers, get)
        assert refused(provider, r), (provider, name, r)
        assert snapshot(world, oid) == before, (provider, name, "changed the database")
    r = send(world, provider, *good)
    assert accepted(provider, r), (provider, "true notice", r)
    paid = snapshot(world, oid)
    assert paid[0] == ("delivered",) and paid[1][0] == before[1][0] + 1, paid
    r = send(world, provider, *duplicate)
    assert accepted(provider, r), (provider, "duplicate", r)
    assert snapshot(world, oid) == paid, (provider, "duplicate changed the database")
    r = send(world, provider, *late)
    assert accepted(provider, r), (provider, "out of order", r)
    assert snapshot(world, oid) == paid, (provider, "out-of-order notice changed it")
    assert_check(world.server)


def order(shop, provider):
    r = shop.order(payment={"method": "gateway", "provider": provider})
    assert r.status == 201, r
    return r.json()["id"]


@with_world
def test_wechatpay_notices(world):
    m = world.p.merchant
    shop = Shop(world.server, price=1000)
    oid = order(shop, "wechatpay")
    ref, now = f"T{oid}", int(time.time())
    res = lambda **kw: m.wechat_resource(out_trade_no=ref, total=1000, **kw)
    body, headers = m.wechat_notice(res(), now)
    variants = [
        ("body byte", (flip(body), headers, False)),
        ("amount", (*m.wechat_notice(m.wechat_resource(out_trade_no=ref, total=999), now),
                    False)),
        ("currency", (*m.wechat_notice(m.wechat_resource(out_trade_no=ref, total=1000,
                                                         currency="USD"), now), False)),
        ("merchant id", (*m.wechat_notice(res(mchid="1900000000"), now), False)),
        ("order id", (*m.wechat_notice(m.wechat_resource(out_trade_no="T999999", total=1000),
                                       now), False)),
        ("stale timestamp", (*m.wechat_notice(res(), now - 600), False)),
        ("wrong serial", (*m.wechat_notice(res(), now, serial="0123456789ABCDEF"), False)),
        ("another key", (*m.wechat_notice(res(), now, key=m.other_key), False)),
    ]
    late = m.wechat_notice(res(state="CLOSED", transaction="4200000000000000000000000099"), now)
    run_table(world, "wechatpay", oid, variants, (body, headers, False), (body, headers, False),
              (*late, False))


@with_world
def test_alipay_notices(world):
    m = world.p.merchant
    shop = Shop(world.server, price=1234)
    oid = order(shop, "alipay")
    ref = f"T{oid}"
    form = lambda **kw: m.alipay_fields(out_trade_no=ref, total="12.34", **kw)
    ct = {"Content-Type": "application/x-www-form-urlencoded"}
    body = m.alipay_body(form())
    tampered = body.replace(b"total_amount=12.34", b"total_amount=12.35")
    variants = [
        ("body byte", (tampered, ct, False)),
        ("amount", (m.alipay_body(m.alipay_fields(out_trade_no=ref, total="12.33")), ct, False)),
        ("merchant id", (m.alipay_body(form(app_id="2021000000000000")), ct, False)),
        ("seller", (m.alipay_body(form(seller="2088000000000000")), ct, False)),
        ("order id", (m.alipay_body(m.alipay_fields(out_trade_no="T999999", total="12.34")), ct,
                      False)),
        ("another key", (m.alipay_body(form(), key=m.other_key), ct, False)),
    ]
    late_fields = form(status="TRADE_CLOSED")
    run_table(world, "alipay", oid, variants, (body, ct, False), (body, ct, False),
              (m.alipay_body(late_fields), ct, False))


@with_world
def test_epay_notices(world):
    m = world.p.merchant
    shop = Shop(world.server, price=500)
    oid = order(shop, "epay")
    ref = f"T{oid}"
    fields = lambda **kw: m.epay_fields(out_trade_no=ref, money="5.00", **kw)
    query = m.epay_query(fields())
    variants = [
        ("body byte", (query.replace(b"money=5.00", b"money=5.01"), None, True)),
        ("amount", (m.epay_query(m.epay_fields(out_trade_no=ref, money="4.99")), None, True)),
        ("merchant id", (m.epay_query(fields(pid="9999")), None, True)),
        ("order id", (m.epay_query(m.epay_fields(out_trade_no="T999999", money="5.00")), None,
                      True)),
        ("another key", (m.epay_query(fields(), key="not-the-key"), None, True)),
    ]
    late = m.epay_query(fields(status="TRADE_CLOSED"))
    run_table(world, "epay", oid, variants, (query, None, True), (query, None, True),
              (late, None, True))


@with_world
def test_stripe_notices(world):
    m = world.p.merchant
    shop = Shop(world.server, price=800)
    oid = order(shop, "stripe")
    ref, now = f"T{oid}", int(time.time())
    event = m.stripe_event(order=ref, amount=800)
    body, headers = m.stripe_notice(event, now)
    variants = [
        ("body byte", (body.replace(b'"amount": 800', b'"amount": 801'), headers, False)),
        ("amount", (*m.stripe_notice(m.stripe_event(order=ref, amount=799), now), False)),
        ("currency", (*m.stripe_notice(m.stripe_event(order=ref, amount=800, currency="usd"),
                                       now), False)),
        ("order id", (*m.stripe_notice(m.stripe_event(order="T999999", amount=800), now), False)),
        ("stale timestamp", (*m.stripe_notice(event, now - 600), False)),
        ("another secret", (*m.stripe_notice(event, now, secret="whsec_other"), False)),
    ]
    late = m.stripe_event(order=ref, amount=800, kind="payment_intent.payment_failed")
    late["data"]["object"]["status"] = "requires_payment_method"
    run_table(world, "stripe", oid, variants, (body, headers, False), (body, headers, False),
              (*m.stripe_notice(late, now), False))


if __name__ == "__main__":
    harness.main([test_wechatpay_notices, test_alipay_notices, test_epay_notices,
                  test_stripe_notices])
