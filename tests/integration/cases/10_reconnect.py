"""Interactive ccagent survives a server restart: it reports the lost
connection, reconnects by itself and carries on."""

import signal

from itest import util


def test_restart_and_reconnect(ctx):
    srv = ctx.server(agents={"alice": "pw-alice"})
    agent = ctx.ccagent(srv)
    term = agent.interactive(user="alice", password="pw-alice")
    term.expect(r"(?i)logged in|alice", timeout=15)
    term.sendline("whoami")
    term.expect(r"alice", timeout=10)

    srv.signal(signal.SIGTERM)
    util.check_eq(srv.wait_exit(util.scaled(10)), 0, "server exit status after SIGTERM")
    m = term.expect(r"(?i)connection lost[^\n]*", timeout=10)
    ctx.note(f"ccagent: {m.group(0).strip()}")
    util.check("shut" in m.group(0), f"the lost-connection message does not give the "
               f"server's reason (shutting down): {m.group(0)!r}")
    util.check(term.alive(), "ccagent exited instead of reconnecting")

    srv.start()  # same config, same port
    m = term.expect(r"(?i)reconnected[^\n]*", timeout=40)
    ctx.note(f"ccagent: {m.group(0).strip()}")
    term.sendline("whoami")
    term.expect(r"alice", timeout=10)
    util.check(srv.find_log(r"via=token"), "the reconnect did not use the resume token")

    term.sendline("quit")
    util.check_eq(term.wait(10), 0, "ccagent exit status after quit")
