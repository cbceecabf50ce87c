"""test_shutdown.py — SIGTERM while new connections keep arriving.

The server stops accepting by closing every connection accepted after SIGTERM (its accept
policy), then drains and stops libmicrohttpd. It used to call MHD_quiesce_daemon, which
races the HTTP workers over removing the listening socket from their epoll sets: a worker
that lost the race made libmicrohttpd abort the process ("Failed to remove listen FD from
epoll set", seen once in CI). The window is a few instructions wide, so this test runs the
server with an LD_PRELOAD shim (slow_epoll_del.c) that makes every epoll removal on the
main thread wait 50 ms while clients keep connecting: the old stop aborted in 10 of 10
rounds under it.

Each round: four clients open a connection per request (GET /healthz, Connection: close),
SIGTERM arrives at a random moment, and the server must exit 0 within the drain limit.
Every connection must end in 200, 503 busy, a close without an answer, or a refusal once
the socket is gone: never a hang, never a partial answer."""
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import harness  # noqa: E402

SEED = int(os.environ.get("TESSERA_SHUTDOWN_SEED", random.randrange(1 << 31)))
ROUNDS = 5
CLIENTS = 4


def one_connection(port):
    """Opens a connection, asks for /healthz, reads to the end; returns the outcome."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:  # accepted by the kernel, closed before the handshake ended
        return "closed"
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return "hang"
    except (ConnectionResetError, BrokenPipeError):
        return "closed" if not data else "partial"
    finally:
        sock.close()
    if not data:
        return "closed"
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/1.1 ") else "?"
    if status == "200" and body == b'{"ok":true}':
        return "200"
    if status == "503" and b'"busy"' in body:
        return "503"
    return "partial"


def churn(port, halt, outcomes, lock):
    while not halt.is_set():
        outcome = one_connection(port)
        with lock:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1


def test_sigterm_while_connecting():
    shim = os.environ.get("TESSERA_SLOW_EPOLL_DEL")
    assert shim and os.path.exists(shim), "TESSERA_SLOW_EPOLL_DEL names no shim (run via ctest)"
    rng = random.Random(SEED)
    print(f"seed {SEED} (TESSERA_SHUTDOWN_SEED reproduces it)")
    mark_dir = tempfile.mkdtemp(prefix="tessera-shim-")
    mark = os.path.join(mark_dir, "mark")
    asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=1")
    env = {"LD_PRELOAD": shim, "TESSERA_SHIM_MARK": mark,
           "ASAN_OPTIONS": asan + ":verify_asan_link_order=0"}
    server = harness.Server(demo=False, env=env)
    with open(mark) as f:
        assert f.read() == "loaded", "the shim did not load into the server"
    totals = {}
    for round_no in range(ROUNDS):
        if round_no:
            server.start()
        halt, lock, outcomes = threading.Event(), threading.Lock(), {}
        threads = [threading.Thread(target=churn, args=(server.port, halt, outcomes, lock))
                   for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.1, 0.3))
        start = time.monotonic()
        code = server.stop()
        seconds = time.monotonic() - start
        time.sleep(0.05)  # a few connections after the stop: refused
        halt.set()
        for t in threads:
            t.join()
        assert code == 0, f"round {round_no}: the server exited {code}:\n{server.read_log()[-2000:]}"
        assert seconds < 10, f"round {round_no}: SIGTERM took {seconds:.1f}s"
        assert outcomes.get("200", 0) > 0, f"round {round_no}: no request answered: {outcomes}"
        bad = {k: v for k, v in outcomes.items() if k not in ("200", "503", "closed", "refused")}
        assert not bad, f"round {round_no}: connections ended badly: {outcomes}"
        for k, v in outcomes.items():
            totals[k] = totals.get(k, 0) + v
    print(f"{ROUNDS} rounds, connections: {dict(sorted(totals.items()))}")
    server.close()
    shutil.rmtree(mark_dir, ignore_errors=True)


if __name__ == "__main__":
    harness.main([test_sigterm_while_connecting])
