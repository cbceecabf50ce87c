"""fake_providers.py — local stand-ins for the payment providers' APIs, for the tests of
`tessera pay create|query|refund` (tests/api/test_pay_outbound.py).

One plain-HTTP server per provider on 127.0.0.1 (http.server in a thread; Tessera's base
URLs are configurable). Each checks the incoming request exactly as the provider does —
WeChat Pay: the Authorization signature with the merchant's public key; Alipay: the RSA2
sign with the app's public key; Stripe: the bearer key (and Idempotency-Key); EPay: pid and
key — and answers like the provider: WeChat Pay's answers signed with the platform key,
Alipay's with the "Alipay" key. Keys are generated per run (paysign.Merchant and here);
nothing is checked in.

Every fake counts the attempts it saw and records authentication failures. Its mode says
how it answers:
  ok               the provider's answer
  5xx_once         HTTP 500 to the first attempt, then ok (a retry works)
  5xx_always       HTTP 500 to every attempt
  slow             sleeps SLOW_S before answering (past the client's timeout)
  bad_signature    an answer that must not be believed (signed with another key; for the
                   unsigned providers, EPay and Stripe, an answer about another order)
  business_error   the provider's business error
  busy             WeChat Pay and Alipay: "the outcome is unknown, call again" (FREQUENCY_LIMITED,
                   code 20000 isp.unknow-error)
"""
import base64
import datetime
import hashlib
import http.server
import json
import os
import re
import secrets
import threading
import time
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import paysign

SLOW_S = 2.0
APPID = "wxd678efh567hg6787"
MERCHANT_SERIAL = "444F4864EA9B34415CC4C1B4A0FE8DC05AA12D2B"
STRIPE_KEY = "sk_test_" + secrets.token_hex(12)


def _sign(key, message):
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _verify(public_key, signature_b64, message):
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), message,
                          padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


class Fake:
    """A server whose handle(method, target, headers, body) answers (status, headers, body)."""

    name = "fake"

    def __init__(self):
        self.mode = "ok"
        self.attempts = 0
        self.auth_failures = []
        self.requests = []  # (method, target, headers, body) of every attempt
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, answer = fake._dispatch(self.command, self.path,
                                                         dict(self.headers.items()), body)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up (the slow mode)

            do_GET = _serve
            do_POST = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self, mode="ok"):
        with self.lock:
            self.mode = mode
            self.attempts = 0
            self.auth_failures = []
            self.requests = []

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _dispatch(self, method, target, headers, body):
        with self.lock:
            self.attempts += 1
            attempt = self.attempts
            mode = self.mode
            self.requests.append((method, target, headers, body))
        why = self.authenticate(method, target, headers, body)
        if why:
            with self.lock:
                self.auth_failures.append(why)
            return self.auth_error(why)
        if mode == "5xx_always" or (mode == "5xx_once" and attempt == 1):
            return 500, {"Content-Type": "application/json"}, b'{"code":"SYSTEM_ERROR"}'
        if mode == "slow":
            time.sleep(SLOW_S)
        return self.handle(method, target, headers, body, mode)


# ---- WeChat Pay API v3 ---------------------------------------------------------------------
class WeChatPay(Fake):
    name = "wechatpay"

    def __init__(self, merchant, merchant_key):
        self.merchant = merchant  # paysign.Merchant: its wechat_cert_key is the platform key
        self.merchant_public = merchant_key.public_key()
        self.orders = {}  # out_trade_no -> {"total", "state", "transaction_id"}
        super().__init__()

    def authenticate(self, method, target, headers, body):
        auth = headers.get("Authorization", "")
        if not auth.startswith("WECHATPAY2-SHA256-RSA2048 "):
            return "no WECHATPAY2-SHA256-RSA2048 Authorization"
        fields = dict(re.findall(r'(\w+)="([^"]*)"', auth[len("WECHATPAY2-SHA256-RSA2048 "):]))
        if set(fields) != {"mchid", "nonce_str", "timestamp", "serial_no", "signature"}:
            return "Authorization fields"
        if fields["mchid"] != paysign.MCHID or fields["serial_no"] != MERCHANT_SERIAL:
            return "mchid or serial_no"
        if abs(time.time() - int(fields["timestamp"])) >= 300:
            return "timestamp"
        message = (f"{method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n"
                   .encode() + body + b"\n")
        if not _verify(self.merchant_public, fields["signature"], message):
            return "signature"
        return None

    def auth_error(self, why):
        return self.answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})

    def answer(self, status, obj, key=None):
        body = json.dumps(obj, ensure_ascii=False).encode()
        now, nonce = str(int(time.time())), secrets.token_hex(16)
        message = f"{now}\n{nonce}\n".encode() + body + b"\n"
        return status, {"Content-Type": "application/json",
                        "Wechatpay-Timestamp": now, "Wechatpay-Nonce": nonce,
                        "Wechatpay-Signature": _sign(key or self.merchant.wechat_cert_key, message),
                        "Wechatpay-Serial": self.merchant.wechat_serial,
                        "Request-ID": secrets.token_hex(8)}, body

    def handle(self, method, target, headers, body, mode):
        key = self.merchant.other_key if mode == "bad_signature" else None
        if mode == "business_error":
            return self.answer(400, {"code": "PARAM_ERROR", "message": "参数错误"}, key)
        if mode == "busy":  # WeChat Pay's "try again with the same request"
            return self.answer(429, {"code": "FREQUENCY_LIMITED", "message": "频率超限"}, key)
        url = urllib.parse.urlsplit(target)
        if method == "POST" and url.path == "/v3/pay/transactions/native":
            order = json.loads(body)
            assert set(order) == {"appid", "mchid", "description", "out_trade_no", "notify_url",
                                  "amount"}, order
            assert order["appid"] == APPID and order["mchid"] == paysign.MCHID, order
            assert isinstance(order["amount"]["total"], int), order
            assert order["amount"]["currency"] == "CNY", order
            return self.answer(200, {"code_url": "weixin://wxpay/bizpayurl?pr=" +
                                     order["out_trade_no"]}, key)
        prefix = "/v3/pay/transactions/out-trade-no/"
        if method == "GET" and url.path.startswith(prefix):
            assert urllib.parse.parse_qs(url.query) == {"mchid": [paysign.MCHID]}, target
            ref = url.path[len(prefix):]
            order = self.orders.get(ref)
            if order is None:
                return self.answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, key)
            return self.answer(200, {
                "appid": APPID, "mchid": paysign.MCHID, "out_trade_no": ref,
                "transaction_id": order["transaction_id"], "trade_type": "NATIVE",
                "trade_state": order["state"], "trade_state_desc": "支付成功",
                "amount": {"total": order["total"], "payer_total": order["total"],
                           "currency": "CNY", "payer_currency": "CNY"}}, key)
        if method == "POST" and url.path == "/v3/refund/domestic/refunds":
            refund = json.loads(body)
            assert "out_refund_no" in refund and ("out_trade_no" in refund or
                                                  "transaction_id" in refund), refund
            amount = refund["amount"]
            assert amount["refund"] <= amount["total"] and amount["currency"] == "CNY", refund
            return self.answer(200, {
                "refund_id": "50000000382019052709732678859",
                "out_refund_no": refund["out_refund_no"],
                "transaction_id": refund.get("transaction_id", "4200000000000000000000000001"),
                "out_trade_no": refund.get("out_trade_no", "T?"), "channel": "ORIGINAL",
                "status": "PROCESSING", "create_time": "2026-12-01T10:00:00+08:00",
                "amount": {"total": amount["total"], "refund": amount["refund"],
                           "currency": "CNY", "payer_total": amount["total"],
                           "payer_refund": amount["refund"]}}, key)
        return self.answer(404, {"code": "NOT_FOUND", "message": target})


# ---- Alipay open platform ------------------------------------------------------------------
class Alipay(Fake):
    name = "alipay"

    def __init__(self, merchant, app_key):
        self.merchant = merchant  # merchant.alipay_key signs answers ("Alipay's" key)
        self.app_public = app_key.public_key()
        self.orders = {}  # out_trade_no -> {"total": "88.88", "state", "trade_no"}
        super().__init__()

    def authenticate(self, method, target, headers, body):
        if method != "POST" or urllib.parse.urlsplit(target).path != "/gateway.do":
            return "not a POST to the gateway"
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
        if any(len(v) != 1 for v in form.values()):
            return "repeated parameter"
        form = {k: v[0] for k, v in form.items()}
        self.form = form
        for k, v in (("app_id", paysign.ALIPAY_APP_ID), ("charset", "utf-8"), ("format", "JSON"),
                     ("sign_type", "RSA2"), ("version", "1.0")):
            if form.get(k) != v:
                return k
        stamp = datetime.datetime.strptime(form["timestamp"], "%Y-%m-%d %H:%M:%S")
        beijing = datetime.datetime.utcnow() + datetime.timedelta(hours=8)
        if abs((beijing - stamp).total_seconds()) > 900:
            return "timestamp"
        signed = "&".join(f"{k}={form[k]}" for k in sorted(form) if k != "sign" and form[k] != "")
        if not _verify(self.app_public, form.get("sign", ""), signed.encode()):
            return "sign"
        return None

    def answer(self, method, member, key=None, signed=True):
        name = method.replace(".", "_") + "_response"
        # the member's raw text, as Alipay writes it: compact, non-ASCII kept, '/' escaped
        text = json.dumps(member, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
        body = '{"' + name + '":' + text
        if signed:
            body += ',"sign":"' + _sign(key or self.merchant.alipay_key, text.encode()) + '"'
        return 200, {"Content-Type": "text/html;charset=utf-8"}, (body + "}").encode()

    def auth_error(self, why):
        method = getattr(self, "form", {}).get("method", "alipay.trade.query")
        return self.answer(method, {"code": "40002", "msg": "Invalid Arguments",
                                    "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"},
                           signed=False)

    def handle(self, method_, target, headers, body, mode):
        form = self.form
        method, biz = form["method"], json.loads(form["biz_content"])
        key = self.merchant.other_key if mode == "bad_signature" else None
        if mode == "business_error":
            return self.answer(method, {"code": "40004", "msg": "Business Failed",
                                        "sub_code": "ACQ.TRADE_STATUS_ERROR",
                                        "sub_msg": "交易状态不合法"}, key)
        if mode == "busy":  # Alipay does not know the outcome: call again, same parameters
            return self.answer(method, {"code": "20000", "msg": "Service Currently Unavailable",
                                        "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"},
                               key)
        if method == "alipay.trade.precreate":
            assert form.get("notify_url", "").startswith("https://"), form
            assert re.fullmatch(r"\d+\.\d\d", biz["total_amount"]), biz
            assert biz["subject"], biz
            return self.answer(method, {"code": "10000", "msg": "Success",
                                        "out_trade_no": biz["out_trade_no"],
                                        "qr_code": "https://qr.alipay.com/bax08431ajvsxmcwzzub"},
                               key)
        if method == "alipay.trade.query":
            order = self.orders.get(biz["out_trade_no"])
            if order is None:
                return self.answer(method, {"code": "40004", "msg": "Business Failed",
                                            "sub_code": "ACQ.TRADE_NOT_EXIST",
                                            "sub_msg": "交易不存在"}, key)
            return self.answer(method, {"code": "10000", "msg": "Success",
                                        "trade_no": order["trade_no"],
                                        "out_trade_no": biz["out_trade_no"],
                                        "buyer_logon_id": "159****5620",
                                        "trade_status": order["state"],
                                        "total_amount": order["total"], "buyer_pay_amount": "0.00",
                                        "send_pay_date": "2026-12-01 10:00:00"}, key)
        if method == "alipay.trade.refund":
            assert re.fullmatch(r"\d+\.\d\d", biz["refund_amount"]), biz
            assert biz["out_request_no"], biz
            return self.answer(method, {"code": "10000", "msg": "Success",
                                        "trade_no": "2026120122001400000000000001",
                                        "out_trade_no": biz["out_trade_no"],
                                        "buyer_logon_id": "159****5620", "fund_change": "Y",
                                        "refund_fee": biz["refund_amount"]}, key)
        return self.answer(method, {"code": "40004", "msg": "Business Failed",
                                    "sub_code": "ACQ.UNKNOWN_METHOD"}, key)


# ---- EPay ----------------------------------------------------------------------------------
class EPay(Fake):
    name = "epay"

    def __init__(self, merchant):
        self.merchant = merchant
        self.orders = {}  # out_trade_no -> {"money": "12.34", "status": 1, "trade_no"}
        super().__init__()

    def _params(self, method, target, body):
        url = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        params = {k: v[0] for k, v in query.items()}
        if method == "POST":
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            params.update({k: v[0] for k, v in form.items()})
        return url.path, params

    def authenticate(self, method, target, headers, body):
        path, params = self._params(method, target, body)
        if path != "/api.php":
            return "not api.php"
        if params.get("pid") != paysign.EPAY_PID or params.get("key") != self.merchant.epay_key:
            return "pid or key"
        return None

    def json(self, obj):
        return 200, {"Content-Type": "application/json"}, json.dumps(obj, ensure_ascii=False).encode()

    def auth_error(self, why):
        return self.json({"code": -3, "msg": "KEY校验失败"})

    def handle(self, method, target, headers, body, mode):
        _, params = self._params(method, target, body)
        if mode == "business_error":
            return self.json({"code": -1, "msg": "订单状态不正确"})
        if params.get("act") == "order" and method == "GET":
            ref = params["out_trade_no"]
            order = self.orders.get(ref)
            if order is None:
                return self.json({"code": -1, "msg": "订单号不存在"})
            return self.json({"code": 1, "msg": "查询订单号成功！", "trade_no": order["trade_no"],
                              "out_trade_no": "T999999" if mode == "bad_signature" else ref,
                              "api_trade_no": "", "type": "alipay", "pid": paysign.EPAY_PID,
                              "addtime": "2026-12-01 10:00:00", "endtime": "2026-12-01 10:00:09",
                              "name": "游戏点卡", "money": order["money"],
                              "status": order["status"]})
        if params.get("act") == "refund" and method == "POST":
            assert re.fullmatch(r"\d+\.\d\d", params["money"]), params
            assert params.get("out_trade_no") or params.get("trade_no"), params
            if mode == "bad_signature":
                return 200, {"Content-Type": "text/html"}, b"<html>refunded?</html>"
            return self.json({"code": 1, "msg": "退款成功！"})
        return self.json({"code": -5, "msg": "No Act!"})


# ---- Stripe --------------------------------------------------------------------------------
class Stripe(Fake):
    name = "stripe"

    def __init__(self):
        self.intents = {}  # pi id -> PaymentIntent
        self.idempotency = {}  # Idempotency-Key -> answer body
        super().__init__()

    def authenticate(self, method, target, headers, body):
        if headers.get("Authorization") != f"Bearer {STRIPE_KEY}":
            return "bearer key"
        if method == "POST" and not headers.get("Idempotency-Key"):
            return "no Idempotency-Key"
        return None

    def json(self, status, obj):
        return status, {"Content-Type": "application/json",
                        "Request-Id": "req_" + secrets.token_hex(7)}, json.dumps(obj).encode()

    def auth_error(self, why):
        return self.json(401, {"error": {"type": "invalid_request_error",
                                         "message": "Invalid API Key provided"}})

    def add_intent(self, order_ref, amount, status="succeeded", currency="cny"):
        pi = "pi_" + secrets.token_hex(12)
        self.intents[pi] = {"id": pi, "object": "payment_intent", "amount": amount,
                            "amount_received": amount if status == "succeeded" else 0,
                            "currency": currency, "status": status,
                            "client_secret": pi + "_secret_" + secrets.token_hex(12),
                            "metadata": {"order_id": order_ref}, "livemode": False}
        return pi

    def handle(self, method, target, headers, body, mode):
        url = urllib.parse.urlsplit(target)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        if mode == "business_error":
            return self.json(400, {"error": {"type": "invalid_request_error",
                                             "code": "parameter_invalid_integer",
                                             "message": "Invalid integer"}})
        key = headers.get("Idempotency-Key")
        if method == "POST" and key in self.idempotency:
            return self.json(200, self.idempotency[key])
        if method == "POST" and url.path == "/v1/payment_intents":
            assert form["currency"] == form["currency"].lower(), form
            assert key == "create-" + form["metadata[order_id]"], (key, form)
            pi = self.add_intent(form["metadata[order_id]"], int(form["amount"]),
                                 "requires_payment_method", form["currency"])
            intent = dict(self.intents[pi], description=form.get("description"))
            if mode == "bad_signature":
                intent["metadata"] = {"order_id": "T999999"}
            self.idempotency[key] = intent
            return self.json(200, intent)
        if method == "GET" and url.path == "/v1/payment_intents/search":
            query = urllib.parse.parse_qs(url.query)["query"][0]
            ref = re.fullmatch(r"metadata\['order_id'\]:'([A-Za-z0-9_-]+)'", query).group(1)
            data = [i for i in self.intents.values() if i["metadata"]["order_id"] == ref]
            if mode == "bad_signature":
                data = [dict(i, metadata={"order_id": "T999999"}) for i in data]
            return self.json(200, {"object": "search_result", "data": data, "has_more": False,
                                   "url": "/v1/payment_intents/search"})
        if method == "GET" and url.path.startswith("/v1/payment_intents/"):
            intent = self.intents.get(url.path[len("/v1/payment_intents/"):])
            if intent is None:
                return self.json(404, {"error": {"type": "invalid_request_error",
                                                 "code": "resource_missing",
                                                 "message": "No such payment_intent"}})
            if mode == "bad_signature":
                intent = dict(intent, metadata={"order_id": "T999999"})
            return self.json(200, intent)
        if method == "POST" and url.path == "/v1/refunds":
            assert key == "refund-" + form["metadata[refund_ref]"], (key, form)
            assert form["payment_intent"] in self.intents, form
            refund = {"id": "re_" + secrets.token_hex(12), "object": "refund",
                      "amount": int(form["amount"]), "payment_intent": form["payment_intent"],
                      "status": "succeeded", "metadata": {k[9:-1]: v for k, v in form.items()
                                                          if k.startswith("metadata[")}}
            if mode == "bad_signature":
                refund = {"object": "refund"}
            self.idempotency[key] = refund
            return self.json(200, refund)
        return self.json(404, {"error": {"type": "invalid_request_error",
                                         "message": "Unrecognized request URL"}})


# ---- all four, and a configuration naming them ---------------------------------------------
def _private_pem(key, pkcs8=True):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8 if pkcs8
                             else serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


class Providers:
    """paysign.Merchant's keys and configuration, plus API keys and the four fakes."""

    def __init__(self, directory, timeout_ms=800, retries=2):
        self.dir = directory
        self.merchant = paysign.Merchant(directory)
        self.merchant_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.wechat = WeChatPay(self.merchant, self.merchant_key)
        self.alipay = Alipay(self.merchant, self.app_key)
        self.epay = EPay(self.merchant)
        self.stripe = Stripe()
        self.all = [self.wechat, self.alipay, self.epay, self.stripe]
        keys = os.path.join(directory, "keys")
        self.merchant_pem = _private_pem(self.merchant_key)  # WeChat's apiclient_key.pem: PKCS#8
        self.app_pem = _private_pem(self.app_key, pkcs8=False)  # PKCS#1, as Alipay's tool writes
        with open(os.path.join(keys, "apiclient_key.pem"), "wb") as f:
            f.write(self.merchant_pem)
        with open(os.path.join(keys, "alipay_app_key.pem"), "wb") as f:
            f.write(self.app_pem)
        config = json.loads(json.dumps(self.merchant.config))
        config["wechatpay"].update({
            "appid": APPID, "merchant_private_key": "keys/apiclient_key.pem",
            "merchant_serial_no": MERCHANT_SERIAL, "api_base": self.wechat.base,
            "notify_url": "https://shop.example/api/v1/pay/wechatpay/notify"})
        config["alipay"].update({
            "app_private_key": "keys/alipay_app_key.pem", "gateway": self.alipay.base + "/gateway.do",
            "notify_url": "https://shop.example/api/v1/pay/alipay/notify"})
        config["epay"].update({
            "api_url": self.epay.base + "/api.php", "submit_url": self.epay.base + "/submit.php",
            "notify_url": "https://shop.example/api/v1/pay/epay/notify"})
        config["stripe"].update({"secret_key": STRIPE_KEY, "api_base": self.stripe.base})
        config["outbound"] = {"timeout_ms": timeout_ms, "connect_timeout_ms": timeout_ms,
                              "retries": retries}
        self.config = config
        self.config_path = os.path.join(directory, "outbound.json")
        self.write_config(config, self.config_path)

    def write_config(self, config, path):
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    def secrets(self):
        """Every secret the configuration holds; none may reach any output."""
        pem_lines = [line for pem in (self.merchant_pem, self.app_pem)
                     for line in pem.decode().splitlines() if "PRIVATE KEY" not in line]
        return [STRIPE_KEY, self.merchant.epay_key, self.merchant.apiv3_key,
                self.merchant.stripe_secret] + pem_lines

    def reset(self, mode="ok"):
        for fake in self.all:
            fake.reset(mode)

    def close(self):
        for fake in self.all:
            fake.close()


def epay_sign_ok(url, key):
    """Whether an EPay submit.php URL is signed as EPay checks it."""
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))
    sign = params.pop("sign")
    params.pop("sign_type")
    content = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] != "") + key
    return hashlib.md5(content.encode()).hexdigest() == sign
