"""test_bad_input.py — the "Bad input" table of issue 2: every kind of bad request, each
sent to a real server as raw HTTP, each expected to get its own status and error code and
to change nothing.

After every row: the answer is {"error":{"code","message"}} JSON with the expected status
and code; no secret (password, token, card code) appears in it; `tessera check` passes;
the stock of every product, both buyers' balances and the row count of every table are
what they were before the row.

The expired token is real: the buyer logs in while the server runs with TESSERA_FAKE_NOW
set one session lifetime plus an hour in the past (src/base/clock.c), so the session it
gets expired an hour ago; the server is then restarted on the real clock."""
import http.client
import json
import os
import re
import secrets
import socket
import sqlite3
import time

import harness


def read_limits():
    """The numeric LIMIT_* constants of src/base/limits.h, so the table follows the header."""
    with open(os.path.join(harness.ROOT, "src", "base", "limits.h")) as f:
        text = f.read()
    limits = {}
    for m in re.finditer(r"^#define (LIMIT_\w+)\s+([^/\n]+)", text, re.M):
        expr = re.sub(r"(\d+)LL\b", r"\1", m.group(2).strip())
        if re.fullmatch(r"[\d\s()*+-]+", expr):
            limits[m.group(1)] = int(eval(expr))  # digits and arithmetic only
    return limits


LIMITS = read_limits()
BODY_LIMIT = LIMITS["LIMIT_BODY_BYTES"]
IMPORT_BODY_LIMIT = LIMITS.get("LIMIT_IMPORT_BODY_BYTES", BODY_LIMIT)  # code imports may take more
JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}
CSV = {"Content-Type": "text/csv"}
INT64_MAX = 2**63 - 1

# Values that must never come back in an answer (checked on every row, and in the log).
WRONG_PASSWORD = "wrong-" + secrets.token_hex(8)
SHORT_PASSWORD = "s" + secrets.token_hex(2)
LONG_CODE = ("LONG-" + secrets.token_hex(8)).ljust(LIMITS["LIMIT_CODE_BYTES"] + 1, "Z")
SECRET_CODE = "SECRET-" + secrets.token_hex(8)
EXPIRED_CODE = "EXPIRED-" + secrets.token_hex(8)


def j(value):
    return json.dumps(value).encode()


def keyed(key="bad-input-key"):
    return dict(JSON, **{"Idempotency-Key": key})


def restart_with_env(server, env):
    """Restarts the server with extra environment variables (the harness starts it from
    os.environ), then puts os.environ back."""
    server.stop()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        server.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def send_raw(port, method, path, headers, body):
    """One request on a fresh connection, written byte for byte. A body is chunked when the
    headers say Transfer-Encoding: chunked. The server may answer (413) and close before
    the body is all sent; the answer is still read."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    chunked = any(k.lower() == "transfer-encoding" for k, _ in headers)
    for name, value in headers:
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()))
    payload = b""
    if body is not None:
        if chunked:
            step = 64 * 1024
            payload = b"".join(b"%x\r\n" % len(body[i:i + step]) + body[i:i + step] + b"\r\n"
                               for i in range(0, len(body), step)) + b"0\r\n\r\n"
        else:
            lines.append(b"Content-Length: %d" % len(body))
            payload = body
    data = b"\r\n".join(lines) + b"\r\n\r\n" + payload
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered early; read the answer below
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            return harness.Response(response.status, dict(response.getheaders()), response.read())
        except (http.client.HTTPException, OSError) as e:
            return harness.Response(0, {}, f"no answer: {type(e).__name__}".encode())
    finally:
        sock.close()


class Context:
    def __init__(self):
        self.server = harness.Server()
        self.admin = self.server.admin()
        self.passwords = {"admin": harness.ADMIN_PASSWORD}
        self.tokens = {"admin": self.admin.token}
        self.names = {}
        for who, role in (("buyer", "buyer"), ("poor", "buyer"), ("support", "support"),
                          ("supplier", "supplier")):
            name = f"{who}-{secrets.token_hex(4)}"
            password = "pw-" + secrets.token_hex(8)
            r = self.admin.post("/api/v1/users", {"username": name, "password": password, "role": role})
            assert r.status == 201, r
            self.names[who] = name
            self.passwords[who] = password
            self.tokens[who] = self.server.login(name, password)
        r = self.admin.post("/api/v1/wallet/credits",
                            {"username": self.names["buyer"], "amount": 100000, "reason": "setup"})
        assert r.status == 201, r
        # An order of the buyer's, for the order-read rows.
        self.sku = "JD-E100"
        buyer = self.server.client(self.tokens["buyer"])
        r = buyer.post("/api/v1/orders", {"sku": self.sku, "quantity": 2}, headers={"Idempotency-Key": "setup-1"})
        assert r.status == 201, r
        self.order = r.json()
        self.make_expired_token()
        self.tokens["invalid"] = secrets.token_hex(32)  # well-formed, never issued
        self.secrets = [*self.passwords.values(), *self.tokens.values(), *self.order["codes"],
                        WRONG_PASSWORD, SHORT_PASSWORD, LONG_CODE, SECRET_CODE, EXPIRED_CODE]
        self.baseline = self.snapshot()

    def make_expired_token(self):
        ttl = LIMITS["LIMIT_SESSION_TTL_S"]
        past = int(time.time()) - ttl - 3600
        restart_with_env(self.server, {"TESSERA_FAKE_NOW": str(past)})
        token = self.server.login(self.names["buyer"], self.passwords["buyer"])
        # Under the clock it was issued on, the token works: the later 401 is its expiry.
        r = self.server.client(token).get("/api/v1/wallet")
        assert r.status == 200, r
        restart_with_env(self.server, {"TESSERA_FAKE_NOW": "0"})  # 0: the real clock
        self.tokens["expired"] = token
        r = self.server.client(self.tokens["buyer"]).get("/api/v1/wallet")
        assert r.status == 200, r  # a live session still works after the restart

    def auth(self, who):
        if who is None:
            return []
        if who == "garbage":
            return [("Authorization", "Bearer not-a-token")]
        if who == "basic":
            return [("Authorization", "Basic " + self.tokens["buyer"])]
        return [("Authorization", "Bearer " + self.tokens[who])]

    def snapshot(self):
        public = self.server.client()
        r = public.get("/api/v1/products")
        assert r.status == 200, r
        stock = {p["sku"]: p for p in r.json()["products"]}
        balances = {}
        for who in ("buyer", "poor"):
            r = public.get("/api/v1/wallet", token=self.tokens[who])
            assert r.status == 200, r
            balances[who] = r.json()["balance"]
        public.close()
        code, summary = self.server.check()
        assert code == 0 and summary["ok"], summary
        db = sqlite3.connect(f"file:{self.server.db}?mode=ro", uri=True)
        try:
            tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            rows = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        finally:
            db.close()
        return {"stock": stock, "balances": balances, "counts": summary["counts"], "rows": rows}


def rows(ctx):
    """(name, method, path, who, headers, body, status, code). who: None (no token), a user
    (admin, buyer, poor, support, supplier), or a bad credential (invalid, garbage, basic,
    expired)."""
    oid = ctx.order["id"]
    buyer = ctx.names["buyer"]
    sku = ctx.sku
    login = "/api/v1/auth/login"
    users = "/api/v1/users"
    products = "/api/v1/products"
    codes = f"/api/v1/products/{sku}/codes"
    credits = "/api/v1/wallet/credits"
    orders = "/api/v1/orders"
    product = {"sku": "NEW-1", "name": "New", "face_value": 100, "price": 90, "liquidity": "high"}
    credit = {"username": buyer, "amount": 100, "reason": "r"}
    order = {"sku": sku, "quantity": 1}

    def padded(value, size):
        text = j(value)
        return text[:-1] + b" " * (size - len(text)) + b"}"

    table = [
        # --- login: wrong credentials and malformed bodies
        ("wrong password", "POST", login, None, JSON, j({"username": buyer, "password": WRONG_PASSWORD}), 401, "bad_credentials"),
        ("unknown user", "POST", login, None, JSON, j({"username": "nobody-here", "password": WRONG_PASSWORD}), 401, "bad_credentials"),
        ("password of another user", "POST", login, None, JSON, j({"username": buyer, "password": ctx.passwords["poor"]}), 401, "bad_credentials"),
        ("login malformed JSON", "POST", login, None, JSON, b'{"username": "a", "password": ', 400, "invalid_json"),
        ("login empty body", "POST", login, None, JSON, b"", 400, "invalid_json"),
        ("login no body", "POST", login, None, {}, None, 400, "invalid_json"),
        ("login JSON array", "POST", login, None, JSON, b'["a", "b"]', 400, "invalid_field"),
        ("login JSON string", "POST", login, None, JSON, b'"hello"', 400, "invalid_json"),
        ("login missing password", "POST", login, None, JSON, j({"username": buyer}), 400, "invalid_field"),
        ("login null password", "POST", login, None, JSON, j({"username": buyer, "password": None}), 400, "invalid_field"),
        ("login password number", "POST", login, None, JSON, j({"username": buyer, "password": 12345678}), 400, "invalid_field"),
        ("login X-Device-Id too long", "POST", login, None, dict(JSON, **{"X-Device-Id": "d" * (LIMITS["LIMIT_RISK_TEXT_BYTES"] + 1)}), j({"username": buyer, "password": "not-the-password"}), 422, "invalid_value"),
        ("login unknown field", "POST", login, None, JSON, j({"username": buyer, "password": WRONG_PASSWORD, "otp": "1"}), 400, "invalid_field"),
        ("login duplicate key", "POST", login, None, JSON,
         b'{"username": "%s", "password": "%s", "password": "%s"}' % (buyer.encode(), WRONG_PASSWORD.encode(), ctx.passwords["buyer"].encode()), 400, "invalid_json"),
        ("login non-UTF-8", "POST", login, None, JSON, b'{"username": "\xff\xfe", "password": "' + WRONG_PASSWORD.encode() + b'"}', 400, "invalid_json"),
        ("login overlong UTF-8", "POST", login, None, JSON, b'{"username": "\xc0\xaf", "password": "x"}', 400, "invalid_json"),
        ("login NUL escape", "POST", login, None, JSON, b'{"username": "a\\u0000b", "password": "x"}', 400, "invalid_json"),
        ("login empty password", "POST", login, None, JSON, j({"username": buyer, "password": ""}), 422, "invalid_value"),
        ("login trailing garbage", "POST", login, None, JSON, j({"username": buyer, "password": WRONG_PASSWORD}) + b" x", 400, "invalid_json"),

        # --- tokens
        ("no token", "GET", "/api/v1/wallet", None, {}, None, 401, "unauthorized"),
        ("invalid token", "GET", "/api/v1/wallet", "invalid", {}, None, 401, "unauthorized"),
        ("garbage token", "GET", "/api/v1/wallet", "garbage", {}, None, 401, "unauthorized"),
        ("basic scheme", "GET", "/api/v1/wallet", "basic", {}, None, 401, "unauthorized"),
        ("expired token", "GET", "/api/v1/wallet", "expired", {}, None, 401, "unauthorized"),
        ("expired token orders", "POST", orders, "expired", keyed(), j(order), 401, "unauthorized"),
        ("expired token codes", "GET", f"/api/v1/orders/{oid}/codes", "expired", {}, None, 401, "unauthorized"),
        ("invalid token orders", "POST", orders, "invalid", keyed(), j(order), 401, "unauthorized"),
        ("no token credits", "POST", credits, None, JSON, j(credit), 401, "unauthorized"),
        ("no token users", "POST", users, None, JSON, j({"username": "x1", "password": "password-1", "role": "admin"}), 401, "unauthorized"),
        ("no token import", "POST", codes, None, TEXT, SECRET_CODE.encode(), 401, "unauthorized"),

        # --- wrong role
        ("buyer creates user", "POST", users, "buyer", JSON, j({"username": "x2", "password": "password-1", "role": "admin"}), 403, "forbidden"),
        ("support creates product", "POST", products, "support", JSON, j(product), 403, "forbidden"),
        ("buyer imports codes", "POST", codes, "buyer", TEXT, SECRET_CODE.encode(), 403, "forbidden"),
        ("support imports codes", "POST", codes, "support", TEXT, SECRET_CODE.encode(), 403, "forbidden"),
        ("buyer credits itself", "POST", credits, "buyer", JSON, j(credit), 403, "forbidden"),
        ("supplier credits", "POST", credits, "supplier", JSON, j(credit), 403, "forbidden"),
        ("admin orders", "POST", orders, "admin", keyed(), j(order), 403, "forbidden"),
        ("support orders", "POST", orders, "support", keyed(), j(order), 403, "forbidden"),
        ("supplier reads order", "GET", f"/api/v1/orders/{oid}", "supplier", {}, None, 403, "forbidden"),
        ("support reads codes", "GET", f"/api/v1/orders/{oid}/codes", "support", {}, None, 403, "forbidden"),
        ("admin reads codes", "GET", f"/api/v1/orders/{oid}/codes", "admin", {}, None, 403, "forbidden"),

        # --- users
        ("user bad role", "POST", users, "admin", JSON, j({"username": "x3", "password": "password-1", "role": "root"}), 422, "invalid_value"),
        ("user duplicate name", "POST", users, "admin", JSON, j({"username": buyer, "password": "password-1", "role": "buyer"}), 409, "already_exists"),
        ("user short password", "POST", users, "admin", JSON, j({"username": "x4", "password": SHORT_PASSWORD, "role": "buyer"}), 422, "invalid_value"),
        ("user name with space", "POST", users, "admin", JSON, j({"username": "a b", "password": "password-1", "role": "buyer"}), 422, "invalid_value"),
        ("user name too long", "POST", users, "admin", JSON, j({"username": "u" * (LIMITS["LIMIT_USERNAME_BYTES"] + 1), "password": "password-1", "role": "buyer"}), 422, "invalid_value"),
        ("user role number", "POST", users, "admin", JSON, j({"username": "x5", "password": "password-1", "role": 1}), 400, "invalid_field"),
        ("user missing role", "POST", users, "admin", JSON, j({"username": "x6", "password": "password-1"}), 400, "invalid_field"),
        ("user unknown field", "POST", users, "admin", JSON, j({"username": "x7", "password": "password-1", "role": "buyer", "balance": 5}), 400, "invalid_field"),

        # --- products
        ("price negative", "POST", products, "admin", JSON, j(dict(product, price=-1)), 422, "invalid_amount"),
        ("price zero", "POST", products, "admin", JSON, j(dict(product, price=0)), 422, "invalid_amount"),
        ("price over limit", "POST", products, "admin", JSON, j(dict(product, price=LIMITS["LIMIT_AMOUNT_MINOR"] + 1)), 422, "invalid_amount"),
        ("price int64 max", "POST", products, "admin", JSON, j(dict(product, price=INT64_MAX)), 422, "invalid_amount"),
        ("price overflows int64", "POST", products, "admin", JSON, j(dict(product, price=2**63)), 422, "overflow"),
        ("face value overflows", "POST", products, "admin", JSON, j(dict(product, face_value=10**30)), 422, "overflow"),
        ("price float", "POST", products, "admin", JSON, j(dict(product, price=9.5)), 400, "invalid_field"),
        ("price float integral", "POST", products, "admin", JSON, j(dict(product, price=90.0)), 400, "invalid_field"),
        ("price exponent", "POST", products, "admin", JSON, b'{"sku": "NEW-1", "name": "New", "face_value": 100, "price": 9e1, "liquidity": "high"}', 400, "invalid_field"),
        ("price string", "POST", products, "admin", JSON, j(dict(product, price="90")), 400, "invalid_field"),
        ("price boolean", "POST", products, "admin", JSON, j(dict(product, price=True)), 400, "invalid_field"),
        ("missing liquidity", "POST", products, "admin", JSON, j({k: v for k, v in product.items() if k != "liquidity"}), 400, "invalid_field"),
        ("bad liquidity", "POST", products, "admin", JSON, j(dict(product, liquidity="mid")), 422, "invalid_value"),
        ("bad currency", "POST", products, "admin", JSON, j(dict(product, currency="cny")), 422, "invalid_value"),
        ("sku with slash", "POST", products, "admin", JSON, j(dict(product, sku="A/B")), 422, "invalid_value"),
        ("product sku too long", "POST", products, "admin", JSON, j(dict(product, sku="S" * (LIMITS["LIMIT_SKU_BYTES"] + 1))), 422, "invalid_value"),
        ("empty name", "POST", products, "admin", JSON, j(dict(product, name="")), 422, "invalid_value"),
        ("duplicate sku", "POST", products, "admin", JSON, j(dict(product, sku=sku)), 409, "already_exists"),
        ("product duplicate key", "POST", products, "admin", JSON, j(product)[:-1] + b', "price": 1}', 400, "invalid_json"),

        # --- code import
        ("import unknown sku", "POST", "/api/v1/products/NO-SUCH-SKU/codes", "admin", TEXT, SECRET_CODE.encode(), 404, "unknown_sku"),
        ("import sku too long", "POST", "/api/v1/products/%s/codes" % ("S" * 100), "admin", TEXT, SECRET_CODE.encode(), 404, "unknown_sku"),
        ("import as JSON", "POST", codes, "admin", JSON, j([SECRET_CODE]), 415, "unsupported_media_type"),
        ("import no content type", "POST", codes, "admin", {}, SECRET_CODE.encode(), 415, "unsupported_media_type"),
        ("import form", "POST", codes, "supplier", {"Content-Type": "application/x-www-form-urlencoded"}, SECRET_CODE.encode(), 415, "unsupported_media_type"),
        ("import empty body", "POST", codes, "admin", TEXT, b"", 422, "invalid_value"),
        ("import blank lines", "POST", codes, "admin", TEXT, b"\n\r\n  \n\t\n", 422, "invalid_value"),
        ("import code over limit", "POST", codes, "admin", TEXT, LONG_CODE.encode() + b"\n", 422, "invalid_value"),
        ("import non-UTF-8 code", "POST", codes, "admin", TEXT, b"\xff" + SECRET_CODE.encode() + b"\xfe\n", 422, "invalid_value"),
        ("import control character", "POST", codes, "admin", TEXT, SECRET_CODE.encode() + b"\x01\n", 422, "invalid_value"),
        ("import CSV expired", "POST", codes, "admin", CSV, b"code,expires_at\n" + EXPIRED_CODE.encode() + b",2001-01-01\n", 422, "invalid_value"),
        ("import CSV bad quote", "POST", codes, "admin", CSV, b'"' + SECRET_CODE.encode() + b"\n", 422, "invalid_value"),
        ("import CSV header only", "POST", codes, "admin", CSV, b"code,expires_at\r\n", 422, "invalid_value"),

        # --- wallet credits
        ("credit zero", "POST", credits, "admin", JSON, j(dict(credit, amount=0)), 422, "invalid_amount"),
        ("credit negative", "POST", credits, "admin", JSON, j(dict(credit, amount=-100)), 422, "invalid_amount"),
        ("credit int64 min", "POST", credits, "admin", JSON, j(dict(credit, amount=-2**63)), 422, "invalid_amount"),
        ("credit over limit", "POST", credits, "admin", JSON, j(dict(credit, amount=LIMITS["LIMIT_AMOUNT_MINOR"] + 1)), 422, "invalid_amount"),
        ("credit int64 max", "POST", credits, "admin", JSON, j(dict(credit, amount=INT64_MAX)), 422, "invalid_amount"),
        ("credit overflows int64", "POST", credits, "admin", JSON, j(dict(credit, amount=2**64 + 5)), 422, "overflow"),
        ("credit underflows int64", "POST", credits, "admin", JSON, j(dict(credit, amount=-2**63 - 1)), 422, "overflow"),
        ("credit huge real", "POST", credits, "admin", JSON, b'{"username": "%s", "amount": 1e400, "reason": "r"}' % buyer.encode(), 422, "overflow"),
        ("credit float", "POST", credits, "admin", JSON, j(dict(credit, amount=100.5)), 400, "invalid_field"),
        ("credit string amount", "POST", credits, "admin", JSON, j(dict(credit, amount="100")), 400, "invalid_field"),
        ("credit missing reason", "POST", credits, "admin", JSON, j({"username": buyer, "amount": 100}), 400, "invalid_field"),
        ("credit unknown field", "POST", credits, "admin", JSON, j(dict(credit, to="x")), 400, "invalid_field"),
        ("credit unknown user", "POST", credits, "admin", JSON, j(dict(credit, username="ghost")), 404, "unknown_user"),
        ("credit non-buyer", "POST", credits, "admin", JSON, j(dict(credit, username=ctx.names["support"])), 422, "not_a_buyer"),
        ("credit bad currency", "POST", credits, "admin", JSON, j(dict(credit, currency="C1Y")), 422, "invalid_value"),
        ("credit duplicate key", "POST", credits, "admin", JSON, b'{"username": "%s", "amount": 1, "amount": 100000, "reason": "r"}' % buyer.encode(), 400, "invalid_json"),

        # --- orders
        ("missing Idempotency-Key", "POST", orders, "buyer", JSON, j(order), 400, "missing_idempotency_key"),
        ("empty Idempotency-Key", "POST", orders, "buyer", dict(JSON, **{"Idempotency-Key": ""}), j(order), 400, "missing_idempotency_key"),
        ("Idempotency-Key too long", "POST", orders, "buyer", keyed("k" * (LIMITS["LIMIT_IDEMPOTENCY_KEY_BYTES"] + 1)), j(order), 422, "invalid_value"),
        ("Idempotency-Key non-UTF-8", "POST", orders, "buyer", dict(JSON, **{"Idempotency-Key": b"k\xff\xfe"}), j(order), 422, "invalid_value"),
        # a device id the rules could not match as sent is refused, never dropped (a padded id
        # would otherwise slip past a block list)
        ("X-Device-Id too long", "POST", orders, "buyer", dict(keyed(), **{"X-Device-Id": "d" * (LIMITS["LIMIT_RISK_TEXT_BYTES"] + 1)}), j(order), 422, "invalid_value"),
        ("X-Device-Id with a tab", "POST", orders, "buyer", dict(keyed(), **{"X-Device-Id": "dev\tice"}), j(order), 422, "invalid_value"),
        ("X-Device-Id non-UTF-8", "POST", orders, "buyer", dict(keyed(), **{"X-Device-Id": b"dev\xff"}), j(order), 422, "invalid_value"),
        ("quantity zero", "POST", orders, "buyer", keyed(), j(dict(order, quantity=0)), 422, "invalid_quantity"),
        ("quantity negative", "POST", orders, "buyer", keyed(), j(dict(order, quantity=-1)), 422, "invalid_quantity"),
        ("quantity over limit", "POST", orders, "buyer", keyed(), j(dict(order, quantity=LIMITS["LIMIT_ORDER_QUANTITY"] + 1)), 422, "invalid_quantity"),
        ("quantity int64 max", "POST", orders, "buyer", keyed(), j(dict(order, quantity=INT64_MAX)), 422, "invalid_quantity"),
        ("quantity int64 min", "POST", orders, "buyer", keyed(), j(dict(order, quantity=-2**63)), 422, "invalid_quantity"),
        ("quantity 2^64 + 1", "POST", orders, "buyer", keyed(), j(dict(order, quantity=2**64 + 1)), 422, "overflow"),
        ("quantity overflows int64", "POST", orders, "buyer", keyed(), j(dict(order, quantity=2**63)), 422, "overflow"),
        ("quantity float", "POST", orders, "buyer", keyed(), j(dict(order, quantity=1.5)), 400, "invalid_field"),
        ("quantity 1.0", "POST", orders, "buyer", keyed(), j(dict(order, quantity=1.0)), 400, "invalid_field"),
        ("quantity string", "POST", orders, "buyer", keyed(), j(dict(order, quantity="1")), 400, "invalid_field"),
        ("quantity null", "POST", orders, "buyer", keyed(), j(dict(order, quantity=None)), 400, "invalid_field"),
        ("quantity array", "POST", orders, "buyer", keyed(), j(dict(order, quantity=[1])), 400, "invalid_field"),
        ("missing sku", "POST", orders, "buyer", keyed(), j({"quantity": 1}), 400, "invalid_field"),
        ("sku number", "POST", orders, "buyer", keyed(), j(dict(order, sku=5)), 400, "invalid_field"),
        ("sku empty", "POST", orders, "buyer", keyed(), j(dict(order, sku="")), 422, "invalid_value"),
        ("order sku too long", "POST", orders, "buyer", keyed(), j(dict(order, sku="S" * (LIMITS["LIMIT_SKU_BYTES"] + 1))), 422, "invalid_value"),
        ("unknown sku", "POST", orders, "buyer", keyed(), j(dict(order, sku="NO-SUCH-SKU")), 404, "unknown_sku"),
        ("order unknown field", "POST", orders, "buyer", keyed(), j(dict(order, price=1)), 400, "invalid_field"),
        ("order malformed JSON", "POST", orders, "buyer", keyed(), b'{"sku": "JD-E100", "quantity": 1', 400, "invalid_json"),
        ("order empty body", "POST", orders, "buyer", keyed(), b"", 400, "invalid_json"),
        ("order duplicate key", "POST", orders, "buyer", keyed(), b'{"sku": "JD-E100", "quantity": 1, "quantity": 2}', 400, "invalid_json"),
        ("order non-UTF-8 sku", "POST", orders, "buyer", keyed(), b'{"sku": "JD-\xe4\xb8", "quantity": 1}', 400, "invalid_json"),
        ("order UTF-16 body", "POST", orders, "buyer", keyed(), j(order).decode().encode("utf-16"), 400, "invalid_json"),
        ("insufficient funds", "POST", orders, "poor", keyed(), j(order), 402, "insufficient_funds"),
        ("out of stock", "POST", orders, "buyer", keyed(), j(dict(order, quantity=LIMITS["LIMIT_ORDER_QUANTITY"])), 409, "out_of_stock"),
        ("key reused with another body", "POST", orders, "buyer", keyed("setup-1"), j(dict(order, quantity=1)), 409, "idempotency_conflict"),
        ("key reused for another sku", "POST", orders, "buyer", keyed("setup-1"), j({"sku": "STEAM-CN-50", "quantity": 2}), 409, "idempotency_conflict"),

        # --- order reads
        ("unknown order", "GET", "/api/v1/orders/999999", "buyer", {}, None, 404, "unknown_order"),
        ("unknown order admin", "GET", "/api/v1/orders/999999", "admin", {}, None, 404, "unknown_order"),
        ("order id zero", "GET", "/api/v1/orders/0", "support", {}, None, 404, "unknown_order"),
        ("order id negative", "GET", "/api/v1/orders/-1", "admin", {}, None, 404, "unknown_order"),
        ("order id text", "GET", "/api/v1/orders/abc", "buyer", {}, None, 404, "unknown_order"),
        ("order id overflows", "GET", "/api/v1/orders/99999999999999999999", "buyer", {}, None, 404, "unknown_order"),
        ("order id with sign", "GET", f"/api/v1/orders/+{oid}", "buyer", {}, None, 404, "unknown_order"),
        ("another buyer's order", "GET", f"/api/v1/orders/{oid}", "poor", {}, None, 404, "unknown_order"),
        ("another buyer's codes", "GET", f"/api/v1/orders/{oid}/codes", "poor", {}, None, 404, "unknown_order"),
        ("codes of unknown order", "GET", "/api/v1/orders/999999/codes", "buyer", {}, None, 404, "unknown_order"),
        ("codes of order id text", "GET", "/api/v1/orders/x1/codes", "buyer", {}, None, 404, "unknown_order"),

        # --- routing and HTTP limits
        ("unknown path", "GET", "/api/v1/nothing", "buyer", {}, None, 404, "not_found"),
        ("unknown path POST", "POST", "/api/v2/orders", "buyer", keyed(), j(order), 404, "not_found"),
        ("wrong method", "DELETE", f"/api/v1/orders/{oid}", "admin", {}, None, 405, "method_not_allowed"),
        ("wrong method PUT", "PUT", products, "admin", JSON, j(product), 405, "method_not_allowed"),
        ("body one byte over the limit", "POST", orders, "buyer", keyed(), padded(order, BODY_LIMIT + 1), 413, "body_too_large"),
        ("body far over the limit", "POST", users, "admin", JSON, b"x" * (4 * BODY_LIMIT), 413, "body_too_large"),
        ("chunked body over the limit", "POST", orders, "buyer", dict(keyed(), **{"Transfer-Encoding": "chunked"}), padded(order, BODY_LIMIT + 1), 413, "body_too_large"),
        ("import over its limit", "POST", codes, "admin", TEXT, (SECRET_CODE + "\n").encode().ljust(IMPORT_BODY_LIMIT + 1, b"\n"), 413, "body_too_large"),
        ("chunked import over its limit", "POST", codes, "admin", dict(TEXT, **{"Transfer-Encoding": "chunked"}), (SECRET_CODE + "\n").encode().ljust(IMPORT_BODY_LIMIT + 1, b"\n"), 413, "body_too_large"),
        ("body at the limit is read", "POST", orders, "buyer", keyed(), padded(dict(order, quantity=0), BODY_LIMIT), 422, "invalid_quantity"),
        ("URL over the limit", "GET", "/api/v1/orders/" + "1" * LIMITS["LIMIT_URL_BYTES"], "buyer", {}, None, 414, "uri_too_long"),
        # headers that must come once, and a body's length said twice (request smuggling)
        ("Idempotency-Key twice", "POST", orders, "buyer", list(keyed("k1").items()) + [("Idempotency-Key", "k2")], j(order), 400, "invalid_header"),
        ("Authorization twice", "POST", orders, "buyer", list(keyed().items()) + [("Authorization", "Bearer " + "0" * 64)], j(order), 400, "invalid_header"),
        ("Content-Length twice", "POST", orders, "buyer", list(keyed().items()) + [("Content-Length", "1")], j(order), 400, "invalid_header"),
        ("Content-Length beside chunked", "POST", orders, "buyer", list(keyed().items()) + [("Transfer-Encoding", "chunked"), ("Content-Length", "40")], j(order), 400, "invalid_header"),
        # the limit is on the whole request target: a query counts too
        ("query over the limit", "GET", "/api/v1/products?q=" + "x" * LIMITS["LIMIT_URL_BYTES"], None, {}, None, 414, "uri_too_long"),
        ("query over the limit, body route", "POST", orders + "?q=" + "x" * LIMITS["LIMIT_URL_BYTES"], "buyer", keyed(), j(order), 414, "uri_too_long"),
        ("too many headers", "GET", "/api/v1/wallet", "buyer", {f"X-Pad-{i}": "1" for i in range(LIMITS["LIMIT_HEADER_COUNT"])}, None, 431, "too_many_headers"),
    ]
    per_request = LIMITS["LIMIT_IMPORT_CODES_PER_REQUEST"]
    if (per_request + 1) * 8 <= IMPORT_BODY_LIMIT:
        body = b"".join(b"%07d\n" % i for i in range(per_request + 1))
        table.append(("import too many codes", "POST", codes, "supplier", TEXT, body, 413, "too_many_codes"))
    return table


def run_row(ctx, row):
    name, method, path, who, headers, body, status, code = row
    headers = list(headers.items()) if isinstance(headers, dict) else list(headers)
    r = send_raw(ctx.server.port, method, path, ctx.auth(who) + headers, body)
    problems = []
    if r.status != status:
        problems.append(f"status {r.status}, expected {status}")
    if not r.headers.get("Content-Type", "").startswith("application/json"):
        problems.append(f"Content-Type {r.headers.get('Content-Type')!r}")
    try:
        error = json.loads(r.body)
        if set(error) != {"error"} or set(error["error"]) != {"code", "message"}:
            problems.append("not {\"error\":{\"code\",\"message\"}}")
        elif error["error"]["code"] != code:
            problems.append(f"code {error['error']['code']!r}, expected {code!r}")
        elif not isinstance(error["error"]["message"], str) or not error["error"]["message"]:
            problems.append("empty message")
    except (ValueError, TypeError):
        problems.append("body is not JSON")
    leaked = [i for i, s in enumerate(ctx.secrets) if s.encode() in r.body]
    if leaked:
        problems.append(f"the answer holds secret #{leaked[0]}")  # never print the secret
    after = ctx.snapshot()
    for part in ("stock", "balances", "counts", "rows"):
        if after[part] != ctx.baseline[part]:
            changed = {k for k in set(after[part]) | set(ctx.baseline[part])
                       if after[part].get(k) != ctx.baseline[part].get(k)}
            problems.append(f"{part} changed: {sorted(changed)}")
    if problems:
        shown = r.body if not leaked else b"<withheld: holds a secret>"
        return f"{name}: {'; '.join(problems)} — answer {r.status} {shown[:160]!r}"
    return None


def test_bad_input_table():
    ctx = Context()
    try:
        failures = []
        table = rows(ctx)
        names = [row[0] for row in table]
        assert len(names) == len(set(names)), "row names must be unique"
        for row in table:
            failure = run_row(ctx, row)
            if failure:
                failures.append(failure)
        # The same holds on a connection that stays open across bad requests.
        client = ctx.server.client(ctx.tokens["buyer"])
        for _ in range(3):
            r = client.post("/api/v1/orders", {"sku": ctx.sku, "quantity": 0}, headers={"Idempotency-Key": "ka"})
            assert r.status == 422 and r.error_code() == "invalid_quantity", r
        assert client.get("/api/v1/wallet").status == 200
        client.close()
        assert ctx.snapshot() == ctx.baseline
        # Nothing secret reached the server's log either.
        log = ctx.server.read_log()
        assert not [s for s in ctx.secrets if s in log], "a secret is in the server log"
        print(f"     {len(table)} rows, {len(failures)} failed")
        assert not failures, "\n  " + "\n  ".join(failures)
    finally:
        ctx.server.close()


def test_headers_over_connection_memory():
    """Headers that fit the connection's memory are served; larger ones are refused with 431
    by libmicrohttpd itself (before Tessera sees the request), and the server goes on."""
    server = harness.Server()
    try:
        limit = LIMITS["LIMIT_CONNECTION_MEMORY_BYTES"]
        client = server.client()
        r = client.get("/api/v1/products", headers={"X-Pad": "a" * (limit // 2)})
        assert r.status == 200, r
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/api/v1/products", headers={"X-Pad": "a" * (limit + 1024)})
        answer = conn.getresponse()
        assert answer.status == 431, answer.status
        conn.close()
        assert server.client().get("/healthz").status == 200
    finally:
        server.close()


def raw_exchange(port, data, wait_s=0.5):
    """Writes data on a fresh connection; returns every byte the server sent before it closed
    the connection or went quiet for 2 s."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(data)
        time.sleep(wait_s)
        sock.settimeout(2)
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        sock.close()


def test_framing_and_connection_limits():
    """A request that gives its body's length twice is refused and its connection closed, so
    a request hidden in its body is never answered; a caller without a token is refused
    before its body is read; HTTP/1.1 without Host is refused; one
    address cannot hold more than LIMIT_CONNECTIONS_PER_IP connections, and the server
    serves again once they close."""
    server = harness.Server()
    try:
        hidden = b"GET /api/v1/products HTTP/1.1\r\nHost: x\r\n\r\n"
        for framing in (b"Content-Length: 0\r\nContent-Length: %d\r\n" % len(hidden),
                        b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n" % len(hidden)):
            out = raw_exchange(server.port, b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n" +
                               framing + b"\r\n" + (b"0\r\n\r\n" if b"chunked" in framing else b"") + hidden)
            assert out.startswith(b"HTTP/1.1 400"), out[:80]
            assert out.count(b"HTTP/1.1 ") == 1 and b"invalid_header" in out, out
            assert b"products" not in out, "the hidden request was answered"
        # a caller without a token is refused before its body is read (or 100 Continue sent):
        # the headers of a 20 MB import are answered at once, the body never asked for
        for expect in (b"", b"Expect: 100-continue\r\n"):
            out = raw_exchange(server.port, b"POST /api/v1/products/X/codes HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Type: text/plain\r\nContent-Length: 20000000\r\n" + expect +
                               b"\r\n")
            assert out.startswith(b"HTTP/1.1 401") and b"unauthorized" in out, out[:80]
        # a chunked body that goes on for as much again past its limit is not read to its end:
        # the connection is closed unanswered (just past the limit is 413: the table's rows)
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        chunk = b"a" * 65536
        sent, closed = 0, False
        try:
            sock.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            while sent < 8 * LIMITS["LIMIT_BODY_BYTES"]:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
            sock.settimeout(5)
            answer = sock.recv(100)
        except (BrokenPipeError, ConnectionResetError):
            closed, answer = True, b""
        finally:
            sock.close()
        assert closed or answer == b"", f"an endless body was answered after {sent} bytes: {answer!r}"
        assert server.client().get("/healthz").status == 200
        assert raw_exchange(server.port, b"GET /healthz HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert raw_exchange(server.port, b"GET /healthz HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200")
        limit = LIMITS["LIMIT_CONNECTIONS_PER_IP"]
        held = []
        try:
            for _ in range(limit):
                held.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            time.sleep(0.5)  # accepted by now
            extra = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            extra.settimeout(5)
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                answer = extra.recv(100)
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                answer = b""
            extra.close()
            assert answer == b"", f"connection {limit + 1} from one address was served: {answer!r}"
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.5)
        assert server.client().get("/healthz").status == 200
    finally:
        server.close()


if __name__ == "__main__":
    harness.main([test_bad_input_table, test_headers_over_connection_memory,
                  test_framing_and_connection_limits])
