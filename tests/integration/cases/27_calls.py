"""Calls from the phone system (service role): call.arrive makes a ticket
in the queue of the dialled number and IVR choice, finds the caller by
number and offers a known customer first to the agent who last served
them; answer, end, abandon and callback; every op idempotent by call id;
refusals that write nothing."""

import importlib
import sys
import time

from itest import util, wire

sys.path.insert(0, __import__("os").path.dirname(__file__))
routing = importlib.import_module("26_routing")
_event, _no_event, _login = routing._event, routing._no_event, routing._login


def _setup(ctx, sticky=20, wrapup=0):
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"}, start=False)
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.add_agent("pbx", "pw-pbx", role="service")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        f"SELECT 'general', 'General', id, {wrapup}, {sticky} FROM sites WHERE code = 'SH';\n"
        "INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
        "SELECT 'vip', 'VIP', id, 0, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
        "SELECT '4008001234', '', id, 5 FROM queues WHERE code = 'general';\n"
        "INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
        "SELECT '4008001234', '2', id, 8 FROM queues WHERE code = 'vip';\n"
        "INSERT INTO customers (id, name) VALUES (7001, '王芳');\n"
        "INSERT INTO customer_contacts (customer_id, kind, value) "
        "VALUES (7001, 'phone', '+8613800138000');\n", srv.database)
    srv.start()
    return srv


def _count(srv, table):
    return int(srv.dbinfo.scalar(f"SELECT COUNT(*) FROM {table}", srv.database))


def test_arrive_and_retry(ctx):
    """A call becomes a queued ticket for the known caller, with its place in
    line; the same call id again gives the same ticket and writes nothing."""
    srv = _setup(ctx)
    pbx = _login(ctx, srv, "pbx")
    r = pbx.ok("call.arrive", call_id="pbx-1", caller="138 0013 8000", dialled="4008001234")
    t = r["ticket"]
    util.check_eq((t["kind"], t["channel"], t["state"], t["queue"], t["customer_id"]),
                  ("call", "phone", "queued", "general", 7001), "the call's ticket")
    util.check_eq((r["call"]["state"], r["call"]["position"]), ("waiting", 1), "in line")
    util.check(r["call"]["estimated_wait_ms"] > 0, f"an estimated wait: {r['call']}")
    before = (_count(srv, "tickets"), _count(srv, "calls"), _count(srv, "ticket_events"))
    again = pbx.ok("call.arrive", call_id="pbx-1", caller="138 0013 8000",
                   dialled="4008001234")
    util.check_eq(again["ticket"]["ref"], t["ref"], "a retry finds the same ticket")
    util.check_eq((_count(srv, "tickets"), _count(srv, "calls"), _count(srv, "ticket_events")),
                  before, "a retry writes nothing")
    vip = pbx.ok("call.arrive", call_id="pbx-2", dialled="4008001234", ivr="2")
    util.check_eq((vip["ticket"]["queue"], vip["ticket"]["priority"],
                   vip["ticket"]["customer_id"]), ("vip", 8, None),
                  "the IVR choice picks the queue; a withheld caller is nobody")
    est = pbx.ok("queue.estimate", queue="general")
    util.check(est["estimated_wait_ms"] > 0, f"estimate: {est}")
    sue = _login(ctx, srv, "sue")
    second = pbx.ok("call.arrive", call_id="pbx-3", caller="13900000003",
                    dialled="4008001234")["ticket"]
    wait = sue.ok("ticket.wait", ticket=second["id"])
    util.check_eq(wait["position"], 2, "supervisors see the place in line")
    util.check(wait["estimated_wait_ms"] >= r["call"]["estimated_wait_ms"],
               f"second in line waits longer: {wait}")
    wire.check_error(sue.request("ticket.wait", ticket=999999), "not_found", "not waiting")
    alice = _login(ctx, srv, "alice")
    wire.check_error(alice.request("ticket.wait", ticket=second["id"]), "forbidden")


def test_refusals(ctx):
    """Unknown numbers, bad arguments and the wrong role are refused with
    nothing written."""
    srv = _setup(ctx)
    pbx = _login(ctx, srv, "pbx")
    alice = _login(ctx, srv, "alice")
    before = (_count(srv, "tickets"), _count(srv, "calls"))
    wire.check_error(pbx.request("call.arrive", call_id="x1", caller="1", dialled="999"),
                     "not_found", "no call route")
    wire.check_error(pbx.request("call.arrive", call_id="x2", caller="abc",
                                 dialled="4008001234"), "bad_request", "phone number")
    wire.check_error(pbx.request("call.arrive", call_id="x" * 65, dialled="4008001234"),
                     "too_large")
    wire.check_error(alice.request("call.arrive", call_id="x3", dialled="4008001234"),
                     "forbidden")
    wire.check_error(pbx.request("call.answer", call_id="nope"), "not_found", "no call")
    wire.check_error(pbx.request("queue.estimate", queue="nope"), "not_found")
    util.check_eq((_count(srv, "tickets"), _count(srv, "calls")), before, "nothing written")


def test_answer_end_next_call(ctx):
    """Offered, answered, ended: the agent is free for the next call while
    the first ticket stays hers to finish."""
    srv = _setup(ctx)
    pbx = _login(ctx, srv, "pbx")
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    first = pbx.ok("call.arrive", call_id="c1", caller="13900000001",
                   dialled="4008001234")["ticket"]
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], first["ref"], "offered")
    ans = pbx.ok("call.answer", call_id="c1")
    util.check_eq((ans["call"]["state"], ans["ticket"]["state"], ans["ticket"]["owner"]),
                  ("answered", "in_progress", "alice"), "answered")
    util.check_eq(pbx.ok("call.answer", call_id="c1")["call"]["state"], "answered",
                  "a repeated answer is fine")
    st = alice.ok("agent.status")
    util.check_eq((st["state"], st["calls"]), ("busy", 1), "on the call")
    second = pbx.ok("call.arrive", call_id="c2", caller="13900000002",
                    dialled="4008001234")["ticket"]
    _no_event(alice, "offer", wait=0.5)
    pbx.ok("call.end", call_id="c1")
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], second["ref"],
                  "the next call once the first ended")
    shown = alice.ok("ticket.show", ticket=first["ref"])["ticket"]
    util.check_eq((shown["state"], shown["owner"]), ("in_progress", "alice"),
                  "the first ticket is still hers")
    wire.check_error(pbx.request("call.abandon", call_id="c1"), "conflict", "ended")
    times = srv.dbinfo.scalar("SELECT CONCAT(state, ':', answered_at IS NOT NULL, ':', "
                              "ended_at IS NOT NULL) FROM calls WHERE call_id = 'c1'",
                              srv.database)
    util.check_eq(times, "ended:1:1", "the call's own times")


def test_abandon_and_callback(ctx):
    """A caller who hangs up closes the ticket as abandoned (once); one who
    asks for a callback keeps their place."""
    srv = _setup(ctx)
    pbx = _login(ctx, srv, "pbx")
    sue = _login(ctx, srv, "sue")
    pbx.ok("call.arrive", call_id="a1", dialled="4008001234")
    r = pbx.ok("call.abandon", call_id="a1")
    util.check_eq((r["call"]["state"], r["ticket"]["state"], r["ticket"]["resolution_code"]),
                  ("abandoned", "closed", "abandoned"), "abandoned")
    events = _count(srv, "ticket_events")
    util.check_eq(pbx.ok("call.abandon", call_id="a1")["call"]["state"], "abandoned",
                  "repeated")
    util.check_eq(_count(srv, "ticket_events"), events, "a repeat writes nothing")
    cb = pbx.ok("call.arrive", call_id="b1", caller="13900000009",
                dialled="4008001234")["ticket"]
    r = pbx.ok("callback.request", call_id="b1", number="13900000010")
    util.check_eq(r["call"]["state"], "callback", "callback")
    shown = sue.ok("ticket.show", ticket=cb["ref"])
    util.check_eq((shown["ticket"]["state"], shown["ticket"]["enqueued_at"]),
                  ("queued", cb["enqueued_at"]), "keeps its place")
    util.check_eq(shown["events"][-1]["op"], "callback", "the history says so")
    wire.check_error(pbx.request("callback.request", call_id="b1", number="x"),
                     "bad_request")
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    util.check_eq(_event(alice, "offer")["ticket"]["ref"], cb["ref"],
                  "the callback is offered when reached")


def test_sticky_agent(ctx):
    """A known customer calling again goes to the agent who last served
    them, though another agent has been idle longer."""
    srv = _setup(ctx)
    pbx = _login(ctx, srv, "pbx")
    sue = _login(ctx, srv, "sue")
    bob = _login(ctx, srv, "bob")
    # bob served the customer before
    old = sue.ok("ticket.create", kind="inquiry", channel="phone", subject="earlier",
                 customer_id=7001)["ticket"]
    old = bob.ok("ticket.transition", ticket=old["id"], action="accept", queue="general",
                 version=old["version"])["ticket"]
    bob.ok("ticket.resolve", ticket=old["id"], version=old["version"], code="answered",
           summary="done")
    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    time.sleep(0.05)
    bob.ok("agent.ready")
    t = pbx.ok("call.arrive", call_id="s1", caller="+86 138 0013 8000",
               dialled="4008001234")["ticket"]
    util.check_eq(_event(bob, "offer")["ticket"]["ref"], t["ref"], "back to bob")
    _no_event(alice, "offer", wait=0.3)


def _arrive_burst(conns, calls, timeout=60.0):
    """Send every (session index, call id) of calls, in order, pipelined on
    its session without waiting for replies; then read every reply. The
    replies by call id (a list each: one per time it was sent)."""
    sent = [[] for _ in conns]
    for k, call_id in calls:
        conn = conns[k]
        rid = conn.next_id
        conn.next_id += 1
        conn.send({"id": rid, "op": "call.arrive", "call_id": call_id,
                   "caller": f"139{int(call_id.rsplit('-', 1)[1]):08d}",
                   "dialled": "4008001234"})
        sent[k].append((rid, call_id))
    replies = {}
    for k, conn in enumerate(conns):
        for rid, call_id in sent[k]:
            replies.setdefault(call_id, []).append(conn.reply_for(rid, timeout=timeout))
    return replies


def _log_errors(srv):
    return [line for line in srv.log_text().splitlines() if " level=error " in line]


def test_concurrent_arrivals(ctx):
    """Phone-system sessions sending calls with ascending call ids at once
    (as a PBX numbers them): every call gets its own ticket at the first
    try; no request waits on another's lock, none is refused, nothing is
    logged as an error."""
    srv = ctx.server(start=False, settings={"database.workers": "4"})
    srv.add_agent("pbx", "pw-pbx", role="service")
    srv.dbinfo.sql("INSERT INTO queues (code, name, site_id) "
                   "SELECT 'general', 'General', id FROM sites WHERE code = 'SH';\n"
                   "INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
                   "SELECT '4008001234', '', id, 5 FROM queues WHERE code = 'general';\n",
                   srv.database)
    srv.start()
    sessions, rounds = 8, 40
    conns = [_login(ctx, srv, "pbx") for _ in range(sessions)]
    calls = [(n % sessions, f"pbx-{n:06d}") for n in range(1, sessions * rounds + 1)]
    replies = _arrive_burst(conns, calls)
    failed = [(cid, r[0]) for cid, r in replies.items() if r[0].get("ok") is not True]
    util.check(not failed, f"{len(failed)} of {len(calls)} arrivals failed, e.g. "
               f"{util.shorten(failed[:3])}")
    tickets = {r[0]["ticket"]["id"] for r in replies.values()}
    util.check_eq(len(tickets), len(calls), "one ticket per call")
    util.check(all(r[0]["call"]["state"] == "waiting" for r in replies.values()),
               "every call waits")
    util.check_eq((_count(srv, "tickets"), _count(srv, "calls")), (len(calls), len(calls)),
                  "one ticket and one calls row per call")
    util.check_eq(srv.dbinfo.scalar(
        "SELECT COUNT(*) FROM calls c JOIN ticket_events e ON e.ticket_id = c.ticket_id "
        "AND e.op = 'create'", srv.database), str(len(calls)), "one create event per call")
    util.check_eq(_log_errors(srv), [], "error lines in the server log")


def test_concurrent_repeats(ctx):
    """The same call ids sent from several sessions at once (a phone system
    retrying on another link): one call, one ticket and one create event
    each, and every session gets that ticket."""
    srv = _setup(ctx)
    sessions, ncalls = 4, 40
    conns = [_login(ctx, srv, "pbx") for _ in range(sessions)]
    calls = [(k, f"rep-{n:06d}") for n in range(1, ncalls + 1) for k in range(sessions)]
    replies = _arrive_burst(conns, calls)
    for call_id, rs in replies.items():
        bad = [r for r in rs if r.get("ok") is not True]
        util.check(not bad, f"{call_id}: {util.shorten(bad)}")
        util.check_eq(len({r["ticket"]["ref"] for r in rs}), 1,
                      f"{call_id}: every session gets the same ticket")
    util.check_eq((_count(srv, "tickets"), _count(srv, "calls")), (ncalls, ncalls),
                  "one ticket and one calls row per call id")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM ticket_events WHERE op = 'create'",
                                    srv.database), str(ncalls), "one create event per call")
    util.check_eq(_log_errors(srv), [], "error lines in the server log")
