"""Login throttling: per-user lockout and per-address lockout."""

from itest import admin, util, wire


def _fail(conn, user, times):
    """times failed logins for user; each must be plain unauthorized."""
    for i in range(times):
        reply = conn.request("login", user=user, password=f"wrong-{i}")
        wire.check_error(reply, "unauthorized")


def _check_locked(reply):
    """rate_limited with a positive retry_after."""
    wire.check_error(reply, "rate_limited")
    retry = reply["error"].get("retry_after")
    util.check(isinstance(retry, int) and retry > 0,
               f"rate_limited without a positive retry_after: {reply}")
    return retry


def test_user_lockout(ctx):
    """After max_failures_per_user failures the right password is refused too;
    another user from the same address still logs in."""
    srv = ctx.server(settings={"auth.max_failures_per_user": 3, "auth.lockout": 120},
                     agents={"alice": "alice-pw", "bob": "bob-pw"})
    conn = ctx.connect(srv)
    _fail(conn, "alice", 3)
    retry = _check_locked(conn.request("login", user="alice", password="alice-pw"))
    util.check(retry <= 120, f"retry_after {retry} exceeds auth.lockout 120")

    other = ctx.connect(srv)
    _check_locked(other.request("login", user="alice", password="alice-pw"))
    util.check_eq(other.login("bob", "bob-pw")["agent"]["user"], "bob", "other user")

    m, _ = admin.metrics(srv.admin_port)
    util.check_eq(m.get('cc_logins_total{result="failed"}'), 3.0, "failed logins metric")
    util.check_eq(m.get('cc_logins_total{result="throttled"}'), 2.0, "throttled logins metric")
    util.check_eq(m.get('cc_logins_total{result="ok"}'), 1.0, "ok logins metric")


def test_ip_lockout(ctx):
    """After max_failures_per_ip failures from one address every user is refused."""
    srv = ctx.server(settings={"auth.max_failures_per_user": 50,
                               "auth.max_failures_per_ip": 4},
                     agents={"alice": "alice-pw", "bob": "bob-pw"})
    conn = ctx.connect(srv)
    for user in ("u1", "u2", "alice", "u3"):
        _fail(conn, user, 1)
    _check_locked(conn.request("login", user="bob", password="bob-pw"))
    fresh = ctx.connect(srv)
    _check_locked(fresh.request("login", user="alice", password="alice-pw"))


def test_failures_below_limit(ctx):
    """Fewer failures than the limit do not lock anyone out."""
    srv = ctx.server(settings={"auth.max_failures_per_user": 3},
                     agents={"alice": "alice-pw"})
    conn = ctx.connect(srv)
    _fail(conn, "alice", 2)
    util.check_eq(conn.login("alice", "alice-pw")["agent"]["user"], "alice",
                  "login after 2 of 3 allowed failures")


def test_parallel_guesses(ctx):
    """Forty wrong guesses sent at once from forty connections: attempts
    still being checked count against the limit, so at most
    max_failures_per_user are checked and the rest are rate limited; the
    right password right after the flood does not get in either."""
    srv = ctx.server(settings={"auth.max_failures_per_user": 5,
                               "auth.max_failures_per_ip": 1000},
                     agents={"alice": "pw-alice"})
    conns = [ctx.connect(srv) for _ in range(40)]
    for i, c in enumerate(conns):
        c.send({"id": 1, "op": "login", "user": "alice", "password": f"wrong-{i}"})
    codes = {}
    for c in conns:
        reply = c.reply_for(1, timeout=60)
        code = "ok" if reply.get("ok") else reply["error"]["code"]
        codes[code] = codes.get(code, 0) + 1
    ctx.note(f"replies: {codes}")
    util.check(codes.get("unauthorized", 0) <= 5,
               f"{codes.get('unauthorized')} wrong passwords were checked; the limit is 5")
    util.check(codes.get("rate_limited", 0) >= 35, f"too few refused: {codes}")
    right = ctx.connect(srv).request("login", user="alice", password="pw-alice")
    wire.check_error(right, "rate_limited")
