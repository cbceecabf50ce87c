"""test_risk_cli.py — `tessera risk check` and `tessera risk replay` as other tools use them:
exit codes, errors as file:line:col, one decision line per decidable event in input order,
malformed and over-long lines reported by number and skipped, identical output on every
run, the labeled summary, the feature CSV for training, stdin, and a model."""
import json
import os
import subprocess
import tempfile

import harness

ROOT = harness.ROOT
DEFAULT = os.path.join(ROOT, "rules", "default.rules")
MODEL = os.path.join(ROOT, "models", "ecom_fraud.json")


def tessera(*args, stdin=None):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    return subprocess.run([harness.BIN, *args], input=stdin, capture_output=True, text=True,
                          env=env)


def write(directory, name, content):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(content)
    return path


EVENTS = [
    {"id": "s1", "type": "signup", "time": "2026-03-01T10:00:00Z", "user": "amy", "device": "D1"},
    {"id": "o1", "type": "order", "time": "2026-03-01T10:00:20Z", "user": "amy", "device": "D1",
     "amount": 5000, "label": 1},
    {"id": "s2", "type": "signup", "time": "2026-03-01T10:00:30Z", "user": "bob", "device": "D2"},
    {"id": "o2", "type": "order", "time": "2026-03-02T10:00:00Z", "user": "bob", "device": "D2",
     "amount": 5000, "label": 0},
    {"id": "o3", "type": "order", "time": "2026-03-02T11:00:00Z", "user": "bob", "device": "D2",
     "amount": 4000, "payment": "credit", "liquidity": "high", "label": 1},
    {"id": "l1", "type": "login", "time": "2026-03-02T12:00:00Z", "user": "bob"},
]


def test_check():
    r = tessera("risk", "check", DEFAULT)
    assert r.returncode == 0 and "rules" in r.stdout, r
    with tempfile.TemporaryDirectory() as d:
        bad = write(d, "bad.rules", "feature n = count of order by user over 1h\n"
                                    "rule a when nothing > 1 then block reason \"r\"\n")
        r = tessera("risk", "check", bad)
        assert r.returncode == 1, r
        assert f"{bad}:2:13: unknown name 'nothing'" in r.stderr, r.stderr
        r = tessera("risk", "check", DEFAULT, "--model", MODEL)
        assert r.returncode == 0, r
        r = tessera("risk", "check", write(d, "empty.rules", ""), "--model", MODEL)
        assert r.returncode == 1 and "model input" in r.stderr, r
    assert tessera("risk", "check").returncode == 2
    assert tessera("risk", "check", "/nonexistent.rules").returncode == 1
    assert tessera("risk", "frobnicate").returncode == 2


def test_replay():
    with tempfile.TemporaryDirectory() as d:
        lines = [json.dumps(e) for e in EVENTS]
        lines.insert(2, '{"id":"broken","type":')          # line 3: malformed
        lines.insert(4, '{"id":"x"' + " " * 20000 + "}")    # line 5: over the limit
        events = write(d, "events.jsonl", "\n".join(lines) + "\n")
        out = os.path.join(d, "decisions.jsonl")
        features = os.path.join(d, "features.csv")
        r = tessera("risk", "replay", "--rules", DEFAULT, "--events", events, "--out", out,
                    "--features-out", features)
        assert r.returncode == 0, r
        assert f"{events}:3:" in r.stderr and f"{events}:5: longer than" in r.stderr, r.stderr
        assert "replayed 6 events (3 decided, 2 malformed)" in r.stderr, r.stderr
        assert "AUC" in r.stderr and "credit_for_cards" in r.stderr, r.stderr
        with open(out) as f:
            decisions = [json.loads(line) for line in f]
        assert [x["id"] for x in decisions] == ["o1", "o2", "o3"], decisions
        assert set(decisions[0]) == {"id", "action", "score", "reasons"}, decisions[0]
        assert decisions[0]["action"] == "review" and "instant_purchase" in decisions[0]["reasons"]
        assert decisions[1] == {"id": "o2", "action": "allow", "score": 0, "reasons": []}, decisions
        assert decisions[2]["action"] == "block" and decisions[2]["score"] == 100, decisions
        # the same input gives the same output, also from stdin
        with open(events) as f:
            again = tessera("risk", "replay", "--rules", DEFAULT, "--events", "-", stdin=f.read())
        assert again.returncode == 0, again
        with open(out) as f:
            assert again.stdout == f.read()
        with open(features) as f:
            rows = f.read().splitlines()
        header = rows[0].split(",")
        assert header[:3] == ["id", "label", "user_age"] and "history.z" in header, header
        assert header[-2:] == ["amount", "hour"], header
        assert rows[1].startswith('"o1",1,20,'), rows[1]
        assert len(rows) == 4, rows
        # with the model: every decision reads it
        r = tessera("risk", "replay", "--rules", DEFAULT, "--model", MODEL, "--events", events)
        assert r.returncode == 0, r
        scored = [json.loads(line) for line in r.stdout.splitlines()]
        assert all("model_signal" in x["reasons"] for x in scored), scored
    assert tessera("risk", "replay", "--rules", DEFAULT).returncode == 2
    assert tessera("risk", "replay", "--rules", DEFAULT, "--events", "/nope").returncode == 1
    assert tessera("risk", "replay", "--rules", DEFAULT, "--events", "-",
                   "--memory-mb", "0").returncode == 2


if __name__ == "__main__":
    harness.main([test_check, test_replay])
