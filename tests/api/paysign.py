"""paysign.py — a merchant's test keys and notices signed the way each gateway signs them
(../shared/PROTOCOLS.md), for the tests of `tessera pay verify` and of the notify endpoints.
Every key is generated here, per test run (python3-cryptography); nothing is checked in."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

MCHID = "1900000109"
ALIPAY_APP_ID = "2021000117600001"
ALIPAY_SELLER = "2088102147948060"
EPAY_PID = "1001"
WECHAT_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _certificate(key, serial):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA test")])
    now = datetime.datetime(2025, 1, 1)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))


def _sign(key, message):
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


class Merchant:
    """Keys for every provider and a configuration file naming them (PEM paths relative)."""

    def __init__(self, directory, apiv3=True):
        self.dir = directory
        self.wechat_cert_key = _rsa()
        self.wechat_serial_number = secrets.randbits(150) | (1 << 140)
        cert = _certificate(self.wechat_cert_key, self.wechat_serial_number)
        self.wechat_serial = format(self.wechat_serial_number, "X")
        self.wechat_pub_key = _rsa()  # the newer "platform public key" mode
        self.alipay_key = _rsa()
        self.other_key = _rsa()  # signs forgeries
        self.apiv3_key = secrets.token_hex(16)  # 32 ASCII characters
        self.epay_key = secrets.token_hex(16)
        self.stripe_secret = "whsec_" + secrets.token_hex(16)
        os.makedirs(os.path.join(directory, "keys"), exist_ok=True)
        self._write("keys/wechat_cert.pem", cert.public_bytes(serialization.Encoding.PEM))
        self._write("keys/wechat_pub.pem", _public_pem(self.wechat_pub_key))
        self._write("keys/alipay_pub.pem", _public_pem(self.alipay_key))
        wechat = {"mchid": MCHID, "platform_certs": ["keys/wechat_cert.pem"],
                  "platform_public_key": "keys/wechat_pub.pem",
                  "platform_public_key_id": WECHAT_KEY_ID}
        if apiv3:
            wechat["apiv3_key"] = self.apiv3_key
        self.config = {
            "wechatpay": wechat,
            "alipay": {"app_id": ALIPAY_APP_ID, "seller_id": ALIPAY_SELLER,
                       "alipay_public_key": "keys/alipay_pub.pem"},
            "epay": {"pid": EPAY_PID, "key": self.epay_key},
            "stripe": {"webhook_secret": self.stripe_secret},
        }
        self.config_path = os.path.join(directory, "pay.json")
        self._write("pay.json", json.dumps(self.config).encode())

    def _write(self, name, data):
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)

    # ---- WeChat Pay v3 -------------------------------------------------------------------
    def wechat_resource(self, out_trade_no="T1001", total=100, currency="CNY", mchid=MCHID,
                        state="SUCCESS", transaction="4200001234202612010000000001"):
        return {"mchid": mchid, "appid": "wxd678efh567hg6787", "out_trade_no": out_trade_no,
                "transaction_id": transaction, "trade_type": "NATIVE", "trade_state": state,
                "trade_state_desc": "支付成功", "bank_type": "OTHERS",
                "success_time": "2026-12-01T10:00:00+08:00", "payer": {"openid": "o-test"},
                "amount": {"total": total, "payer_total": total, "currency": currency,
                           "payer_currency": currency}}

    def wechat_notice(self, resource, now, key=None, serial=None, nonce=None, aad="transaction",
                      apiv3_key=None, event_type="TRANSACTION.SUCCESS", notice_id=None):
        """(body bytes, headers dict) as WeChat Pay sends them."""
        nonce12 = secrets.token_hex(6)
        sealed = AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(
            nonce12.encode(), json.dumps(resource, ensure_ascii=False).encode(),
            aad.encode() if aad else None)
        body = json.dumps({
            "id": notice_id or "EV-" + secrets.token_hex(8), "create_time": "2026-12-01T10:00:01+08:00",
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(sealed).decode(), "associated_data": aad,
                         "nonce": nonce12}}, ensure_ascii=False).encode()
        return body, self.wechat_headers(body, now, key=key, serial=serial, nonce=nonce)

    def wechat_headers(self, body, now, key=None, serial=None, nonce=None):
        nonce = nonce or secrets.token_hex(16)
        message = f"{now}\n{nonce}\n".encode() + body + b"\n"
        return {"Wechatpay-Timestamp": str(now), "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": _sign(key or self.wechat_cert_key, message),
                "Wechatpay-Serial": serial or self.wechat_serial,
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}

    # ---- Alipay ----------------------------------------------------------------------------
    def alipay_fields(self, out_trade_no="T1001", total="1.00", app_id=ALIPAY_APP_ID,
                      seller=ALIPAY_SELLER, status="TRADE_SUCCESS"):
        return {"notify_time": "2026-12-01 10:00:01", "notify_type": "trade_status_sync",
                "notify_id": "ac05099524730693a8b330c5ecf72da9786", "charset": "utf-8",
                "version": "1.0", "app_id": app_id, "seller_id": seller,
                "trade_no": "2026120122001400000000000001", "out_trade_no": out_trade_no,
                "total_amount": total, "receipt_amount": total, "buyer_pay_amount": total,
                "trade_status": status, "subject": "游戏点卡 100元", "gmt_payment": "2026-12-01 10:00:00"}

    def alipay_body(self, fields, key=None, keep_sign_type=False):
        """An x-www-form-urlencoded body signed RSA2 (sign_type kept in the string if asked)."""
        fields = dict(fields)
        fields["sign_type"] = "RSA2"
        signed = {k: v for k, v in fields.items() if v != "" and (keep_sign_type or k != "sign_type")}
        content = "&".join(f"{k}={signed[k]}" for k in sorted(signed))
        fields["sign"] = _sign(key or self.alipay_key, content.encode())
        return urllib.parse.urlencode(fields).encode()

    def alipay_private_pem(self):
        return self.alipay_key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode()

    def alipay_public_pem(self):
        return _public_pem(self.alipay_key).decode()

    # ---- EPay ------------------------------------------------------------------------------
    def epay_fields(self, out_trade_no="T1001", money="1.00", pid=EPAY_PID, status="TRADE_SUCCESS"):
        return {"pid": pid, "trade_no": "2026120110000001", "out_trade_no": out_trade_no,
                "type": "alipay", "name": "游戏点卡", "money": money, "trade_status": status,
                "param": ""}

    def epay_query(self, fields, key=None):
        signed = {k: v for k, v in fields.items() if v != "" and k not in ("sign", "sign_type")}
        content = "&".join(f"{k}={signed[k]}" for k in sorted(signed)) + (key or self.epay_key)
        fields = dict(fields, sign=hashlib.md5(content.encode()).hexdigest(), sign_type="MD5")
        return urllib.parse.urlencode(fields).encode()

    # ---- Stripe ----------------------------------------------------------------------------
    def stripe_event(self, order="T1001", amount=100, currency="cny",
                     kind="payment_intent.succeeded"):
        return {"id": "evt_" + secrets.token_hex(12), "object": "event", "type": kind,
                "created": 1764583200, "livemode": False,
                "data": {"object": {"id": "pi_" + secrets.token_hex(12), "object": "payment_intent",
                                    "amount": amount, "amount_received": amount,
                                    "currency": currency, "status": "succeeded",
                                    "metadata": {"order_id": order}}}}

    def stripe_notice(self, event, now, secret=None, extra=""):
        body = json.dumps(event).encode()
        mac = hmac.new((secret or self.stripe_secret).encode(), f"{now}.".encode() + body,
                       hashlib.sha256).hexdigest()
        return body, {"Stripe-Signature": f"t={now},v1={mac}{extra}"}
