"""The loopback admin port: /healthz and /metrics."""

import json
import time

from itest import admin, proxy, util, wire


def test_healthz_and_metrics(ctx):
    """/healthz is 200 with the database up; /metrics counts connections and logins."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"})
    status, body = admin.get(srv.admin_port, "/healthz")
    util.check_eq(status, 200, f"/healthz status (body {body!r})")
    health = json.loads(body)
    util.check_eq((health.get("status"), health.get("database")), ("ok", "up"), "/healthz body")

    a = ctx.connect(srv)
    a.login("alice", "pw-alice")
    b = ctx.connect(srv)
    b.login("bob", "pw-bob")
    c = ctx.connect(srv)
    wire.check_error(c.request("login", user="bob", password="wrong"), "unauthorized")

    m, text = admin.metrics(srv.admin_port)
    util.check_eq(m.get("cc_connections"), 3.0, "cc_connections")
    util.check_eq(m.get("cc_connections_total"), 3.0, "cc_connections_total")
    util.check_eq(m.get("cc_sessions_logged_in"), 2.0, "cc_sessions_logged_in")
    util.check_eq(m.get('cc_logins_total{result="ok"}'), 2.0, "ok logins")
    util.check_eq(m.get('cc_logins_total{result="failed"}'), 1.0, "failed logins")
    util.check_eq(m.get('cc_logins_total{result="throttled"}'), 0.0, "throttled logins")
    util.check_eq(m.get('cc_errors_total{code="unauthorized"}'), 1.0, "unauthorized errors")
    for name in ("cc_db_queue_depth", "cc_db_workers_connected", "cc_db_jobs_total",
                 "cc_tls_handshake_failures_total"):
        util.check(name in m, f"/metrics lacks {name}:\n{util.shorten(text, 3000)}")
    util.check_eq(m.get("cc_db_workers_connected"), 2.0, "cc_db_workers_connected (workers=2)")
    util.check("cc_db_job_seconds_bucket" in text and "cc_db_job_seconds_count" in m,
               "cc_db_job_seconds is not a histogram")
    util.check_in("# TYPE cc_connections gauge", text, "metric types")

    a.close()
    b.close()
    util.wait_until(lambda: admin.metrics(srv.admin_port)[0].get("cc_connections") == 1.0,
                    util.scaled(5), "cc_connections to drop to 1")
    m, _ = admin.metrics(srv.admin_port)
    util.check_eq(m.get("cc_sessions_logged_in"), 0.0, "cc_sessions_logged_in after close")

    status, _ = admin.get(srv.admin_port, "/nope")
    util.check_eq(status, 404, "unknown admin path")


def test_database_down_at_start(ctx):
    """A server pointed at a port with no database does not start: exit 1
    with the reason (start-up applies migrations, which needs the database)."""
    dead_port = util.free_port()
    srv = ctx.server(migrate=False, start=False,
                     settings={"database.port": dead_port, "database.connect_timeout": 1})
    proc = srv.tool("--migrate", timeout=20)
    util.check_eq(proc.returncode, 1, "--migrate exit status without a database")
    util.check("connect" in proc.stderr.lower(),
               f"--migrate error does not mention the connection: {proc.stderr!r}")
    srv.start(wait=False)
    util.check_eq(srv.wait_exit(util.scaled(15)), 1, "start-up exit status without a database")
    util.check(srv.find_log(r"(?i)connect"), "the start-up error does not mention the connection")
    util.check(not util.port_listening(srv.port), "listening without a database")


def _healthz_status(srv):
    return admin.get(srv.admin_port, "/healthz")[0]


def test_database_lost_and_back(ctx):
    """The database going away at run time: 503 and unavailable; back: 200 and ok."""
    relay = proxy.TcpProxy(ctx.db.port).start()
    try:
        srv = ctx.server(agents={"alice": "pw-alice"},
                         settings={"database.port": relay.port,
                                   "database.connect_timeout": 1})
        util.wait_until(lambda: _healthz_status(srv) == 200, util.scaled(10), "/healthz 200")
        conn = ctx.connect(srv)
        conn.login("alice", "pw-alice")
        conn.ok("logout")

        relay.stop()
        ctx.note("database connection cut")
        util.wait_until(lambda: _healthz_status(srv) == 503, util.scaled(15), "/healthz 503")
        reply = conn.request("login", user="alice", password="pw-alice", timeout=20)
        wire.check_error(reply, "unavailable")
        srv.wait_log("connection lost", timeout=5)

        relay.start()
        ctx.note("database reachable again")
        util.wait_until(lambda: _healthz_status(srv) == 200, util.scaled(40), "/healthz 200 again",
                        interval=0.5)
        util.wait_until(lambda: conn.request("login", user="alice", password="pw-alice",
                                             timeout=20).get("ok") is True,
                        util.scaled(40), "login to work again", interval=0.5)
    finally:
        if relay.running:
            relay.stop()
