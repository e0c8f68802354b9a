"""Line length: 65,536 bytes is the limit, excluding the LF."""

import json

from itest import util, wire

LIMIT = 65536


def _padded(rid, size):
    """A ping request of exactly size bytes (a long string member pads it)."""
    head = {"id": rid, "op": "ping", "pad": ""}
    base = len(json.dumps(head, separators=(",", ":")))
    head["pad"] = "x" * (size - base)
    line = json.dumps(head, separators=(",", ":")).encode()
    assert len(line) == size
    return line


def test_too_large(ctx):
    """A 70 KiB line gets too_large (id null) and the connection closes."""
    srv = ctx.server()
    bystander = ctx.connect(srv)
    conn = ctx.connect(srv)
    try:
        conn.send_raw(_padded(1, 70 * 1024) + b"\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may hang up before taking all of it
    seen = conn.wait_closed(timeout=10)
    util.check(seen and isinstance(seen[0], dict), f"no reply before close: {seen}")
    reply = seen[0]
    util.check("id" in reply and reply["id"] is None, f"id must be null: {reply}")
    wire.check_error(reply, "too_large", "line exceeds 65536 bytes")
    util.check(bystander.is_open(), "another connection was affected")


def test_reply_survives_unread_input(ctx):
    """The too_large reply reaches a client that keeps sending: the server
    drains what is still in flight instead of resetting the connection."""
    srv = ctx.server()
    for attempt in range(5):
        conn = ctx.connect(srv)
        flood = _padded(1, 70 * 1024) + b"\n" + b'{"id":2,"op":"ping"}\n' * 20000
        try:
            conn.send_raw(flood)
        except (BrokenPipeError, ConnectionResetError):
            pass
        seen = conn.wait_closed(timeout=10)
        util.check(seen and isinstance(seen[0], dict),
                   f"attempt {attempt}: the reply was lost: {seen}")
        wire.check_error(seen[0], "too_large")


def test_no_newline(ctx):
    """70 KiB without any LF is refused as soon as it passes the limit."""
    srv = ctx.server()
    conn = ctx.connect(srv)
    try:
        conn.send_raw(b"x" * (70 * 1024))
    except (BrokenPipeError, ConnectionResetError):
        pass
    seen = conn.wait_closed(timeout=10)
    util.check(seen and isinstance(seen[0], dict), f"no reply before close: {seen}")
    wire.check_error(seen[0], "too_large")


def test_exact_limit(ctx):
    """A line of exactly 65,536 bytes is served; 65,537 is too_large."""
    srv = ctx.server()
    conn = ctx.connect(srv)
    conn.send_raw(_padded(2, LIMIT) + b"\n")
    reply = conn.read()
    util.check_eq(reply.get("id"), 2, f"reply id ({util.shorten(reply)})")
    code = reply.get("error", {}).get("code") if reply.get("ok") is False else None
    util.check(code != "too_large", f"a {LIMIT}-byte line was refused: {reply}")
    util.check_eq(reply.get("ok"), True, "ping padded to the limit")
    util.check(conn.is_open(), "connection closed after a line at the limit")

    # and CR LF: the CR does not count
    conn.send_raw(_padded(3, LIMIT) + b"\r\n")
    util.check_eq(conn.read().get("id"), 3, "reply to a limit-size line ending in CR LF")

    over = ctx.connect(srv)
    over.send_raw(_padded(4, LIMIT + 1) + b"\n")
    seen = over.wait_closed(timeout=10)
    util.check(seen and isinstance(seen[0], dict), f"no reply before close: {seen}")
    wire.check_error(seen[0], "too_large")
