"""Logging in: hello, login, whoami over raw TLS, and ccagent -c whoami."""

import time

from itest import util, wire


def test_raw_login(ctx):
    """hello lists the ops; login returns the agent and a token; whoami agrees."""
    srv = ctx.server(agents={"alice": "correct horse"})
    conn = ctx.connect(srv)

    hello = conn.ok("hello")
    util.check_eq(hello.get("server"), "callcentred", "hello.server")
    util.check_eq(hello.get("protocol"), 1, "hello.protocol")
    util.check_eq(hello.get("max_line"), 65536, "hello.max_line")
    util.check(isinstance(hello.get("version"), str) and hello["version"],
               f"hello.version: {hello.get('version')!r}")
    ops = hello.get("ops")
    util.check(isinstance(ops, list), f"hello.ops is not a list: {ops!r}")
    for op in ("hello", "ping", "login"):
        util.check_in(op, ops, "ops before login")

    ping = conn.ok("ping")
    now_ms = time.time() * 1000
    util.check(isinstance(ping.get("time"), int) and abs(ping["time"] - now_ms) < 60_000,
               f"ping.time {ping.get('time')!r} is not the Unix time in ms (~{now_ms:.0f})")

    before = int(time.time())
    reply = conn.login("alice", "correct horse")
    agent = reply.get("agent")
    util.check(isinstance(agent, dict), f"login reply without agent: {reply}")
    util.check_eq(agent.get("user"), "alice", "agent.user")
    util.check_eq(agent.get("name"), "Alice", "agent.name")
    util.check_eq(agent.get("role"), "agent", "agent.role")
    util.check_eq(agent.get("site"), "SH", "agent.site")
    util.check(isinstance(agent.get("id"), int) and agent["id"] > 0, f"agent.id: {agent}")
    token = reply.get("token")
    util.check(isinstance(token, str) and len(token) >= 20, f"token: {token!r}")
    expires = reply.get("token_expires")
    util.check(isinstance(expires, int) and before + 86400 - 60 <= expires <= before + 86400 + 60,
               f"token_expires {expires!r} is not about now + auth.session_ttl (86400)")

    hello2 = conn.ok("hello")
    for op in ("whoami", "logout"):
        util.check_in(op, hello2.get("ops", []), "ops after login")

    who = conn.ok("whoami")
    util.check_eq(who.get("agent"), agent, "whoami.agent vs login.agent")
    session = who.get("session", {})
    util.check(session.get("tls") in ("TLSv1.2", "TLSv1.3"), f"session.tls: {session}")
    util.check_eq(session.get("tls"), conn.tls_version(), "session.tls vs negotiated")
    util.check(isinstance(session.get("cipher"), str) and session["cipher"],
               f"session.cipher: {session}")
    local = conn.sock.getsockname()
    util.check_eq(session.get("peer"), f"{local[0]}:{local[1]}", "session.peer")
    util.check(isinstance(session.get("since"), int) and abs(session["since"] - before) <= 5,
               f"session.since: {session}")

    # a second login on a logged-in session is a conflict
    wire.check_error(conn.request("login", user="alice", password="correct horse"),
                     "conflict")
    util.check(token not in srv.log_text(), "the resume token appears in the server log")
    util.check("correct horse" not in srv.log_text(), "the password appears in the server log")


def test_resume_token(ctx):
    """A token from one connection logs in on another; logout revokes it."""
    srv = ctx.server(agents={"bob": "s3cret-pass"})
    first = ctx.connect(srv)
    token = first.login("bob", "s3cret-pass")["token"]

    second = ctx.connect(srv)
    resumed = second.ok("login", token=token)
    util.check_eq(resumed["agent"]["user"], "bob", "resumed agent")
    util.check_eq(second.ok("whoami")["agent"]["user"], "bob", "whoami after resume")

    first.ok("logout")
    util.check(first.is_open(), "connection closed after logout")
    wire.check_error(first.request("whoami"), "unauthorized", "log in first")
    third = ctx.connect(srv)
    wire.check_error(third.request("login", token=token), "unauthorized")


def test_ccagent_whoami(ctx):
    """ccagent -c whoami with the password from the environment or a file."""
    srv = ctx.server(agents={"carol": "pa55 word"})
    agent = ctx.ccagent(srv)

    env_run = agent.run("-c", "whoami", user="carol", password="pa55 word")
    util.check_eq(env_run.returncode, 0, f"ccagent exit status (stderr {env_run.stderr!r})")
    util.check_in("carol", env_run.stdout, "ccagent whoami output")

    pw_file = agent.password_file("pa55 word")
    file_run = agent.run("--password-file", pw_file, "-c", "whoami", user="carol")
    util.check_eq(file_run.returncode, 0, f"ccagent exit status (stderr {file_run.stderr!r})")
    util.check_in("carol", file_run.stdout, "ccagent whoami output")

    json_run = agent.run("--json", "-c", "whoami", user="carol", password="pa55 word")
    util.check_eq(json_run.returncode, 0, f"ccagent --json exit status ({json_run.stderr!r})")
    util.check_in('"carol"', json_run.stdout, "ccagent --json whoami output")
    for run in (env_run, file_run, json_run):
        util.check("pa55 word" not in run.stdout + run.stderr, "ccagent printed the password")


def test_multibyte_agent_fields(ctx):
    """A site code and a name of multi-byte characters at their column's full
    length come back whole in login and whoami."""
    site = "广州天河区客服中心一号二号三号楼"  # 16 characters, 48 bytes
    name = "陈" * 128
    srv = ctx.server(start=False)
    srv.add_agent("wide", "pw-wide", name=name, site=site)
    srv.start()
    conn = ctx.connect(srv)
    agent = conn.login("wide", "pw-wide").get("agent")
    util.check(isinstance(agent, dict), f"login reply without agent: {agent}")
    util.check_eq(agent.get("site"), site, "agent.site")
    util.check_eq(agent.get("name"), name, "agent.name")
    util.check_eq(conn.ok("whoami")["agent"], agent, "whoami.agent")
