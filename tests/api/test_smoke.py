"""test_smoke.py — the five-minute tour, end to end against a real server."""
import harness


def test_tour():
    server = harness.Server()
    try:
        c = server.client()
        assert c.get("/healthz").json() == {"ok": True}
        products = c.get("/api/v1/products").json()["products"]
        assert {p["sku"] for p in products} >= {"JD-E100", "STEAM-CN-50"}
        admin = server.admin()
        buyer = server.make_user(admin, "alice")
        r = admin.post("/api/v1/wallet/credits", {"username": "alice", "amount": 50000, "reason": "tour"})
        assert r.status == 201, r
        r = buyer.post("/api/v1/orders", {"sku": "JD-E100", "quantity": 2},
                       headers={"Idempotency-Key": "tour-1"})
        assert r.status == 201, r
        order = r.json()
        assert order["status"] == "delivered" and len(set(order["codes"])) == 2
        assert order["amount"] == 2 * 9850
        assert buyer.get("/api/v1/wallet").json()["balance"] == 50000 - 2 * 9850
        code, summary = server.check()
        assert code == 0 and summary["ok"], summary
    finally:
        server.close()


if __name__ == "__main__":
    harness.main([test_tour])
