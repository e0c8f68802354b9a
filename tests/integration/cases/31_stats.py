"""Live queue statistics over the real server: a scripted hour in small,
with calls from the phone system answered, abandoned and ended by agents
at chosen moments; queue.stats gives the figures computed by hand (waiting,
offered, answered, abandoned, service level over the queue's threshold,
ASA within a tolerance); a subscribed supervisor receives "stats" events
with the scopes that changed, at most one a second; /metrics carries the
queue's figures; the wrong role, an unknown queue and another site's queue
are refused."""

import importlib
import sys
import time

from itest import admin, util, wire

sys.path.insert(0, __import__("os").path.dirname(__file__))
routing = importlib.import_module("26_routing")
_event, _login = routing._event, routing._login

SL_SECONDS = 2


def _setup(ctx, extra_sql=""):
    """alice and bob (agents at SH), sue (supervisor at SH), bea
    (supervisor at BJ), root (admin), pbx (service); queues 'general' (SH,
    threshold 2 s), 'vip' (SH) and 'north' (BJ)."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False)
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
