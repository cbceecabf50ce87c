"""test_pay_outbound.py — `tessera pay create|query|refund` against local fake providers
(tests/api/fake_providers.py) that check every request as the provider would (WeChat Pay's
Authorization signature, Alipay's RSA2 sign, Stripe's bearer key and Idempotency-Key,
EPay's pid and key) and answer as it does (signed with the platform / Alipay key).

Every provider × operation runs in every mode of the fakes — ok, 5xx once then ok, 5xx
always, slow past the timeout, an answer that must not be believed, a business error —
and the test asserts the exact JSON printed, the exit status and the number of attempts
the fake saw (retries only for idempotent calls: EPay's refund is sent once). Then: keys
the provider does not accept, a provider not set up, an unreachable provider, usage and
configuration errors. No key may appear in any output."""
import json
import os
import subprocess
import tempfile

import fake_providers
import harness

RETRIES = 2


class Env:
    def __init__(self, directory):
        self.dir = directory
        self.p = fake_providers.Providers(directory, timeout_ms=800, retries=RETRIES)
        self.secrets = self.p.secrets()

    def run(self, operation, provider, *args, config=None):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        r = subprocess.run([harness.BIN, "pay", operation, "--provider", provider, "--config",
                            config or self.p.config_path, *args],
                           capture_output=True, text=True, env=env, timeout=60)
        for secret in self.secrets:
            assert secret not in r.stdout + r.stderr, "a secret reached the output"
        obj = json.loads(r.stdout) if r.stdout.strip() else None
        if obj is not None:
            assert r.stdout.count("\n") == 1, r.stdout  # one JSON object, one line
        return r.returncode, obj, r.stderr


def with_env(test):
    def run():
        with tempfile.TemporaryDirectory() as d:
            env = Env(d)
            try:
                test(env)
            finally:
                env.p.close()
    run.__name__ = test.__name__
    return run


# ---- the matrix ----------------------------------------------------------------------------
# Each case: (provider, operation, fake, argument builder, expected-result builder,
# idempotent, provider_code of the business error). A builder takes (env, ref suffix).

def wechat_create(env, tag):
    ref = "TW" + tag
    return (["--order", ref, "--amount", "1234", "--subject", "游戏点卡 100元"],
            {"provider": "wechatpay", "operation": "create", "order_ref": ref,
             "code_url": "weixin://wxpay/bizpayurl?pr=" + ref})


def wechat_query(env, tag):
    ref = "TWQ" + tag
    env.p.wechat.orders[ref] = {"total": 1234, "state": "SUCCESS",
                                "transaction_id": "4200001234202612010000000001"}
    return (["--order", ref],
            {"provider": "wechatpay", "operation": "query", "order_ref": ref, "found": True,
             "paid": True, "state": "SUCCESS", "transaction": "4200001234202612010000000001",
             "amount": 1234, "currency": "CNY"})


def wechat_refund(env, tag):
    ref, refund = "TWR" + tag, "RW" + tag
    return (["--order", ref, "--refund", refund, "--amount", "500", "--total", "1234",
             "--reason", "买家申请退款"],
            {"provider": "wechatpay", "operation": "refund", "order_ref": ref,
             "refund_ref": refund, "accepted": True, "succeeded": False, "pending": True,
             "state": "PROCESSING", "refund_id": "50000000382019052709732678859"})


def alipay_create(env, tag):
    ref = "TA" + tag
    return (["--order", ref, "--amount", "8888", "--subject", "游戏点卡"],
            {"provider": "alipay", "operation": "create", "order_ref": ref,
             "qr_code": "https://qr.alipay.com/bax08431ajvsxmcwzzub"})


def alipay_query(env, tag):
    ref = "TAQ" + tag
    env.p.alipay.orders[ref] = {"total": "88.88", "state": "TRADE_SUCCESS",
                                "trade_no": "2026120122001400000000000001"}
    return (["--order", ref],
            {"provider": "alipay", "operation": "query", "order_ref": ref, "found": True,
             "paid": True, "state": "TRADE_SUCCESS", "transaction": "2026120122001400000000000001",
             "amount": 8888, "currency": "CNY"})


def alipay_refund(env, tag):
    ref, refund = "TAR" + tag, "RA" + tag
    return (["--order", ref, "--refund", refund, "--amount", "1", "--total", "8888"],
            {"provider": "alipay", "operation": "refund", "order_ref": ref, "refund_ref": refund,
             "accepted": True, "succeeded": True, "pending": False, "state": "fund_change=Y"})


def epay_query(env, tag):
    ref = "TEQ" + tag
    env.p.epay.orders[ref] = {"money": "12.30", "status": 1, "trade_no": "2026120110000001"}
    return (["--order", ref],
            {"provider": "epay", "operation": "query", "order_ref": ref, "found": True,
             "paid": True, "state": "1", "transaction": "2026120110000001", "amount": 1230,
             "currency": "CNY"})


def epay_refund(env, tag):
    ref, refund = "TER" + tag, "RE" + tag
    return (["--order", ref, "--refund", refund, "--amount", "1230",
             "--transaction", "2026120110000001"],
            {"provider": "epay", "operation": "refund", "order_ref": ref, "refund_ref": refund,
             "accepted": True, "succeeded": True, "pending": False, "state": "1"})


def stripe_create(env, tag):
    ref = "TS" + tag
    args = ["--order", ref, "--amount", "1999", "--currency", "USD", "--subject", "Gift card"]

    def expected(obj):  # the intent the fake made for this order
        pi = [i for i in env.p.stripe.intents.values() if i["metadata"]["order_id"] == ref]
        assert len(pi) == 1, pi
        assert pi[0]["amount"] == 1999 and pi[0]["currency"] == "usd", pi
        return {"provider": "stripe", "operation": "create", "order_ref": ref,
                "provider_id": pi[0]["id"], "client_secret": pi[0]["client_secret"]}
    return args, expected


def stripe_query_search(env, tag):
    ref = "TSQ" + tag
    env.p.stripe.add_intent(ref, 999, status="canceled")
    pi = env.p.stripe.add_intent(ref, 1999, currency="usd")  # the succeeded one is chosen
    return (["--order", ref],
            {"provider": "stripe", "operation": "query", "order_ref": ref, "found": True,
             "paid": True, "state": "succeeded", "transaction": pi, "amount": 1999,
             "currency": "USD"})


def stripe_query_intent(env, tag):
    ref = "TSI" + tag
    pi = env.p.stripe.add_intent(ref, 500, status="processing")
    return (["--order", ref, "--intent", pi],
            {"provider": "stripe", "operation": "query", "order_ref": ref, "found": True,
             "paid": False, "state": "processing", "transaction": pi, "amount": 500,
             "currency": "CNY"})


def stripe_refund(env, tag):
    ref, refund = "TSR" + tag, "RS" + tag
    pi = env.p.stripe.add_intent(ref, 1999, currency="usd")

    def expected(obj):
        refunds = [v for k, v in env.p.stripe.idempotency.items() if k == "refund-" + refund]
        assert len(refunds) == 1 and refunds[0]["payment_intent"] == pi, refunds
        assert refunds[0]["metadata"] == {"order_id": ref, "refund_ref": refund,
                                          "reason": "requested"}, refunds
        return {"provider": "stripe", "operation": "refund", "order_ref": ref,
                "refund_ref": refund, "accepted": True, "succeeded": True, "pending": False,
                "state": "succeeded", "refund_id": refunds[0]["id"]}
    return (["--order", ref, "--refund", refund, "--amount", "1999", "--currency", "USD",
             "--transaction", pi, "--reason", "requested"], expected)


CASES = [
    ("wechatpay", "create", "wechat", wechat_create, True, "PARAM_ERROR"),
    ("wechatpay", "query", "wechat", wechat_query, True, "PARAM_ERROR"),
    ("wechatpay", "refund", "wechat", wechat_refund, True, "PARAM_ERROR"),
    ("alipay", "create", "alipay", alipay_create, True, "ACQ.TRADE_STATUS_ERROR"),
    ("alipay", "query", "alipay", alipay_query, True, "ACQ.TRADE_STATUS_ERROR"),
    ("alipay", "refund", "alipay", alipay_refund, True, "ACQ.TRADE_STATUS_ERROR"),
    ("epay", "query", "epay", epay_query, True, "-1"),
    ("epay", "refund", "epay", epay_refund, False, "-1"),
    ("stripe", "create", "stripe", stripe_create, True, "parameter_invalid_integer"),
    ("stripe", "query", "stripe", stripe_query_search, True, "parameter_invalid_integer"),
    ("stripe", "query", "stripe", stripe_query_intent, True, "parameter_invalid_integer"),
    ("stripe", "refund", "stripe", stripe_refund, True, "parameter_invalid_integer"),
]

MODES = ["ok", "5xx_once", "5xx_always", "slow", "bad_signature", "business_error"]
MAY_HAVE_ACTED = "; not retried: the provider may have acted, query it before trying again"


def check_case(env, case, mode):
    provider, operation, fake_name, build, idempotent, business_code = case
    fake = getattr(env.p, fake_name)
    env.p.reset(mode)
    tag = "-" + mode.replace("_", "")
    args, expected = build(env, tag)
    code, obj, stderr = env.run(operation, provider, *args)
    label = (provider, operation, build.__name__, mode, obj, stderr[-2000:])
    assert fake.auth_failures == [], (label, fake.auth_failures)  # every attempt was signed
    tries = 1 + RETRIES if idempotent else 1
    if mode == "ok" or (mode == "5xx_once" and idempotent):
        attempts = 2 if mode == "5xx_once" else 1
        want = expected(obj) if callable(expected) else expected
        assert code == 0 and obj == dict(want, attempts=attempts), label
        assert fake.attempts == attempts, (label, fake.attempts)
        return
    assert code == 1 and set(obj) == {"error"}, label
    error = obj["error"]
    if mode in ("5xx_once", "5xx_always"):
        message = "the provider answered HTTP 500" + ("" if idempotent else MAY_HAVE_ACTED)
        assert error == {"code": "provider_unavailable", "message": message,
                         "attempts": 1 if mode == "5xx_once" else tries,
                         "http_status": 500}, label
        assert fake.attempts == error["attempts"], (label, fake.attempts)
    elif mode == "slow":
        assert error["code"] == "provider_timeout" and error["attempts"] == tries, label
        assert error["http_status"] == 0, label
        assert error["message"].startswith("no answer within the timeout"), label
        assert error["message"].endswith(MAY_HAVE_ACTED) != idempotent, label
        assert fake.attempts == tries, (label, fake.attempts)
    elif mode == "bad_signature":
        assert error["code"] == "provider_invalid_response" and error["attempts"] == 1, label
        assert fake.attempts == 1, label
    else:  # business_error
        assert error["code"] == "provider_refused" and error["attempts"] == 1, label
        assert error["provider_code"] == business_code, label
        assert fake.attempts == 1, label


def matrix_test(provider):
    @with_env
    def test(env):
        for case in CASES:
            if case[0] == provider:
                for mode in MODES:
                    check_case(env, case, mode)
    test.__name__ = f"test_{provider}_every_operation_in_every_mode"
    return test


# ---- exact answers the matrix does not reach -----------------------------------------------
@with_env
def test_bad_signature_messages(env):
    env.p.reset("bad_signature")
    env.p.wechat.orders["T1"] = {"total": 1, "state": "SUCCESS", "transaction_id": "42"}
    code, obj, _ = env.run("query", "wechatpay", "--order", "T1")
    assert code == 1 and obj["error"] == {
        "code": "provider_invalid_response", "attempts": 1, "http_status": 200,
        "message": "WeChat Pay's answer is not believed: the signature does not verify"}, obj
    code, obj, _ = env.run("query", "alipay", "--order", "T1")
    assert code == 1 and obj["error"] == {
        "code": "provider_invalid_response", "attempts": 1, "http_status": 200,
        "message": "Alipay's answer is not believed: the signature does not verify"}, obj
    env.p.epay.orders["T1"] = {"money": "1.00", "status": 1, "trade_no": "9"}
    code, obj, _ = env.run("query", "epay", "--order", "T1")
    assert code == 1 and obj["error"]["message"] == \
        "EPay's answer is about another merchant or order", obj
    pi = env.p.stripe.add_intent("T1", 100)
    code, obj, _ = env.run("query", "stripe", "--order", "T1", "--intent", pi)
    assert code == 1 and obj["error"]["message"] == \
        "Stripe's PaymentIntent is not this order's", obj


@with_env
def test_orders_the_provider_does_not_know(env):
    env.p.reset("ok")
    for provider, state in (("wechatpay", "NOT_FOUND"), ("alipay", "TRADE_NOT_EXIST"),
                            ("stripe", "not_found")):
        code, obj, _ = env.run("query", provider, "--order", "T404")
        assert code == 0 and obj == {"provider": provider, "operation": "query",
                                     "order_ref": "T404", "found": False, "paid": False,
                                     "state": state, "attempts": 1}, obj
    code, obj, _ = env.run("query", "stripe", "--order", "T404", "--intent", "pi_missing")
    assert code == 0 and obj["found"] is False, obj
    # EPay's "no such order" is not told apart from its other errors: a refusal
    code, obj, _ = env.run("query", "epay", "--order", "T404")
    assert code == 1 and obj["error"]["code"] == "provider_refused", obj
    assert obj["error"]["provider_code"] == "-1", obj
    # an unpaid WeChat Pay order has no transaction yet
    env.p.wechat.orders["T2"] = {"total": 5, "state": "NOTPAY", "transaction_id": None}
    code, obj, _ = env.run("query", "wechatpay", "--order", "T2")
    assert code == 0 and obj == {"provider": "wechatpay", "operation": "query",
                                 "order_ref": "T2", "found": True, "paid": False,
                                 "state": "NOTPAY", "amount": 5, "currency": "CNY",
                                 "attempts": 1}, obj


@with_env
def test_epay_create_is_a_signed_url_without_a_request(env):
    env.p.reset("5xx_always")  # nothing is sent, so nothing can fail
    code, obj, _ = env.run("create", "epay", "--order", "T77", "--amount", "1230",
                           "--subject", "游戏点卡")
    assert code == 0 and obj["attempts"] == 0 and env.p.epay.attempts == 0, obj
    url = obj["pay_url"]
    assert url.startswith(env.p.epay.base + "/submit.php?") and "money=12.30" in url, url
    assert "out_trade_no=T77" in url and "key=" not in url, url
    assert fake_providers.epay_sign_ok(url, env.p.merchant.epay_key), url


@with_env
def test_keys_the_provider_does_not_accept(env):
    """Another merchant key, app key, bearer key and EPay key: each fake refuses, as the
    provider would, and Tessera reports the refusal."""
    other = fake_providers.rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(os.path.join(env.dir, "keys", "other.pem"), "wb") as f:
        f.write(fake_providers._private_pem(other))
    config = json.loads(json.dumps(env.p.config))
    config["wechatpay"]["merchant_private_key"] = "keys/other.pem"
    config["alipay"]["app_private_key"] = "keys/other.pem"
    config["stripe"]["secret_key"] = "sk_test_wrong"
    config["epay"]["key"] = "wrong-key"
    path = env.p.write_config(config, os.path.join(env.dir, "wrong.json"))
    env.p.reset("ok")
    for provider, fake, http_status, provider_code in (
            ("wechatpay", env.p.wechat, 401, "SIGN_ERROR"),
            ("alipay", env.p.alipay, 200, "isv.invalid-signature"),
            ("epay", env.p.epay, 200, "-3"),
            ("stripe", env.p.stripe, 401, "invalid_request_error")):
        code, obj, _ = env.run("query", provider, "--order", "T1", "--intent", "pi_1",
                               config=path) if provider == "stripe" else \
            env.run("query", provider, "--order", "T1", config=path)
        assert code == 1, (provider, obj)
        assert obj["error"]["code"] == "provider_refused", (provider, obj)
        assert obj["error"]["http_status"] == http_status, (provider, obj)
        assert obj["error"]["provider_code"] == provider_code, (provider, obj)
        assert len(fake.auth_failures) == 1 and fake.attempts == 1, (provider, fake.auth_failures)


@with_env
def test_unreachable_and_not_configured(env):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    config = json.loads(json.dumps(env.p.config))
    config["wechatpay"]["api_base"] = f"http://127.0.0.1:{port}"
    path = env.p.write_config(config, os.path.join(env.dir, "closed.json"))
    code, obj, _ = env.run("query", "wechatpay", "--order", "T1", config=path)
    assert code == 1 and obj["error"]["code"] == "provider_unavailable", obj
    assert obj["error"]["attempts"] == 1 + RETRIES and obj["error"]["http_status"] == 0, obj
    # the notice-only configuration (no API keys) cannot call anyone: a usage error
    for provider, operation in (("wechatpay", "query"), ("alipay", "query"), ("epay", "query"),
                                ("stripe", "query")):
        code, obj, _ = env.run(operation, provider, "--order", "T1",
                               config=env.p.merchant.config_path)
        assert code == 2 and obj["error"]["code"] == "unknown_provider", obj
        assert obj["error"]["attempts"] == 0, obj
    # without notify_url, WeChat Pay can query and refund but not create
    del config["wechatpay"]["notify_url"]
    config["wechatpay"]["api_base"] = env.p.wechat.base
    path = env.p.write_config(config, os.path.join(env.dir, "no_notify.json"))
    code, obj, _ = env.run("create", "wechatpay", "--order", "T1", "--amount", "1",
                           "--subject", "x", config=path)
    assert code == 2 and obj["error"]["code"] == "unknown_provider", obj
    env.p.reset("ok")
    code, obj, _ = env.run("query", "wechatpay", "--order", "T1", config=path)
    assert code == 0 and obj["found"] is False, obj


@with_env
def test_usage_errors(env):
    env.p.reset("ok")
    for args in ([], ["--order", "T1", "--amount", "0", "--subject", "x"],
                 ["--order", "T1", "--amount", "1.5", "--subject", "x"],
                 ["--order", "T1", "--amount", "1"]):
        code, obj, stderr = env.run("create", "wechatpay", *args)
        assert code == 2 and obj is None and stderr, (args, stderr)
    for provider, args in (("wechatpay", ["--order", "T/../1", "--amount", "1", "--subject", "x"]),
                           ("wechatpay", ["--order", "T1", "--amount", "1", "--subject", "x",
                                          "--currency", "USD"]),
                           ("alipay", ["--order", "T1", "--amount", "1", "--subject", "x",
                                       "--currency", "usd"])):
        code, obj, _ = env.run("create", provider, *args)
        assert code == 2 and obj["error"]["code"] == "invalid_value", (args, obj)
    # a refund over the total; Stripe without the intent
    code, obj, _ = env.run("refund", "wechatpay", "--order", "T1", "--refund", "R1",
                           "--amount", "101", "--total", "100")
    assert code == 2 and obj["error"]["code"] == "invalid_value", obj
    code, obj, _ = env.run("refund", "stripe", "--order", "T1", "--refund", "R1",
                           "--amount", "1")
    assert code == 2 and obj["error"]["code"] == "invalid_value", obj
    code, obj, stderr = env.run("refund", "epay", "--order", "T1", "--amount", "1")
    assert code == 2 and "--refund" in stderr, stderr
    code, _, stderr = env.run("query", "sandbox", "--order", "T1")
    assert code == 2 and "--provider" in stderr, stderr
    assert sum(f.attempts for f in env.p.all) == 0  # nothing was sent


@with_env
def test_configuration_errors(env):
    for change, says in (
            (lambda c: c.update(outbound={"timeout_ms": 0}), "outbound.timeout_ms"),
            (lambda c: c.update(outbound={"retries": 6}), "outbound.retries"),
            (lambda c: c.update(outbound=[]), "outbound"),
            (lambda c: c["wechatpay"].update(api_base="ftp://x"), "wechatpay.api_base"),
            (lambda c: c["wechatpay"].update(merchant_private_key="keys/none.pem"),
             "wechatpay.merchant_private_key"),
            (lambda c: c["wechatpay"].update(merchant_private_key="keys/wechat_pub.pem"),
             "wechatpay.merchant_private_key"),
            (lambda c: c["wechatpay"].pop("merchant_serial_no"), "merchant_serial_no"),
            (lambda c: c["alipay"].update(app_private_key="keys/alipay_pub.pem"),
             "alipay.app_private_key"),
            (lambda c: c["stripe"].update(secret_key=""), "stripe.secret_key")):
        config = json.loads(json.dumps(env.p.config))
        change(config)
        path = env.p.write_config(config, os.path.join(env.dir, "broken.json"))
        code, obj, stderr = env.run("query", "wechatpay", "--order", "T1", config=path)
        assert code == 2 and obj is None and says in stderr, (says, stderr)
    # defaults: no api_base means the real hosts (not called here), no outbound means 5 s / 2
    config = json.loads(json.dumps(env.p.merchant.config))
    path = env.p.write_config(config, os.path.join(env.dir, "plain.json"))
    code, obj, _ = env.run("query", "epay", "--order", "T1", config=path)
    assert code == 2 and obj["error"]["code"] == "unknown_provider", obj


if __name__ == "__main__":
    harness.main([matrix_test("wechatpay"), matrix_test("alipay"), matrix_test("epay"),
                  matrix_test("stripe"), test_bad_signature_messages,
                  test_orders_the_provider_does_not_know,
                  test_epay_create_is_a_signed_url_without_a_request,
                  test_keys_the_provider_does_not_accept, test_unreachable_and_not_configured,
                  test_usage_errors, test_configuration_errors])
