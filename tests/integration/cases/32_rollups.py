"""Statistics rollups, reports and alerts over the real server, with
stats.rollup_seconds = 1: calls from the phone system are answered and
abandoned, each interval's counters land in stats_intervals and add up to
the live figures; stats.report by queue, site, agent, day and interval
gives the hand-counted totals; a restart keeps the day's figures and does
not bring back yesterday's; a queue's alerts (service level below a
threshold, longest wait above one) are raised and cleared, pushed to a
subscribed supervisor and shown in queue.stats and /metrics; the site
fence and bad arguments are refused. A skill's figures are rolled up,
reported by skill and restored at start like a queue's."""

import datetime
import importlib
import sys
import time

from itest import admin, util, wire

sys.path.insert(0, __import__("os").path.dirname(__file__))
routing = importlib.import_module("26_routing")
stats = importlib.import_module("31_stats")
_event, _login = routing._event, routing._login

SL_SECONDS = stats.SL_SECONDS


def _setup(ctx, extra_sql="", rollup=1):
    """31_stats' server (agents, supervisors, queues 'general', 'vip' and
    'north'), with rollups every rollup seconds."""
    return stats._setup(ctx, extra_sql, settings={"stats.rollup_seconds": str(rollup)})


def _calls(ctx, srv):
    """Three calls: c1 answered at once by alice, c2 abandoned at once, c3
    answered by bob after the threshold; c1 and c3 end. Returns the waits."""
    pbx = _login(ctx, srv, "pbx")
    alice = _login(ctx, srv, "alice")
    bob = _login(ctx, srv, "bob")
    arrived = {}
    for cid in ("c1", "c2", "c3"):
        pbx.ok("call.arrive", call_id=cid, caller="1390000000" + cid[1], dialled="4008001234")
        arrived[cid] = time.monotonic()
    alice.ok("agent.ready")
    _event(alice, "offer")
    pbx.ok("call.answer", call_id="c1")
    waits = [time.monotonic() - arrived["c1"]]
    pbx.ok("call.abandon", call_id="c2")
    time.sleep(SL_SECONDS + 0.6)
    bob.ok("agent.ready")
    _event(bob, "offer")
    pbx.ok("call.answer", call_id="c3")
    waits.append(time.monotonic() - arrived["c3"])
    pbx.ok("call.end", call_id="c1")
    pbx.ok("call.end", call_id="c3")
    util.check(waits[0] < SL_SECONDS - 0.5 and waits[1] > SL_SECONDS + 0.3,
               f"the script's own timing: {waits}")
    return waits


def _sums(srv, scope, where=""):
    """Sums over every row of a scope in stats_intervals."""
    rows = srv.dbinfo.sql(
        "SELECT COALESCE(SUM(offered), 0), COALESCE(SUM(answered), 0), "
        "COALESCE(SUM(answered_within), 0), COALESCE(SUM(abandoned), 0), "
        "COALESCE(SUM(handled), 0), COALESCE(SUM(wait_ms_sum), 0), COUNT(*) "
        f"FROM stats_intervals WHERE scope = '{scope}' {where}", srv.database)
    return tuple(int(x) for x in rows[0])


def _today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def _written(srv, offered):
    """Wait until the rollups hold offered contacts for the queue."""
    util.wait_until(
        lambda: _sums(srv, "queue",
                      "AND scope_id = (SELECT id FROM queues WHERE code = 'general')")[0]
        == offered, 8, "the rollups written")


def test_rollups_and_report(ctx):
    """The rows add up to the live figures; stats.report gives the hand
    count by queue, site, agent, day and interval."""
    srv = _setup(ctx)
    waits = _calls(ctx, srv)
    _written(srv, 3)
    time.sleep(1.5)  # the agents' last state changes written too
    sue = _login(ctx, srv, "sue")
    root = _login(ctx, srv, "root")
    live = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq((live["offered"], live["answered"], live["answered_in_sl"],
                   live["abandoned"], live["handled"]), (3, 2, 1, 1, 2), "the live counts")
    gq = "AND scope_id = (SELECT id FROM queues WHERE code = 'general')"
    off, ans, within, aband, handled, wait_sum, nrows = _sums(srv, "queue", gq)
    util.check_eq((off, ans, within, aband, handled), (3, 2, 1, 1, 2),
                  "the queue's rows add up to the live counts")
    util.check(nrows >= 2, f"several intervals written: {nrows}")
    util.check(abs(wait_sum - sum(waits) * 1000) < 600,
               f"waits summed: {wait_sum} ms, expected ~{sum(waits) * 1000:.0f}")
    util.check_eq((wait_sum + ans // 2) // ans, live["asa_ms"],
                  "ASA from the rows is the live one")
    util.check_eq(_sums(srv, "site", "AND scope_id = (SELECT id FROM sites WHERE code = 'SH')")[:5],
                  (3, 2, 1, 1, 2), "the site's rows")
    util.check_eq(_sums(srv, "all")[:5], (3, 2, 1, 1, 2), "overall's rows")
    util.check_eq(_sums(srv, "agent", "AND scope_id = (SELECT id FROM agents "
                                      "WHERE username = 'alice')")[1], 1, "alice answered one")
    bad = srv.dbinfo.sql("SELECT COUNT(*) FROM stats_intervals WHERE interval_start % 1000 <> 0",
                         srv.database)
    util.check_eq(bad[0][0], "0", "interval starts aligned to the second")

    day = _today()
    rep = sue.ok("stats.report", by="queue", **{"from": day, "to": day})
    util.check_eq(rep["by"], "queue", "by")
    util.check_eq(rep["to"] - rep["from"], 86400000, "a date is its whole day")
    rows = {r["key"]: r for r in rep["rows"]}
    util.check_eq(sorted(rows), ["general"], f"the queues with figures: {rep['rows']}")
    g = rows["general"]
    util.check_eq((g["offered"], g["answered"], g["answered_within"], g["abandoned"],
                   g["short_abandoned"], g["sl"], round(g["sl2"], 4), g["asa_ms"]),
                  (3, 2, 1, 1, 0, 0.5, round(2 / 3, 4), live["asa_ms"]),
                  "SL = 1/2, SL2 = (1 + 1) / (2 + 1): c2 gave up within the threshold")
    util.check_eq(rep["totals"]["key"], "total", "totals")
    util.check_eq(rep["totals"]["offered"], 3, "totals offered")
    util.check(g["aht_ms"] is not None and g["aht_ms"] >= 0, f"AHT: {g['aht_ms']}")
    util.check(g["csat"] is None, "no scores: csat null")

    byday = root.ok("stats.report", by="day", **{"from": day, "to": day})
    util.check_eq([r["key"] for r in byday["rows"]], [day], "one day")
    util.check_eq((byday["totals"]["offered"], byday["totals"]["answered"]), (3, 2),
                  "overall for the day")
    now_ms = int(time.time() * 1000)
    byint = root.ok("stats.report", by="interval", queue="general",
                    **{"from": now_ms - 3600000, "to": now_ms + 1000})
    keys = [r["key"] for r in byint["rows"]]
    util.check(len(keys) >= 2 and keys == sorted(keys, key=int),
               f"interval keys ascending: {keys}")
    util.check_eq(sum(r["offered"] for r in byint["rows"]), 3, "intervals add up")
    util.check_eq(byint["totals"]["answered_within"], 1, "answered within, over intervals")
    bysite = root.ok("stats.report", by="site", **{"from": day, "to": day})
    util.check_eq([(r["key"], r["offered"]) for r in bysite["rows"]], [("SH", 3)],
                  "by site")
    byagent = root.ok("stats.report", by="agent", **{"from": day, "to": day})
    agents = {r["key"]: r for r in byagent["rows"]}
    util.check_eq((agents["alice"]["answered"], agents["bob"]["answered"]), (1, 1),
                  "by agent")
    util.check(agents["alice"]["occupancy"] is not None, "the agent's occupancy")
    util.check_eq([r["key"] for r in byagent["rows"]], sorted(agents), "sorted by key")
    later = root.ok("stats.report", by="queue", **{"from": "2020-01-01", "to": "2020-01-31"})
    util.check_eq((later["rows"], later["totals"]["offered"], later["totals"]["sl"]),
                  ([], 0, None), "an empty range: no rows, null ratios")

    # the fence: bea sees BJ only
    bea = _login(ctx, srv, "bea")
    mine = bea.ok("stats.report", by="queue", **{"from": day, "to": day})
    util.check_eq((mine["rows"], mine["totals"]["offered"]), ([], 0), "nothing of SH for bea")
    wire.check_error(bea.request("stats.report", by="queue", site="SH",
                                 **{"from": day, "to": day}), "not_found", "no site SH")
    wire.check_error(bea.request("stats.report", by="day", queue="general",
                                 **{"from": day, "to": day}), "not_found", "no queue general")
    bsite = bea.ok("stats.report", by="site", **{"from": day, "to": day})
    util.check_eq(bsite["rows"], [], "no SH row for bea")


def test_refusals(ctx):
    """Wrong role, bad ranges and unknown keys are refused."""
    srv = _setup(ctx)
    alice = _login(ctx, srv, "alice")
    sue = _login(ctx, srv, "sue")
    day = _today()
    wire.check_error(alice.request("stats.report", by="queue", **{"from": day, "to": day}),
                     "forbidden", "role agent")
    cases = [
        ({"by": "galaxy", "from": day, "to": day}, "by"),
        ({"from": day, "to": day}, "by"),
        ({"by": "queue", "to": day}, "from"),
        ({"by": "queue", "from": "2026-11-23", "to": "2026-11-22"}, "after from"),
        ({"by": "queue", "from": 2000, "to": 1000}, "after from"),
        ({"by": "queue", "from": "2025-01-01", "to": "2026-01-02"}, "366 days"),
        ({"by": "interval", "from": "2026-01-01", "to": "2026-02-01"}, "31 days"),
        ({"by": "queue", "from": "2026-02-30", "to": "2026-03-01"}, "exists"),
        ({"by": "queue", "from": "23/11/2026", "to": day}, "YYYY-MM-DD"),
        ({"by": "queue", "from": -5, "to": day}, "milliseconds"),
        ({"by": "agent", "queue": "general", "from": day, "to": day}, "by site or agent"),
    ]
    for args, part in cases:
        wire.check_error(sue.request("stats.report", **args), "bad_request", part)
    wire.check_error(sue.request("stats.report", by="queue", queue="nope",
                                 **{"from": day, "to": day}), "not_found", "no queue nope")
    ok = sue.ok("stats.report", by="interval", **{"from": "2026-01-01", "to": "2026-01-31"})
    util.check_eq(ok["rows"], [], "31 days by interval are allowed")
    ok = sue.ok("stats.report", by="day", **{"from": "2025-01-01", "to": "2025-12-31"})
    util.check_eq(ok["rows"], [], "365 days by day are allowed")


def test_restart(ctx):
    """A restart keeps the day's figures; rows of yesterday are not
    restored."""
    srv = _setup(ctx)
    _calls(ctx, srv)
    _written(srv, 3)
    time.sleep(1.5)
    sue = _login(ctx, srv, "sue")
    keys = ("offered", "answered", "answered_in_sl", "abandoned", "abandoned_in_sl", "handled",
            "asa_ms", "aht_ms", "sl", "sl2", "presented")
    before_q = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    before_s = sue.ok("queue.stats", scope="site")["stats"]
    root = _login(ctx, srv, "root")
    before_all = root.ok("queue.stats", scope="overall")["stats"]
    midnight = int(time.time() // 86400) * 86400000
    srv.stop()
    # yesterday's last interval: not today's figures
    srv.dbinfo.sql(
        "INSERT INTO stats_intervals (interval_start, scope, scope_id, site_id, offered, "
        f"answered) SELECT {midnight - 1000}, 'queue', q.id, q.site_id, 50, 40 FROM queues q "
        "WHERE q.code = 'general';\n"
        "INSERT INTO stats_intervals (interval_start, scope, scope_id, site_id, offered) "
        f"SELECT {midnight - 1000}, 'site', id, id, 50 FROM sites WHERE code = 'SH';",
        srv.database)
    srv.start()
    sue = _login(ctx, srv, "sue")
    root = _login(ctx, srv, "root")
    util.wait_until(lambda: sue.ok("queue.stats", scope="queue", queue="general")["stats"]
                    ["offered"] > 0, 8, "the day's figures restored")
    after_q = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    after_s = sue.ok("queue.stats", scope="site")["stats"]
    after_all = root.ok("queue.stats", scope="overall")["stats"]
    for name, b, a in (("queue", before_q, after_q), ("site", before_s, after_s),
                       ("overall", before_all, after_all)):
        util.check_eq({k: a[k] for k in keys}, {k: b[k] for k in keys},
                      f"{name}: the figures after the restart equal those before")
    util.check(after_s["state_ms"]["busy"] >= before_s["state_ms"]["busy"] - 1,
               "the agents' time per state restored too")
    # new work after the restart adds to the restored figures and is written
    pbx = _login(ctx, srv, "pbx")
    pbx.ok("call.arrive", call_id="n1", dialled="4008001234")
    pbx.ok("call.abandon", call_id="n1")
    _written(srv, 3 + 50 + 1)  # yesterday's 50 are in the table, not in the day
    q = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq((q["offered"], q["abandoned"]), (4, 2), "counted on top")
    rep = sue.ok("stats.report", by="queue", queue="general",
                 **{"from": _today(), "to": _today()})
    util.check_eq(rep["totals"]["offered"], 4, "the report has the day without yesterday")


def test_alerts(ctx):
    """A wait above its threshold and a service level below its threshold
    raise alerts for the queue's supervisors, shown in queue.stats and
    /metrics, and clear again; another site's supervisor hears nothing."""
    srv = _setup(ctx)
    root = _login(ctx, srv, "root")
    sue = _login(ctx, srv, "sue")
    bea = _login(ctx, srv, "bea")
    pbx = _login(ctx, srv, "pbx")
    alice = _login(ctx, srv, "alice")
    for args, part in (({"alert_sl_below": 1.5}, "0 to 1"),
                       ({"alert_sl_below": "high"}, "0 to 1"),
                       ({"alert_wait_above_seconds": 0}, "1 to 86400"),
                       ({"alert_wait_above_seconds": 1.5}, "1 to 86400"),
                       ({"alert_on_breach": "yes"}, "true or false")):
        wire.check_error(root.request("queue.set", queue="general", **args), "bad_request",
                         part)
    wire.check_error(sue.request("queue.set", queue="general", alert_sl_below=0.5),
                     "forbidden", None)
    q = root.ok("queue.set", queue="general", alert_sl_below=0.9, alert_wait_above_seconds=2,
                alert_on_breach=True)["queue"]
    util.check_eq((q["alert_sl_below"], q["alert_wait_above_seconds"], q["alert_on_breach"]),
                  (0.9, 2, True), "the alert settings as they now are")
    row = srv.dbinfo.sql("SELECT alert_sl_below, alert_wait_above_seconds, alert_on_breach "
                         "FROM queues WHERE code = 'general'", srv.database)[0]
    util.check_eq(row, ["0.900", "2", "1"], "written to the queue's row")
    sue.ok("stats.subscribe")
    bea.ok("stats.subscribe")

    # a call waits past 2 s: longest_wait raised
    pbx.ok("call.arrive", call_id="a1", dialled="4008001234")
    ev = _event(sue, "alert", timeout=6)
    util.check_eq((ev["queue"], ev["site"], ev["kind"], ev["state"], ev["threshold"]),
                  ("general", "SH", "longest_wait", "raised", 2.0), f"the alert: {ev}")
    util.check(ev["value"] > 2.0 and ev["at"] > 0, f"the wait that raised it: {ev}")
    st = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq([a["kind"] for a in st["alerts"]], ["longest_wait"], "open in queue.stats")
    m, text = admin.metrics(srv.admin_port)
    util.check_eq(m.get('cc_queue_alert{kind="longest_wait",queue="general"}'), 1.0,
                  "open in /metrics")
    util.check_in('cc_queue_alert{queue="general",kind="longest_wait"} 1\n', text,
                  "the sample as written")
    vip = sue.ok("queue.stats", scope="queue", queue="vip")["stats"]
    util.check_eq(vip["alerts"], [], "no alert on vip")

    # answered late: the wait clears, the service level (0 < 0.9) is raised
    alice.ok("agent.ready")
    _event(alice, "offer")
    pbx.ok("call.answer", call_id="a1")
    seen = {}
    while len(seen) < 2:
        ev = _event(sue, "alert", timeout=6)
        seen[ev["kind"]] = ev
    util.check_eq(seen["longest_wait"]["state"], "cleared", "the wait cleared")
    sl = seen["service_level"]
    util.check_eq((sl["state"], sl["value"], sl["threshold"]), ("raised", 0.0, 0.9),
                  "service level 0 below 0.9")
    st = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq([a["kind"] for a in st["alerts"]], ["service_level"], "now the SL alert")
    m, _ = admin.metrics(srv.admin_port)
    util.check('cc_queue_alert{kind="longest_wait",queue="general"}' not in m, "wait gone")
    util.check_eq(m.get('cc_queue_alert{kind="service_level",queue="general"}'), 1.0,
                  "SL in /metrics")

    # the threshold taken away: cleared at once
    q = root.ok("queue.set", queue="general", alert_sl_below=None)["queue"]
    util.check_eq(q["alert_sl_below"], None, "no SL threshold")
    ev = _event(sue, "alert", timeout=4)
    util.check_eq((ev["kind"], ev["state"]), ("service_level", "cleared"), "SL cleared")
    st = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq(st["alerts"], [], "nothing open")
    m, _ = admin.metrics(srv.admin_port)
    util.check(not any(k.startswith("cc_queue_alert{") for k in m), "nothing in /metrics")
    # BJ's supervisor heard none of it
    routing._no_event(bea, "alert", wait=0.5)
    util.check(not any(e.get("event") == "alert" for e in bea.events), "bea: no alerts")


def test_breach_alert(ctx):
    """alert_on_breach: an SLA breach open on the queue's work raises an
    alert, cleared when the work leaves the line."""
    srv = _setup(ctx, "INSERT INTO sla_policies (name, kind, first_response_seconds, "
                      "first_response_basis, next_response_seconds, next_response_basis, "
                      "resolution_seconds, resolution_basis, warn_percent) VALUES "
                      "('fast', NULL, 2, 'wall', 2, 'wall', 3600, 'wall', 50);\n")
    root = _login(ctx, srv, "root")
    sue = _login(ctx, srv, "sue")
    pbx = _login(ctx, srv, "pbx")
    root.ok("queue.set", queue="general", alert_on_breach=True)
    sue.ok("stats.subscribe")
    pbx.ok("call.arrive", call_id="late", dialled="4008001234")
    ev = _event(sue, "alert", timeout=8)
    util.check_eq((ev["kind"], ev["state"], ev["value"], ev["threshold"]),
                  ("sla_breach", "raised", 1.0, 0.0), f"one breach open: {ev}")
    st = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq([a["kind"] for a in st["alerts"]], ["sla_breach"], "open in queue.stats")
    pbx.ok("call.abandon", call_id="late")
    ev = _event(sue, "alert", timeout=4)
    util.check_eq((ev["kind"], ev["state"]), ("sla_breach", "cleared"), "cleared")


def test_restart_mid_interval(ctx):
    """With hour-long intervals, a restart in the middle of one loses
    nothing: the interval under way is written at shutdown, restored, and
    written again whole at the next shutdown (not added twice); a call
    waiting across the restarts counts as offered once."""
    srv = _setup(ctx, rollup=3600)
    _calls(ctx, srv)
    pbx = _login(ctx, srv, "pbx")
    pbx.ok("call.arrive", call_id="w1", dialled="4008001234")
    sue = _login(ctx, srv, "sue")
    keys = ("offered", "answered", "answered_in_sl", "abandoned", "handled", "asa_ms",
            "waiting")
    before = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq((before["offered"], before["waiting"]), (4, 1), "w1 waits")
    gq = "AND scope_id = (SELECT id FROM queues WHERE code = 'general')"
    util.check_eq(_sums(srv, "queue", gq)[6], 0, "nothing written within the hour")
    srv.stop()
    util.check_eq(_sums(srv, "queue", gq)[:5], (4, 2, 1, 1, 2), "written at shutdown")
    srv.start()
    sue = _login(ctx, srv, "sue")
    util.wait_until(lambda: sue.ok("queue.stats", scope="queue", queue="general")["stats"]
                    ["offered"] > 0, 8, "the day's figures restored")
    after = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq({k: after[k] for k in keys}, {k: before[k] for k in keys},
                  "the figures after the restart equal those before")
    site = sue.ok("queue.stats", scope="site")["stats"]
    util.check_eq((site["offered"], site["waiting"]), (4, 1), "the site counts w1 once")
    pbx = _login(ctx, srv, "pbx")
    pbx.ok("call.arrive", call_id="n1", dialled="4008001234")
    pbx.ok("call.abandon", call_id="n1")
    srv.stop()
    util.check_eq(_sums(srv, "queue", gq)[:5], (5, 2, 1, 2, 2),
                  "the interval written again whole, not added twice")
    util.check_eq(_sums(srv, "all")[:4], (5, 2, 1, 2), "overall too")
    srv.start()
    sue = _login(ctx, srv, "sue")
    util.wait_until(lambda: sue.ok("queue.stats", scope="queue", queue="general")["stats"]
                    ["offered"] > 0, 8, "restored again")
    q = sue.ok("queue.stats", scope="queue", queue="general")["stats"]
    util.check_eq((q["offered"], q["abandoned"], q["waiting"]), (5, 2, 1),
                  "after the second restart")


def test_skill_rollups(ctx):
    """'general' requires billing, held by alice and bob: the skill's rows
    add up to the hand count, stats.report by skill gives it, and a restart
    restores it; by skill is for viewers of every site, without site or
    queue."""
    srv = _setup(ctx, "INSERT INTO skills (code, name, kind) VALUES ('billing', 'Billing', "
                      "'task');\n"
                      "INSERT INTO queue_skills (queue_id, skill_id, min_proficiency) "
                      "SELECT q.id, s.id, 1 FROM queues q, skills s WHERE q.code = 'general' "
                      "AND s.code = 'billing';\n"
                      "INSERT INTO agent_skills (agent_id, skill_id, proficiency) "
                      "SELECT a.id, s.id, 3 FROM agents a, skills s "
                      "WHERE a.username IN ('alice', 'bob');\n")
    _calls(ctx, srv)
    bq = "AND scope_id = (SELECT id FROM skills WHERE code = 'billing')"
    util.wait_until(lambda: _sums(srv, "skill", bq)[:5] == (3, 2, 1, 1, 2), 8,
                    "the skill's rows written")
    site = srv.dbinfo.sql("SELECT DISTINCT site_id FROM stats_intervals WHERE scope = 'skill'",
                          srv.database)
    low = srv.dbinfo.sql("SELECT MIN(id) FROM sites", srv.database)
    util.check_eq(site, low, "a skill's rows count in the site with the lowest id")
    root = _login(ctx, srv, "root")
    day = _today()
    rep = root.ok("stats.report", by="skill", **{"from": day, "to": day})
    util.check_eq(rep["by"], "skill", "by")
    util.check_eq([r["key"] for r in rep["rows"]], ["billing"], "the skills with figures")
    b = rep["rows"][0]
    util.check_eq((b["offered"], b["answered"], b["answered_within"], b["abandoned"],
                   b["handled"], b["sl"]), (3, 2, 1, 1, 2, 0.5), "billing's day")
    util.check(b["occupancy"] is not None, f"the agents' time counted: {b}")
    sue = _login(ctx, srv, "sue")
    wire.check_error(sue.request("stats.report", by="skill", **{"from": day, "to": day}),
                     "forbidden", "span the sites")
    wire.check_error(root.request("stats.report", by="skill", queue="general",
                                  **{"from": day, "to": day}), "bad_request", "by skill")
    wire.check_error(root.request("stats.report", by="skill", site="SH",
                                  **{"from": day, "to": day}), "bad_request", "by skill")

    time.sleep(1.5)
    srv.stop()
    srv.start()
    root = _login(ctx, srv, "root")
    k = root.ok("queue.stats", scope="skill", skill="billing")["stats"]
    util.check_eq((k["offered"], k["answered"], k["answered_in_sl"], k["abandoned"],
                   k["handled"]), (3, 2, 1, 1, 2), "the skill's day restored at start")
