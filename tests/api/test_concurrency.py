"""test_concurrency.py — many buyers racing for a SKU with less stock than they demand,
many connections replaying one Idempotency-Key at once, one wallet spent from eight
connections past its balance, and clients that hang up while their order is in the writer.

What must hold afterwards (issue 2, "Guarantees"): exactly the stock was sold, no code was
sold twice, every 201 holds exactly its quantity of distinct codes, every refusal is 409
out_of_stock (402 insufficient_funds past the balance) and charged nothing, each wallet
equals its credits minus its 201s, one Idempotency-Key makes one order and one answer, and
`tessera check` passes. Codes are compared as sets and never printed.
"""
import json
import random
import secrets
import socket
import threading
import time

import harness

CLIENTS = 12
ORDERS_PER_CLIENT = 200          # 2,400 orders in all
PRICE = 100                      # fen per code
STOCK = 3000                     # demand is about 2 * 2,400 = 4,800 codes
CREDIT = 10_000_000              # far above what any buyer can spend here


def make_product(admin, sku, price=PRICE):
    r = admin.post("/api/v1/products", {"sku": sku, "name": f"Card {sku}", "face_value": price,
                                        "price": price, "liquidity": "low"})
    assert r.status == 201, r


def import_codes(admin, sku, codes):
    """Imports codes over HTTP; returns the parsed answer."""
    r = admin.post(f"/api/v1/products/{sku}/codes", "\n".join(codes) + "\n", raw=True,
                   headers={"Content-Type": "text/plain"})
    assert r.status == 200, f"import answered {r.status} {r.error_code()}"
    return r.json()


def new_codes(count, prefix="C"):
    return [f"{prefix}-{secrets.token_hex(10)}" for _ in range(count)]


def stock_of(client, sku):
    products = client.get("/api/v1/products").json()["products"]
    matches = [p["stock"] for p in products if p["sku"] == sku]
    assert len(matches) == 1, f"{sku} listed {len(matches)} times"
    return matches[0]


def make_buyers(server, admin, prefix, count, credit=CREDIT):
    """Creates and credits count buyers; returns [(username, token)]."""
    buyers = []
    for i in range(count):
        name = f"{prefix}{i}"
        client = server.make_user(admin, name)
        r = admin.post("/api/v1/wallet/credits", {"username": name, "amount": credit,
                                                  "reason": "concurrency test"})
        assert r.status == 201, r
        buyers.append((name, client.token))
        client.close()
    return buyers


def describe(response):
    """A response for a failure message: status and error code, never the body (codes)."""
    return f"{response.status} {response.error_code()}"


def test_race_for_scarce_stock():
    server = harness.Server(demo=False)
    try:
        admin = server.admin()
        sku = "RACE-1"
        make_product(admin, sku)
        imported = new_codes(STOCK)
        assert import_codes(admin, sku, imported) == {"imported": STOCK, "duplicates": 0,
                                                      "rejected": 0}
        assert stock_of(admin, sku) == STOCK
        buyers = make_buyers(server, admin, "racer", CLIENTS)

        results = [[] for _ in range(CLIENTS)]   # (quantity, Response) per client
        errors = []
        barrier = threading.Barrier(CLIENTS)
        seed = random.randrange(1 << 30)
        print(f"quantity seed {seed}")

        def place(index):
            rng = random.Random(seed + index)
            client = server.client(buyers[index][1])
            try:
                barrier.wait()
                for k in range(ORDERS_PER_CLIENT):
                    quantity = rng.randint(1, 3)
                    r = client.post("/api/v1/orders", {"sku": sku, "quantity": quantity},
                                    headers={"Idempotency-Key": f"race-{index}-{k}"})
                    results[index].append((quantity, r))
            except Exception as exc:   # reported below; a thread must not die silently
                errors.append(f"client {index}: {exc!r}")
            finally:
                client.close()

        threads = [threading.Thread(target=place, args=(i,)) for i in range(CLIENTS)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        assert not errors, errors
        total = sum(len(r) for r in results)
        assert total == CLIENTS * ORDERS_PER_CLIENT
        print(f"{total} orders from {CLIENTS} clients in {elapsed:.2f}s "
              f"({total / elapsed:.0f} orders/s)")

        imported_set = set(imported)
        sold = []
        order_ids = set()
        refused = 0
        for index, answers in enumerate(results):
            spent = 0
            for quantity, r in answers:
                if r.status == 201:
                    order = r.json()
                    codes = order["codes"]
                    assert order["status"] == "delivered" and order["sku"] == sku, describe(r)
                    assert order["quantity"] == quantity, (order["quantity"], quantity)
                    assert order["amount"] == quantity * PRICE, order["amount"]
                    assert len(codes) == quantity, "a 201 holds the wrong number of codes"
                    assert len(set(codes)) == quantity, "a 201 holds the same code twice"
                    assert order["id"] not in order_ids, "two 201s name the same order"
                    order_ids.add(order["id"])
                    sold.extend(codes)
                    spent += order["amount"]
                else:
                    assert (r.status, r.error_code()) == (409, "out_of_stock"), describe(r)
                    refused += 1
            name, token = buyers[index]
            balance = server.client(token).get("/api/v1/wallet").json()["balance"]
            assert balance == CREDIT - spent, f"{name}: balance {balance}, spent {spent}"

        assert len(sold) == STOCK, f"sold {len(sold)} codes, stock was {STOCK}"
        assert len(set(sold)) == len(sold), "a code was sold twice"
        assert set(sold) == imported_set, "a sold code was never imported"
        assert refused > 0, "demand exceeded stock, yet nothing was refused"
        assert stock_of(admin, sku) == 0
        print(f"{len(order_ids)} orders delivered, {refused} refused out_of_stock")

        code, summary = server.check()
        assert code == 0 and summary["ok"], summary["broken"]
        assert summary["counts"]["orders"] == len(order_ids), summary["counts"]
        assert summary["counts"]["codes_sold"] == STOCK, summary["counts"]
    finally:
        server.close()


REPLAY_CLIENTS = 8
REPLAY_KEYS = 6


def test_concurrent_idempotent_replays():
    server = harness.Server(demo=False)
    try:
        admin = server.admin()
        sku = "REPLAY-1"
        make_product(admin, sku, price=250)
        import_codes(admin, sku, new_codes(100, "R"))
        (name, token), = make_buyers(server, admin, "replayer", 1)
        clients = [server.client(token) for _ in range(REPLAY_CLIENTS)]
        expected_balance, expected_stock = CREDIT, 100
        for key_index in range(REPLAY_KEYS):
            quantity = 1 + key_index % 3
            key = f"same-key-{key_index}"
            answers = [None] * REPLAY_CLIENTS
            barrier = threading.Barrier(REPLAY_CLIENTS)

            def send(i):
                barrier.wait()
                answers[i] = clients[i].post("/api/v1/orders", {"sku": sku, "quantity": quantity},
                                             headers={"Idempotency-Key": key})

            threads = [threading.Thread(target=send, args=(i,)) for i in range(REPLAY_CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert all(a is not None for a in answers), "a replay thread got no answer"
            assert [a.status for a in answers] == [201] * REPLAY_CLIENTS, \
                [describe(a) for a in answers]
            bodies = {a.body for a in answers}
            assert len(bodies) == 1, f"{len(bodies)} different bodies for one Idempotency-Key"
            order = answers[0].json()
            assert order["quantity"] == quantity and len(set(order["codes"])) == quantity
            expected_balance -= 250 * quantity
            expected_stock -= quantity
            assert clients[0].get("/api/v1/wallet").json()["balance"] == expected_balance
            assert stock_of(admin, sku) == expected_stock
            # The same key with another body is refused and changes nothing.
            r = clients[0].post("/api/v1/orders", {"sku": sku, "quantity": quantity % 3 + 1},
                                headers={"Idempotency-Key": key})
            assert (r.status, r.error_code()) == (409, "idempotency_conflict"), describe(r)
            # A later replay, alone, still answers the first body.
            r = clients[1].post("/api/v1/orders", {"sku": sku, "quantity": quantity},
                                headers={"Idempotency-Key": key})
            assert r.status == 201 and r.body == answers[0].body, describe(r)
        assert clients[0].get("/api/v1/wallet").json()["balance"] == expected_balance
        assert stock_of(admin, sku) == expected_stock
        code, summary = server.check()
        assert code == 0 and summary["ok"], summary["broken"]
        assert summary["counts"]["orders"] == REPLAY_KEYS, summary["counts"]
        for c in clients:
            c.close()
    finally:
        server.close()


def test_concurrent_orders_past_the_balance():
    """One buyer, eight connections, credit for 50 codes and demand for hundreds: the wallet
    never goes below zero, every refusal is 402 insufficient_funds and charged nothing."""
    server = harness.Server(demo=False)
    try:
        admin = server.admin()
        sku = "BUDGET-1"
        make_product(admin, sku)
        import_codes(admin, sku, new_codes(5000, "P"))
        credit = 50 * PRICE
        (name, token), = make_buyers(server, admin, "spender", 1, credit=credit)
        answers = [[] for _ in range(8)]
        barrier = threading.Barrier(8)

        def spend(index):
            rng = random.Random(index)
            client = server.client(token)
            barrier.wait()
            for k in range(30):
                quantity = rng.randint(1, 3)
                r = client.post("/api/v1/orders", {"sku": sku, "quantity": quantity},
                                headers={"Idempotency-Key": f"spend-{index}-{k}"})
                answers[index].append((quantity, r))
            client.close()

        threads = [threading.Thread(target=spend, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        spent, sold, refused = 0, [], 0
        for quantity, r in (a for per_client in answers for a in per_client):
            if r.status == 201:
                assert len(set(r.json()["codes"])) == quantity == r.json()["quantity"]
                spent += r.json()["amount"]
                sold.extend(r.json()["codes"])
            else:
                assert (r.status, r.error_code()) == (402, "insufficient_funds"), describe(r)
                refused += 1
        assert refused > 0 and spent <= credit, (refused, spent)
        assert len(set(sold)) == len(sold), "a code was sold twice"
        balance = server.client(token).get("/api/v1/wallet").json()["balance"]
        assert balance == credit - spent and balance >= 0, (balance, credit, spent)
        assert stock_of(admin, sku) == 5000 - len(sold)
        code, summary = server.check()
        assert code == 0 and summary["ok"], summary["broken"]
    finally:
        server.close()


ABANDONING_CLIENTS = 8
ABANDONED_PER_CLIENT = 40


def send_and_hang_up(port, token, sku, quantity, key):
    """Sends a whole order request, then closes the socket without reading the answer."""
    body = json.dumps({"sku": sku, "quantity": quantity}).encode()
    head = (f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body)


def test_abandoned_requests():
    """Clients that hang up while their order is in the writer: the server keeps serving, each
    key makes at most one order, the books balance, and SIGTERM still stops it cleanly."""
    server = harness.Server(demo=False)
    try:
        admin = server.admin()
        sku = "GONE-1"
        make_product(admin, sku)
        import_codes(admin, sku, new_codes(2000, "G"))
        buyers = make_buyers(server, admin, "leaver", ABANDONING_CLIENTS)
        sent = [[] for _ in buyers]      # (key, quantity)
        errors = []

        def abandon(index):
            rng = random.Random(index)
            try:
                for k in range(ABANDONED_PER_CLIENT):
                    quantity = rng.randint(1, 3)
                    key = f"gone-{index}-{k}"
                    send_and_hang_up(server.port, buyers[index][1], sku, quantity, key)
                    sent[index].append((key, quantity))
            except Exception as exc:
                errors.append(f"client {index}: {exc!r}")

        threads = [threading.Thread(target=abandon, args=(i,)) for i in range(len(buyers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        # Replaying each key answers the order it made, or places it now: one order per key.
        placed = 0
        for index, (name, token) in enumerate(buyers):
            client = server.client(token)
            spent = 0
            for key, quantity in sent[index]:
                r = client.post("/api/v1/orders", {"sku": sku, "quantity": quantity},
                                headers={"Idempotency-Key": key})
                assert r.status == 201, describe(r)
                assert r.json()["quantity"] == quantity
                spent += r.json()["amount"]
                placed += quantity
            balance = client.get("/api/v1/wallet").json()["balance"]
            assert balance == CREDIT - spent, f"{name}: balance {balance}, spent {spent}"
            client.close()
        assert stock_of(admin, sku) == 2000 - placed
        code, summary = server.check()
        assert code == 0 and summary["ok"], summary["broken"]
        assert summary["counts"]["orders"] == ABANDONING_CLIENTS * ABANDONED_PER_CLIENT
    finally:
        server.close()                   # SIGTERM; the harness wants exit 0


if __name__ == "__main__":
    harness.main([test_race_for_scarce_stock, test_concurrent_idempotent_replays,
                  test_concurrent_orders_past_the_balance, test_abandoned_requests])
