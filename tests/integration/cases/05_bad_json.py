"""A line that is not JSON: bad_request with id null, then the connection closes."""

from itest import admin, util, wire


def test_malformed_json(ctx):
    """Truncated JSON is answered and the connection closed; others unaffected."""
    srv = ctx.server()
    bystander = ctx.connect(srv)
    conn = ctx.connect(srv)
    conn.ok("ping")
    conn.send_raw(b'{"id": 9, "op": "ping", \n')
    seen = conn.wait_closed(timeout=10)
    util.check(len(seen) >= 1 and isinstance(seen[0], dict), f"no reply before close: {seen}")
    reply = seen[0]
    util.check("id" in reply and reply["id"] is None, f"id must be null: {reply}")
    wire.check_error(reply, "bad_request", "invalid JSON")
    util.check(bystander.is_open(), "another connection was affected")
    m, _ = admin.metrics(srv.admin_port)
    util.check_eq(m.get('cc_errors_total{code="bad_request"}'), 1.0, "bad_request metric")


def test_garbage(ctx):
    """Binary junk that is valid UTF-8 but not JSON gets the same treatment."""
    srv = ctx.server()
    conn = ctx.connect(srv)
    conn.send_raw(b"hello there\n")
    seen = conn.wait_closed(timeout=10)
    util.check(seen and isinstance(seen[0], dict), f"no reply before close: {seen}")
    util.check(seen[0].get("id", "missing") is None, f"id must be null: {seen[0]}")
    message = wire.check_error(seen[0], "bad_request", "invalid JSON at byte")
    util.check(any(c.isdigit() for c in message), f"no byte offset in {message!r}")
