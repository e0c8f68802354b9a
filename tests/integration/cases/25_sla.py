"""SLA clocks on real tickets: a policy row with second-long targets, the
clocks in ticket.show, the warning and the breach pushed to a supervisor
(and the warning to the owner) at their instants, the breach in the
ticket's hash-chained history with the ticket escalated, pending_customer
freezing a clock, a customer-visible note meeting the first response, the
timers rebuilt from the database after a restart, the built-in defaults
when sla_policies is empty, and a site calendar with holidays."""

import datetime
import time

from itest import admin, util

# When an event may arrive after its instant: one loop turn, one db job,
# one TLS write; generous for a loaded machine.
LATE_MS = 900
EARLY_MS = 30


def _server(ctx, policies=(), before_start=""):
    """A server with sla_policies rows (name, kind or None, first_response
    s, next_response s, resolution s, warn %), all wall-clock; alice and bob
    (agents) and sue (supervisor) at SH, a queue 'general' of SH."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False)
    srv.add_agent("sue", "pw-sue", role="supervisor")
    sql = ("INSERT INTO queues (code, name, site_id) "
           "SELECT 'general', 'General', id FROM sites WHERE code = 'SH';\n")
    for name, kind, fr, nr, res, warn in policies:
        sql += ("INSERT INTO sla_policies (name, kind, first_response_seconds, "
                "first_response_basis, next_response_seconds, next_response_basis, "
                "resolution_seconds, resolution_basis, warn_percent) VALUES "
                f"('{name}', {'NULL' if kind is None else repr(kind)}, {fr}, 'wall', {nr}, "
                f"'wall', {res}, 'wall', {warn});\n")
    srv.dbinfo.sql(sql + before_start, srv.database)
    srv.start()
    return srv


def _login(ctx, srv, user):
    conn = ctx.connect(srv)
    conn.login(user, f"pw-{user}")
    return conn


def _clocks(conn, ticket):
    """{metric: clock} from ticket.show."""
    shown = conn.ok("ticket.show", ticket=ticket["id"])
    util.check(isinstance(shown.get("sla"), list), f"ticket.show without sla: {shown}")
    return {c["metric"]: c for c in shown["sla"]}, shown


def _next_event(conn, name, timeout):
    """The first event called name (queued or arriving within timeout) and
    the wall time (ms) it was read; None when none came."""
    for i, ev in enumerate(conn.events):
        if ev.get("event") == name:
            del conn.events[i]
            return ev, int(time.time() * 1000)
    deadline = time.monotonic() + util.scaled(timeout)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, None
        try:
            msg = conn.read(timeout=left / util.TIME_SCALE)
        except TimeoutError:
            return None, None
        if msg.get("event") == name:
            return msg, int(time.time() * 1000)
        conn.events.append(msg)


def _move(conn, ticket, action, **args):
    return conn.ok("ticket.transition", ticket=ticket["id"], action=action,
                   version=ticket["version"], **args)["ticket"]


def _check_at(got_ms, want_ms, what):
    """An event read at got_ms was due at want_ms (both wall ms)."""
    util.check(want_ms - EARLY_MS <= got_ms <= want_ms + LATE_MS * util.TIME_SCALE,
               f"{what}: arrived at {got_ms}, expected {want_ms} "
               f"({got_ms - want_ms:+d} ms)")


def _verify(srv, ref):
    proc = srv.tool("--verify-ticket", ref)
    util.check_eq(proc.returncode, 0, f"--verify-ticket {ref}: {proc.stdout}{proc.stderr}")
    util.check(proc.stdout.startswith("ok "), f"--verify-ticket said {proc.stdout!r}")


def _db(srv, query):
    return srv.dbinfo.scalar(query, srv.database)


def test_warning_breach_escalation(ctx):
    """First response 2 s, warning at 50 %: the warning reaches the
    supervisor and the owner at 1 s, the breach the supervisor (only) at
    2 s; the breach is in the history, the ticket one priority more urgent
    and at escalation level 1, and the chain verifies."""
    srv = _server(ctx, [("fast", None, 2, 2, 3600, 50)])
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    t = alice.ok("ticket.create", kind="complaint", channel="web", severity=2, priority=5,
                 subject="SLA")["ticket"]
    created = t["created_at"]
    t = _move(alice, t, "accept", queue="general")

    clocks, shown = _clocks(alice, t)
    util.check_eq(sorted(clocks), ["first_response", "next_response", "resolution"],
                  "clock rows")
    fr = clocks["first_response"]
    util.check_eq((fr["state"], fr["level"], fr["basis"], fr["target_ms"], fr["due_at"]),
                  ("running", "ok", "wall", 2000, created + 2000), "first_response clock")
    util.check(0 <= fr["elapsed_ms"] < 1000 and fr["remaining_ms"] == 2000 - fr["elapsed_ms"],
               f"first_response times: {fr}")
    util.check_eq((clocks["resolution"]["state"], clocks["resolution"]["due_at"]),
                  ("running", created + 3600 * 1000), "resolution clock")
    util.check_eq((clocks["next_response"]["state"], clocks["next_response"]["due_at"]),
                  ("idle", None), "next_response clock")
    util.check_eq(_db(srv, f"SELECT p.name FROM tickets t JOIN sla_policies p "
                           f"ON p.id = t.sla_policy_id WHERE t.id = {t['id']}"),
                  "fast", "tickets.sla_policy_id")
    util.check_eq(int(_db(srv, f"SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', "
                               f"first_response_due) DIV 1000 FROM tickets "
                               f"WHERE id = {t['id']}")),
                  created + 2000, "tickets.first_response_due")

    ev, at = _next_event(sue, "sla.warning", 3)
    util.check(ev is not None, "no sla.warning reached the supervisor")
    _check_at(at, created + 1000, "warning to the supervisor")
    util.check_eq((ev["ref"], ev["ticket_id"], ev["metric"], ev["due_at"], ev["site"]),
                  (t["ref"], t["id"], "first_response", created + 2000, "SH"),
                  "warning event")
    own, _ = _next_event(alice, "sla.warning", 2)
    util.check(own is not None and own["ref"] == t["ref"], "the owner was not warned")

    ev, at = _next_event(sue, "sla.breach", 3)
    util.check(ev is not None, "no sla.breach reached the supervisor")
    _check_at(at, created + 2000, "breach to the supervisor")
    util.check_eq((ev["ref"], ev["metric"], ev["due_at"], ev["escalated"]),
                  (t["ref"], "first_response", created + 2000, True), "breach event")
    late, _ = _next_event(alice, "sla.breach", 0.5)
    util.check(late is None, f"the owner got the breach too: {late}")

    clocks, shown = _clocks(alice, t)
    util.check_eq((shown["ticket"]["priority"], shown["ticket"]["escalation_level"],
                   shown["ticket"]["version"]), (6, 1, t["version"] + 1), "escalated ticket")
    fr = clocks["first_response"]
    util.check_eq((fr["state"], fr["level"], fr["remaining_ms"]), ("running", "breached", 0),
                  "breached clock")
    util.check(fr["overdue_ms"] >= 0, f"overdue: {fr}")
    sla_events = [e for e in shown["events"] if e["op"].startswith("sla.")]
    util.check_eq([(e["op"], e["actor"], e["new_value"]) for e in sla_events],
                  [("sla.warning", "system", "first_response"),
                   ("sla.breach", "system", "first_response")], "sla events in the history")
    detail = sla_events[1]["detail"]
    util.check_eq((detail["metric"], detail["due_at"], detail["priority"],
                   detail["escalation_level"]),
                  ("first_response", created + 2000, 6, 1), "breach event detail")
    util.check(detail["overdue_ms"] >= 0, f"overdue_ms in {detail}")
    _verify(srv, t["ref"])

    m, _ = admin.metrics(srv.admin_port)
    util.check_eq((m.get("cc_sla_warnings_total"), m.get("cc_sla_breaches_total")),
                  (1.0, 1.0), "sla counters")
    util.check_eq(m.get("cc_sla_timers"), 1.0, "one timer left (resolution)")

    # resolving stops the clocks and disarms the timer
    t = shown["ticket"]
    _move(alice, t, "resolve", code="fixed")
    clocks, _ = _clocks(alice, t)
    util.check_eq({k: c["state"] for k, c in clocks.items()},
                  {"first_response": "stopped", "next_response": "idle",
                   "resolution": "stopped"}, "clocks after resolve")
    util.check_eq(_db(srv, f"SELECT CONCAT_WS(',', IFNULL(first_response_due, '-'), "
                           f"IFNULL(resolution_due, '-')) FROM tickets WHERE id = {t['id']}"),
                  "-,-", "due columns after resolve")
    util.wait_until(lambda: admin.metrics(srv.admin_port)[0].get("cc_sla_timers") == 0.0, 2,
                    "timer disarmed after resolve")


def test_pending_customer_freezes(ctx):
    """A clock paused in pending_customer keeps its remaining time and does
    not breach; after the customer replies it breaches when that remaining
    time has run."""
    srv = _server(ctx, [("fast", None, 1, 5, 3600, 50)])
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    t = alice.ok("ticket.create", kind="inquiry", channel="web", priority=5, subject="hold")["ticket"]
    t = _move(alice, t, "accept", queue="general")
    t = _move(alice, t, "hold")
    clocks, _ = _clocks(alice, t)
    fr = clocks["first_response"]
    util.check_eq((fr["state"], fr["due_at"]), ("paused", None), "paused clock")
    frozen = fr["remaining_ms"]
    util.check(0 < frozen <= 1000, f"remaining when paused: {fr}")

    ev, _ = _next_event(sue, "sla.breach", 1.3)
    util.check(ev is None, f"a paused clock breached: {ev}")
    clocks, _ = _clocks(alice, t)
    util.check_eq(clocks["first_response"]["remaining_ms"], frozen, "remaining stays frozen")
    util.check_eq(clocks["resolution"]["state"], "paused", "resolution paused too")

    t = _move(alice, t, "customer_replied")
    resumed = int(time.time() * 1000)
    clocks, _ = _clocks(alice, t)
    util.check_eq(clocks["first_response"]["state"], "running", "resumed")
    util.check_eq(clocks["next_response"]["state"], "idle",
                  "no next response before a first one")
    # the warning (at 50 %) may already have been reported before the hold
    ev, at = _next_event(sue, "sla.breach", 2)
    util.check(ev is not None, "no breach after resuming")
    _check_at(at, resumed + frozen, "breach after resume")
    util.check(abs(ev["due_at"] - (resumed + frozen)) <= 300,
               f"due_at {ev['due_at']} is not resume + remaining ({resumed} + {frozen})")
    _verify(srv, t["ref"])


def test_response_meets_first_response(ctx):
    """A customer-visible note stops first_response in time: no breach
    later; an internal note does not. After the customer replies,
    next_response runs."""
    srv = _server(ctx, [("fast", None, 1, 30, 3600, 50)])
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    t = alice.ok("ticket.create", kind="inquiry", channel="email", priority=5,
                 subject="respond")["ticket"]
    t = _move(alice, t, "accept", queue="general")
    alice.ok("ticket.note", ticket=t["id"], body="looking", visibility="internal")
    clocks, _ = _clocks(alice, t)
    util.check_eq(clocks["first_response"]["state"], "running", "internal note: still running")
    alice.ok("ticket.note", ticket=t["id"], body="we are on it", visibility="customer")
    clocks, _ = _clocks(alice, t)
    fr = clocks["first_response"]
    util.check_eq((fr["state"], fr["level"], fr["due_at"]), ("stopped", "ok", None),
                  "first_response met")
    util.check_eq(_db(srv, f"SELECT first_responded_at IS NOT NULL AND first_response_due "
                           f"IS NULL FROM tickets WHERE id = {t['id']}"),
                  "1", "first_responded_at set, due cleared")
    ev, _ = _next_event(sue, "sla.breach", 1.3)
    util.check(ev is None, f"breach after the first response: {ev}")
    ev, _ = _next_event(sue, "sla.warning", 0)
    util.check(ev is None, f"warning after the first response: {ev}")

    t = _move(alice, t, "hold")
    t = _move(alice, t, "customer_replied")
    clocks, _ = _clocks(alice, t)
    nr = clocks["next_response"]
    util.check_eq((nr["state"], nr["target_ms"]), ("running", 30000), "next_response started")
    alice.ok("ticket.note", ticket=t["id"], body="answer", visibility="customer")
    clocks, shown = _clocks(alice, t)
    util.check_eq(clocks["next_response"]["state"], "stopped", "next_response met")
    util.check_eq([e["op"] for e in shown["events"] if e["op"].startswith("sla.")], [],
                  "no sla events")
    _verify(srv, t["ref"])


def test_restart_rebuilds_timers(ctx):
    """A clock running when the server stops still breaches after it starts
    again, at its instant, from the clock rows alone."""
    srv = _server(ctx, [("fast", None, 3, 30, 3600, 50)])
    alice = _login(ctx, srv, "alice")
    t = alice.ok("ticket.create", kind="inquiry", channel="web", priority=5, subject="restart",
                 queue="general")["ticket"]
    created = t["created_at"]
    util.check_eq(srv.stop(), 0, "clean stop")
    srv.start()
    util.check(srv.find_log(r"clocks loaded.*timers=1"), "the restart armed no timer")
    sue = _login(ctx, srv, "sue")
    ev, at = _next_event(sue, "sla.breach", 5)
    util.check(ev is not None, "no breach after the restart")
    _check_at(at, created + 3000, "breach after restart")
    util.check_eq((ev["ref"], ev["metric"]), (t["ref"], "first_response"), "breach event")
    alice = _login(ctx, srv, "alice")
    _, shown = _clocks(alice, t)
    util.check_eq([e["op"] for e in shown["events"] if e["op"].startswith("sla.")],
                  ["sla.warning", "sla.breach"], "each crossing recorded once")
    util.check_eq((shown["ticket"]["priority"], shown["ticket"]["escalation_level"]), (6, 1),
                  "escalated after restart")
    _verify(srv, t["ref"])


def test_defaults_and_calendar(ctx):
    """With sla_policies empty the built-in table applies (no policy id);
    business time counts the owning site's calendar in its time zone, with
    holidays, loaded at start."""
    tz = "Asia/Shanghai"
    try:
        import zoneinfo
        zone = zoneinfo.ZoneInfo(tz)
    except Exception as e:  # noqa: BLE001 - a missing tzdata is a setup problem
        raise util.CheckFailed(f"zone {tz} unavailable to the test: {e}")
    today = datetime.datetime.now(zone).date()
    days = [today + datetime.timedelta(days=i) for i in range(2)]
    hours = "".join(f"INSERT INTO calendar_hours (site_id, weekday, start_time, end_time) "
                    f"SELECT id, {wd}, '00:00', '24:00' FROM sites WHERE code = 'SH';\n"
                    for wd in range(1, 8))
    closed = "".join(f"INSERT INTO calendar_days (site_id, day, kind) SELECT id, '{d}', "
                     f"'closed' FROM sites WHERE code = 'SH';\n" for d in days)
    srv = _server(ctx, before_start=f"UPDATE sites SET time_zone = '{tz}' WHERE code = 'SH';\n"
                  + hours + closed)
    util.check(srv.find_log(r'clocks loaded" calendars=1 '), "the SH calendar was not loaded")
    alice = _login(ctx, srv, "alice")
    t = alice.ok("ticket.create", kind="complaint", channel="web", severity=2, priority=5,
                 subject="defaults")["ticket"]
    clocks, _ = _clocks(alice, t)
    fr = clocks["first_response"]
    # complaint-2: 30 min of business time, warning at 80 %; today and
    # tomorrow are holidays, so it runs from the day after at 00:00
    opens = datetime.datetime.combine(days[1] + datetime.timedelta(days=1), datetime.time(0),
                                      zone)
    want_due = int(opens.timestamp() * 1000) + 30 * 60 * 1000
    util.check_eq((fr["state"], fr["basis"], fr["target_ms"], fr["elapsed_ms"], fr["due_at"]),
                  ("running", "business", 30 * 60 * 1000, 0, want_due), "business clock")
    util.check_eq(_db(srv, f"SELECT sla_policy_id IS NULL FROM tickets WHERE id = {t['id']}"),
                  "1", "built-in policy has no id")
    res = clocks["resolution"]
    util.check_eq((res["basis"], res["target_ms"], res["due_at"]),
                  ("business", 8 * 3600 * 1000, int(opens.timestamp() * 1000) + 8 * 3600 * 1000),
                  "business resolution")


def test_update_retargets(ctx):
    """ticket.update to a kind with a shorter target: the running clock
    keeps its counted time, takes the new target, and, being over it,
    breaches at once; the ticket records the new policy."""
    srv = _server(ctx, [("slow", None, 30, 30, 3600, 50), ("inq", "inquiry", 1, 30, 3600, 50)])
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    t = alice.ok("ticket.create", kind="return_refund", channel="email", priority=5,
                 subject="update")["ticket"]
    clocks, _ = _clocks(alice, t)
    util.check_eq(clocks["first_response"]["target_ms"], 30000, "slow policy first")
    time.sleep(util.scaled(1.1))
    reply = alice.ok("ticket.update", ticket=t["id"], version=t["version"], kind="inquiry")
    updated = int(time.time() * 1000)
    t = reply["ticket"]
    clocks, _ = _clocks(alice, t)
    fr = clocks["first_response"]
    util.check_eq((fr["state"], fr["level"], fr["target_ms"]), ("running", "breached", 1000),
                  "retargeted clock")
    util.check(fr["elapsed_ms"] >= 1000, f"counted time kept: {fr}")
    util.check(updated - 1000 <= fr["due_at"] <= updated, f"breached at the update: {fr}")
    util.check_eq(clocks["resolution"]["target_ms"], 3600 * 1000, "resolution target")
    util.check_eq(_db(srv, f"SELECT p.name FROM tickets t JOIN sla_policies p "
                           f"ON p.id = t.sla_policy_id WHERE t.id = {t['id']}"),
                  "inq", "policy after the update")
    ev, at = _next_event(sue, "sla.breach", 2)
    util.check(ev is not None, "no breach after the update")
    _check_at(at, updated, "breach right after the update")
    _verify(srv, t["ref"])


def test_live_contact_answered(ctx):
    """Phone and chat are live: an agent who logs the call in hand, or
    takes a waiting one, has answered it, and that is its first response
    (met at once, no warning or breach later). A web ticket's first
    response still runs, and so does a phone ticket nobody took yet."""
    srv = _server(ctx, [("fast", None, 2, 30, 3600, 50)])
    srv.add_agent("pbx", "pw-pbx", role="service")
    sue = _login(ctx, srv, "sue")
    alice = _login(ctx, srv, "alice")
    pbx = _login(ctx, srv, "pbx")

    logged = alice.ok("ticket.create", kind="call", channel="phone", priority=5,
                      subject="walk-in call")["ticket"]
    clocks, _ = _clocks(alice, logged)
    fr = clocks["first_response"]
    util.check_eq((fr["state"], fr["level"], fr["elapsed_ms"], fr["target_ms"], fr["due_at"]),
                  ("stopped", "ok", 0, 2000, None), "a logged call is answered")
    util.check_eq(_db(srv, f"SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', "
                           f"first_responded_at) DIV 1000 FROM tickets "
                           f"WHERE id = {logged['id']}"),
                  str(logged["created_at"]), "first_responded_at is the creation")
    util.check_eq(clocks["resolution"]["state"], "running", "resolution still runs")

    web = alice.ok("ticket.create", kind="inquiry", channel="web", priority=5,
                   subject="web form")["ticket"]
    util.check_eq(_clocks(alice, web)[0]["first_response"]["state"], "running",
                  "a web ticket waits for its response")

    waiting = pbx.ok("ticket.create", kind="call", channel="phone", priority=5,
                     subject="caller waiting", queue="general")["ticket"]
    util.check_eq(_clocks(alice, waiting)[0]["first_response"]["state"], "running",
                  "a call in the queue is not answered yet")
    alice.ok("agent.ready")
    offer, _ = _next_event(alice, "offer", 5)
    util.check(offer is not None and offer["ticket"]["ref"] == waiting["ref"],
               f"the call offered to alice: {offer}")
    util.check_eq(_clocks(alice, waiting)[0]["first_response"]["state"], "running",
                  "an offered call is not answered yet")
    taken = alice.ok("offer.accept", ticket=waiting["ref"])["ticket"]
    util.check_eq((taken["state"], taken["owner"]), ("in_progress", "alice"), "taken")
    fr = _clocks(alice, taken)[0]["first_response"]
    util.check_eq((fr["state"], fr["level"]), ("stopped", "ok"), "taking the call answers it")

    ev, _ = _next_event(sue, "sla.breach", 2.8)
    util.check(ev is not None and ev["ref"] == web["ref"],
               f"only the web ticket breaches: {ev}")
    ev, _ = _next_event(sue, "sla.breach", 0.5)
    util.check(ev is None, f"a second breach: {ev}")
    for t in (logged, web, waiting):
        _verify(srv, t["ref"])
