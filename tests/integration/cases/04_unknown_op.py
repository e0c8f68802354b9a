"""Requests the server cannot serve leave the connection usable."""

from itest import util, wire


def test_unknown_op(ctx):
    """An unknown op is bad_request naming it; a following ping works."""
    srv = ctx.server(agents={"alice": "pw-alice"})
    conn = ctx.connect(srv)
    conn.login("alice", "pw-alice")
    reply = conn.request("ticket.frobnicate")
    wire.check_error(reply, "bad_request", "ticket.frobnicate")
    util.check(conn.ok("ping").get("time"), "ping after an unknown op")
    util.check_eq(conn.ok("whoami")["agent"]["user"], "alice", "still logged in")


def test_before_login(ctx):
    """Anything but hello, ping and login before login is unauthorized."""
    srv = ctx.server()
    conn = ctx.connect(srv)
    for op in ("whoami", "logout"):
        wire.check_error(conn.request(op), "unauthorized", "log in first")
    conn.ok("ping")


def test_bad_envelopes(ctx):
    """Valid JSON with a broken envelope is bad_request; the connection stays."""
    srv = ctx.server()
    conn = ctx.connect(srv)
    cases = [
        (b'[1, 2, 3]', None),
        (b'"just a string"', None),
        (b'{"op": "ping"}', None),
        (b'{"id": -4, "op": "ping"}', None),
        (b'{"id": "seven", "op": "ping"}', None),
        (b'{"id": 5}', 5),
        (b'{"id": 6, "op": "Ping!"}', 6),
        (b'{"id": 7, "op": 12}', 7),
        (b'{"id": 8, "op": "' + b"a" * 65 + b'"}', 8),
    ]
    for line, rid in cases:
        conn.send_raw(line + b"\n")
        reply = conn.read()
        wire.check_error(reply, "bad_request")
        if rid is not None:
            util.check_eq(reply.get("id"), rid, f"id of the reply to {line[:40]!r}")
        util.check(conn.is_open(), f"connection closed after {line[:40]!r}")
    # CR LF line ends are accepted, and pipelined requests answered in order
    conn.send_raw(b'{"id": 101, "op": "ping"}\r\n{"id": 102, "op": "hello"}\n'
                  b'{"id": 103, "op": "ping"}\n')
    util.check_eq([conn.read().get("id") for _ in range(3)], [101, 102, 103],
                  "pipelined reply order")
