"""test_pay_sdk.py — Tessera's verifiers against the gateways' official SDKs (tests/sdk/,
pinned by its package-lock.json; `make test` installs it with npm): notices the SDKs sign
are `valid` for `tessera pay verify`, and the SDKs' own verifiers agree with Tessera's on
notices signed by tests/api/paysign.py, tampered or not. Stripe: stripe-node; Alipay:
alipay-sdk (the Node SDK signs with sign_type in the string, and keeps empty values)."""
import json
import os
import subprocess
import tempfile
import urllib.parse

import harness
import paysign
from test_pay_verify import NOW, Verifier, flip

SDK = os.path.join(harness.ROOT, "tests", "sdk")


def sdk(request):
    r = subprocess.run(["node", os.path.join(SDK, "notices.js")], input=json.dumps(request),
                       capture_output=True, text=True, cwd=SDK)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def with_verifier(test):
    def run():
        assert os.path.isdir(os.path.join(SDK, "node_modules")), \
            "tests/sdk/node_modules is missing: run `make test` (npm ci --prefix tests/sdk)"
        with tempfile.TemporaryDirectory() as d:
            test(Verifier(d, paysign.Merchant(d)))
    run.__name__ = test.__name__
    return run


@with_verifier
def test_stripe_sdk(v):
    m = v.merchant
    payload = json.dumps(m.stripe_event())
    header = sdk({"op": "stripe-header", "payload": payload, "secret": m.stripe_secret,
                  "timestamp": NOW})["header"]
    v.valid("stripe", payload.encode(), {"Stripe-Signature": header})
    v.invalid("stripe", flip(payload.encode(), 30), {"Stripe-Signature": header}, because="v1")
    v.invalid("stripe", payload.encode(), {"Stripe-Signature": header}, now=NOW + 301,
              because="tolerance")
    # the SDK accepts what the tests sign, and refuses what they tamper
    body, headers = m.stripe_notice(m.stripe_event(), NOW)
    check = {"op": "stripe-check", "payload": body.decode(), "header": headers["Stripe-Signature"],
             "secret": m.stripe_secret, "now": NOW}
    assert sdk(check)["valid"] is True
    assert sdk(dict(check, payload=flip(body, 40).decode()))["valid"] is False
    assert sdk(dict(check, now=NOW + 301))["valid"] is False


@with_verifier
def test_alipay_sdk(v):
    m = v.merchant
    fields = m.alipay_fields()
    signed = sdk({"op": "alipay-sign", "fields": fields,
                  "private_key": m.alipay_private_pem()})["fields"]
    assert signed["sign_type"] == "RSA2" and signed["sign"]
    body = urllib.parse.urlencode(signed).encode()
    v.valid("alipay", body)  # sign_type in the signed string: Tessera's second form
    tampered = dict(signed, total_amount="100.00")
    v.invalid("alipay", urllib.parse.urlencode(tampered).encode(), because="signature")
    # a notice with an empty value, signed as the Node SDK signs (kept in the string)
    with_empty = sdk({"op": "alipay-sign", "fields": dict(fields, passback_params=""),
                      "private_key": m.alipay_private_pem()})["fields"]
    v.valid("alipay", urllib.parse.urlencode(with_empty).encode())
    # the SDK's verifier agrees with Tessera's on the tests' notices
    for keep in (False, True):
        notice = dict(urllib.parse.parse_qsl(m.alipay_body(fields, keep_sign_type=keep).decode()))
        check = {"op": "alipay-check", "fields": notice, "public_key": m.alipay_public_pem(),
                 "private_key": m.alipay_private_pem()}
        assert sdk(check)["valid"] is True, keep
        assert sdk(dict(check, fields=dict(notice, out_trade_no="T9")))["valid"] is False
        v.valid("alipay", urllib.parse.urlencode(notice).encode())


if __name__ == "__main__":
    harness.main([test_stripe_sdk, test_alipay_sdk])
