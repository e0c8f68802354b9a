"""Live queue statistics over the real server: a scripted hour in small,
with calls from the phone system answered, abandoned and ended by agents
at chosen moments; queue.stats gives the figures computed by hand (waiting,
offered, answered, abandoned, service level over the queue's threshold,
ASA within a tolerance); a subscribed supervisor receives "stats" events
with the scopes that changed, at most one a second; /metrics carries the
queue's figures; the wrong role, an unknown queue and another site's queue
are refused. Per skill: the work that requires a skill and the agents who
hold it, in queue.stats, the pushes and /metrics, for viewers of every
site only. A queue's short-abandon threshold (queues.short_abandon_seconds,
set by queue.set) decides which abandons are counted apart, and migration
010 applies to a database that has data. On 150 queues and 60 skills, a
supervisor of every site gets the picture and the pushes in parts, every
line within 64 KiB, and queue.stats pages the agents."""

import importlib
import json
import sys
import time

from itest import admin, util, wire

sys.path.insert(0, __import__("os").path.dirname(__file__))
routing = importlib.import_module("26_routing")
_event, _login = routing._event, routing._login

SL_SECONDS = 2


def _setup(ctx, extra_sql="", settings=None):
    """alice and bob (agents at SH), sue (supervisor at SH), bea
    (supervisor at BJ), root (admin), pbx (service); queues 'general' (SH,
    threshold 2 s), 'vip' (SH) and 'north' (BJ)."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False,
                     settings=settings)
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.add_agent("bea", "pw-bea", role="supervisor", site="BJ")
    srv.add_agent("root", "pw-root", role="admin")
    srv.add_agent("pbx", "pw-pbx", role="service")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, sl_target_seconds, offer_seconds, "
        "wrapup_seconds, sticky_seconds) "
        f"SELECT 'general', 'General', id, {SL_SECONDS}, 60, 0, 0 FROM sites "
        "WHERE code = 'SH';\n"
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'vip', 'VIP', id, 0, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'north', 'North', id, 0, 0 FROM sites WHERE code = 'BJ';\n"
        "INSERT INTO agent_queues (agent_id, queue_id) SELECT a.id, q.id FROM agents a, "
        "queues q WHERE a.username IN ('alice', 'bob') AND q.code = 'general';\n"
        "INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
        "SELECT '4008001234', '', id, 5 FROM queues WHERE code = 'general';\n" + extra_sql,
        srv.database)
    srv.start()
    return srv


def _pump(conn, seconds, log):
    """Read conn's pushes for seconds, noting when each stats event came."""
    deadline = time.monotonic() + seconds
    while True:
        for ev in conn.events:
            if ev.get("event") == "stats":
                log.append((time.monotonic(), ev))
        conn.events = [e for e in conn.events if e.get("event") != "stats"]
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            msg = conn.read(timeout=left)
        except TimeoutError:
            return
        if "event" in msg and "id" not in msg:
            conn.events.append(msg)


def _scope(scopes, **key):
    for s in scopes:
        if all(s.get(k) == v for k, v in key.items()):
            return s
    return None


def test_scenario(ctx):
    """Four calls: one answered in time, one answered late, one abandoned,
    one still waiting; the figures match the hand count."""
    srv = _setup(ctx)
    pbx = _login(ctx, srv, "pbx")
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    bob = _login(ctx, srv, "bob")
    sub = sue.ok("stats.subscribe")
    first = _scope(sub["scopes"], scope="queue", queue="general")
    util.check(first is not None, f"the subscription starts with the queue: {sub}")
    util.check_eq((first["offered"], first["waiting"], first["sl"], first["asa_ms"]),
                  (0, 0, None, None), "nothing yet: ratios are null")
    util.check(_scope(sub["scopes"], scope="overall") is None, "sue sees no overall")
    util.check(_scope(sub["scopes"], queue="north") is None, "nor BJ's queues")
    log = []

    arrived = {}
    for cid in ("c1", "c2", "c3"):
        pbx.ok("call.arrive", call_id=cid, caller="1390000000" + cid[1], dialled="4008001234")
        arrived[cid] = time.monotonic()
    _pump(sue, 0.4, log)
    # c1: alice answers at once (within the 2 s threshold)
    alice.ok("agent.ready")
    offer = _event(alice, "offer")
    pbx.ok("call.answer", call_id="c1")
    waits = [time.monotonic() - arrived["c1"]]
    # c3: the caller gives up within the threshold
    pbx.ok("call.abandon", call_id="c3")
    abandon_wait = time.monotonic() - arrived["c3"]
    _pump(sue, 3.2, log)
    # c2: bob accepts after the threshold
    bob.ok("agent.ready")
    offer = _event(bob, "offer")
    bob.ok("offer.accept", ticket=offer["ticket"]["ref"])
    waits.append(time.monotonic() - arrived["c2"])
    # c1 ends: handled; alice takes a break; c4 waits
    pbx.ok("call.end", call_id="c1")
    alice.ok("agent.pause", reason="break")
    pbx.ok("call.arrive", call_id="c4", caller="13900000004", dialled="4008001234")
    util.check(waits[0] < SL_SECONDS - 0.5 and waits[1] > SL_SECONDS + 0.5,
               f"the script's own timing: {waits}")
    util.check(abandon_wait < SL_SECONDS - 0.5, f"abandoned in time: {abandon_wait}")

    st = sue.ok("queue.stats", scope="queue", queue="general", agents=True)
    q = st["stats"]
    util.check_eq((q["queue"], q["site"], q["waiting"], q["offered"], q["answered"],
                   q["answered_in_sl"], q["abandoned"], q["abandoned_in_sl"], q["handled"]),
                  ("general", "SH", 1, 4, 2, 1, 1, 1, 1), "the counts")
    util.check_eq((q["sl"], round(q["sl2"], 4), q["sl3"]), (0.5, round(2 / 3, 4), 0.5),
                  "SL = 1/2, SL2 = (1+1)/(2+1), SL3 = 1/(2+0)")
    asa = sum(waits) / 2 * 1000
    util.check(abs(q["asa_ms"] - asa) < 400, f"ASA {q['asa_ms']} ms, expected ~{asa:.0f}")
    util.check(q["presented"] >= 2, f"offers counted: {q['presented']}")
    util.check(q["longest_wait_ms"] >= 0 and q["oldest_at"] is not None, "c4 waits")
    util.check_eq((q["agents"]["busy"], q["agents"]["paused"]), (1, 1), "agents by state")
    util.check_eq(q["paused_by_reason"], {"break": 1}, "paused by reason")
    est = pbx.ok("queue.estimate", queue="general")["estimated_wait_ms"]
    util.check_eq(q["estimated_wait_ms"], est, "the router's estimate, as given")
    agents = {a["user"]: a for a in st["agents"]}
    util.check_eq(sorted(agents), ["alice", "bob", "sue"],
                  "the queue's agents (sue serves her site's queues)")
    util.check_eq(agents["sue"]["state"], "offline", "sue takes no work")
    util.check_eq((agents["alice"]["state"], agents["alice"]["reason"]), ("paused", "break"),
                  "alice on a break")
    util.check_eq((agents["bob"]["state"], agents["bob"]["reason"]), ("busy", None),
                  "bob on c2")
    util.check(agents["alice"]["time_in_state_ms"] >= 0, "time in state")
    site = sue.ok("queue.stats", scope="site")["stats"]
    util.check_eq((site["scope"], site["site"], site["offered"], site["answered"]),
                  ("site", "SH", 4, 2), "sue's site by default")
    root = _login(ctx, srv, "root")
    overall = root.ok("queue.stats", scope="overall")["stats"]
    util.check_eq((overall["scope"], overall["offered"], overall["abandoned"]),
                  ("overall", 4, 1), "overall for the admin")
    vip = root.ok("queue.stats", scope="queue", queue="vip")["stats"]
    util.check_eq((vip["offered"], vip["sl"]), (0, None), "an idle queue")

    # the pushes: sue's events carry the changed scopes, one a second at most
    _pump(sue, 1.5, log)
    util.check(len(log) >= 2, f"stats events during the scenario: {len(log)}")
    last = log[-1][1]
    lq = _scope(last["scopes"], scope="queue", queue="general")
    seen = [_scope(e["scopes"], scope="queue", queue="general") for _, e in log]
    util.check(all(e["event"] == "stats" for _, e in log), "stats events")
    final = [s for s in seen if s is not None][-1]
    util.check_eq((final["waiting"], final["offered"], final["answered"], final["abandoned"]),
                  (1, 4, 2, 1), "the last push has the final figures")
    for _, e in log:
        util.check(_scope(e["scopes"], queue="vip") is None, "vip never changed")
        util.check(_scope(e["scopes"], scope="overall") is None, "no overall for sue")
        util.check(_scope(e["scopes"], site="BJ") is None, "nothing of BJ")
    del lq
    # steady changes: no more than one event a second
    log.clear()
    for i in range(8):
        pbx.ok("call.arrive", call_id=f"s{i}", dialled="4008001234")
        _pump(sue, 0.4, log)
    _pump(sue, 1.2, log)
    util.check(len(log) >= 2, f"events while calls keep coming: {len(log)}")
    gaps = [b[0] - a[0] for a, b in zip(log, log[1:])]
    util.check(all(g > 0.7 for g in gaps), f"at most one a second: gaps {gaps}")
    util.check(all(_scope(e["scopes"], queue="general") for _, e in log),
               "each carries the queue that changed")
    total = max(_scope(e["scopes"], queue="general")["offered"] for _, e in log)
    util.check_eq(total, 12, "every arrival counted")
    # unsubscribed: no more events
    util.check_eq(sue.ok("stats.unsubscribe")["was_subscribed"], True, "was subscribed")
    log.clear()
    pbx.ok("call.arrive", call_id="after", dialled="4008001234")
    _pump(sue, 1.5, log)
    util.check_eq(log, [], "no events after unsubscribing")

    # /metrics
    m, text = admin.metrics(srv.admin_port)
    lab = '{queue="general",site="SH"}'
    util.check_eq((m["cc_queue_offered_total" + lab], m["cc_queue_answered_total" + lab],
                   m["cc_queue_abandoned_total" + lab], m["cc_queue_service_level" + lab]),
                  (13.0, 2.0, 1.0, 0.5), "the queue's figures in /metrics")
    util.check_eq(m["cc_queue_waiting" + lab], 10.0, "waiting in /metrics")
    util.check('cc_queue_waiting{queue="north",site="BJ"}' in m, "every queue is listed")
    util.check_eq(m["cc_queue_agents_ready" + lab], 0.0, "alice paused, bob busy")
    util.check(m["cc_queue_longest_wait_seconds" + lab] > 1.0, "c4 has waited a while")
    util.check('cc_queue_service_level{queue="vip",site="SH"}' not in m,
               "no service level without data")


def test_refusals(ctx):
    """Agents may not see the figures; an unknown queue is not_found; a
    supervisor of a site sees neither another site's queues nor overall."""
    srv = _setup(ctx)
    alice = _login(ctx, srv, "alice")
    wire.check_error(alice.request("queue.stats", scope="overall"), "forbidden", "role agent")
    wire.check_error(alice.request("stats.subscribe"), "forbidden", "role agent")
    sue = _login(ctx, srv, "sue")
    wire.check_error(sue.request("queue.stats", scope="queue", queue="nope"), "not_found",
                     "no queue nope")
    wire.check_error(sue.request("queue.stats", scope="queue", queue="north"), "not_found",
                     "no queue north")
    wire.check_error(sue.request("queue.stats", scope="site", site="BJ"), "not_found",
                     "no site BJ")
    wire.check_error(sue.request("queue.stats", scope="overall"), "forbidden",
                     "scope \"site\"")
    wire.check_error(sue.request("queue.stats", scope="galaxy"), "bad_request", "scope")
    wire.check_error(sue.request("queue.stats"), "bad_request", "scope")
    wire.check_error(sue.request("queue.stats", scope="queue"), "bad_request", "queue")
    wire.check_error(sue.request("queue.stats", scope="queue", queue="general", agents=1),
                     "bad_request", "true or false")
    util.check_eq(sue.ok("queue.stats", scope="queue", queue="general")["stats"]["queue"],
                  "general", "her own queue")
    bea = _login(ctx, srv, "bea")
    wire.check_error(bea.request("queue.stats", scope="queue", queue="general"), "not_found",
                     "no queue general")
    util.check_eq(bea.ok("queue.stats", scope="queue", queue="north")["stats"]["site"], "BJ",
                  "BJ's own queue")
    root = _login(ctx, srv, "root")
    wire.check_error(root.request("queue.stats", scope="site"), "bad_request",
                     "required with scope")
    util.check_eq(root.ok("queue.stats", scope="site", site="BJ")["stats"]["site"], "BJ",
                  "admins see every site")


def test_sla(ctx):
    """An SLA warning and breach of a waiting call count in its queue: raised
    today, and open until the call leaves the line."""
    srv = _setup(ctx, "INSERT INTO sla_policies (name, kind, first_response_seconds, "
                      "first_response_basis, next_response_seconds, next_response_basis, "
                      "resolution_seconds, resolution_basis, warn_percent) VALUES "
                      "('fast', NULL, 2, 'wall', 2, 'wall', 3600, 'wall', 50);\n")
    pbx = _login(ctx, srv, "pbx")
    sue = _login(ctx, srv, "sue")
    pbx.ok("call.arrive", call_id="late", caller="13900000001", dialled="4008001234")
    _event(sue, "sla.breach", timeout=6)
    q = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq((q["sla_warnings"], q["sla_breaches"], q["open_warnings"], q["open_breaches"]),
                  (1, 1, 1, 1), "raised and open while the call waits")
    site = sue.ok("queue.stats", scope="site")["stats"]
    util.check_eq((site["sla_warnings"], site["open_breaches"]), (1, 1), "in the site too")
    pbx.ok("call.abandon", call_id="late")
    q = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq((q["sla_warnings"], q["sla_breaches"], q["open_warnings"], q["open_breaches"],
                   q["abandoned"]), (1, 1, 0, 0, 1), "cleared when the call left the line")


def test_restart(ctx):
    """Calls waiting at a restart are back in the figures with their
    original arrival: today's counters start again, the waits go on."""
    srv = _setup(ctx)
    pbx = _login(ctx, srv, "pbx")
    for cid in ("r1", "r2"):
        pbx.ok("call.arrive", call_id=cid, dialled="4008001234")
    time.sleep(1.0)
    srv.stop()
    srv.start()
    sue = _login(ctx, srv, "sue")
    q = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq((q["waiting"], q["offered"], q["answered"]), (2, 2, 0), "back in line")
    util.check(q["longest_wait_ms"] >= 1000, f"the wait goes on: {q['longest_wait_ms']}")


SKILLS_SQL = (
    "INSERT INTO skills (code, name, kind) VALUES ('billing', 'Billing', 'task'), "
    "('refunds', 'Refunds', 'task');\n"
    "INSERT INTO queue_skills (queue_id, skill_id, min_proficiency) "
    "SELECT q.id, s.id, 1 FROM queues q, skills s WHERE q.code IN ('general', 'vip') "
    "AND s.code = 'billing';\n"
    "INSERT INTO queue_skills (queue_id, skill_id, min_proficiency) "
    "SELECT q.id, s.id, 1 FROM queues q, skills s WHERE q.code = 'vip' "
    "AND s.code = 'refunds';\n"
    "INSERT INTO agent_queues (agent_id, queue_id) SELECT a.id, q.id FROM agents a, "
    "queues q WHERE a.username = 'alice' AND q.code = 'vip';\n"
    "INSERT INTO agent_skills (agent_id, skill_id, proficiency) SELECT a.id, s.id, 3 "
    "FROM agents a, skills s WHERE a.username = 'alice';\n"
    "INSERT INTO agent_skills (agent_id, skill_id, proficiency) SELECT a.id, s.id, 3 "
    "FROM agents a, skills s WHERE a.username = 'bob' AND s.code = 'billing';\n"
    "INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
    "SELECT '4008005678', '', id, 5 FROM queues WHERE code = 'vip';\n")


def test_skills(ctx):
    """'general' requires billing, 'vip' billing and refunds; alice holds
    both, bob billing. c1 (general) answered by alice within the threshold,
    c2 (general) abandoned, c3 (vip) waiting: billing offered 3, answered 1
    in SL, abandoned 1, waiting 1; refunds offered 1, waiting 1; alice busy
    in both, bob offline in billing only."""
    srv = _setup(ctx, SKILLS_SQL)
    pbx = _login(ctx, srv, "pbx")
    root = _login(ctx, srv, "root")
    alice = _login(ctx, srv, "alice")
    sub = root.ok("stats.subscribe")
    billing = _scope(sub["scopes"], scope="skill", skill="billing")
    util.check(billing is not None and _scope(sub["scopes"], skill="refunds") is not None,
               f"an admin's subscription has the skills: {sub['scopes']}")
    util.check_eq((billing["offered"], billing["waiting"], billing["sl"]), (0, 0, None),
                  "nothing yet")
    sue = _login(ctx, srv, "sue")
    util.check(_scope(sue.ok("stats.subscribe")["scopes"], scope="skill") is None,
               "a supervisor of a site sees no skills: they span the sites")

    pbx.ok("call.arrive", call_id="c1", caller="13900000001", dialled="4008001234")
    alice.ok("agent.ready")
    _event(alice, "offer")
    pbx.ok("call.answer", call_id="c1")
    pbx.ok("call.arrive", call_id="c2", caller="13900000002", dialled="4008001234")
    pbx.ok("call.abandon", call_id="c2")
    pbx.ok("call.arrive", call_id="c3", caller="13900000003", dialled="4008005678")

    st = root.ok("queue.stats", scope="skill", skill="billing", agents=True)
    k = st["stats"]
    util.check_eq((k["scope"], k["skill"], k["offered"], k["answered"], k["answered_in_sl"],
                   k["abandoned"], k["short_abandoned"], k["waiting"], k["sl"]),
                  ("skill", "billing", 3, 1, 1, 1, 0, 1, 1.0), "billing's figures")
    util.check(k["oldest_at"] is not None and k["asa_ms"] is not None, "c3 waits; ASA known")
    util.check_eq((k["agents"]["busy"], k["agents"]["offline"], k["agents"]["ready"]),
                  (1, 1, 0), "alice busy, bob offline")
    util.check_eq(sorted(a["user"] for a in st["agents"]), ["alice", "bob"],
                  "billing's agents are those who hold it")
    st = root.ok("queue.stats", scope="skill", skill="refunds", agents=True)
    k = st["stats"]
    util.check_eq((k["offered"], k["answered"], k["abandoned"], k["waiting"], k["sl"]),
                  (1, 0, 0, 1, None), "refunds' figures: c3 alone")
    util.check_eq((k["agents"]["busy"], k["agents"]["offline"]), (1, 0), "alice alone")
    util.check_eq([a["user"] for a in st["agents"]], ["alice"], "refunds' agents")
    q = root.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq((q["offered"], q["answered"], q["abandoned"]), (2, 1, 1),
                  "the queue counts as before")

    # pushed to the admin's subscription
    log = []
    _pump(root, 1.5, log)
    pushed = [_scope(e["scopes"], scope="skill", skill="billing") for _, e in log]
    pushed = [p for p in pushed if p is not None]
    util.check(pushed, f"billing pushed: {[e for _, e in log]}")
    util.check_eq((pushed[-1]["offered"], pushed[-1]["waiting"]), (3, 1), "the last push")
    log = []
    _pump(sue, 1.5, log)
    util.check(all(_scope(e["scopes"], scope="skill") is None for _, e in log),
               "no skill scope pushed to a supervisor of a site")

    m, _ = admin.metrics(srv.admin_port)
    util.check_eq((m['cc_skill_offered_total{skill="billing"}'],
                   m['cc_skill_answered_total{skill="billing"}'],
                   m['cc_skill_abandoned_total{skill="billing"}'],
                   m['cc_skill_waiting{skill="refunds"}'],
                   m['cc_skill_service_level{skill="billing"}']), (3.0, 1.0, 1.0, 1.0, 1.0),
                  "the skills' figures in /metrics")
    util.check('cc_skill_service_level{skill="refunds"}' not in m,
               "no service level without data")

    wire.check_error(sue.request("queue.stats", scope="skill", skill="billing"), "forbidden",
                     "span the sites")
    wire.check_error(root.request("queue.stats", scope="skill", skill="nope"), "not_found",
                     "no skill nope")
    wire.check_error(root.request("queue.stats", scope="skill"), "bad_request", "skill")


def _short(conn):
    q = conn.ok("queue.stats", scope="queue", queue="general")["stats"]
    return q["abandoned"], q["short_abandoned"]


def test_short_abandon(ctx):
    """queue.set short_abandon_seconds = 3: an abandon within 3 s is a short
    abandon, one after 3 s an abandon; 0 turns it off; the value is kept in
    queues.short_abandon_seconds and read again at start."""
    srv = _setup(ctx, SKILLS_SQL)
    pbx = _login(ctx, srv, "pbx")
    root = _login(ctx, srv, "root")
    util.check_eq(_short(root), (0, 0), "nothing yet")
    r = root.ok("queue.set", queue="general", short_abandon_seconds=3)
    util.check_eq(r["queue"]["short_abandon_seconds"], 3, "the reply's policy")
    util.check_eq(ctx.db.sql("SELECT short_abandon_seconds FROM queues WHERE code = 'general'",
                             srv.database), [["3"]], "the column")
    pbx.ok("call.arrive", call_id="a1", dialled="4008001234")
    pbx.ok("call.abandon", call_id="a1")
    util.check_eq(_short(root), (0, 1), "an instant hang-up is a short abandon")
    k = root.ok("queue.stats", scope="skill", skill="billing")["stats"]
    util.check_eq((k["abandoned"], k["short_abandoned"]), (0, 1), "in the skill as well")
    pbx.ok("call.arrive", call_id="a2", dialled="4008001234")
    time.sleep(3.3)
    pbx.ok("call.abandon", call_id="a2")
    util.check_eq(_short(root), (1, 1), "a caller who waited 3 s abandoned")
    m, _ = admin.metrics(srv.admin_port)
    lab = '{queue="general",site="SH"}'
    util.check_eq((m["cc_queue_short_abandoned_total" + lab], m["cc_queue_abandoned_total" + lab]),
                  (1.0, 1.0), "/metrics")

    r = root.ok("queue.set", queue="general", short_abandon_seconds=0)
    util.check_eq(r["queue"]["short_abandon_seconds"], 0, "turned off")
    pbx.ok("call.arrive", call_id="a3", dialled="4008001234")
    pbx.ok("call.abandon", call_id="a3")
    util.check_eq(_short(root), (2, 1), "off: every abandon counts")

    for bad in (601, -1, "3", 2.5):
        wire.check_error(root.request("queue.set", queue="general", short_abandon_seconds=bad),
                         "bad_request", "short_abandon_seconds")
    util.check_eq(ctx.db.sql("SELECT short_abandon_seconds FROM queues WHERE code = 'general'",
                             srv.database), [["0"]], "a refused value wrote nothing")

    # set in the database and read at start
    ctx.db.sql("UPDATE queues SET short_abandon_seconds = 5 WHERE code = 'general'",
               srv.database)
    srv.stop()
    srv.start()
    root = _login(ctx, srv, "root")
    pbx = _login(ctx, srv, "pbx")
    before = _short(root)
    pbx.ok("call.arrive", call_id="a4", dialled="4008001234")
    pbx.ok("call.abandon", call_id="a4")
    util.check_eq(_short(root), (before[0], before[1] + 1), "5 s from the column at start")


def test_migration_on_existing_data(ctx):
    """A database at 009 with queues and rollups takes migration 010: the
    queues get short_abandon_seconds 0 (off), the rollups keep their rows
    and take the scope 'skill'."""
    srv = _setup(ctx)
    srv.stop()
    ctx.db.sql(
        "INSERT INTO stats_intervals (interval_start, scope, scope_id, site_id, offered) "
        "SELECT 900000, 'queue', id, site_id, 7 FROM queues WHERE code = 'general';\n"
        "ALTER TABLE queues DROP CONSTRAINT ck_queues_short_abandon, "
        "DROP COLUMN short_abandon_seconds;\n"
        "ALTER TABLE stats_intervals MODIFY COLUMN scope "
        "ENUM('all','site','queue','agent') NOT NULL;\n"
        "DELETE FROM schema_migrations WHERE name LIKE '010\\_%';\n", srv.database)
    out = srv.migrate()
    util.check("010_" in out.stderr, f"010 applied:\n{out.stderr}")
    util.check_eq(ctx.db.sql("SELECT code, short_abandon_seconds FROM queues ORDER BY code",
                             srv.database),
                  [["general", "0"], ["north", "0"], ["vip", "0"]], "existing queues: off")
    util.check_eq(ctx.db.sql("SELECT scope, offered FROM stats_intervals", srv.database),
                  [["queue", "7"]], "the rollups kept")
    ctx.db.sql("INSERT INTO stats_intervals (interval_start, scope, scope_id, site_id) "
               "VALUES (900000, 'skill', 1, 1)", srv.database)
    util.check_eq(ctx.db.sql("SELECT COUNT(*) FROM stats_intervals WHERE scope = 'skill'",
                             srv.database), [["1"]], "a skill row")
    srv.start()
    root = _login(ctx, srv, "root")
    util.check_eq(root.ok("queue.stats", scope="queue", queue="general")["stats"]["queue"],
                  "general", "the server runs on the migrated database")


# A large deployment in small: 150 queues (SH and BJ by turns), 60 skills,
# each queue requiring two; five agents w0..w4 each serve 30 queues and
# hold 12 skills, so their going ready changes every scope at once; 300
# more agents (f000..f499) make the agents of queue.stats more than a line.
BIG_QUEUES, BIG_SKILLS, BIG_WORKERS, BIG_FILLERS = 150, 60, 5, 500


def _big_sql():
    rows = [
        "INSERT INTO skills (code, name, kind) VALUES " +
        ", ".join(f"('k{k:02d}', 'Skill {k}', 'task')" for k in range(BIG_SKILLS)) + ";"]
    for i in range(BIG_QUEUES):
        rows.append(
            "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
            f"SELECT 'q{i:03d}', 'Queue {i}', id, 0, 0 FROM sites "
            f"WHERE code = '{'SH' if i % 2 == 0 else 'BJ'}';")
        rows.append(
            "INSERT INTO queue_skills (queue_id, skill_id, min_proficiency) "
            "SELECT q.id, s.id, 1 FROM queues q, skills s "
            f"WHERE q.code = 'q{i:03d}' AND s.code IN ('k{i % BIG_SKILLS:02d}', "
            f"'k{(i + 1) % BIG_SKILLS:02d}');")
    per_q, per_k = BIG_QUEUES // BIG_WORKERS, BIG_SKILLS // BIG_WORKERS
    for w in range(BIG_WORKERS):
        queues = ", ".join(f"'q{i:03d}'" for i in range(w * per_q, (w + 1) * per_q))
        skills = ", ".join(f"'k{k:02d}'" for k in range(w * per_k, (w + 1) * per_k))
        rows.append("INSERT INTO agent_queues (agent_id, queue_id) SELECT a.id, q.id "
                    f"FROM agents a, queues q WHERE a.username = 'w{w}' "
                    f"AND q.code IN ({queues});")
        rows.append("INSERT INTO agent_skills (agent_id, skill_id, proficiency) "
                    "SELECT a.id, s.id, 3 FROM agents a, skills s "
                    f"WHERE a.username = 'w{w}' AND s.code IN ({skills});")
    for f in range(BIG_FILLERS):
        rows.append("INSERT INTO agents (username, display_name, role, site_id, "
                    f"password_hash) SELECT 'f{f:03d}', 'Filler {f}', 'agent', site_id, "
                    "password_hash FROM agents WHERE username = 'alice';")
    # a supervisor of no site: every queue, site and skill
    rows.append("UPDATE agents SET site_id = NULL WHERE username = 'sky';")
    return "\n".join(rows) + "\n"


def big_server(ctx, extra_sql=""):
    """The large deployment: alice, bea (supervisor at BJ), sky
    (supervisor of no site), pbx (service: no agent of the figures),
    w0..w4 and the fillers."""
    srv = ctx.server(agents={"alice": "pw-alice"}, start=False)
    srv.add_agent("bea", "pw-bea", role="supervisor", site="BJ")
    srv.add_agent("sky", "pw-sky", role="supervisor")
    srv.add_agent("pbx", "pw-pbx", role="service")
    for w in range(BIG_WORKERS):
        srv.add_agent(f"w{w}", f"pw-w{w}")
    srv.dbinfo.sql(_big_sql() + extra_sql, srv.database)
    srv.start()
    return srv


def _key(sc):
    """A scope's identity in a picture."""
    return (sc["scope"], sc.get("queue") or sc.get("skill") or
            (sc.get("site") if sc["scope"] == "site" else None))


def _read_msg(conn, timeout):
    """The next line as (its length in bytes, the message)."""
    line = conn.read_line(timeout)
    msg = json.loads(line)
    util.check(isinstance(msg, dict), f"an object: {util.shorten(line)!r}")
    return len(line), msg


def _pushes(conn, quiet, limit, lengths):
    """The stats events until none came for quiet seconds (at most limit
    seconds in all), each line's length into lengths."""
    out, deadline = [], time.monotonic() + util.scaled(limit)
    while time.monotonic() < deadline:
        try:
            n, msg = _read_msg(conn, quiet)
        except TimeoutError:
            return out
        lengths.append(n)
        if msg.get("event") == "stats":
            out.append(msg)
    raise util.CheckFailed(f"the pushes did not stop within {limit} s")


def _groups(events):
    """Pushes as lists of their parts: each part i of n in order, one
    version and one 'at' for all the parts of a push."""
    groups = []
    for ev in events:
        if ev["part"] == 1:
            groups.append([ev])
        else:
            util.check(groups and groups[-1][-1]["part"] == ev["part"] - 1,
                       f"part {ev['part']} follows part {ev['part'] - 1}")
            groups[-1].append(ev)
    for g in groups:
        util.check_eq([p["part"] for p in g], list(range(1, g[0]["parts"] + 1)),
                      "every part of a push, in order")
        util.check_eq({(p["version"], p["at"], p["parts"]) for p in g},
                      {(g[0]["version"], g[0]["at"], g[0]["parts"])},
                      "the parts of a push agree on version, at and parts")
    return groups


# members that move with time alone, left out when pictures are compared
_TIMELY = ("at", "version", "longest_wait_ms", "state_ms", "occupancy", "estimated_wait_ms")


def test_large_picture(ctx):
    """A supervisor of no site, whose picture is well over a line: the
    subscription's picture comes in parts, each line within 64 KiB, the
    parts together every scope once; five agents going ready change every
    scope at once and the push comes in parts too; the picture rebuilt from
    the parts equals queue.stats, scope by scope; queue.stats with agents
    pages them within the line limit."""
    srv = big_server(ctx)
    sky = _login(ctx, srv, "sky")
    lengths = []

    # the subscription: the reply is part 1, the other parts follow at once
    rid = sky.next_id
    sky.next_id += 1
    sky.send({"id": rid, "op": "stats.subscribe"})
    n, reply = _read_msg(sky, 10)
    lengths.append(n)
    util.check(reply.get("id") == rid and reply.get("ok") is True,
               f"the subscription's reply first: {util.shorten(reply)}")
    util.check(reply["parts"] >= 3, f"the picture needs 3 lines or more: {reply['parts']}")
    parts = [reply]
    while len(parts) < reply["parts"]:
        n, ev = _read_msg(sky, 10)
        lengths.append(n)
        util.check_eq((ev.get("event"), ev.get("part"), ev.get("parts"), ev.get("version"),
                       ev.get("at")),
                      ("stats", len(parts) + 1, reply["parts"], reply["version"], reply["at"]),
                      "the picture's next part")
        parts.append(ev)
    picture = {}
    for p in parts:
        for sc in p["scopes"]:
            util.check(_key(sc) not in picture, f"a scope in one part only: {_key(sc)}")
            picture[_key(sc)] = sc
    expected = ({("overall", None), ("site", "SH"), ("site", "BJ")} |
                {("queue", f"q{i:03d}") for i in range(BIG_QUEUES)} |
                {("skill", f"k{k:02d}") for k in range(BIG_SKILLS)})
    util.check_eq(set(picture), expected, "the parts carry every scope")
    util.check(sum(lengths) > 2 * wire.MAX_LINE, f"the picture is large: {sum(lengths)} bytes")

    # every worker ready at once: every scope changes
    workers = [_login(ctx, srv, f"w{w}") for w in range(BIG_WORKERS)]
    for w in workers:
        w.ok("agent.ready")
    events = _pushes(sky, 2.5, 30, lengths)
    groups = _groups(events)
    util.check(any(len(g) > 1 for g in groups),
               f"a push over a line comes in parts: {[len(g) for g in groups]}")
    for g in groups:
        seen = [_key(sc) for p in g for sc in p["scopes"]]
        util.check_eq(len(seen), len(set(seen)), "a scope once in a push")
        for p in g:
            for sc in p["scopes"]:
                picture[_key(sc)] = sc
    versions = [g[0]["version"] for g in groups]
    util.check(versions == sorted(versions) and versions[0] > reply["version"],
               f"push versions grow: {reply['version']} then {versions}")
    util.check(max(lengths) <= wire.MAX_LINE,
               f"every line within {wire.MAX_LINE} bytes: the longest {max(lengths)}")

    # the picture rebuilt from the parts is the server's, scope by scope
    util.check_eq((picture[("overall", None)]["agents"]["ready"],
                   picture[("queue", "q149")]["agents"]["ready"],
                   picture[("skill", "k59")]["agents"]["ready"]), (BIG_WORKERS, 1, 1),
                  "the ready agents in the rebuilt picture")
    for key, sc in sorted(picture.items(), key=lambda kv: str(kv[0])):
        args = {"scope": key[0]}
        if key[0] != "overall":
            args[key[0]] = key[1]
        st = sky.ok("queue.stats", **args)["stats"]
        util.check(st["version"] >= sc["version"], f"{key}: no newer figures pushed")
        util.check_eq({k: v for k, v in sc.items() if k not in _TIMELY},
                      {k: v for k, v in st.items() if k not in _TIMELY},
                      f"{key}: the rebuilt picture equals queue.stats")

    # queue.stats with agents: pages within the line, by user name
    users = ["alice", "bea", "sky"] + [f"w{w}" for w in range(BIG_WORKERS)] + \
        [f"f{f:03d}" for f in range(BIG_FILLERS)]
    for limit in (None, 97):
        got, after, pages = [], None, 0
        while True:
            args = {"scope": "overall", "agents": True}
            if after is not None:
                args["agents_after"] = after
            if limit is not None:
                args["agents_limit"] = limit
            rid = sky.next_id
            sky.next_id += 1
            sky.send({"id": rid, "op": "queue.stats", **args})
            while True:
                n, r = _read_msg(sky, 10)
                if r.get("id") == rid:
                    break
            util.check(r.get("ok") is True and n <= wire.MAX_LINE,
                       f"a page within the line: {n} bytes, {util.shorten(r)}")
            util.check(len(r["agents"]) <= (limit or 1000), "at most the limit")
            got += [a["user"] for a in r["agents"]]
            pages += 1
            after = r["agents_next"]
            if after is None:
                break
            util.check_eq(after, got[-1], "the next page starts after the last user given")
        util.check_eq(got, sorted(users), f"every agent once, by user (limit {limit})")
        util.check(pages >= (2 if limit is None else 4), f"{pages} pages (limit {limit})")
    wire.check_error(sky.request("queue.stats", scope="overall", agents_after="f001"),
                     "bad_request", "agents_after")
    wire.check_error(sky.request("queue.stats", scope="overall", agents=True, agents_limit=0),
                     "bad_request", "agents_limit")
    one = sky.ok("queue.stats", scope="skill", skill="k00", agents=True)
    util.check_eq(([a["user"] for a in one["agents"]], one["agents_next"]), (["w0"], None),
                  "a skill's agents on one page")

    # a supervisor of a site: that site and its queues, in one line here
    bea = _login(ctx, srv, "bea")
    sub = bea.ok("stats.subscribe")
    util.check_eq((sub["part"], sub["parts"], len(sub["scopes"])), (1, 1, 1 + BIG_QUEUES // 2),
                  "BJ and its queues on one line")
    m, _ = admin.metrics(srv.admin_port)
    util.check(m["cc_stats_split_lines_total"] >= len(parts) - 1,
               f"split lines counted: {m.get('cc_stats_split_lines_total')}")
    util.check_eq(m["cc_stats_oversize_total"], 0.0, "no line over the limit")
