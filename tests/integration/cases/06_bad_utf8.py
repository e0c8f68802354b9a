"""Invalid UTF-8: bad_request "invalid UTF-8 at byte N", then close."""

from itest import util, wire


def _expect_utf8_error(conn, line, offset):
    conn.send_raw(line + b"\n")
    seen = conn.wait_closed(timeout=10)
    util.check(seen and isinstance(seen[0], dict), f"no reply before close: {seen}")
    reply = seen[0]
    util.check("id" in reply and reply["id"] is None, f"id must be null: {reply}")
    message = wire.check_error(reply, "bad_request", "invalid UTF-8")
    util.check_in(f"byte {offset}", message, "offset of the bad byte")


def test_invalid_byte(ctx):
    """A stray 0xff inside a string."""
    srv = ctx.server()
    bystander = ctx.connect(srv)
    conn = ctx.connect(srv)
    line = b'{"id": 1, "op": "ping", "x": "ab\xffcd"}'
    _expect_utf8_error(conn, line, line.index(b"\xff"))
    util.check(bystander.is_open(), "another connection was affected")


def test_overlong_and_surrogate(ctx):
    """An overlong encoding of '/' and an encoded UTF-16 surrogate are invalid too."""
    srv = ctx.server()
    for bad in (b"\xc0\xaf", b"\xed\xa0\x80"):
        conn = ctx.connect(srv)
        line = b'{"id": 2, "op": "ping", "x": "' + bad + b'"}'
        _expect_utf8_error(conn, line, line.index(bad))


def test_valid_multibyte(ctx):
    """Valid multi-byte text (Chinese, emoji) is fine."""
    srv = ctx.server()
    conn = ctx.connect(srv)
    conn.send_raw('{"id": 3, "op": "ping", "note": "客服 ✓ 😀"}\n'.encode())
    reply = conn.read()
    util.check_eq(reply.get("ok"), True, f"reply {reply}")
