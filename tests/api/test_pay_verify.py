"""test_pay_verify.py — `tessera pay verify` (the exact interface operators and other tools
use): for each provider a notice signed as the provider signs it is `valid` (exit 0), and a
table of tampered variants — a body byte, the amount, the merchant id, the order id, a
stale timestamp, a wrong serial, another key, a missing header — each `invalid: REASON`
(exit 1). WeChat Pay prints the decrypted resource after `valid`. Keys are generated per run
(tests/api/paysign.py); no secret may appear in any output."""
import json
import os
import subprocess
import tempfile

import harness
import paysign

NOW = 1764583200  # 2025-12-01T10:00:00Z


def tessera(*args):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    return subprocess.run([harness.BIN, *args], capture_output=True, text=True, env=env)


class Verifier:
    def __init__(self, directory, merchant):
        self.dir, self.merchant, self.n = directory, merchant, 0

    def run(self, provider, body, headers=None, now=NOW, config=None):
        self.n += 1
        body_path = os.path.join(self.dir, f"body{self.n}")
        with open(body_path, "wb") as f:
            f.write(body)
        args = ["pay", "verify", "--provider", provider, "--config",
                config or self.merchant.config_path, "--body", body_path]
        if headers is not None:
            headers_path = os.path.join(self.dir, f"headers{self.n}")
            with open(headers_path, "w") as f:
                f.write("".join(f"{k}: {v}\r\n" for k, v in headers.items()))
            args += ["--headers", headers_path]
        if now is not None:
            args += ["--now", str(now)]
        r = tessera(*args)
        for secret in (self.merchant.apiv3_key, self.merchant.epay_key, self.merchant.stripe_secret):
            assert secret not in r.stdout + r.stderr, "a secret reached the output"
        return r

    def valid(self, provider, body, headers=None, now=NOW):
        r = self.run(provider, body, headers, now)
        assert r.returncode == 0 and r.stdout.splitlines()[0] == "valid", (provider, r)
        return r

    def invalid(self, provider, body, headers=None, now=NOW, because=""):
        r = self.run(provider, body, headers, now)
        first = r.stdout.splitlines()[0] if r.stdout else ""
        assert r.returncode == 1 and first.startswith("invalid: "), (provider, because, r)
        assert because in first, (because, first)
        return first


def flip(data, index):
    """data with the byte at index changed (still printable)."""
    b = bytearray(data)
    b[index] = ord("0") if b[index] != ord("0") else ord("1")
    return bytes(b)


def with_verifier(test):
    def run():
        with tempfile.TemporaryDirectory() as d:
            test(Verifier(d, paysign.Merchant(d)))
    run.__name__ = test.__name__
    return run


@with_verifier
def test_wechatpay(v):
    m = v.merchant
    body, headers = m.wechat_notice(m.wechat_resource(), NOW)
    r = v.valid("wechatpay", body, headers)
    resource = json.loads(r.stdout.splitlines()[1])
    assert resource["out_trade_no"] == "T1001" and resource["amount"]["total"] == 100
    # the platform public key mode: Wechatpay-Serial is the key id
    body2, headers2 = m.wechat_notice(m.wechat_resource(), NOW, key=m.wechat_pub_key,
                                      serial=paysign.WECHAT_KEY_ID)
    v.valid("wechatpay", body2, headers2)
    # serial numbers compare without case
    v.valid("wechatpay", body, dict(headers, **{"Wechatpay-Serial": m.wechat_serial.lower()}))
    v.valid("wechatpay", body, headers, now=NOW + 299)
    for index in (10, len(body) // 2, len(body) - 3):
        v.invalid("wechatpay", flip(body, index), headers, because="signature")
    v.invalid("wechatpay", body, headers, now=NOW + 300, because="300 s")
    v.invalid("wechatpay", body, headers, now=NOW - 300, because="300 s")
    v.invalid("wechatpay", body, dict(headers, **{"Wechatpay-Serial": "ABCDEF"}),
              because="Serial")
    v.invalid("wechatpay", body, dict(headers, **{"Wechatpay-Nonce": "other"}),
              because="signature")
    v.invalid("wechatpay", body, dict(headers, **{"Wechatpay-Timestamp": str(NOW + 1)}),
              because="signature")
    for name in ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature",
                 "Wechatpay-Serial"):
        v.invalid("wechatpay", body, {k: x for k, x in headers.items() if k != name},
                  because="missing")
    forged, forged_headers = m.wechat_notice(m.wechat_resource(), NOW, key=m.other_key)
    v.invalid("wechatpay", forged, forged_headers, because="signature")
    # signed correctly, but the resource is for another merchant / under another APIv3 key
    other, other_headers = m.wechat_notice(m.wechat_resource(mchid="1900000999"), NOW)
    v.invalid("wechatpay", other, other_headers, because="mchid")
    wrong, wrong_headers = m.wechat_notice(m.wechat_resource(), NOW, apiv3_key="k" * 32)
    v.invalid("wechatpay", wrong, wrong_headers, because="decrypt")
    # AAD is authenticated too: the same ciphertext under another associated_data fails
    notice = json.loads(body)
    notice["resource"]["associated_data"] = "refund"
    changed = json.dumps(notice, ensure_ascii=False).encode()
    v.invalid("wechatpay", changed, m.wechat_headers(changed, NOW), because="decrypt")
    v.invalid("wechatpay", b"", m.wechat_headers(b"", NOW), because="body")


@with_verifier
def test_wechatpay_without_apiv3_key_checks_the_signature_only(v):
    m = paysign.Merchant(os.path.join(v.dir), apiv3=False)
    v.merchant = m
    body, headers = m.wechat_notice(m.wechat_resource(), NOW)
    r = v.valid("wechatpay", body, headers)
    assert r.stdout.splitlines() == ["valid"], r.stdout
    v.invalid("wechatpay", flip(body, 20), headers, because="signature")


@with_verifier
def test_alipay(v):
    m = v.merchant
    fields = m.alipay_fields()
    v.valid("alipay", m.alipay_body(fields))
    v.valid("alipay", m.alipay_body(fields, keep_sign_type=True))  # the second form
    v.valid("alipay", m.alipay_body(dict(fields, param="")))  # empty values are not signed
    body = m.alipay_body(fields)
    for field, value in (("total_amount", "100.00"), ("out_trade_no", "T9999"),
                         ("app_id", "2021000000000000"), ("trade_status", "WAIT_BUYER_PAY")):
        tampered = body.replace(f"{field}=".encode() + str(fields[field]).encode(),
                                f"{field}={value}".encode())
        assert tampered != body
        v.invalid("alipay", tampered, because="signature")
    v.invalid("alipay", m.alipay_body(fields, key=m.other_key), because="signature")
    v.invalid("alipay", m.alipay_body(dict(fields, app_id="2021000000000000")), because="app_id")
    v.invalid("alipay", m.alipay_body(dict(fields, seller_id="2088000000000000")),
              because="seller_id")
    v.invalid("alipay", m.alipay_body(dict(fields, total_amount="1.001")), because="total_amount")
    v.invalid("alipay", body.replace(b"sign_type=RSA2", b"sign_type=RSA"), because="RSA2")
    v.invalid("alipay", b"app_id=1&sign=%%%", because="escape")
    v.invalid("alipay", body + b"&app_id=x", because="repeated")


@with_verifier
def test_epay(v):
    m = v.merchant
    fields = m.epay_fields()
    query = m.epay_query(fields)
    v.valid("epay", query)
    sign = [p for p in query.split(b"&") if p.startswith(b"sign=")][0]
    v.valid("epay", query.replace(sign, sign.upper().replace(b"SIGN=", b"sign=")))  # hex case
    for field, value in (("money", "100.00"), ("out_trade_no", "T9999"), ("pid", "1002"),
                         ("trade_status", "WAIT")):
        tampered = query.replace(f"{field}={fields[field]}".encode(), f"{field}={value}".encode())
        assert tampered != query
        v.invalid("epay", tampered, because="signature")
    v.invalid("epay", m.epay_query(fields, key="wrong-key"), because="signature")
    v.invalid("epay", m.epay_query(dict(fields, pid="1002")), because="pid")
    v.invalid("epay", m.epay_query(dict(fields, money="-1")), because="money")
    v.invalid("epay", query.replace(b"sign_type=MD5", b"sign_type=SHA1"), because="MD5")
    v.invalid("epay", b"pid=1001&money=1.00", because="sign")


@with_verifier
def test_stripe(v):
    m = v.merchant
    event = m.stripe_event()
    body, headers = m.stripe_notice(event, NOW)
    v.valid("stripe", body, headers)
    v.valid("stripe", body, headers, now=NOW - 300)
    # any v1 may match; other schemes are ignored
    v.valid("stripe", body, {"Stripe-Signature": headers["Stripe-Signature"].replace(
        "v1=", "v1=" + "0" * 64 + ",v0=abc,v1=", 1)})
    v.invalid("stripe", body, headers, now=NOW + 301, because="tolerance")
    v.invalid("stripe", flip(body, len(body) // 2), headers, because="v1")
    v.invalid("stripe", body, m.stripe_notice(event, NOW, secret="whsec_wrong")[1], because="v1")
    v.invalid("stripe", body, {"Stripe-Signature": "t=1,v0=abc"}, because="Stripe-Signature")
    v.invalid("stripe", body, {}, because="Stripe-Signature")
    bad = m.stripe_event(currency="c1y")
    v.invalid("stripe", *m.stripe_notice(bad, NOW), because="currency")


@with_verifier
def test_usage_and_configuration_errors(v):
    m = v.merchant
    body, headers = m.stripe_notice(m.stripe_event(), NOW)
    path = os.path.join(v.dir, "b")
    with open(path, "wb") as f:
        f.write(body)
    assert tessera("pay", "verify", "--provider", "paypal", "--config", m.config_path,
                   "--body", path).returncode == 2
    assert tessera("pay", "verify", "--provider", "stripe", "--body", path).returncode == 2
    assert tessera("pay", "verify", "--provider", "stripe", "--config", m.config_path,
                   "--body", path, "--now", "soon").returncode == 2
    broken = os.path.join(v.dir, "broken.json")
    for content, says in (("{", "JSON"), ('{"epay":{"pid":"1"}}', "epay.key"),
                          ('{"wechatpay":{"mchid":"1","platform_certs":["none.pem"]}}',
                           "platform_certs"),
                          ('{"wechatpay":{"mchid":"1","apiv3_key":"short",'
                           '"platform_public_key":"keys/wechat_pub.pem",'
                           '"platform_public_key_id":"x"}}', "apiv3_key")):
        with open(broken, "w") as f:
            f.write(content)
        r = tessera("pay", "verify", "--provider", "stripe", "--config", broken, "--body", path)
        assert r.returncode == 2 and says in r.stderr, (content, r)
        assert "short" not in r.stderr
    # a provider the file does not configure refuses every notice
    only = os.path.join(v.dir, "only.json")
    with open(only, "w") as f:
        json.dump({"epay": m.config["epay"]}, f)
    r = v.run("stripe", body, headers, config=only)
    assert r.returncode == 1 and "not configured" in r.stdout


if __name__ == "__main__":
    harness.main([test_wechatpay, test_wechatpay_without_apiv3_key_checks_the_signature_only,
                  test_alipay, test_epay, test_stripe, test_usage_and_configuration_errors])
