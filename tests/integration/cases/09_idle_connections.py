"""Many idle connections do not slow down a working agent."""

import time

from itest import admin, util

IDLE = 200


def test_idle_connections(ctx):
    """200 TLS connections, logged out, held open; an agent logs in quickly;
    all 200 still answer afterwards."""
    srv = ctx.server(agents={"alice": "pw-alice"},
                     settings={"server.idle_timeout": 600})
    idle = []
    t0 = time.monotonic()
    for _ in range(IDLE):
        idle.append(ctx.connect(srv))
    ctx.note(f"{IDLE} idle connections in {time.monotonic() - t0:.2f} s")
    idle[0].ok("ping")
    util.wait_until(lambda: admin.metrics(srv.admin_port)[0].get("cc_connections") == IDLE,
                    util.scaled(5), f"cc_connections == {IDLE}")

    conn = ctx.connect(srv)
    t0 = time.monotonic()
    conn.login("alice", "pw-alice")
    conn.ok("whoami")
    took = time.monotonic() - t0
    ctx.note(f"login + whoami with {IDLE} idle connections: {took * 1000:.0f} ms")
    util.check(took < util.scaled(3), f"login took {took:.2f} s with {IDLE} idle connections")

    closed = [i for i, c in enumerate(idle) if not c.is_open()]
    util.check(not closed, f"{len(closed)} idle connections were closed: {closed[:10]}")
    m, _ = admin.metrics(srv.admin_port)
    util.check_eq(m.get("cc_connections"), IDLE + 1.0, "cc_connections")
    util.check_eq(m.get("cc_sessions_logged_in"), 1.0, "cc_sessions_logged_in")


def test_idle_timeout(ctx):
    """With a short idle_timeout a silent connection gets closing and is closed;
    one that keeps pinging is not."""
    srv = ctx.server(settings={"server.idle_timeout": 2})
    quiet = ctx.connect(srv)
    busy = ctx.connect(srv)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3.5:
        busy.ok("ping")
        time.sleep(0.5)
    seen = quiet.wait_closed(timeout=5)
    util.check(seen and isinstance(seen[0], dict) and seen[0].get("event") == "closing",
               f"no closing event before the idle close: {seen}")
    util.check_in("idle", seen[0].get("reason", ""), "closing reason")
    util.check(busy.is_open(), "an active connection was closed as idle")


def test_trickle_is_idle(ctx):
    """A byte now and then, never finishing a line, does not keep a
    connection alive: idleness is judged by whole lines."""
    srv = ctx.server(settings={"server.idle_timeout": 2})
    slow = ctx.connect(srv)
    t0 = time.monotonic()
    closed = False
    while time.monotonic() - t0 < util.scaled(12):
        try:
            slow.send_raw(b"{")
        except OSError:
            closed = True
            break
        time.sleep(0.5)
        if admin.metrics(srv.admin_port)[0].get("cc_connections") == 0:
            closed = True
            break
    took = time.monotonic() - t0
    ctx.note(f"trickling connection closed after {took:.1f} s (idle_timeout 2)")
    util.check(closed, "a connection sending one byte every 0.5 s was never closed as idle")
    # idle_timeout 2 s, checked every 2 s: 4 s at most, with room for a
    # loaded machine; a trickle that kept it alive would last the whole loop
    util.check(took < util.scaled(9), f"closed only after {took:.1f} s")
