"""ccagent verifies the server: its CA and its host name."""

import ssl

from itest import util, wire


def test_unknown_ca_refused(ctx):
    """A server certificate from a CA ccagent does not trust: exit non-zero,
    a message about verification, nothing sent."""
    srv = ctx.server(agents={"alice": "pw-alice"})
    stranger = ctx.other_ca()
    agent = ctx.ccagent(srv, ca_file=stranger.cert)
    run = agent.run("-c", "whoami", user="alice", password="pw-alice")
    util.check(run.returncode != 0, "ccagent accepted a server its CA did not sign")
    util.check(run.returncode != 1, "exit status 1 (server refusal) for a TLS failure")
    util.check_in("verif", run.stderr.lower(), "ccagent error")
    util.check(srv.find_log(r"msg=\"login\"") is None, "a login reached the server")


def test_insecure_warns(ctx):
    """--insecure connects to that server, with a warning."""
    srv = ctx.server(agents={"alice": "pw-alice"})
    agent = ctx.ccagent(srv, ca_file=ctx.other_ca().cert)
    run = agent.run("--insecure", "-c", "whoami", user="alice", password="pw-alice")
    util.check_eq(run.returncode, 0, f"ccagent --insecure exit status ({run.stderr!r})")
    util.check_in("alice", run.stdout, "whoami output")
    low = run.stderr.lower()
    util.check("warning" in low and ("verif" in low or "insecure" in low),
               f"--insecure gave no warning on stderr: {run.stderr!r}")


def test_host_name_mismatch(ctx):
    """A certificate from the trusted CA but for another name is refused."""
    cert, key = ctx.ca.issue("elsewhere", dns=("elsewhere.example",), ips=())
    srv = ctx.server(agents={"alice": "pw-alice"}, cert=cert, key=key)

    # the raw client agrees that this is a mismatch
    try:
        wire.Conn.open(srv.port, ctx.ca.cert, server_hostname="localhost")
    except ssl.SSLCertVerificationError as e:
        util.check_in("mismatch", str(e).lower(), "raw client error")
    else:
        raise util.CheckFailed("raw client accepted a certificate for elsewhere.example")

    agent = ctx.ccagent(srv)
    for host in ("127.0.0.1", "localhost"):
        run = agent.run("-c", "whoami", user="alice", password="pw-alice", host=host)
        util.check(run.returncode != 0, f"ccagent accepted a certificate for another name "
                   f"when connecting to {host}")
        low = run.stderr.lower()
        util.check("verif" in low or "mismatch" in low or "host" in low,
                   f"ccagent error for {host} does not explain: {run.stderr!r}")
    util.check(srv.find_log(r"msg=\"login\"") is None, "a login reached the server")
