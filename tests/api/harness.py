"""harness.py — runs a real `tessera serve` on a random port over a fresh database and
talks to it over HTTP. Shared by every test in tests/api and tests/crash.

Only the standard library: http.client, subprocess, json. The binary comes from the
TESSERA_BIN environment variable (set by CTest), else build/asan/tessera.
"""
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("TESSERA_BIN", os.path.join(ROOT, "build", "asan", "tessera"))
ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)


def run_cli(*args, check=True, env=None):
    """Runs `tessera ARGS`; returns (exit code, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    if env:
        full_env.update(env)
    proc = subprocess.run([BIN, *args], capture_output=True, text=True, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"tessera {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc.returncode, proc.stdout, proc.stderr


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def error_code(self):
        try:
            return self.json()["error"]["code"]
        except Exception:
            return None

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r}>"


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        self.conn = None

    def request(self, method, path, body=None, headers=None, token=None, raw=False):
        hdrs = {}
        tok = token if token is not None else self.token
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        if body is not None and not raw:
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode()
        if headers:
            hdrs.update(headers)
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return Response(resp.status, dict(resp.getheaders()), data)
            except (ConnectionError, http.client.HTTPException, OSError):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


class Server:
    """A tessera database in a temp dir plus a running server on a random port."""

    def __init__(self, demo=True, keep=False, rules="", args=(), env=None):
        """rules: the rule file to run ("" allows everything, for tests of other parts;
        None keeps the default pack a fresh install runs). args: more `serve` options.
        env: more environment for the server process."""
        self.dir = tempfile.mkdtemp(prefix="tessera-test-")
        self.db = os.path.join(self.dir, "t.db")
        self.keep = keep
        self.proc = None
        self.port = None
        self.args = list(args)
        self.env = dict(env or {})
        run_cli("init", "--db", self.db, *(["--demo"] if demo else []),
                env={"TESSERA_ADMIN_PASSWORD": ADMIN_PASSWORD})
        self.start()
        if rules is not None:
            self.set_rules(rules)

    def set_rules(self, text):
        r = self.admin().request("PUT", "/api/v1/risk/rules", text, raw=True,
                                 headers={"Content-Type": "text/plain"})
        assert r.status == 200, r
        return r.json()

    def start(self):
        self.log = open(os.path.join(self.dir, "serve.log"), "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.update(self.env)
        self.proc = subprocess.Popen([BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                                      *self.args],
                                     stdout=subprocess.PIPE, stderr=self.log, env=env)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if not m:
            raise AssertionError(f"server did not start: {line!r}\n{self.read_log()}")
        self.port = int(m.group(1))

    def read_log(self):
        with open(os.path.join(self.dir, "serve.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        """Stops the server; returns its exit code (negative for a signal)."""
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self.proc.stdout.close()
        self.proc = None
        self.log.close()
        return code

    def kill(self):
        return self.stop(signal.SIGKILL)

    def client(self, token=None):
        return Client(self.port, token)

    def login(self, username, password):
        r = self.client().post("/api/v1/auth/login", {"username": username, "password": password})
        assert r.status == 200, r
        return r.json()["token"]

    def admin(self):
        return self.client(self.login("admin", ADMIN_PASSWORD))

    def make_user(self, admin, username, role="buyer", password=None):
        password = password or "pw-" + secrets.token_hex(6)
        r = admin.post("/api/v1/users", {"username": username, "password": password, "role": role})
        assert r.status == 201, r
        return self.client(self.login(username, password))

    def check(self):
        """Runs `tessera check`; returns (exit code, parsed JSON summary)."""
        code, out, err = run_cli("check", "--db", self.db, check=False)
        return code, json.loads(out)

    def close(self):
        if self.proc is not None:
            code = self.stop()
            if code != 0:
                raise AssertionError(f"server exited {code}:\n{self.read_log()}")
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def assert_error(r, status, code):
    """r is the error object of that status and code."""
    assert r.status == status, (status, code, r)
    assert r.json()["error"]["code"] == code, r


def wait_for(fn, timeout=20, what="the condition"):
    """fn's first true value, polled every 0.2 s (background work: the payment worker)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def assert_check(server):
    """`tessera check` passes on server's database."""
    code, summary = server.check()
    assert code == 0 and summary["ok"], summary


def main(tests):
    """Runs each test function in order; prints a summary; exits non-zero on failure. Every
    test_* function of the running file must be in the list: one left out would never run."""
    module = sys.modules["__main__"]
    defined = {name for name, value in vars(module).items()
               if name.startswith("test_") and callable(value)}
    missing = sorted(defined - {test.__name__ for test in tests})
    if missing:
        print(f"FAIL {', '.join(missing)} defined but not in the list harness.main runs")
        sys.exit(1)
    failed = 0
    for test in tests:
        start = time.time()
        try:
            test()
            print(f"ok   {test.__name__} ({time.time() - start:.2f}s)")
        except Exception:
            failed += 1
            import traceback
            print(f"FAIL {test.__name__}")
            traceback.print_exc()
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
