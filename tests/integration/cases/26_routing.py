"""Routing over real TLS: agents who say ready are offered queued tickets
(the offer and the customer's screen pop pushed to them); accept makes the
ticket theirs; decline and an offer that runs out send it to the next
agent; missed offers pause an agent; a restart takes back open offers and
puts waiting work back in line with its original enqueue time; nothing is
ever given to two agents."""

import time

from itest import proxy, util, wire


def _setup(ctx, offer_seconds=15, max_misses=3):
    """alice and bob (agents at SH), sue (supervisor), a queue 'general' of
    SH, a customer; the server started after the set-up is in place."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False)
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, offer_seconds, wrapup_seconds, "
        "sticky_seconds, max_misses) "
        f"SELECT 'general', 'General', id, {offer_seconds}, 0, 0, {max_misses} "
        "FROM sites WHERE code = 'SH';\n"
        "INSERT INTO customers (id, name) VALUES (7001, '王芳');\n", srv.database)
    srv.start()
    return srv


def _login(ctx, srv, user):
    conn = ctx.connect(srv)
    conn.login(user, "pw-" + user)
    return conn


def _event(conn, name, timeout=10.0, ticket=None):
    """The next event called name (others seen on the way are kept)."""
    deadline = time.monotonic() + util.scaled(timeout)
    while True:
        for i, ev in enumerate(conn.events):
            if ev.get("event") == name and (ticket is None or _ticket_of(ev) == ticket):
                return conn.events.pop(i)
        left = deadline - time.monotonic()
        util.check(left > 0, f"no {name} event within {timeout} s; saw "
                             f"{[e.get('event') for e in conn.events]}")
        msg = conn.read(timeout=left)
        if "event" in msg and "id" not in msg:
            conn.events.append(msg)


def _ticket_of(ev):
    t = ev.get("ticket")
    return t.get("ref") if isinstance(t, dict) else t


def _no_event(conn, name, wait=1.0):
    """No event called name arrives within wait seconds."""
    deadline = time.monotonic() + util.scaled(wait)
    while time.monotonic() < deadline:
        util.check(all(e.get("event") != name for e in conn.events),
                   f"unexpected {name}: {conn.events}")
        try:
            msg = conn.read(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            break
        if "event" in msg:
            conn.events.append(msg)
    util.check(all(e.get("event") != name for e in conn.events), f"unexpected {name}")


def _create(conn, subject="查询订单", customer=7001):
    return conn.ok("ticket.create", kind="inquiry", channel="phone", subject=subject,
                   queue="general", customer_id=customer)["ticket"]


def test_offer_accept(ctx):
    """A ready agent gets the queued ticket with its screen pop, accepts it
    and owns it; the router's offer is on the ticket's hash chain."""
    srv = _setup(ctx)
    alice = _login(ctx, srv, "alice")
    sue = _login(ctx, srv, "sue")
    st = alice.ok("agent.status")
    util.check_eq((st["routed"], st["state"]), (True, "offline"), "status before ready")
    util.check("lunch" in st["pause_reasons"], f"pause reasons: {st['pause_reasons']}")
    util.check_eq(alice.ok("agent.ready")["state"], "ready", "state after ready")

    t = _create(sue)
    util.check_eq(t["state"], "queued", "created into the queue")
    offer = _event(alice, "offer")
    util.check_eq((offer["ticket"]["ref"], offer["ticket"]["state"], offer["ticket"]["owner"]),
                  (t["ref"], "offered", "alice"), "offer pushed to alice")
    pop = _event(alice, "customer.pop")
    util.check_eq(pop["customer"]["name"] if "customer" in pop else pop.get("name"), "王芳",
                  "screen pop with the offer")
    util.check_eq(alice.ok("agent.status")["state"], "reserved", "reserved while offered")

    taken = alice.ok("offer.accept", ticket=t["ref"])["ticket"]
    util.check_eq((taken["state"], taken["owner"]), ("in_progress", "alice"), "accepted")
    st = alice.ok("agent.status")
    util.check_eq((st["state"], st["calls"]), ("busy", 1), "busy with one call")
    shown = sue.ok("ticket.show", ticket=t["ref"])
    ops = [(e["op"], e["actor"]) for e in shown["events"]]
    util.check_eq(ops[:3], [("create", "sue"), ("offer", "system"), ("accept", "alice")],
                  "history: create, the router's offer, alice's accept")
    code, out = srv.tool("--verify-ticket", t["ref"]).returncode, ""
    util.check_eq(code, 0, "event chain intact")

    # resolving frees alice; the next ticket comes to her
    sue.ok("ticket.note", ticket=t["ref"], body="done", visibility="customer")
    alice.ok("ticket.transition", ticket=t["id"], action="resolve", version=taken["version"],
             code="answered", summary="told the customer")
    t2 = _create(sue, "第二个")
    offer = _event(alice, "offer")
    util.check_eq(offer["ticket"]["ref"], t2["ref"], "next offer after resolve")


def test_decline_and_timeout(ctx):
    """Decline sends the ticket to the other ready agent; an offer that runs
    out is taken back (offer.retracted) and goes on; the ticket's history
    shows each step and it is never offered to two agents at once."""
    srv = _setup(ctx, offer_seconds=2)
    alice = _login(ctx, srv, "alice")
    bob = _login(ctx, srv, "bob")
    sue = _login(ctx, srv, "sue")
    alice.ok("agent.ready")
    time.sleep(0.05)  # alice idles longer: she is first
    bob.ok("agent.ready")

    t = _create(sue)
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], t["ref"], "first to alice")
    back = alice.ok("offer.decline", ticket=t["ref"])["ticket"]
    util.check_eq(back["state"], "queued", "declined: back in line")
    offer = _event(bob, "offer")
    util.check_eq(offer["ticket"]["owner"], "bob", "then to bob")
    # bob lets it run out: taken back, offered to alice again
    retracted = _event(bob, "offer.retracted", timeout=6)
    util.check_eq(retracted["ticket"], t["ref"], "retracted from bob")
    again = _event(alice, "offer", timeout=6)
    util.check_eq(again["ticket"]["ref"], t["ref"], "back to alice")
    alice.ok("offer.accept", ticket=t["ref"])
    events = [(e["op"], e["new_value"]) for e in sue.ok("ticket.show", ticket=t["ref"])["events"]]
    util.check_eq(events, [("create", "queued"), ("offer", "offered"), ("decline", "queued"),
                           ("offer", "offered"), ("timeout", "queued"), ("offer", "offered"),
                           ("accept", "in_progress")], "history")
    # a second accept by bob is refused: the ticket is alice's
    wire.check_error(bob.request("offer.accept", ticket=t["ref"]), "conflict")


def test_missed_offers_pause(ctx):
    """An agent who lets max_misses offers run out is paused with reason
    missed, and the work waits for someone else."""
    srv = _setup(ctx, offer_seconds=1, max_misses=2)
    alice = _login(ctx, srv, "alice")
    sue = _login(ctx, srv, "sue")
    alice.ok("agent.ready")
    t = _create(sue)
    _event(alice, "offer")
    _event(alice, "offer.retracted", timeout=4)
    _event(alice, "offer", timeout=4)
    paused = _event(alice, "agent.paused", timeout=4)
    util.check_eq(paused["reason"], "missed", "paused for missed offers")
    _event(alice, "offer.retracted", timeout=4)  # the second offer, written back
    st = alice.ok("agent.status")
    util.check_eq((st["state"], st["reason"]), ("paused", "missed"), "status after misses")
    shown = sue.ok("ticket.show", ticket=t["ref"])["ticket"]
    util.check_eq((shown["state"], shown["owner"]), ("queued", None), "work waits")
    wire.check_error(alice.request("agent.pause", reason="missed"), "bad_request", "router")
    wire.check_error(alice.request("agent.pause", reason="nap"), "bad_request", "unknown")
    # bob comes: the ticket is his
    bob = _login(ctx, srv, "bob")
    bob.ok("agent.ready")
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], t["ref"], "bob gets it")


def test_restart_rebuilds(ctx):
    """Work waiting at a restart comes back in line in its original order,
    and an offer open at the restart is taken back first."""
    srv = _setup(ctx, offer_seconds=60)
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    first = _create(sue, "first")
    second = _create(sue, "second")
    alice.ok("agent.ready")
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], first["ref"], "first offered")
    srv.stop()
    srv.start()
    sue = _login(ctx, srv, "sue")
    shown = sue.ok("ticket.show", ticket=first["ref"])
    util.check_eq((shown["ticket"]["state"], shown["events"][-1]["op"]), ("queued", "timeout"),
                  "the open offer was taken back at start")
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], first["ref"],
                  "first in line again, by its enqueue time")
    alice.ok("offer.accept", ticket=first["ref"])
    bob = _login(ctx, srv, "bob")
    bob.ok("agent.ready")
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], second["ref"], "then second")
    _no_event(alice, "offer", wait=0.5)


def test_not_routed(ctx):
    """A supervisor without a routing profile of the queue's site, and an
    admin, are told so; ops need a login."""
    srv = _setup(ctx)
    srv.add_agent("root", "pw-root", role="admin")
    root = _login(ctx, srv, "root")
    wire.check_error(root.request("agent.ready"), "forbidden")
    st = root.ok("agent.status")
    util.check_eq(st["routed"], False, "admin is not routed")
    anon = ctx.connect(srv)
    wire.check_error(anon.request("agent.ready"), "unauthorized")


def test_complaint_levels(ctx):
    """A complaint goes only to handlers of the level its grade calls for
    (severity 2 needs complaint.l3, severity 1, the gravest, complaint.l4);
    a severity 1 complaint is announced to supervisors at once."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False)
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'complaints', 'Complaints', id, 0, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO skills (code, name, kind) VALUES "
        "('complaint.l3', 'Level 3', 'level'), ('complaint.l4', 'Level 4', 'level');\n"
        "INSERT INTO agent_skills (agent_id, skill_id, proficiency) "
        "SELECT a.id, s.id, 2 FROM agents a, skills s "
        "WHERE a.username = 'bob' AND s.code IN ('complaint.l3', 'complaint.l4');\n",
        srv.database)
    srv.start()
    alice = _login(ctx, srv, "alice")
    bob = _login(ctx, srv, "bob")
    sue = _login(ctx, srv, "sue")
    alice.ok("agent.ready")
    time.sleep(0.05)
    bob.ok("agent.ready")
    plain = sue.ok("ticket.create", kind="inquiry", channel="web", subject="plain",
                   queue="complaints")["ticket"]
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], plain["ref"],
                  "an inquiry goes to the longest idle")
    serious = sue.ok("ticket.create", kind="complaint", channel="web", severity=2,
                     subject="serious", queue="complaints")["ticket"]
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], serious["ref"],
                  "a level 3 complaint goes to the level 3 handler")
    bob.ok("offer.accept", ticket=serious["ref"])
    critical = sue.ok("ticket.create", kind="complaint", channel="web", severity=1,
                      subject="critical", queue="complaints")["ticket"]
    ev = _event(sue, "complaint.critical")
    util.check_eq((ev["ticket"], ev["queue"]), (critical["ref"], "complaints"),
                  "supervisors hear of a critical complaint")
    # alice holds an offer already and lacks the level: the critical one
    # waits for bob, who takes async work up to his capacity
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], critical["ref"], "level 4 to bob")
    _no_event(alice, "offer", wait=0.5)


def test_logout_ends_routing(ctx):
    """Logging out takes the agent offline: the next user on the same
    connection gets no offers meant for them, and they can say ready again
    on a new connection."""
    srv = _setup(ctx)
    sue = _login(ctx, srv, "sue")
    conn = _login(ctx, srv, "alice")
    conn.ok("agent.ready")
    conn.ok("logout")
    conn.login("bob", "pw-bob")
    util.check_eq(conn.ok("agent.status")["state"], "offline", "bob is not ready")
    t = _create(sue)
    _no_event(conn, "offer", wait=0.5)
    shown = sue.ok("ticket.show", ticket=t["ref"])["ticket"]
    util.check_eq((shown["state"], shown["owner"]), ("queued", None), "nobody was offered it")
    conn.close()
    alice = _login(ctx, srv, "alice")
    util.check_eq(alice.ok("agent.ready")["state"], "reserved", "ready again, and offered")
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], t["ref"], "the waiting ticket")


def test_transfer_to_agent(ctx):
    """A supervisor's transfer to an agent is an offer like the router's:
    pushed to the agent, timed by the queue, taken back when it runs out;
    a second connection cannot pause the agent."""
    srv = _setup(ctx, offer_seconds=1)
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    t = sue.ok("ticket.create", kind="inquiry", channel="phone", subject="for alice",
               customer_id=7001)["ticket"]
    moved = sue.ok("ticket.transition", ticket=t["id"], action="transfer_agent",
                   agent="alice", queue="general", version=t["version"])["ticket"]
    util.check_eq((moved["state"], moved["owner"]), ("offered", "alice"), "transferred")
    offer = _event(alice, "offer")
    util.check_eq(offer["ticket"]["ref"], t["ref"], "alice is told")
    util.check("expires_at" in offer, f"offer without a deadline: {offer}")
    st = alice.ok("agent.status")
    util.check_eq((st["state"], st["calls"]), ("offline", 0), "an offer is not work in hand")
    other = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    wire.check_error(other.request("agent.pause", reason="lunch"), "bad_request",
                     "another connection")
    _event(alice, "offer.retracted", timeout=5)
    shown = sue.ok("ticket.show", ticket=t["ref"])["ticket"]
    util.check_eq(shown["state"] in ("queued", "offered"), True, "taken back into the queue")


def test_restart_keeps_work_in_hand(ctx):
    """After a restart a call in progress still counts: its agent is not
    offered a second call."""
    srv = _setup(ctx)
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    first = _create(sue, "first")
    _event(alice, "offer")
    alice.ok("offer.accept", ticket=first["ref"])
    srv.stop()
    srv.start()
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    st = alice.ok("agent.ready")
    util.check_eq((st["state"], st["calls"]), ("busy", 1), "the call in hand counts")
    _create(sue, "second")
    _no_event(alice, "offer", wait=0.5)


def test_priority_change_reorders(ctx):
    """Raising a waiting ticket's priority moves it ahead in line."""
    srv = _setup(ctx)
    sue = _login(ctx, srv, "sue")
    _create(sue, "low")
    other = _create(sue, "other")
    sue.ok("ticket.update", ticket=other["id"], version=other["version"], priority=9)
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], other["ref"],
                  "the raised ticket goes first")


def test_database_outage_loses_no_timeout(ctx):
    """An offer that runs out while the database is unreachable is written
    back once it returns: the ticket never stays offered to an agent whose
    offer has ended."""
    relay = proxy.TcpProxy(ctx.db.port).start()
    try:
        srv = ctx.server(agents={"alice": "pw-alice"}, start=False,
                         settings={"database.port": relay.port,
                                   "database.connect_timeout": 1})
        srv.add_agent("sue", "pw-sue", role="supervisor")
        srv.dbinfo.sql(
            "INSERT INTO queues (code, name, site_id, offer_seconds, wrapup_seconds, "
            "sticky_seconds, max_misses) SELECT 'general', 'General', id, 1, 0, 0, 1 "
            "FROM sites WHERE code = 'SH';\n", srv.database)
        srv.start()
        sue = _login(ctx, srv, "sue")
        alice = _login(ctx, srv, "alice")
        alice.ok("agent.ready")
        t = sue.ok("ticket.create", kind="inquiry", channel="phone", subject="x",
                   queue="general")["ticket"]
        _event(alice, "offer")
        relay.stop()
        time.sleep(util.scaled(3))  # the offer runs out while the database is away
        relay.start()
        _event(alice, "offer.retracted", timeout=40)
        state = srv.dbinfo.scalar(
            f"SELECT CONCAT(state, ':', IFNULL(owner_agent_id, '-')) FROM tickets "
            f"WHERE id = {t['id']}", srv.database)
        util.check_eq(state, "queued:-", "the timeout was written once the database came back")
        st = alice.ok("agent.status")
        util.check_eq((st["state"], st.get("reason")), ("paused", "missed"), "one miss pauses")
    finally:
        if relay.running:
            relay.stop()


def test_ccagent_offer(ctx):
    """In ccagent: 'ready', an offer shown with the ticket, the screen pop
    and a countdown in the prompt, 'accept' without naming the ticket, and
    'status'."""
    srv = _setup(ctx, offer_seconds=30)
    sue = _login(ctx, srv, "sue")
    term = ctx.ccagent(srv).interactive(user="alice", password="pw-alice")
    term.expect(r"logged in as alice", timeout=15)
    term.sendline("accept")
    term.expect(r"no offer is pending")
    term.sendline("ready")
    term.expect(r"ready")
    t = _create(sue, "来电 查询订单")
    term.expect(r"-- offer: " + t["ref"] + r", answer by \d\d:\d\d:\d\d --")
    term.expect(r"offer\.accept ticket=" + t["ref"])
    term.expect(r"screen pop")
    term.expect(r"王芳")
    term.expect(r"\[offer " + t["ref"] + r" (29|30)s\]")  # the countdown in the prompt
    term.sendline("accept")
    term.expect(r"in_progress")
    term.sendline("status")
    term.expect(r"busy")
    term.sendline("quit")
    util.check_eq(term.wait(10), 0, "ccagent exit status after quit")
    shown = sue.ok("ticket.show", ticket=t["ref"])["ticket"]
    util.check_eq((shown["state"], shown["owner"]), ("in_progress", "alice"), "accepted")


def test_reload_without_restart(ctx):
    """route.reload (admin only) picks up a new queue, a new agent and a
    changed offer time while work waits and agents keep their state."""
    srv = _setup(ctx)
    srv.add_agent("root", "pw-root", role="admin")
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, offer_seconds, wrapup_seconds, "
        "sticky_seconds) SELECT 'vip', 'VIP', id, 1, 0, 0 FROM sites WHERE code = 'SH';\n",
        srv.database)
    srv.add_agent("carol", "pw-carol")
    wire.check_error(sue.request("ticket.create", kind="inquiry", channel="phone",
                                 subject="too early", queue="nope"), "not_found")
    root = _login(ctx, srv, "root")
    wire.check_error(alice.request("route.reload"), "forbidden")
    reply = root.ok("route.reload")
    util.check_eq(reply["queues"], 2, "queues read")
    util.check_eq(alice.ok("agent.status")["state"], "ready", "alice still ready")
    t = sue.ok("ticket.create", kind="inquiry", channel="phone", subject="vip",
               queue="vip")["ticket"]
    offer = _event(alice, "offer")
    util.check_eq(offer["ticket"]["ref"], t["ref"], "the new queue's work is routed")
    util.check(offer["expires_at"] - int(time.time() * 1000) <= 1500,
               f"the new queue's 1 s offer time applies: {offer}")
    carol = _login(ctx, srv, "carol")
    util.check_eq(carol.ok("agent.ready")["routed"], True, "the new agent is routed")


def test_customer_language(ctx):
    """The ticket's language replaces the queue's language requirement: an
    English-speaking customer's work goes to the English speaker."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False)
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.dbinfo.sql(
        "INSERT INTO skills (code, name, kind) VALUES ('lang.zh', 'Mandarin', 'language'), "
        "('lang.en', 'English', 'language');\n"
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'general', 'General', id, 0, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO queue_skills (queue_id, skill_id, min_proficiency) "
        "SELECT q.id, s.id, 2 FROM queues q, skills s WHERE q.code = 'general' "
        "AND s.code = 'lang.zh';\n"
        "INSERT INTO agent_skills (agent_id, skill_id, proficiency) "
        "SELECT a.id, s.id, 5 FROM agents a, skills s WHERE a.username = 'alice' "
        "AND s.code = 'lang.zh';\n"
        "INSERT INTO agent_skills (agent_id, skill_id, proficiency) "
        "SELECT a.id, s.id, 3 FROM agents a, skills s WHERE a.username = 'bob' "
        "AND s.code = 'lang.en';\n", srv.database)
    srv.start()
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    bob = _login(ctx, srv, "bob")
    alice.ok("agent.ready")
    time.sleep(0.05)
    bob.ok("agent.ready")
    t = sue.ok("ticket.create", kind="inquiry", channel="web", subject="order?")["ticket"]
    t = sue.ok("ticket.update", ticket=t["id"], version=t["version"],
               language="en-GB")["ticket"]
    sue.ok("ticket.transition", ticket=t["id"], action="enqueue", queue="general",
           version=t["version"])
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], t["ref"], "to the English speaker")
    zh = sue.ok("ticket.create", kind="inquiry", channel="web", subject="订单",
                queue="general")["ticket"]
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], zh["ref"],
                  "the queue's language otherwise")


def test_product_line(ctx):
    """A ticket about a product line needs the skill product.<line>; after a
    restart the waiting ticket still does."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False)
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.dbinfo.sql(
        "INSERT INTO skills (code, name, kind) VALUES ('product.luxury', 'Luxury', 'product');\n"
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'general', 'General', id, 0, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO agent_skills (agent_id, skill_id, proficiency) "
        "SELECT a.id, s.id, 4 FROM agents a, skills s WHERE a.username = 'bob' "
        "AND s.code = 'product.luxury';\n", srv.database)
    srv.start()
    sue = _login(ctx, srv, "sue")
    t = sue.ok("ticket.create", kind="inquiry", channel="web", subject="a handbag")["ticket"]
    wire.check_error(sue.request("ticket.update", ticket=t["id"], version=t["version"],
                                 product_line="Luxury Goods"), "bad_request", "product line")
    t = sue.ok("ticket.update", ticket=t["id"], version=t["version"],
               product_line="luxury")["ticket"]
    util.check_eq(t["product_line"], "luxury", "stored")
    sue.ok("ticket.transition", ticket=t["id"], action="enqueue", queue="general",
           version=t["version"])
    srv.stop()
    srv.start()
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    _no_event(alice, "offer", wait=0.5)
    bob = _login(ctx, srv, "bob")
    bob.ok("agent.ready")
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], t["ref"], "to the luxury specialist")


def test_queue_set(ctx):
    """queue.set (admin only) changes a queue's policy at once: the next
    offer runs out by the new time."""
    srv = _setup(ctx, offer_seconds=30)
    srv.add_agent("root", "pw-root", role="admin")
    root = _login(ctx, srv, "root")
    sue = _login(ctx, srv, "sue")
    wire.check_error(sue.request("queue.set", queue="general", offer_seconds=1), "forbidden")
    wire.check_error(root.request("queue.set", queue="nope", offer_seconds=1), "not_found")
    wire.check_error(root.request("queue.set", queue="general"), "bad_request", "nothing")
    wire.check_error(root.request("queue.set", queue="general", offer_seconds=0),
                     "bad_request", "offer_seconds")
    wire.check_error(root.request("queue.set", queue="general", strategy="random"),
                     "bad_request", "strategy")
    q = root.ok("queue.set", queue="general", offer_seconds=1, strategy="round_robin")["queue"]
    util.check_eq((q["code"], q["offer_seconds"], q["strategy"], q["wrapup_seconds"]),
                  ("general", 1, "round_robin", 0), "the policy as it now is")
    util.check_eq(srv.dbinfo.scalar("SELECT offer_seconds FROM queues WHERE code = 'general'",
                                    srv.database), "1", "stored")
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    t = _create(sue)
    offer = _event(alice, "offer")
    util.check(offer["expires_at"] - int(time.time() * 1000) <= 1500,
               f"the new offer time applies: {offer}")
    util.check_eq(_event(alice, "offer.retracted", timeout=5)["ticket"], t["ref"], "ran out")


def test_senior_queue_and_agent_wrapup(ctx):
    """A complaint of the gravest grade created for a queue with a senior
    queue goes there (and supervisors hear of it); an agent's own wrap-up
    time replaces the queue's."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False)
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'senior', 'Senior complaints', id, 0, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds, "
        "critical_queue_id) SELECT 'complaints', 'Complaints', s.id, 60, 0, q.id "
        "FROM sites s, queues q WHERE s.code = 'SH' AND q.code = 'senior';\n"
        "INSERT INTO agent_queues (agent_id, queue_id) SELECT a.id, q.id FROM agents a, "
        "queues q WHERE a.username = 'alice' AND q.code = 'complaints';\n"
        "INSERT INTO agent_queues (agent_id, queue_id) SELECT a.id, q.id FROM agents a, "
        "queues q WHERE a.username = 'bob' AND q.code = 'senior';\n"
        "UPDATE agents SET wrapup_seconds = 0 WHERE username = 'alice';\n", srv.database)
    srv.start()
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    bob = _login(ctx, srv, "bob")
    alice.ok("agent.ready")
    bob.ok("agent.ready")
    grave = sue.ok("ticket.create", kind="complaint", channel="phone", severity=1,
                   subject="grave", queue="complaints")["ticket"]
    util.check_eq(grave["queue"], "senior", "the gravest complaint went to the senior queue")
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], grave["ref"], "a senior handler")
    util.check_eq(_event(sue, "complaint.critical")["ticket"], grave["ref"], "announced")
    mild = sue.ok("ticket.create", kind="complaint", channel="phone", severity=3,
                  subject="mild", queue="complaints")["ticket"]
    util.check_eq(mild["queue"], "complaints", "other grades stay")
    offer = _event(alice, "offer")
    t = alice.ok("offer.accept", ticket=mild["ref"])["ticket"]
    util.check_eq(offer["ticket"]["ref"], mild["ref"], "alice takes the mild one")
    alice.ok("ticket.resolve", ticket=t["id"], version=t["version"], code="ok", summary="done")
    # the queue says 60 s of wrap-up; alice's own 0 s: she is ready at once
    util.check_eq(alice.ok("agent.status")["state"], "ready", "no wrap-up for alice")


def test_supervisor_sets_agent_state(ctx):
    """A supervisor sets an agent of the site paused (with a reason) and
    ready again; the agent is told; agents may not; another site's
    supervisor and unknown users get not_found; the change is logged."""
    srv = _setup(ctx)
    srv.add_agent("bea", "pw-bea", role="supervisor", site="BJ")
    alice = _login(ctx, srv, "alice")
    bob = _login(ctx, srv, "bob")
    sue = _login(ctx, srv, "sue")
    bea = _login(ctx, srv, "bea")
    alice.ok("agent.ready")
    r = sue.ok("agent.set", agent="alice", state="paused", reason="lunch")
    util.check_eq((r["agent"], r["state"], r.get("reason")), ("alice", "paused", "lunch"),
                  "the reply is alice's status")
    ev = _event(alice, "agent.state")
    util.check_eq((ev["state"], ev["reason"], ev["by"]), ("paused", "lunch", "sue"),
                  "alice is told who paused her")
    util.check_eq(alice.ok("agent.status")["state"], "paused", "alice is paused")
    util.check_eq(sue.ok("agent.set", agent="alice", state="ready")["state"], "ready",
                  "and ready again")
    util.check_eq(_event(alice, "agent.state")["state"], "ready", "told again")
    wire.check_error(bob.request("agent.set", agent="alice", state="ready"), "forbidden")
    wire.check_error(bea.request("agent.set", agent="alice", state="paused", reason="lunch"),
                     "not_found", "no such agent")
    wire.check_error(sue.request("agent.set", agent="nobody", state="ready"), "not_found")
    wire.check_error(sue.request("agent.set", agent="alice", state="paused"), "bad_request",
                     "reason")
    wire.check_error(sue.request("agent.set", agent="alice", state="paused", reason="missed"),
                     "bad_request", "router")
    util.check_eq(alice.ok("agent.status")["state"], "ready", "refusals changed nothing")
    util.check(srv.find_log(r'agent state set" by=sue user=alice state=paused reason=lunch'),
               "the change is logged with who made it")


def test_broadcast(ctx):
    """A supervisor's message reaches the logged-in agents and supervisors
    of the site, not other sites; a supervisor of a site cannot speak to
    another; agents may not broadcast; control characters are refused."""
    srv = _setup(ctx)
    srv.add_agent("bea", "pw-bea", role="supervisor", site="BJ")
    srv.add_agent("carl", "pw-carl", site="BJ")
    alice, bob = _login(ctx, srv, "alice"), _login(ctx, srv, "bob")
    sue, bea, carl = _login(ctx, srv, "sue"), _login(ctx, srv, "bea"), _login(ctx, srv, "carl")
    r = sue.ok("agent.broadcast", message="大促开始: 请全部就绪\nsecond line")
    util.check_eq(r["delivered"], 2, "alice and bob (SH), not sue herself")
    for conn in (alice, bob):
        ev = _event(conn, "broadcast")
        util.check_eq((ev["from"], ev["site"], ev["message"]),
                      ("sue", "SH", "大促开始: 请全部就绪\nsecond line"), "the message")
    _no_event(carl, "broadcast", 0.5)
    _no_event(bea, "broadcast", 0.1)
    wire.check_error(sue.request("agent.broadcast", site="BJ", message="hi"), "not_found")
    wire.check_error(alice.request("agent.broadcast", message="hi"), "forbidden")
    wire.check_error(sue.request("agent.broadcast", message="bell\x07"), "bad_request")
    wire.check_error(sue.request("agent.broadcast", message="x" * 501), "too_large")
    util.check_eq(bea.ok("agent.broadcast", message="北京")["delivered"], 1, "carl only")
    util.check_eq(_event(carl, "broadcast")["message"], "北京", "carl hears his site")
    util.check(srv.find_log(r'msg="broadcast" by=sue site=SH delivered=2'), "logged")


def _items(conn, queue, **kw):
    return conn.ok("queue.items", queue=queue, **kw)


def _refs(reply):
    return [i["ref"] for i in reply["items"]]


def test_queue_items(ctx):
    """queue.items (supervisors and admins) lists a queue's live tickets in
    the line's order with their places; an offered one shows its agent and
    no place; pages are bounded; agents may not ask, and a supervisor of
    another site finds no such queue, but sees a queue of every site. After
    a restart the line is listed again from the database."""
    srv = _setup(ctx, offer_seconds=60)
    srv.add_agent("bea", "pw-bea", role="supervisor", site="BJ")
    srv.add_agent("root", "pw-root", role="admin")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'north', 'North', id, 0, 0 FROM sites WHERE code = 'BJ';\n"
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "VALUES ('shared', 'Shared', NULL, 0, 0);\n", srv.database)
    sue, bea, root = _login(ctx, srv, "sue"), _login(ctx, srv, "bea"), _login(ctx, srv, "root")
    root.ok("route.reload")
    a = _create(sue, "first")
    b = _create(sue, "second")
    c = sue.ok("ticket.create", kind="inquiry", channel="web", subject="急 urgent", priority=7,
               queue="general", customer_id=7001)["ticket"]
    r = _items(sue, "general")
    util.check_eq(_refs(r), [c["ref"], a["ref"], b["ref"]],
                  "priority 7 goes ahead of the two of priority 5, which keep arrival order")
    util.check_eq([i["position"] for i in r["items"]], [1, 2, 3], "places in line")
    util.check_eq((r["queue"], r["site"], r["total"], r["waiting"], r["offset"],
                   r["next_offset"]), ("general", "SH", 3, 3, 0, None), "the totals")
    first = r["items"][0]
    util.check_eq((first["id"], first["state"], first["channel"], first["priority"],
                   first["subject"], first["version"], first["agent"], first["enqueued_at"]),
                  (c["id"], "waiting", "web", 7, "急 urgent", c["version"], None,
                   c["enqueued_at"]), "one item, whole")
    util.check_eq(r["items"][1]["subject"], a["subject"], "the subject as written")

    page = _items(sue, "general", limit=2)
    util.check_eq((_refs(page), page["next_offset"], page["total"]),
                  ([c["ref"], a["ref"]], 2, 3), "a first page of two")
    page = _items(sue, "general", limit=2, offset=2)
    util.check_eq((_refs(page), [i["position"] for i in page["items"]], page["next_offset"]),
                  ([b["ref"]], [3], None), "the rest, with its place")
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "5"}):
        wire.check_error(sue.request("queue.items", queue="general", **bad), "bad_request")
    wire.check_error(sue.request("queue.items"), "bad_request", "queue")
    wire.check_error(sue.request("queue.items", queue="nowhere"), "not_found", "no queue")
    wire.check_error(bea.request("queue.items", queue="general"), "not_found",
                     "no queue general")
    alice = _login(ctx, srv, "alice")
    wire.check_error(alice.request("queue.items", queue="general"), "forbidden")
    util.check_eq(_refs(root.ok("queue.items", queue="general")), _refs(r), "admin sees all")
    util.check_eq(_items(bea, "north")["total"], 0, "bea sees her site's queue")
    # a queue of every site: each site's supervisor sees the tickets of the
    # site, with their places in the whole line; an admin sees them all
    sb = bea.ok("ticket.create", kind="inquiry", channel="web", subject="北京",
                queue="shared")["ticket"]
    ss = sue.ok("ticket.create", kind="inquiry", channel="web", subject="上海",
                queue="shared")["ticket"]
    r = _items(sue, "shared")
    util.check_eq((r["site"], _refs(r), [i["position"] for i in r["items"]], r["total"]),
                  (None, [ss["ref"]], [2], 1), "sue: SH's ticket, second in line")
    r = _items(bea, "shared")
    util.check_eq((_refs(r), [i["position"] for i in r["items"]]), ([sb["ref"]], [1]),
                  "bea: BJ's, first")
    util.check_eq(_refs(_items(root, "shared")), [sb["ref"], ss["ref"]], "root: both")

    # alice takes the head of the line: offered, no place; the others move up
    alice.ok("agent.ready")
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], c["ref"], "the head is offered")
    r = _items(sue, "general")
    util.check_eq([(i["ref"], i["state"], i["agent"], i["position"]) for i in r["items"]],
                  [(c["ref"], "offered", "alice", None), (a["ref"], "waiting", None, 1),
                   (b["ref"], "waiting", None, 2)], "offered to alice, the rest in line")
    util.check_eq((r["total"], r["waiting"]), (3, 2), "three live, two waiting")

    # a restart: the offer is taken back and the line listed from the database
    srv.stop()
    srv.start()
    sue = _login(ctx, srv, "sue")
    r = _items(sue, "general")
    util.check_eq((_refs(r), [i["state"] for i in r["items"]], r["items"][0]["subject"],
                   r["items"][1]["subject"]),
                  ([c["ref"], a["ref"], b["ref"]], ["waiting"] * 3, "急 urgent", a["subject"]),
                  "the same line after a restart")


def _last_event(conn, ticket):
    return conn.ok("ticket.show", ticket=ticket)["events"][-1]


def test_supervisor_moves_live_work(ctx):
    """A supervisor's transfer and priority change act on the live line at
    once (the router re-queues and re-keys the item) and are written as
    ticket events with the supervisor as the actor; the list's version
    guards against a ticket that changed meanwhile; an agent may not move
    waiting work."""
    srv = _setup(ctx, offer_seconds=60)
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'vip', 'VIP', id, 0, 0 FROM sites WHERE code = 'SH';\n", srv.database)
    srv.add_agent("root", "pw-root", role="admin")
    sue, root = _login(ctx, srv, "sue"), _login(ctx, srv, "root")
    root.ok("route.reload")
    a, b, c = _create(sue, "a"), _create(sue, "b"), _create(sue, "c")
    util.check_eq(_refs(_items(sue, "general")), [a["ref"], b["ref"], c["ref"]], "by arrival")

    # priority: c goes to the head of the line
    item = _items(sue, "general")["items"][2]
    u = sue.ok("ticket.update", ticket=item["id"], version=item["version"], priority=9)
    util.check_eq(_refs(_items(sue, "general")), [c["ref"], a["ref"], b["ref"]],
                  "raised: first in line at once")
    ev = _last_event(sue, c["ref"])
    util.check_eq((ev["actor"], ev["op"], ev["detail"]), ("sue", "update", {"priority": [5, 9]}),
                  "the change is a ticket event by sue")
    wire.check_error(sue.request("ticket.update", ticket=item["id"], version=item["version"],
                                 priority=8), "conflict")
    util.check_eq(_items(sue, "general")["items"][0]["priority"], 9, "a stale change is refused")

    # transfer to another queue: out of this line, into that one
    item = _items(sue, "general")["items"][1]
    t = sue.ok("ticket.transfer", ticket=item["id"], version=item["version"], queue="vip")
    util.check_eq((t["ticket"]["queue"], t["ticket"]["state"]), ("vip", "queued"), "moved")
    util.check_eq(_refs(_items(sue, "general")), [c["ref"], b["ref"]], "gone from general")
    v = _items(sue, "vip")
    util.check_eq((_refs(v), v["items"][0]["position"]), ([a["ref"]], 1), "in line in vip")
    ev = _last_event(sue, a["ref"])
    util.check_eq((ev["actor"], ev["op"]), ("sue", "transfer_queue"), "an event by sue")

    # an agent may not move waiting work
    alice = _login(ctx, srv, "alice")
    wire.check_error(alice.request("ticket.transfer", ticket=b["id"], version=b["version"],
                                   queue="vip"), "forbidden")
    # nor reorder the line: the priority of waiting work is a supervisor's call
    wire.check_error(alice.request("ticket.update", ticket=b["id"], version=b["version"],
                                   priority=9), "forbidden", "only a supervisor")

    # transfer to an agent: offered to bob at once, shown with his name
    bob = _login(ctx, srv, "bob")
    item = _items(sue, "general")["items"][1]
    sue.ok("ticket.transfer", ticket=item["id"], version=item["version"], agent="bob")
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], b["ref"], "bob is offered it")
    r = _items(sue, "general")
    util.check_eq([(i["ref"], i["state"], i["agent"], i["position"]) for i in r["items"]],
                  [(c["ref"], "waiting", None, 1), (b["ref"], "offered", "bob", None)],
                  "offered to bob in the list")
    ev = _last_event(sue, b["ref"])
    util.check_eq((ev["actor"], ev["op"]), ("sue", "transfer_agent"), "an event by sue")


def test_broadcast_to_queue(ctx):
    """agent.broadcast with a queue reaches the logged-in agents who serve
    that queue only; a queue and a site together, an unknown queue and
    another site's queue are refused."""
    srv = _setup(ctx)
    srv.add_agent("carl", "pw-carl")
    srv.add_agent("bea", "pw-bea", role="supervisor", site="BJ")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'vip', 'VIP', id, 0, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'north', 'North', id, 0, 0 FROM sites WHERE code = 'BJ';\n"
        "INSERT INTO agent_queues (agent_id, queue_id) SELECT a.id, q.id FROM agents a, "
        "queues q WHERE a.username = 'carl' AND q.code = 'vip';\n"
        "INSERT INTO agent_queues (agent_id, queue_id) SELECT a.id, q.id FROM agents a, "
        "queues q WHERE a.username IN ('alice', 'bob') AND q.code = 'general';\n",
        srv.database)
    srv.add_agent("root", "pw-root", role="admin")
    _login(ctx, srv, "root").ok("route.reload")
    alice, bob, carl = _login(ctx, srv, "alice"), _login(ctx, srv, "bob"), _login(ctx, srv, "carl")
    sue, bea = _login(ctx, srv, "sue"), _login(ctx, srv, "bea")
    util.check_eq(sue.ok("agent.broadcast", queue="vip", message="VIP 队列加急")["delivered"], 1,
                  "carl alone serves vip")
    ev = _event(carl, "broadcast")
    util.check_eq((ev["from"], ev["queue"], ev["message"]), ("sue", "vip", "VIP 队列加急"),
                  "carl hears it, with the queue")
    _no_event(alice, "broadcast", 0.5)
    _no_event(bob, "broadcast", 0.1)
    util.check_eq(sue.ok("agent.broadcast", queue="general", message="g")["delivered"], 2,
                  "alice and bob serve general")
    wire.check_error(sue.request("agent.broadcast", queue="vip", site="SH", message="x"),
                     "bad_request", "exclude")
    wire.check_error(sue.request("agent.broadcast", queue="nowhere", message="x"), "not_found")
    wire.check_error(bea.request("agent.broadcast", queue="vip", message="x"), "not_found")
    util.check(srv.find_log(r'msg="broadcast" by=sue site=SH delivered=1 queue=vip'), "logged")
