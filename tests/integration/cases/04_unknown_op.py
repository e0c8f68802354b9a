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
    cases = [
        (b'[1, 2, 3]', None),
        (b'"just a string"', None),
        (b'42', None),
        (b'null', None),
        (b'{"op": "ping"}', None),
        (b'{"id": -4, "op": "ping"}', None),
        (b'{"id": "seven", "op": "ping"}', None),
        (b'{"id": 1.5, "op": "ping"}', None),
        (b'{"id": 5}', 5),
        (b'{"id": 6, "op": "Ping!"}', 6),
        (b'{"id": 7, "op": 12}', 7),
        (b'{"id": 8, "op": "' + b"a" * 65 + b'"}', 8),
    ]
    wrong = []
    for line, rid in cases:
        conn = ctx.connect(srv)
        conn.send_raw(line + b"\n")
        try:
            reply = conn.read()
            wire.check_error(reply, "bad_request")
            if rid is not None:
                util.check_eq(reply.get("id"), rid, "reply id")
            else:
                util.check("id" in reply and reply["id"] is None, f"id must be null: {reply}")
            util.check(conn.is_open(), "the connection was closed")
        except (util.CheckFailed, wire.Closed, TimeoutError) as e:
            wrong.append(f"{line[:40]!r}: {e}")
        conn.close()
    util.check(not wrong, "bad envelopes not answered as documented:\n  " + "\n  ".join(wrong))


def test_pipelining(ctx):
    """CR LF line ends are accepted; pipelined requests are answered in order."""
    srv = ctx.server()
    conn = ctx.connect(srv)
    conn.send_raw(b'{"id": 101, "op": "ping"}\r\n{"id": 102, "op": "hello"}\n'
                  b'{"id": 103, "op": "nope"}\n{"id": 104, "op": "ping"}\n')
    util.check_eq([conn.read().get("id") for _ in range(4)], [101, 102, 103, 104],
                  "pipelined reply order")
