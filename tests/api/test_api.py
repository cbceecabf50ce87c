"""test_api.py — every route of the HTTP API end to end against a real `tessera serve`:
login and tokens, users, products, code import (plain text and CSV, exact counts), wallet,
orders (payment, stock, idempotency), order reads and code reveals, routing errors,
/metrics, and the role matrix of every protected route.

One server and one set of logged-in users serve every test (each login costs an Argon2id
verification); each test makes its own products, codes and buyers so the tests do not
depend on each other's data."""
import http.client
import os
import re
import secrets
import sqlite3
import time

import harness

ROLES = ("admin", "support", "risk", "supplier", "reseller", "buyer")


def read_limits():
    """The numeric LIMIT_* constants of src/base/limits.h, so tests follow the header."""
    with open(os.path.join(harness.ROOT, "src", "base", "limits.h")) as f:
        text = f.read()
    limits = {}
    for m in re.finditer(r"^#define (LIMIT_\w+)\s+([^/\n]+)", text, re.M):
        expr = re.sub(r"(\d+)LL\b", r"\1", m.group(2).strip())
        if re.fullmatch(r"[\d\s()*+-]+", expr):
            limits[m.group(1)] = int(eval(expr))  # digits and arithmetic only
    return limits


LIMITS = read_limits()


def unique(prefix):
    """A fresh name or code; codes are unique across all products, so every test uses its own."""
    return f"{prefix}-{secrets.token_hex(6)}"


def assert_error(r, status, code):
    assert r.status == status, (status, code, r)
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, (code, r)
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


class World:
    """The shared server, its admin, and one logged-in user of every role."""

    def __init__(self):
        self.server = harness.Server()
        self.public = self.server.client()
        self.admin = self.server.admin()
        self.users = {}      # role -> {"id", "username", "password", "login"}
        self.clients = {}    # role -> Client
        for role in ROLES:
            username = unique(role)
            password = "pw-" + secrets.token_hex(8)
            r = self.admin.post("/api/v1/users",
                                {"username": username, "password": password, "role": role})
            assert r.status == 201, r
            created = r.json()
            r = self.public.post("/api/v1/auth/login", {"username": username, "password": password})
            assert r.status == 200, r
            login = r.json()
            self.users[role] = {"id": created["id"], "username": username, "password": password,
                                "created": created, "login": login}
            self.clients[role] = self.server.client(login["token"])

    def buyer(self, balance=0):
        """A new buyer, logged in, with balance credited."""
        username = unique("buyer")
        password = "pw-" + secrets.token_hex(8)
        r = self.admin.post("/api/v1/users", {"username": username, "password": password, "role": "buyer"})
        assert r.status == 201, r
        client = self.server.client(self.server.login(username, password))
        client.username = username
        if balance:
            self.credit(username, balance)
        return client

    def credit(self, username, amount):
        r = self.admin.post("/api/v1/wallet/credits", {"username": username, "amount": amount, "reason": "test"})
        assert r.status == 201, r
        return r.json()

    def product(self, price=1000, codes=(), prefix="P"):
        sku = unique(prefix)
        r = self.admin.post("/api/v1/products", {"sku": sku, "name": f"product {sku}", "face_value": price + 100,
                                                  "price": price, "liquidity": "high"})
        assert r.status == 201, r
        if codes:
            r = self.import_codes(self.admin, sku, "".join(c + "\n" for c in codes))
            assert r.status == 200 and r.json()["imported"] == len(codes), r
        return sku

    def import_codes(self, client, sku, body, content_type="text/plain"):
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return client.post(f"/api/v1/products/{sku}/codes", body, raw=True, headers=headers)

    def products(self):
        r = self.public.get("/api/v1/products")
        assert r.status == 200, r
        return {p["sku"]: p for p in r.json()["products"]}

    def stock(self, sku):
        return self.products()[sku]["stock"]

    def balance(self, client):
        r = client.get("/api/v1/wallet")
        assert r.status == 200, r
        return r.json()["balance"]

    def order(self, client, sku, quantity, key=None):
        return client.post("/api/v1/orders", {"sku": sku, "quantity": quantity},
                           headers={"Idempotency-Key": key or unique("key")})

    def assert_check(self):
        code, summary = self.server.check()
        assert code == 0 and summary["ok"], summary

    def audit_count(self, action, obj):
        db = sqlite3.connect(f"file:{self.server.db}?mode=ro", uri=True)
        try:
            return db.execute("SELECT count(*) FROM audit WHERE action = ? AND object = ?",
                              (action, obj)).fetchone()[0]
        finally:
            db.close()

    def close(self):
        self.server.close()


_world = None


def world():
    global _world
    if _world is None:
        _world = World()
    return _world


# --- login and tokens ---------------------------------------------------------------------

def test_login():
    w = world()
    buyer = w.users["buyer"]
    r = w.public.post("/api/v1/auth/login", {"username": buyer["username"], "password": buyer["password"]})
    assert r.status == 200, r
    body = r.json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", body["token"]), "the token is short or not URL-safe"
    assert body["role"] == "buyer"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["expires_at"]), body["expires_at"]
    token2 = body["token"]
    assert token2 != buyer["login"]["token"], "two logins gave the same token"
    # Both sessions work.
    for token in (buyer["login"]["token"], token2):
        r = w.public.get("/api/v1/wallet", token=token)
        assert r.status == 200, r
    # Wrong password and unknown user: the same 401, so usernames cannot be probed.
    wrong = w.public.post("/api/v1/auth/login", {"username": buyer["username"], "password": "not-the-password"})
    assert_error(wrong, 401, "bad_credentials")
    unknown = w.public.post("/api/v1/auth/login", {"username": unique("nobody"), "password": "whatever-1"})
    assert_error(unknown, 401, "bad_credentials")
    assert wrong.body == unknown.body
    # Missing, garbage and altered tokens.
    assert_error(w.public.get("/api/v1/wallet"), 401, "unauthorized")
    assert_error(w.public.get("/api/v1/wallet", token="garbage"), 401, "unauthorized")
    flipped = token2[:-1] + ("0" if token2[-1] != "0" else "1")
    assert_error(w.public.get("/api/v1/wallet", token=flipped), 401, "unauthorized")
    assert_error(w.public.get("/api/v1/wallet", headers={"Authorization": token2}), 401, "unauthorized")
    assert_error(w.public.get("/api/v1/wallet", headers={"Authorization": "Basic " + token2}), 401,
                 "unauthorized")
    assert_error(w.public.get("/api/v1/wallet", headers={"Authorization": "Bearer " + token2 + "0"}), 401,
                 "unauthorized")
    # The scheme is case-insensitive (RFC 9110); the token is not.
    for scheme in ("bearer", "BEARER", "bEaReR"):
        r = w.public.get("/api/v1/wallet", headers={"Authorization": scheme + " " + token2})
        assert r.status == 200, (scheme, r)
    assert_error(w.public.get("/api/v1/wallet", headers={"Authorization": "Bearer " + token2.upper()}),
                 401, "unauthorized")
    for r in (wrong, unknown):
        assert buyer["password"].encode() not in r.body and token2.encode() not in r.body


# --- users --------------------------------------------------------------------------------

def test_users_create():
    w = world()
    ids = set()
    for role in ROLES:
        user = w.users[role]
        assert user["created"]["role"] == role and user["created"]["username"] == user["username"]
        assert isinstance(user["id"], int) and user["id"] > 0
        ids.add(user["id"])
        assert user["login"]["role"] == role  # the stored role is the one asked for
    assert len(ids) == len(ROLES), "user ids are not distinct"
    # A duplicate username is refused and does not replace the first user's password.
    support = w.users["support"]
    r = w.admin.post("/api/v1/users", {"username": support["username"], "password": "other-password", "role": "buyer"})
    assert_error(r, 409, "already_exists")
    r = w.public.post("/api/v1/auth/login", {"username": support["username"], "password": support["password"]})
    assert r.status == 200 and r.json()["role"] == "support", r
    # Roles outside the six are refused.
    for role in ("root", "Admin", "buyers", ""):
        r = w.admin.post("/api/v1/users", {"username": unique("u"), "password": "password-1", "role": role})
        assert_error(r, 422, "invalid_value")
    # Users without a wallet read a zero balance.
    assert w.balance(w.clients["support"]) == 0


# --- products -----------------------------------------------------------------------------

def test_products_create_and_list():
    w = world()
    sku = unique("NEW")
    r = w.admin.post("/api/v1/products", {"sku": sku, "name": "New card 88", "face_value": 8800,
                                          "price": 8600, "liquidity": "low"})
    assert r.status == 201, r
    expected = {"sku": sku, "name": "New card 88", "face_value": 8800, "price": 8600, "currency": "CNY",
                "liquidity": "low", "stock": 0}
    assert r.json() == expected, r
    assert w.products()[sku] == expected  # visible at once, stock 0, default currency
    # Listing is public (no token) and ordered by SKU.
    r = w.public.get("/api/v1/products")
    skus = [p["sku"] for p in r.json()["products"]]
    assert skus == sorted(skus)
    # An explicit currency is kept.
    sku_usd = unique("USD")
    r = w.admin.post("/api/v1/products", {"sku": sku_usd, "name": "Dollar card", "face_value": 1000,
                                          "price": 990, "currency": "USD", "liquidity": "high"})
    assert r.status == 201 and r.json()["currency"] == "USD", r
    # A duplicate SKU is refused and the first product is untouched.
    r = w.admin.post("/api/v1/products", {"sku": sku, "name": "Impostor", "face_value": 1, "price": 1,
                                          "liquidity": "high"})
    assert_error(r, 409, "already_exists")
    products = w.products()
    assert products[sku] == expected
    assert [p["sku"] for p in w.public.get("/api/v1/products").json()["products"]].count(sku) == 1


# --- code import --------------------------------------------------------------------------

def test_import_plain_text():
    w = world()
    sku = w.product()
    a, b, c, d, e, f = (unique("CODE") for _ in range(6))
    # Duplicates inside one body, a blank line (an empty code: rejected), CRLF endings.
    r = w.import_codes(w.admin, sku, f"{a}\n{b}\n{b}\n\n{c}\r\n{a}\n")
    assert r.status == 200, r
    assert r.json() == {"imported": 3, "duplicates": 2, "rejected": 1}, r
    assert w.stock(sku) == 3
    # Duplicates across requests; a charset parameter is fine.
    r = w.import_codes(w.admin, sku, f"{a}\r\n{d}\r\n", "text/plain; charset=utf-8")
    assert r.json() == {"imported": 1, "duplicates": 1, "rejected": 0}, r
    assert w.stock(sku) == 4
    # A last line without a newline counts; surrounding blanks are trimmed before dedup.
    r = w.import_codes(w.admin, sku, f"  {e}\t\n{e}\n{f}")
    assert r.json() == {"imported": 2, "duplicates": 1, "rejected": 0}, r
    assert w.stock(sku) == 6
    # The code length limit, both sides of it.
    limit = LIMITS["LIMIT_CODE_BYTES"]
    at_limit = unique("L").ljust(limit, "x")
    over_limit = unique("M").ljust(limit + 1, "y")
    r = w.import_codes(w.admin, sku, f"{at_limit}\n{over_limit}\n")
    assert r.json() == {"imported": 1, "duplicates": 0, "rejected": 1}, r
    assert over_limit.encode() not in r.body
    assert w.stock(sku) == 7
    # The same code under another product is a duplicate too (codes are unique platform-wide).
    other = w.product()
    r = w.import_codes(w.admin, other, f"{a}\n")
    assert r.status == 200 and r.json() == {"imported": 0, "duplicates": 1, "rejected": 0}, r
    assert w.stock(other) == 0
    # Only text/plain and text/csv.
    for content_type in ("application/json", "application/x-www-form-urlencoded", "text/html",
                         "text/plainer", None):
        r = w.import_codes(w.admin, sku, unique("CODE") + "\n", content_type)
        assert_error(r, 415, "unsupported_media_type")
    # Suppliers may import; buyers may not.
    g = unique("CODE")
    r = w.import_codes(w.clients["supplier"], sku, f"{g}\n")
    assert r.status == 200 and r.json() == {"imported": 1, "duplicates": 0, "rejected": 0}, r
    r = w.import_codes(w.clients["buyer"], sku, unique("CODE") + "\n")
    assert_error(r, 403, "forbidden")
    assert w.stock(sku) == 8
    w.assert_check()


def test_import_csv():
    w = world()
    sku = w.product(price=100)
    c1, c2, c3, c5, c6, c7, c8 = (unique("CSV") for _ in range(7))
    c4 = unique("CSV") + "," + unique("with-comma")
    body = ("code,expires_at\r\n"                       # header row: skipped, not counted
            f"{c1},2099-01-01\r\n"                       # imported
            f"{c2},2000-01-01T00:00:00Z\r\n"             # expired: rejected
            f"\"{c3}\"\r\n"                              # quoted, no expiry, CRLF: imported
            f"\"{c4}\",2099-12-31T23:59:59Z\r\n"         # quoted with a comma: imported
            f"{c5}\r\n"                                  # bare, no expiry: imported
            "\r\n"                                       # blank: rejected
            f"{c1},2099-01-01\r\n"                       # duplicate inside the body
            f"{c6},not-a-date\r\n"                       # bad expiry: rejected
            f"{c7},2099-01-01,extra\r\n"                 # a third column: rejected
            f"{c8},\r\n")                                # empty expiry: imported
    r = w.import_codes(w.admin, sku, body, "text/csv")
    assert r.status == 200, r
    assert r.json() == {"imported": 5, "duplicates": 1, "rejected": 4}, r
    assert w.stock(sku) == 5
    # Across requests, with LF endings and no header.
    c9 = unique("CSV")
    r = w.import_codes(w.admin, sku, f"{c1},2099-01-01\n{c9},2099-01-01T00:00:00Z\n", "text/csv; charset=utf-8")
    assert r.json() == {"imported": 1, "duplicates": 1, "rejected": 0}, r
    assert w.stock(sku) == 6
    # The codes sold are exactly the ones imported, unquoted.
    buyer = w.buyer(balance=600)
    r = w.order(buyer, sku, 6)
    assert r.status == 201, r
    assert sorted(r.json()["codes"]) == sorted([c1, c3, c4, c5, c8, c9])
    assert w.stock(sku) == 0
    w.assert_check()


# --- wallet -------------------------------------------------------------------------------

def test_wallet():
    w = world()
    buyer = w.buyer()
    assert w.balance(buyer) == 0
    r = w.admin.post("/api/v1/wallet/credits", {"username": buyer.username, "amount": 12345, "reason": "top-up"})
    assert r.status == 201, r
    body = r.json()
    assert body["username"] == buyer.username and body["amount"] == 12345
    assert body["balance"] == 12345 and body["currency"] == "CNY" and body["transfer_id"] > 0
    r = buyer.get("/api/v1/wallet")
    assert r.status == 200 and r.json() == {"balance": 12345, "currency": "CNY", "balances": [
        {"currency": "CNY", "balance": 12345}]}, r
    assert w.credit(buyer.username, 5)["balance"] == 12350
    assert w.balance(buyer) == 12350
    # A wallet per currency: every one is listed, and ?currency= picks the one answered first.
    r = w.admin.post("/api/v1/wallet/credits", {"username": buyer.username, "amount": 700,
                                                "currency": "USD", "reason": "top-up"})
    assert r.status == 201 and r.json()["currency"] == "USD", r
    r = buyer.get("/api/v1/wallet")
    assert r.json() == {"balance": 12350, "currency": "CNY", "balances": [
        {"currency": "CNY", "balance": 12350}, {"currency": "USD", "balance": 700}]}, r
    assert buyer.get("/api/v1/wallet?currency=USD").json()["balance"] == 700
    r = buyer.get("/api/v1/wallet?currency=EUR")  # none yet: 0, and the list as it is
    assert r.json()["balance"] == 0 and r.json()["currency"] == "EUR" and len(r.json()["balances"]) == 2
    for bad in ("usd", "US", "USDX", "U%00D", ""):
        assert_error(buyer.get("/api/v1/wallet?currency=" + bad), 422, "invalid_value")
    # Only buyers have wallets; unknown users are 404.
    r = w.admin.post("/api/v1/wallet/credits", {"username": w.users["support"]["username"], "amount": 1,
                                                "reason": "x"})
    assert_error(r, 422, "not_a_buyer")
    r = w.admin.post("/api/v1/wallet/credits", {"username": unique("ghost"), "amount": 1, "reason": "x"})
    assert_error(r, 404, "unknown_user")
    # Another buyer's wallet is not touched.
    assert w.balance(w.clients["buyer"]) == 0
    w.assert_check()


# --- orders -------------------------------------------------------------------------------

def test_orders():
    w = world()
    price = 1234
    codes = [unique("ORD") for _ in range(6)]
    sku = w.product(price=price, codes=codes)
    alice = w.buyer(balance=price * 10)
    r = w.order(alice, sku, 2, key="k1")
    assert r.status == 201, r
    first = r.json()
    assert first["status"] == "delivered" and first["sku"] == sku and first["quantity"] == 2
    assert first["amount"] == price * 2 and first["unit_price"] == price and first["currency"] == "CNY"
    assert len(first["codes"]) == 2 and len(set(first["codes"])) == 2
    assert set(first["codes"]) <= set(codes)
    assert w.stock(sku) == 4
    assert w.balance(alice) == price * 8
    # Replay: the same key and body answer the same bytes and charge nothing.
    replay = w.order(alice, sku, 2, key="k1")
    assert replay.status == 201 and replay.body == r.body, (r, replay)
    assert w.stock(sku) == 4 and w.balance(alice) == price * 8
    # The same key with another body is a conflict; nothing changes.
    assert_error(w.order(alice, sku, 3, key="k1"), 409, "idempotency_conflict")
    other_sku = w.product(price=10, codes=[unique("ORD")])
    assert_error(w.order(alice, other_sku, 2, key="k1"), 409, "idempotency_conflict")
    assert w.stock(sku) == 4 and w.stock(other_sku) == 1 and w.balance(alice) == price * 8
    # Keys are per user: another buyer's "k1" is a new order of its own.
    bob = w.buyer(balance=price * 2)
    r = w.order(bob, sku, 2, key="k1")
    assert r.status == 201, r
    second = r.json()
    assert second["id"] != first["id"] and not set(second["codes"]) & set(first["codes"])
    assert w.stock(sku) == 2 and w.balance(bob) == 0 and w.balance(alice) == price * 8
    # Insufficient funds: 402, nothing sold.
    assert_error(w.order(bob, sku, 1), 402, "insufficient_funds")
    assert w.stock(sku) == 2 and w.balance(bob) == 0
    # Out of stock (funds would suffice): 409, nothing charged.
    assert_error(w.order(alice, sku, 3, key="k3"), 409, "out_of_stock")
    assert w.stock(sku) == 2 and w.balance(alice) == price * 8
    # The rest of the stock, exactly.
    r = w.order(alice, sku, 2, key="k2")
    assert r.status == 201, r
    third = r.json()
    assert w.stock(sku) == 0 and w.balance(alice) == price * 6
    sold = first["codes"] + second["codes"] + third["codes"]
    assert sorted(sold) == sorted(codes), "every imported code sold exactly once"
    assert_error(w.order(alice, sku, 1), 409, "out_of_stock")
    # A failed request did not use its key up: after a restock the same key succeeds.
    restock = [unique("ORD") for _ in range(3)]
    r = w.import_codes(w.admin, sku, "\n".join(restock))
    assert r.json()["imported"] == 3, r
    r = w.order(alice, sku, 3, key="k3")
    assert r.status == 201 and sorted(r.json()["codes"]) == sorted(restock), r
    assert w.balance(alice) == price * 3
    # A replay still answers the first order after the product sold out.
    assert w.stock(sku) == 0
    again = w.order(alice, sku, 2, key="k1")
    assert again.status == 201 and again.body == replay.body, again
    assert w.balance(alice) == price * 3
    # Every 201 was durable: after a restart the orders, codes and balances are the same.
    assert w.server.stop() == 0, w.server.read_log()
    # a clean stop folds the WAL into the database: one file (and its key) is the whole store
    assert not os.path.exists(w.server.db + "-wal"), "the WAL outlived a clean stop"
    w.server.start()
    for client in (w.public, w.admin, alice, bob, *w.clients.values()):
        client.port = w.server.port
        client.close()
    r = alice.get(f"/api/v1/orders/{first['id']}/codes")
    assert r.status == 200 and r.json()["codes"] == first["codes"], r
    assert w.order(alice, sku, 2, key="k1").body == replay.body
    # the restarted writer found the key again: another body under it is still a conflict
    assert_error(w.order(alice, sku, 1, key="k1"), 409, "idempotency_conflict")
    assert w.balance(alice) == price * 3 and w.balance(bob) == 0 and w.stock(sku) == 0
    w.assert_check()


def test_order_reads():
    w = world()
    codes = [unique("READ") for _ in range(3)]
    sku = w.product(price=700, codes=codes)
    owner = w.buyer(balance=5000)
    stranger = w.buyer(balance=5000)
    r = w.order(owner, sku, 2)
    assert r.status == 201, r
    placed = r.json()
    oid = placed["id"]
    without_codes = {k: v for k, v in placed.items() if k != "codes"}
    # The order without its codes: its buyer, support and admin; another buyer sees 404.
    for client in (owner, w.clients["support"], w.admin, w.clients["admin"]):
        r = client.get(f"/api/v1/orders/{oid}")
        assert r.status == 200, r
        assert r.json() == without_codes, r
        assert all(code.encode() not in r.body for code in codes)
    assert_error(stranger.get(f"/api/v1/orders/{oid}"), 404, "unknown_order")
    for role in ("risk", "supplier", "reseller"):
        assert_error(w.clients[role].get(f"/api/v1/orders/{oid}"), 403, "forbidden")
    assert_error(w.admin.get("/api/v1/orders/999999999"), 404, "unknown_order")
    # The codes: only their buyer, the same ones as at purchase; every reveal is audited.
    audited = w.audit_count("codes.reveal", f"order:{oid}")
    for n in (1, 2):
        r = owner.get(f"/api/v1/orders/{oid}/codes")
        assert r.status == 200, r
        assert r.json()["codes"] == placed["codes"], r
        assert r.json()["id"] == oid and r.json()["amount"] == placed["amount"]
        assert w.audit_count("codes.reveal", f"order:{oid}") == audited + n
    assert_error(stranger.get(f"/api/v1/orders/{oid}/codes"), 404, "unknown_order")
    for client in (w.clients["support"], w.admin):
        r = client.get(f"/api/v1/orders/{oid}/codes")
        assert_error(r, 403, "forbidden")
        assert all(code.encode() not in r.body for code in codes)
    assert w.audit_count("codes.reveal", f"order:{oid}") == audited + 2
    w.assert_check()


# --- routing, health and metrics ----------------------------------------------------------

def test_routing():
    w = world()
    r = w.public.get("/healthz")
    assert r.status == 200 and r.json() == {"ok": True}, r
    for path in ("/", "/nope", "/api/v1", "/api/v1/", "/api/v1/products/", "/api/v1/products/X",
                 "/api/v1/products//codes", "/api/v1/orders/1/codes/2", "/healthz/", "/API/V1/PRODUCTS"):
        assert_error(w.public.get(path), 404, "not_found")
    assert_error(w.admin.request("DELETE", "/api/v1/nope"), 404, "not_found")
    wrong_methods = [("POST", "/healthz"), ("POST", "/metrics"), ("GET", "/api/v1/auth/login"),
                     ("GET", "/api/v1/users"), ("DELETE", "/api/v1/products"),
                     ("PUT", "/api/v1/products"), ("GET", "/api/v1/products/X/codes"),
                     ("GET", "/api/v1/wallet/credits"), ("POST", "/api/v1/wallet"),
                     ("GET", "/api/v1/orders"), ("DELETE", "/api/v1/orders/1"),
                     ("POST", "/api/v1/orders/1/codes")]
    for method, path in wrong_methods:
        assert_error(w.public.request(method, path), 405, "method_not_allowed")
        assert_error(w.admin.request(method, path), 405, "method_not_allowed")
    # A 405 names the methods the path answers (RFC 9110 requires Allow).
    allowed = {"/healthz": "GET, HEAD", "/api/v1/auth/login": "POST",
               "/api/v1/products": "GET, HEAD, POST", "/api/v1/orders/1/codes": "GET",
               "/api/v1/risk/rules": "GET, HEAD, PUT", "/api/v1/pay/epay/notify": "POST, GET"}
    for path, allow in allowed.items():
        r = w.public.request("DELETE", path)
        assert_error(r, 405, "method_not_allowed")
        assert r.headers.get("Allow") == allow, (path, r.headers)
    # The request-target limit counts the query: at the limit it is read, one byte over is 414.
    base = "/api/v1/products?q="
    at_limit = base + "x" * (LIMITS["LIMIT_URL_BYTES"] - len(base))
    assert w.public.get(at_limit).status == 200
    assert_error(w.public.get(at_limit + "x"), 414, "uri_too_long")
    # Content-Length is 1*DIGIT (RFC 9110): leading zeros do not make a small body large.
    body = b'{"username": "nobody-at-all", "password": "not-a-password"}'
    for length in ("0" * 12 + str(len(body)), "0" * 30 + str(len(body))):
        conn = http.client.HTTPConnection("127.0.0.1", w.server.port, timeout=60)
        try:
            conn.putrequest("POST", "/api/v1/auth/login")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", length)
            conn.endheaders(body)
            resp = conn.getresponse()
            r = harness.Response(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            conn.close()
        assert_error(r, 401, "bad_credentials")


def test_head():
    """HEAD is answered like GET on the routes that only read, without the body; not on the
    codes reveal (audited) nor on payment notices (side effects)."""
    w = world()
    get, head = w.public.get("/healthz"), w.public.request("HEAD", "/healthz")
    assert head.status == 200 and head.body == b"", head
    assert head.headers.get("Content-Length") == str(len(get.body)), head.headers
    assert w.public.get("/healthz").json() == {"ok": True}  # the connection goes on after HEAD
    codes = [unique("HEAD") for _ in range(2)]
    sku = w.product(price=300, codes=codes)
    buyer = w.buyer(balance=1000)
    r = w.order(buyer, sku, 1)
    assert r.status == 201, r
    oid = r.json()["id"]
    for path in ("/api/v1/products", "/api/v1/wallet", f"/api/v1/orders/{oid}"):
        got, headed = buyer.get(path), buyer.request("HEAD", path)
        assert got.status == 200 and headed.status == 200 and headed.body == b"", (path, headed)
        assert headed.headers.get("Content-Length") == str(len(got.body)), (path, headed.headers)
    # What protects GET protects HEAD.
    r = w.public.request("HEAD", "/api/v1/wallet")
    assert r.status == 401 and r.body == b"", r
    r = w.clients["supplier"].request("HEAD", f"/api/v1/orders/{oid}")
    assert r.status == 403 and r.body == b"", r
    # No HEAD where a GET is more than a read.
    audited = w.audit_count("codes.reveal", f"order:{oid}")
    r = buyer.request("HEAD", f"/api/v1/orders/{oid}/codes")
    assert r.status == 405 and r.headers.get("Allow") == "GET", r
    assert w.audit_count("codes.reveal", f"order:{oid}") == audited
    r = w.public.request("HEAD", "/api/v1/pay/epay/notify?out_trade_no=1")
    assert r.status == 405 and r.headers.get("Allow") == "POST, GET", r
    w.assert_check()


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of a Prometheus text page."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-z_]+)(?:\{([^}]*)\})? (\S+)", line)
        assert m, f"bad metrics line {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def requests_total(samples, route, cls):
    return samples.get(("tessera_http_requests_total", frozenset({("route", route), ("code", cls)})), 0)


def test_metrics():
    w = world()
    sku = w.product(price=50, codes=[unique("MET") for _ in range(3)])
    buyer = w.buyer(balance=1000)
    r = w.public.get("/metrics")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain"), r
    before = parse_metrics(r.body.decode())
    for _ in range(3):
        assert w.public.get("/healthz").status == 200
    assert w.public.get("/no/such/path").status == 404
    assert w.order(buyer, sku, 2).status == 201
    assert w.order(buyer, sku, 5).status == 409
    expected = {("healthz", "2xx"): 3, ("unmatched", "4xx"): 1, ("orders_create", "2xx"): 1,
                ("orders_create", "4xx"): 1}
    # A request is counted when libmicrohttpd reports it complete, which may be a moment
    # after its client has read the answer: poll briefly.
    deadline = time.monotonic() + 5
    while True:
        text = w.public.get("/metrics").body.decode()
        after = parse_metrics(text)
        deltas = {k: requests_total(after, *k) - requests_total(before, *k) for k in expected}
        if deltas == expected or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert deltas == expected, deltas
    assert requests_total(after, "metrics", "2xx") - requests_total(before, "metrics", "2xx") >= 1
    assert after[("tessera_orders_delivered_total", frozenset())] - \
        before[("tessera_orders_delivered_total", frozenset())] == 1
    assert after[("tessera_codes_delivered_total", frozenset())] - \
        before[("tessera_codes_delivered_total", frozenset())] == 2
    assert after[("tessera_codes_in_stock", frozenset())] == sum(p["stock"] for p in w.products().values())
    # Latency histograms: one per route, cumulative, +Inf equal to the count, which equals
    # the route's requests over all status classes.
    routes = set(re.findall(r'tessera_http_request_seconds_count\{route="(\w+)"\}', text))
    assert {"healthz", "metrics", "auth_login", "users_create", "products_list", "products_create",
            "codes_import", "wallet_credit", "wallet_get", "orders_create", "orders_get",
            "orders_codes", "unmatched"} <= routes, routes
    for route in routes:
        buckets = sorted(((float("inf") if dict(k[1])["le"] == "+Inf" else float(dict(k[1])["le"]), v)
                          for k, v in after.items()
                          if k[0] == "tessera_http_request_seconds_bucket" and dict(k[1])["route"] == route))
        assert len(buckets) == LIMITS["LIMIT_LATENCY_BUCKETS"], (route, buckets)
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), (route, counts)
        count = after[("tessera_http_request_seconds_count", frozenset({("route", route)}))]
        assert counts[-1] == count
        assert count == sum(requests_total(after, route, f"{c}xx") for c in range(1, 6)), route
        assert after[("tessera_http_request_seconds_sum", frozenset({("route", route)}))] >= 0
    assert requests_total(after, "orders_create", "2xx") >= 1
    # Where suspended requests spend their time: each of the two orders (the 409 was applied
    # too) went through the writer's queue, its durable batch and its resume, and nothing
    # else was suspended in between, so each stage counted exactly them and took some time.
    for stage in ("writer_queue", "writer_durable", "resume"):
        key = frozenset({("stage", stage)})
        n = after[("tessera_request_stage_seconds_count", key)] - \
            before[("tessera_request_stage_seconds_count", key)]
        assert n == 2, (stage, n)
        assert after[("tessera_request_stage_seconds_sum", key)] > \
            before[("tessera_request_stage_seconds_sum", key)], stage
    # Writer batches: every write went through a batch; the histogram is cumulative.
    batches = after[("tessera_writer_batch_size_count", frozenset())]
    assert batches > before[("tessera_writer_batch_size_count", frozenset())]
    assert after[("tessera_writer_batch_size_sum", frozenset())] >= batches
    writer = sorted(((float("inf") if dict(k[1])["le"] == "+Inf" else float(dict(k[1])["le"]), v)
                     for k, v in after.items() if k[0] == "tessera_writer_batch_size_bucket"))
    assert writer and writer[-1][1] == batches
    assert [v for _, v in writer] == sorted(v for _, v in writer)
    assert ("tessera_writer_queue_depth", frozenset()) in after
    # Commit times: one per committed batch (and per maintenance tick), cumulative buckets
    # ending in the count; checkpoint tails copied by the writer, a sum and a count.
    commits = sorted(((float("inf") if dict(k[1])["le"] == "+Inf" else float(dict(k[1])["le"]), v)
                      for k, v in after.items() if k[0] == "tessera_writer_commit_seconds_bucket"))
    assert [le for le, _ in commits][:2] == [0.000125, 0.00025] and len(commits) == 10, commits
    assert [v for _, v in commits] == sorted(v for _, v in commits)
    committed = after[("tessera_writer_commit_seconds_count", frozenset())]
    assert commits[-1][1] == committed
    assert committed - before[("tessera_writer_commit_seconds_count", frozenset())] >= 2
    assert after[("tessera_writer_commit_seconds_sum", frozenset())] > \
        before[("tessera_writer_commit_seconds_sum", frozenset())]
    assert ("tessera_wal_checkpoint_finish_seconds_count", frozenset()) in after
    assert after[("tessera_wal_checkpoint_finish_seconds_sum", frozenset())] >= 0


# --- the role matrix ----------------------------------------------------------------------

def test_role_matrix():
    """Each protected route against each role: the roles outside the route's list get 403
    forbidden before any validation; the roles inside get past authorisation; no token is 401.
    Request bodies are invalid on purpose, so the allowed roles change nothing."""
    w = world()
    sku = w.product(price=10, codes=[unique("ROLE")])
    w.credit(w.users["buyer"]["username"], 10)
    r = w.order(w.clients["buyer"], sku, 1)
    assert r.status == 201, r
    oid = r.json()["id"]
    json_headers = {"Content-Type": "application/json"}
    matrix = [
        ("POST", "/api/v1/users", b"{}", json_headers, {"admin"}),
        ("POST", "/api/v1/products", b"{}", json_headers, {"admin"}),
        ("POST", f"/api/v1/products/{sku}/codes", b"", {"Content-Type": "text/plain"}, {"admin", "supplier"}),
        ("POST", "/api/v1/wallet/credits", b"{}", json_headers, {"admin"}),
        ("GET", "/api/v1/wallet", None, {}, set(ROLES)),
        ("POST", "/api/v1/orders", b"{}", dict(json_headers, **{"Idempotency-Key": "matrix"}), {"buyer"}),
        ("GET", f"/api/v1/orders/{oid}", None, {}, {"buyer", "support", "admin"}),
        ("GET", f"/api/v1/orders/{oid}/codes", None, {}, {"buyer"}),
    ]
    stock = w.products()
    for method, path, body, headers, allowed in matrix:
        r = w.public.request(method, path, body, raw=True, headers=headers)
        assert_error(r, 401, "unauthorized")
        for role in ROLES:
            r = w.clients[role].request(method, path, body, raw=True, headers=headers)
            if role in allowed:
                assert r.status not in (401, 403), (role, method, path, r)
            else:
                assert_error(r, 403, "forbidden")
    # Public routes need no token.
    for path in ("/healthz", "/metrics", "/api/v1/products"):
        assert w.public.get(path).status == 200
    assert w.products() == stock
    w.assert_check()


def test_check_on_an_older_schema():
    """`tessera check` on a database an older binary made says so and changes nothing."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "old.db")
        harness.run_cli("init", "--db", db, env={"TESSERA_ADMIN_PASSWORD": "old-schema-pw-1"})
        con = sqlite3.connect(db)
        known = con.execute("PRAGMA user_version").fetchone()[0]
        con.execute(f"PRAGMA user_version={known - 1}")
        con.close()
        code, out, err = harness.run_cli("check", "--db", db, check=False)
        assert code == 1 and out == "", (code, out)
        assert f"schema version {known - 1}, this binary's is {known}" in err, err
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA user_version").fetchone()[0] == known - 1
        con.close()


def test_init_in_a_missing_directory_says_so():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "no-such-dir", "t.db")
        code, out, err = harness.run_cli("init", "--db", db, check=False,
                                         env={"TESSERA_ADMIN_PASSWORD": "missing-dir-pw-1"})
        assert code == 1 and out == "", (code, out)
        assert f"cannot create {db}: no directory {os.path.dirname(db)}" in err, err
        assert os.listdir(d) == []  # nothing made
        db = os.path.join(d, "t.db")  # and where the directory is, init works and says so twice
        harness.run_cli("init", "--db", db, env={"TESSERA_ADMIN_PASSWORD": "missing-dir-pw-1"})
        code, out, _ = harness.run_cli("init", "--db", db)
        assert code == 0 and "already exists; nothing changed" in out, out


TESTS = [test_check_on_an_older_schema, test_login, test_users_create, test_products_create_and_list, test_import_plain_text,
         test_import_csv, test_wallet, test_orders, test_order_reads, test_routing, test_head, test_metrics,
         test_role_matrix, test_init_in_a_missing_directory_says_so]

if __name__ == "__main__":
    try:
        harness.main(TESTS)
    finally:
        if _world is not None:
            _world.close()

