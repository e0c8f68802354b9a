"""server.max_connections_per_ip and server.max_connections."""

import socket
import time

from itest import admin, util


def _refused(ctx, srv):
    """Connect over the cap: the handshake completes, then closing and EOF."""
    conn = ctx.connect(srv)
    seen = conn.wait_closed(timeout=10)
    util.check(len(seen) == 1 and isinstance(seen[0], dict), f"expected one event: {seen}")
    util.check_eq(seen[0].get("event"), "closing", f"event over the cap ({seen[0]})")
    util.check(seen[0].get("reason"), f"closing without a reason: {seen[0]}")
    return seen[0]["reason"]


def test_per_ip_cap(ctx):
    """The 6th connection from one address is told and closed; the 5 stay."""
    srv = ctx.server(settings={"server.max_connections_per_ip": 5},
                     agents={"alice": "pw-alice"})
    conns = [ctx.connect(srv) for _ in range(5)]
    for c in conns:
        c.ok("ping")
    reason = _refused(ctx, srv)
    ctx.note(f"6th connection refused: {reason}")
    for i, c in enumerate(conns):
        util.check(c.is_open(), f"connection {i} under the cap was closed")
    conns[0].close()
    util.wait_until(lambda: admin.metrics(srv.admin_port)[0].get("cc_connections") == 4.0,
                    util.scaled(5), "cc_connections to drop to 4")
    again = ctx.connect(srv)
    again.login("alice", "pw-alice")
    m, _ = admin.metrics(srv.admin_port)
    util.check_eq(m.get('cc_closes_total{reason="limit"}'), 1.0, "closes over the limit")


def test_total_cap(ctx):
    """max_connections counts every address."""
    srv = ctx.server(settings={"server.max_connections": 3})
    conns = [ctx.connect(srv) for _ in range(3)]
    for c in conns:
        c.ok("ping")
    _refused(ctx, srv)
    util.check(all(c.is_open() for c in conns), "a connection under the cap was closed")


def test_one_address_cannot_fill_the_server(ctx):
    """Bare TCP connections from one address far past its own cap are cut
    at once, so another address still gets in under the global cap."""
    srv = ctx.server(settings={"server.max_connections": 40,
                               "server.max_connections_per_ip": 5,
                               "server.handshake_timeout": 10})
    hog = []
    for _ in range(120):
        s = socket.create_connection(("127.0.0.1", srv.port))
        hog.append(s)
    try:
        time.sleep(0.5)
        m, _ = admin.metrics(srv.admin_port)
        ctx.note(f"cc_connections with 120 bare sockets from one address: "
                 f"{m.get('cc_connections')}")
        util.check(m.get("cc_connections", 0) <= 5 + 4,
                   f"one address holds {m.get('cc_connections')} connections")
        other = ctx.connect(srv, source="127.0.0.2")
        util.check_eq(other.ok("ping").get("ok"), True, "ping from another address")
    finally:
        for s in hog:
            s.close()
