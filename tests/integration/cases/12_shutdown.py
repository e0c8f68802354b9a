"""SIGTERM: sessions are told, connections close, the server exits 0."""

import signal
import time

from itest import util


def test_sigterm_with_session(ctx):
    """A logged-in session receives closing, then EOF; exit 0 within the
    shutdown timeout; the log says it shut down."""
    srv = ctx.server(settings={"server.shutdown_timeout": 5}, agents={"alice": "pw-alice"})
    conn = ctx.connect(srv)
    conn.login("alice", "pw-alice")
    idle = ctx.connect(srv)

    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    for c in (conn, idle):
        seen = c.wait_closed(timeout=10)
        events = [m for m in seen if isinstance(m, dict) and m.get("event") == "closing"]
        util.check(len(events) == 1, f"expected one closing event before EOF, got {seen}")
        util.check_in("shut", events[0].get("reason", ""), "closing reason")
    code = srv.wait_exit(util.scaled(10))
    took = time.monotonic() - t0
    util.check(code is not None, "server still running 10 s after SIGTERM")
    util.check_eq(code, 0, "exit status after SIGTERM")
    util.check(took < util.scaled(5) + 1, f"exit took {took:.2f} s, over the 5 s shutdown timeout")
    ctx.note(f"exit 0 after {took:.2f} s")
    log = srv.log_text()
    util.check("shutting down" in log or "shut down" in log,
               f"log does not mention the shutdown:\n{util.file_tail(srv.log, 10)}")
    util.check(not util.port_listening(srv.port), "TLS port still listening after exit")


def test_sigint(ctx):
    """SIGINT behaves the same with no sessions: exit 0, quickly."""
    srv = ctx.server()
    srv.signal(signal.SIGINT)
    util.check_eq(srv.wait_exit(util.scaled(10)), 0, "exit status after SIGINT")


def test_refuses_new_connections(ctx):
    """Once stopping, no new session is accepted."""
    srv = ctx.server(agents={"alice": "pw-alice"})
    conn = ctx.connect(srv)
    srv.signal(signal.SIGTERM)
    conn.wait_closed(timeout=10)
    util.check_eq(srv.wait_exit(util.scaled(10)), 0, "exit status")
    try:
        ctx.connect(srv, timeout=3)
    except OSError:
        pass
    else:
        raise util.CheckFailed("connected to a server that has exited")


def test_deadline_with_logins_in_flight(ctx):
    """SIGTERM with logins still being checked and no time to wait for them:
    the server exits 0 promptly and cleanly (the sanitizer build checks that
    nothing is used after it is freed)."""
    srv = ctx.server(settings={"server.shutdown_timeout": 0, "auth.scrypt_n_log2": 15,
                               "auth.hash_workers": 1, "auth.max_failures_per_ip": 1000,
                               "auth.max_failures_per_user": 1000},
                     agents={"alice": "pw-alice"})
    conns = [ctx.connect(srv) for _ in range(12)]
    for c in conns:
        c.send({"id": 1, "op": "login", "user": "alice", "password": "pw-alice"})
    time.sleep(0.05)
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    util.check_eq(srv.wait_exit(util.scaled(20)), 0, "exit status")
    took = time.monotonic() - t0
    ctx.note(f"exit {took:.2f} s after SIGTERM with 12 logins queued")
    # at most the jobs already running finish: one scrypt on the one worker
    util.check(took < util.scaled(5), f"exit took {took:.1f} s with shutdown_timeout 0")
