"""Wrong credentials: one answer for a wrong password and an unknown user."""

from itest import util, wire

WRONG = "wrong user name or password"


def test_raw_wrong_password(ctx):
    """unauthorized with the same message for a wrong password and an unknown user."""
    srv = ctx.server(agents={"alice": "right-password"})
    conn = ctx.connect(srv)

    wrong_pw = wire.check_error(conn.request("login", user="alice", password="Tr0ub4dor-wrong"),
                                "unauthorized", WRONG)
    unknown = wire.check_error(conn.request("login", user="mallory", password="Tr0ub4dor-wrong"),
                               "unauthorized", WRONG)
    util.check_eq(unknown, wrong_pw, "message for an unknown user vs a wrong password")

    # the connection stays usable and still logged out
    wire.check_error(conn.request("whoami"), "unauthorized", "log in first")
    util.check_eq(conn.login("alice", "right-password")["agent"]["user"], "alice",
                  "login after failures")
    util.check("Tr0ub4dor" not in srv.log_text(), "a tried password appears in the server log")


def test_missing_arguments(ctx):
    """login without a password or with a non-string user is bad_request."""
    srv = ctx.server(agents={"alice": "right-password"})
    conn = ctx.connect(srv)
    wire.check_error(conn.request("login", user="alice"), "bad_request", "password")
    wire.check_error(conn.request("login", user=7, password="x"), "bad_request", "user")
    util.check(conn.is_open(), "connection closed after bad_request")


def test_ccagent_wrong_password(ctx):
    """ccagent exits non-zero and says unauthorized on standard error."""
    srv = ctx.server(agents={"alice": "right-password"})
    agent = ctx.ccagent(srv)
    for user in ("alice", "mallory"):
        run = agent.run("-c", "whoami", user=user, password="not-it")
        util.check(run.returncode != 0, f"ccagent exit status for {user}: {run.returncode}")
        util.check_in("unauthorized", run.stderr, f"ccagent stderr for {user}")
