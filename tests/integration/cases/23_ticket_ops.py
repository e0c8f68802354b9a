"""Ticket ops beyond the state machine's general form: ticket.update with its
event of changed fields; ticket.transfer, ticket.resolve and ticket.reopen,
which must give exactly what ticket.transition gives for the same action;
the reopen window from tickets.reopen_window; the site fence on every ticket
op; and ticket.create on a merged customer landing on the survivor. Every
refusal is checked for its code and message and for writing nothing."""

from itest import util, wire


def _setup(ctx, settings=None):
    """alice (agent) and sue (supervisor) at SH; bob (agent) and bea
    (supervisor) at BJ; boss (supervisor of no site); ada (admin). Queues
    general and second of SH, bj of BJ, anywhere of every site. Customers
    7001 and 7002 with orders 501 (of 7001) and 502 (of 7002). Returns the
    server and a connection per user, each logged in."""
    srv = ctx.server(settings=settings, agents={"alice": "pw-alice"})
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.add_agent("bob", "pw-bob", site="BJ")
    srv.add_agent("bea", "pw-bea", role="supervisor", site="BJ")
    srv.add_agent("boss", "pw-boss", role="supervisor")
    srv.add_agent("ada", "pw-ada", role="admin")
    srv.dbinfo.sql(
        "UPDATE agents SET site_id = NULL WHERE username = 'boss';\n"
        "INSERT INTO queues (code, name, site_id) SELECT 'general', 'General', id FROM sites "
        "WHERE code = 'SH';\n"
        "INSERT INTO queues (code, name, site_id) SELECT 'second', 'Second', id FROM sites "
        "WHERE code = 'SH';\n"
        "INSERT INTO queues (code, name, site_id) SELECT 'bj', 'Beijing', id FROM sites "
        "WHERE code = 'BJ';\n"
        "INSERT INTO queues (code, name, site_id) VALUES ('anywhere', 'Any site', NULL);\n"
        "INSERT INTO customers (id, name) VALUES (7001, '王芳'), (7002, 'Li Lei');\n"
        "INSERT INTO orders (id, external_id, customer_id, amount_minor, ordered_at) VALUES "
        "(501, 'SO-501', 7001, 8800, UTC_TIMESTAMP(3)), "
        "(502, 'SO-502', 7002, 1200, UTC_TIMESTAMP(3));\n",
        srv.database)
    conns = {}
    for user in ("alice", "sue", "bob", "bea", "boss", "ada"):
        conns[user] = ctx.connect(srv)
        conns[user].login(user, f"pw-{user}")
    return srv, conns


def _snapshot(srv):
    """Row counts and every ticket's version and chain head: equal before
    and after a refusal proves that nothing was written."""
    q = srv.dbinfo.scalar
    return {
        "counts": q("SELECT CONCAT_WS(':', (SELECT COUNT(*) FROM tickets), "
                    "(SELECT COUNT(*) FROM ticket_events), (SELECT COUNT(*) FROM ticket_notes), "
                    "(SELECT COUNT(*) FROM ticket_links))", srv.database),
        "tickets": q("SELECT COALESCE(GROUP_CONCAT(CONCAT_WS(':', id, version, last_event_seq, "
                     "state, subject, kind, IFNULL(severity, '-'), priority, "
                     "IFNULL(language, '-'), IFNULL(customer_id, '-'), IFNULL(order_id, '-'), "
                     "owning_site_id, IFNULL(queue_id, '-'), IFNULL(owner_agent_id, '-')) "
                     "ORDER BY id), '') FROM tickets", srv.database),
    }


def _refused(srv, conn, want, part, op, **args):
    """op must be refused with the error code want and a message holding
    part, and write nothing. Returns the message."""
    before = _snapshot(srv)
    msg = wire.check_error(conn.request(op, **args), want, part)
    util.check_eq(_snapshot(srv), before, f"database after a refused {op} {args}"[:200])
    return msg


def _verify(srv, ref):
    proc = srv.tool("--verify-ticket", ref)
    util.check_eq(proc.returncode, 0, f"--verify-ticket {ref}: {proc.stdout}{proc.stderr}")


def _create(conn, **args):
    fields = {"kind": "complaint", "channel": "phone", "severity": 2, "subject": "破损 damaged",
              "customer_id": 7001}
    fields.update(args)
    return conn.ok("ticket.create", **{k: v for k, v in fields.items() if v is not None})[
        "ticket"]


def test_update(ctx):
    """ticket.update changes the fields given, bumps the version once and
    writes one "update" event with {field: [old, new]} for what changed."""
    srv, c = _setup(ctx)
    alice = c["alice"]
    t = _create(alice)
    reply = alice.ok("ticket.update", ticket=t["ref"], version=1, subject="外箱破损 box damaged",
                     priority=8, severity=3, language="yue", order_id=501)
    u = reply["ticket"]
    util.check_eq(sorted(reply["changed"]),
                  ["language", "order_id", "priority", "severity", "subject"], "changed fields")
    util.check_eq((u["version"], u["subject"], u["priority"], u["severity"], u["language"],
                   u["order_id"], u["customer_id"], u["kind"], u["state"]),
                  (2, "外箱破损 box damaged", 8, 3, "yue", 501, 7001, "complaint", "new"),
                  "updated ticket")
    shown = alice.ok("ticket.show", ticket=t["id"])
    util.check_eq(shown["ticket"], u, "ticket.show after ticket.update")
    util.check_eq([(e["op"], e["actor"], e["old_value"], e["new_value"])
                   for e in shown["events"]],
                  [("create", "alice", None, "new"), ("update", "alice", None, None)],
                  "events after one update")
    util.check_eq(shown["events"][1]["detail"],
                  {"subject": ["破损 damaged", "外箱破损 box damaged"], "priority": [5, 8],
                   "severity": [2, 3], "language": [None, "yue"], "order_id": [None, 501]},
                  "update event detail")

    # a field given with its current value is not a change and not in the detail
    u = alice.ok("ticket.update", ticket=t["id"], version=2, priority=8, language=None,
                 order_id=None)["ticket"]
    util.check_eq((u["version"], u["language"], u["order_id"], u["priority"]),
                  (3, None, None, 8), "cleared language and order")
    util.check_eq(alice.ok("ticket.show", ticket=t["id"])["events"][-1]["detail"],
                  {"language": ["yue", None], "order_id": [501, None]}, "clearing detail")

    # kind away from complaint takes the grade with it
    u = alice.ok("ticket.update", ticket=t["id"], version=3, kind="inquiry")["ticket"]
    util.check_eq((u["kind"], u["severity"], u["version"]), ("inquiry", None, 4),
                  "severity cleared with the kind")
    util.check_eq(alice.ok("ticket.show", ticket=t["id"])["events"][-1]["detail"],
                  {"kind": ["complaint", "inquiry"], "severity": [3, None]}, "kind detail")
    u = alice.ok("ticket.update", ticket=t["id"], version=4, kind="complaint", severity=1,
                 customer_id=7002, order_id=502)["ticket"]
    util.check_eq((u["kind"], u["severity"], u["customer_id"], u["order_id"], u["version"]),
                  ("complaint", 1, 7002, 502, 5), "back to a graded complaint of 7002")
    _verify(srv, t["ref"])

    # refusals: each with its code and message, nothing written
    v = u["version"]
    _refused(srv, alice, "conflict", "ticket changed since version 4 (now 5)", "ticket.update",
             ticket=t["id"], version=4, subject="late")
    _refused(srv, alice, "bad_request", "version", "ticket.update", ticket=t["id"],
             subject="no version")
    _refused(srv, alice, "not_found", "no ticket with id 999999", "ticket.update",
             ticket=999999, version=1, subject="x")
    _refused(srv, alice, "bad_request", "nothing to change", "ticket.update", ticket=t["id"],
             version=v)
    _refused(srv, alice, "bad_request", "nothing to change", "ticket.update", ticket=t["id"],
             version=v, priority=8, severity=1, customer_id=7002)
    _refused(srv, alice, "bad_request", "severity grades complaints only; this ticket is an "
             "inquiry", "ticket.update", ticket=t["id"], version=v, kind="inquiry", severity=2)
    _refused(srv, alice, "bad_request", "not cleared", "ticket.update", ticket=t["id"],
             version=v, severity=None)
    _refused(srv, alice, "bad_request", "\"severity\" must be an integer from 1 to 4",
             "ticket.update", ticket=t["id"], version=v, severity=5)
    _refused(srv, alice, "bad_request", "\"priority\" must be an integer from 1 to 9",
             "ticket.update", ticket=t["id"], version=v, priority=0)
    _refused(srv, alice, "bad_request", "\"kind\" must be one of", "ticket.update",
             ticket=t["id"], version=v, kind="rant")
    _refused(srv, alice, "bad_request", "\"language\" must be a language tag", "ticket.update",
             ticket=t["id"], version=v, language="zh CN")
    _refused(srv, alice, "too_large", "\"subject\" exceeds 255 characters", "ticket.update",
             ticket=t["id"], version=v, subject="字" * 256)
    _refused(srv, alice, "not_found", "no customer with id 424242", "ticket.update",
             ticket=t["id"], version=v, customer_id=424242)
    _refused(srv, alice, "not_found", "no order with id 999", "ticket.update", ticket=t["id"],
             version=v, order_id=999)
    _refused(srv, alice, "bad_request",
             "order 501 belongs to customer 7001, not to the ticket's customer 7002",
             "ticket.update", ticket=t["id"], version=v, order_id=501)
    _refused(srv, alice, "bad_request",
             "order 502 belongs to customer 7002, not to the ticket's customer 7001",
             "ticket.update", ticket=t["id"], version=v, customer_id=7001)

    # closed tickets are final
    done = _create(alice, kind="call", severity=None, queue="general")
    done = c["sue"].ok("ticket.transition", ticket=done["id"], action="close", code="dup",
                       version=done["version"])["ticket"]
    _refused(srv, alice, "conflict", f"ticket {done['ref']} is closed and can no longer be "
             "updated; only open tickets can", "ticket.update", ticket=done["id"],
             version=done["version"], subject="after close")


def _norm(value, refs):
    """A reply or ticket.show without what must differ between two tickets
    (ids, instants) and with each ref replaced by its name in refs."""
    if isinstance(value, dict):
        return {k: _norm(v, refs) for k, v in value.items()
                if k not in ("id", "time") and not k.endswith(("_at", "_due", "_ms"))}
    if isinstance(value, list):
        return [_norm(v, refs) for v in value]
    if isinstance(value, str) and value in refs:
        return refs[value]
    return value


def _shown(conn, ticket):
    """What ticket.show says of a ticket's own record."""
    shown = conn.ok("ticket.show", ticket=ticket)
    return {k: shown[k] for k in ("ticket", "notes", "events", "links")}


def test_named_ops_match_transition(ctx):
    """The same life run twice, once with ticket.transition and once with
    ticket.transfer, ticket.resolve and ticket.reopen: replies, the tickets,
    their events and the follow-ups opened by reopen are the same."""
    srv, c = _setup(ctx)
    alice, sue = c["alice"], c["sue"]
    x = _create(alice, queue="general")
    y = _create(alice, queue="general")
    refs = {x["ref"]: "T", y["ref"]: "T"}

    steps = [
        (sue, "transfer_queue", {"queue": "second", "reason": "rebalance\nafternoon peak"},
         "ticket.transfer", {"queue": "second", "reason": "rebalance\nafternoon peak"}),
        (sue, "transfer_agent", {"agent": "alice"}, "ticket.transfer", {"agent": "alice"}),
        (alice, "accept", {}, None, {}),
        (alice, "resolve", {"code": "refunded", "summary": "退款 88 元\nrefund issued"},
         "ticket.resolve", {"code": "refunded", "summary": "退款 88 元\nrefund issued"}),
        (alice, "reopen", {"reason": "customer called back"}, "ticket.reopen",
         {"reason": "customer called back"}),
        (alice, "resolve", {"code": "answered", "summary": "explained"}, "ticket.resolve",
         {"code": "answered", "summary": "explained"}),
        (alice, "close", {}, None, {}),
        (alice, "reopen", {}, "ticket.reopen", {}),
    ]
    for conn, action, targs, op, nargs in steps:
        rx = conn.ok("ticket.transition", ticket=x["id"], action=action, version=x["version"],
                     **targs)
        if op is None:
            ry = conn.ok("ticket.transition", ticket=y["id"], action=action,
                         version=y["version"], **targs)
        else:
            ry = conn.ok(op, ticket=y["ref"], version=y["version"], **nargs)
        for key in ("id", "ok"):
            rx.pop(key)
            ry.pop(key)
        if "followup" in rx:
            refs[rx["followup"]["ref"]] = "F"
            refs[ry["followup"]["ref"]] = "F"
        util.check_eq(_norm(ry, refs), _norm(rx, refs), f"replies to {action}")
        x, y = rx["ticket"], ry["ticket"]
    util.check_eq((x["state"], x["version"], x["reopen_count"]), ("closed", 9, 1),
                  "the run ends closed")
    sx = _shown(sue, x["id"])
    sy = _shown(sue, y["id"])
    util.check_eq(_norm(sy, refs), _norm(sx, refs), "ticket.show after the two runs")
    util.check_eq([e["op"] for e in sy["events"]],
                  ["create", "transfer_queue", "transfer_agent", "accept", "resolve", "reopen",
                   "resolve", "close", "reopen"], "events of the named run")
    util.check_eq(sy["events"][1]["detail"],
                  {"queue": "second", "reason": "rebalance\nafternoon peak"}, "transfer detail")
    util.check_eq(sy["events"][4]["detail"],
                  {"code": "refunded", "summary": "退款 88 元\nrefund issued"}, "resolve detail")
    util.check_eq(sy["events"][5]["detail"], {"reason": "customer called back"},
                  "reopen detail")
    util.check_eq(len(sy["links"]), 1, "the follow-up link")
    fx = _shown(sue, sx["links"][0]["id"])
    fy = _shown(sue, sy["links"][0]["id"])
    util.check_eq(_norm(fy, refs), _norm(fx, refs), "the follow-ups")
    for ref in refs:
        _verify(srv, ref)

    # the site transfer, both ways, seen by the admin (the agent loses it)
    p = alice.ok("ticket.transition", ticket=_create(alice)["id"], action="accept",
                 queue="general", version=1)["ticket"]
    q = alice.ok("ticket.transition", ticket=_create(alice)["id"], action="accept",
                 queue="general", version=1)["ticket"]
    refs.update({p["ref"]: "S", q["ref"]: "S"})
    rp = alice.ok("ticket.transition", ticket=p["id"], action="transfer_site", queue="bj",
                  reason="Cantonese speaker", version=p["version"])
    rq = alice.ok("ticket.transfer", ticket=q["id"], site="BJ", queue="bj",
                  reason="Cantonese speaker", version=q["version"])
    for r in (rp, rq):
        r.pop("id")
    util.check_eq(_norm(rq, refs), _norm(rp, refs), "replies to transfer_site")
    util.check_eq((rq["ticket"]["state"], rq["ticket"]["owning_site"], rq["ticket"]["queue"],
                   rq["ticket"]["owner"]), ("queued", "BJ", "bj", None), "after transfer_site")
    sp = _shown(c["ada"], p["id"])
    sq = _shown(c["ada"], q["id"])
    util.check_eq(_norm(sq, refs), _norm(sp, refs), "ticket.show after transfer_site")
    util.check_eq(sq["events"][-1]["detail"], {"queue": "bj", "reason": "Cantonese speaker"},
                  "transfer_site detail")

    # what ccagent users type
    r = _create(alice)
    r = alice.ok("ticket.transition", ticket=r["id"], action="accept", queue="general",
                 version=1)["ticket"]
    agent = ctx.ccagent(srv)
    run = agent.run("-c", f"ticket.resolve ticket={r['ref']} version={r['version']} "
                    "code=fixed summary=\"换货已寄出 replacement sent\"", user="alice",
                    password="pw-alice")
    util.check_eq(run.returncode, 0, f"ccagent ticket.resolve ({run.stdout}{run.stderr})")
    shown = alice.ok("ticket.show", ticket=r["id"])["ticket"]
    util.check_eq((shown["state"], shown["resolution_code"], shown["resolution_summary"],
                   shown["version"]),
                  ("resolved", "fixed", "换货已寄出 replacement sent", r["version"] + 1),
                  "resolved from ccagent")


def test_named_op_refusals(ctx):
    """Refusals of ticket.transfer, ticket.resolve and ticket.reopen, and
    reopen after the window: each with its code and message, nothing
    written."""
    srv, c = _setup(ctx)
    alice, sue = c["alice"], c["sue"]
    t = _create(alice)
    t = alice.ok("ticket.transition", ticket=t["id"], action="accept", queue="general",
                 version=1)["ticket"]
    v = t["version"]

    def refused(want, part, op, conn=alice, **args):
        args.setdefault("ticket", t["id"])
        return _refused(srv, conn, want, part, op, **args)

    refused("not_found", "no queue with code nope", "ticket.transfer", queue="nope", version=v)
    refused("not_found", "no active agent named nobody", "ticket.transfer", agent="nobody",
            version=v)
    refused("not_found", "no site with code XX", "ticket.transfer", site="XX", queue="bj",
            version=v)
    refused("bad_request", "queue general belongs to site SH, not to site BJ",
            "ticket.transfer", site="BJ", queue="general", version=v)
    refused("bad_request", "queue anywhere serves every site", "ticket.transfer", site="BJ",
            queue="anywhere", version=v)
    refused("bad_request", "\"queue\" is required with \"site\"", "ticket.transfer", site="BJ",
            version=v)
    refused("bad_request", "exclude each other", "ticket.transfer", site="BJ", queue="bj",
            agent="bob", version=v)
    refused("bad_request", "the transfer's target", "ticket.transfer", version=v)
    refused("bad_request", "\"version\" is required", "ticket.transfer", queue="second")
    refused("conflict", f"ticket changed since version {v - 1} (now {v})", "ticket.transfer",
            queue="second", version=v - 1)
    refused("not_found", "no ticket with ref T000000-AAAAAA", "ticket.transfer",
            ticket="T000000-AAAAAA", queue="second", version=1)
    refused("too_large", "\"reason\" exceeds 500 characters", "ticket.transfer",
            queue="second", reason="理" * 501, version=v)
    refused("bad_request", "\"code\"", "ticket.resolve", summary="s", version=v)
    refused("bad_request", "\"summary\"", "ticket.resolve", code="fixed", version=v)
    refused("too_large", "\"summary\" exceeds 2000 characters", "ticket.resolve",
            code="fixed", summary="s" * 2001, version=v)
    refused("too_large", "\"code\" exceeds 32 bytes", "ticket.resolve", code="c" * 33,
            summary="s", version=v)
    refused("conflict", "cannot reopen a ticket that is in_progress", "ticket.reopen",
            version=v)
    refused("conflict", "cannot transfer_site a ticket that is resolved", "ticket.transfer",
            conn=sue, ticket=_resolved(alice)["id"], site="BJ", queue="bj", version=3)

    # the longest values that fit are stored whole
    long_summary = "字" * 2000
    t = alice.ok("ticket.resolve", ticket=t["id"], code="c" * 32, summary=long_summary,
                 version=v)["ticket"]
    util.check_eq((t["resolution_code"], t["resolution_summary"]), ("c" * 32, long_summary),
                  "longest code and summary")

    # after the (default, 7 days) window: refused, resolved or closed alike
    srv.dbinfo.sql(f"UPDATE tickets SET resolved_at = UTC_TIMESTAMP(3) - INTERVAL 8 DAY "
                   f"WHERE id = {t['id']}", srv.database)
    refused("conflict", "cannot reopen a ticket resolved more than 7 days ago", "ticket.reopen",
            version=t["version"])
    t = alice.ok("ticket.transition", ticket=t["id"], action="close",
                 version=t["version"])["ticket"]
    srv.dbinfo.sql(f"UPDATE tickets SET closed_at = UTC_TIMESTAMP(3) - INTERVAL 8 DAY "
                   f"WHERE id = {t['id']}", srv.database)
    refused("conflict", "cannot reopen a ticket closed more than 7 days ago", "ticket.reopen",
            version=t["version"])


def test_transfer_queue_stays_in_site(ctx):
    """transfer_queue (ticket.transition and ticket.transfer with "queue")
    and every other action that names a queue keep the ticket in its owning
    site: a queue of another site is refused, nothing written, pointing to
    transfer_site; a queue of every site or of the owning site is taken, and
    after transfer_site the new site's queues are the ones allowed."""
    srv, c = _setup(ctx)
    alice, sue, bea, boss = c["alice"], c["sue"], c["bea"], c["boss"]
    want = ("queue bj belongs to site BJ, not to the ticket's owning site; to move the ticket "
            "to site BJ use transfer_site (ticket.transfer with \"site\")")
    q = _create(sue, queue="general")
    p = _create(alice)
    p = alice.ok("ticket.transition", ticket=p["id"], action="accept", queue="general",
                 version=1)["ticket"]
    n = _create(alice)
    _refused(srv, sue, "bad_request", want, "ticket.transition", ticket=q["id"],
             action="transfer_queue", queue="bj", version=q["version"])
    _refused(srv, boss, "bad_request", want, "ticket.transfer", ticket=q["ref"], queue="bj",
             version=q["version"])
    _refused(srv, alice, "bad_request", want, "ticket.transfer", ticket=p["id"], queue="bj",
             version=p["version"])
    _refused(srv, alice, "bad_request", want, "ticket.transition", ticket=n["id"],
             action="enqueue", queue="bj", version=n["version"])
    _refused(srv, alice, "bad_request", want, "ticket.transition", ticket=n["id"],
             action="accept", queue="bj", version=n["version"])
    util.check_eq(bea.request("ticket.show", ticket=q["id"]).get("error", {}).get("code"),
                  "not_found", "the other site's supervisor does not reach it")

    # a queue of every site, or of the owning site: the owning site stays
    q = sue.ok("ticket.transfer", ticket=q["id"], queue="anywhere",
               version=q["version"])["ticket"]
    util.check_eq((q["queue"], q["owning_site"]), ("anywhere", "SH"), "into a queue of every site")
    q = sue.ok("ticket.transition", ticket=q["id"], action="transfer_queue", queue="second",
               version=q["version"])["ticket"]
    util.check_eq((q["queue"], q["owning_site"]), ("second", "SH"), "into a queue of SH")
    p = alice.ok("ticket.transfer", ticket=p["id"], queue="anywhere",
                 version=p["version"])["ticket"]
    util.check_eq((p["state"], p["queue"], p["owning_site"], p["owner"]),
                  ("queued", "anywhere", "SH", None), "the owner hands it to a shared queue")

    # transfer_site hands it over; then BJ's queues are the ones allowed
    q = sue.ok("ticket.transfer", ticket=q["id"], site="BJ", queue="bj",
               version=q["version"])["ticket"]
    util.check_eq((q["queue"], q["owning_site"]), ("bj", "BJ"), "after transfer_site")
    _refused(srv, bea, "bad_request", "queue general belongs to site SH, not to the ticket's "
             "owning site", "ticket.transfer", ticket=q["id"], queue="general",
             version=q["version"])
    q = bea.ok("ticket.transfer", ticket=q["id"], queue="anywhere",
               version=q["version"])["ticket"]
    util.check_eq((q["queue"], q["owning_site"]), ("anywhere", "BJ"), "BJ's, in a shared queue")
    for t in (q, p, n):
        _verify(srv, t["ref"])


def _resolved(conn):
    """A new ticket of conn's agent, accepted and resolved (version 3)."""
    t = _create(conn)
    t = conn.ok("ticket.transition", ticket=t["id"], action="accept", queue="general",
                version=1)["ticket"]
    return conn.ok("ticket.resolve", ticket=t["id"], code="fixed", summary="done",
                   version=t["version"])["ticket"]


def test_reopen_window_zero(ctx):
    """tickets.reopen_window = 0: reopen is refused in place (resolved) and
    no follow-up is opened (closed); a window of 1 day allows both."""
    srv, c = _setup(ctx, settings={"tickets.reopen_window": "0"})
    alice = c["alice"]
    t = _resolved(alice)
    for op, args in (("ticket.reopen", {}), ("ticket.transition", {"action": "reopen"})):
        _refused(srv, alice, "conflict", "reopening is turned off on this server "
                 "(tickets.reopen_window is 0)", op, ticket=t["id"], version=3, **args)
    t = alice.ok("ticket.transition", ticket=t["id"], action="close", version=3)["ticket"]
    _refused(srv, alice, "conflict", "reopening is turned off", "ticket.reopen",
             ticket=t["id"], version=t["version"])
    srv.stop()

    srv.settings["tickets.reopen_window"] = "1"
    srv.write_config()
    srv.start()
    alice = ctx.connect(srv)
    alice.login("alice", "pw-alice")
    srv.dbinfo.sql(f"UPDATE tickets SET closed_at = UTC_TIMESTAMP(3) - INTERVAL 23 HOUR "
                   f"WHERE id = {t['id']}", srv.database)
    reply = alice.ok("ticket.reopen", ticket=t["id"], version=t["version"])
    util.check_eq((reply["ticket"]["state"], reply["followup"]["state"]), ("closed", "new"),
                  "a 1-day window: closed 23 hours ago opens a follow-up")
    r = _resolved(alice)
    srv.dbinfo.sql(f"UPDATE tickets SET resolved_at = UTC_TIMESTAMP(3) - INTERVAL 25 HOUR "
                   f"WHERE id = {r['id']}", srv.database)
    _refused(srv, alice, "conflict", "cannot reopen a ticket resolved more than 1 day ago",
             "ticket.reopen", ticket=r["id"], version=r["version"])


def test_site_fence(ctx):
    """An agent of BJ can neither see nor change a ticket of SH (answered as
    if it did not exist); a supervisor of SH, a supervisor of no site and an
    admin can; an agent reaches a ticket of another site they own; after a
    site transfer the agent of BJ can, and the agent of SH no longer."""
    srv, c = _setup(ctx)
    alice, bob = c["alice"], c["bob"]
    t = _create(alice)
    t = alice.ok("ticket.transition", ticket=t["id"], action="accept", queue="general",
                 version=1)["ticket"]
    v = t["version"]
    unknown = wire.check_error(bob.request("ticket.show", ticket=999999), "not_found")
    util.check_eq(unknown, "no ticket with id 999999", "unknown ticket message")
    fenced = [
        ("ticket.show", {}),
        ("ticket.note", {"body": "peek"}),
        ("ticket.transition", {"action": "escalate", "version": v}),
        ("ticket.update", {"subject": "mine now", "version": v}),
        ("ticket.transfer", {"queue": "bj", "site": "BJ", "version": v}),
        ("ticket.resolve", {"code": "x", "summary": "y", "version": v}),
        ("ticket.reopen", {"version": v}),
        ("compensation.request", {"kind": "refund", "amount": 100, "reason": "r"}),
    ]
    for op, args in fenced:
        for key, name in ((t["id"], f"id {t['id']}"), (t["ref"], f"ref {t['ref']}")):
            msg = _refused(srv, bob, "not_found", f"no ticket with {name}", op, ticket=key,
                           **args)
            util.check_eq(msg, f"no ticket with {name}", f"{op} on a fenced ticket")
    util.check_eq(bob.ok("ticket.list")["tickets"], [], "ticket.list of bob")
    util.check_eq(c["bea"].ok("ticket.list")["tickets"], [], "ticket.list of bea (BJ)")
    for user in ("alice", "sue", "boss", "ada"):
        util.check_eq([x["id"] for x in c[user].ok("ticket.list")["tickets"]], [t["id"]],
                      f"ticket.list of {user}")
        util.check_eq(c[user].ok("ticket.show", ticket=t["ref"])["ticket"]["version"], v,
                      f"ticket.show by {user}")
    t = c["sue"].ok("ticket.update", ticket=t["id"], version=v, priority=9)["ticket"]
    t = c["boss"].ok("ticket.transition", ticket=t["id"], action="escalate",
                     version=t["version"])["ticket"]
    c["ada"].ok("ticket.note", ticket=t["id"], body="admin note")

    # a ticket of BJ that alice owns: hers to see and work
    b = _create(c["ada"], site="BJ", queue="bj")
    util.check_eq(b["owning_site"], "BJ", "created for BJ")
    _refused(srv, alice, "not_found", f"no ticket with id {b['id']}", "ticket.show",
             ticket=b["id"])
    b = c["bea"].ok("ticket.transfer", ticket=b["id"], agent="alice",
                    version=b["version"])["ticket"]
    util.check_eq((b["state"], b["owner"], b["owning_site"]), ("offered", "alice", "BJ"),
                  "offered to alice across sites")
    b = alice.ok("ticket.transition", ticket=b["id"], action="accept",
                 version=b["version"])["ticket"]
    util.check_eq(alice.ok("ticket.show", ticket=b["id"])["ticket"]["owner"], "alice",
                  "alice sees the BJ ticket she owns")
    util.check_eq(sorted(x["id"] for x in alice.ok("ticket.list")["tickets"]),
                  sorted([t["id"], b["id"]]), "ticket.list of alice: her site and her own")
    util.check_eq([x["id"] for x in bob.ok("ticket.list")["tickets"]], [b["id"]],
                  "ticket.list of bob: BJ's")

    # a site transfer hands the ticket over to BJ
    t = alice.ok("ticket.transfer", ticket=t["id"], site="BJ", queue="bj",
                 version=t["version"])["ticket"]
    util.check_eq((t["state"], t["owning_site"], t["owner"]), ("queued", "BJ", None),
                  "transferred to BJ")
    _refused(srv, alice, "not_found", f"no ticket with id {t['id']}", "ticket.show",
             ticket=t["id"])
    _refused(srv, c["sue"], "not_found", f"no ticket with id {t['id']}", "ticket.update",
             ticket=t["id"], version=t["version"], priority=1)
    shown = bob.ok("ticket.show", ticket=t["ref"])
    util.check_eq(shown["ticket"]["version"], t["version"], "bob sees it after the transfer")
    bob.ok("ticket.note", ticket=t["id"], body="picked up in Beijing")
    t = c["bea"].ok("ticket.transfer", ticket=t["id"], agent="bob",
                    version=t["version"])["ticket"]
    t = bob.ok("ticket.transition", ticket=t["id"], action="accept",
               version=t["version"])["ticket"]
    t = bob.ok("ticket.update", ticket=t["id"], version=t["version"], language="yue")["ticket"]
    util.check_eq((t["owner"], t["language"], t["owning_site"]), ("bob", "yue", "BJ"),
                  "bob works it")
    util.check_in(t["id"], [x["id"] for x in bob.ok("ticket.list")["tickets"]],
                  "in bob's list")
    _verify(srv, t["ref"])


def test_create_merged_customer(ctx):
    """ticket.create on a customer merged into another (through a chain)
    attaches the ticket to the survivor; a chain longer than 8 is refused;
    ticket.update follows merges too."""
    srv, c = _setup(ctx)
    alice = c["alice"]
    srv.dbinfo.sql(
        "INSERT INTO customers (id, name) VALUES (7100, 'survivor'), (7101, 'old'), "
        "(7102, 'older');\n"
        "UPDATE customers SET merged_into = 7100, merged_at = UTC_TIMESTAMP(3) WHERE id = 7101;\n"
        "UPDATE customers SET merged_into = 7101, merged_at = UTC_TIMESTAMP(3) WHERE id = 7102;\n",
        srv.database)
    t = _create(alice, customer_id=7102)
    util.check_eq(t["customer_id"], 7100, "the ticket is the survivor's")
    shown = alice.ok("ticket.show", ticket=t["id"])
    util.check_eq(shown["ticket"]["customer_id"], 7100, "ticket.show customer")
    util.check_eq(shown["events"][0]["detail"]["customer_merged"], [7102, 7100],
                  "the create event records the merge")
    u = _create(alice, customer_id=7001)
    u = alice.ok("ticket.update", ticket=u["id"], version=1, customer_id=7101)["ticket"]
    util.check_eq(u["customer_id"], 7100, "ticket.update follows the merge")
    util.check_eq(alice.ok("ticket.show", ticket=u["id"])["events"][-1]["detail"],
                  {"customer_id": [7001, 7100]}, "update detail names the survivor")
    _refused(srv, alice, "bad_request", "nothing to change", "ticket.update", ticket=u["id"],
             version=2, customer_id=7102)

    # nine merges in a row: more than the chain may hold
    rows = ", ".join(f"({7200 + i}, 'c{i}')" for i in range(10))
    links = "".join(f"UPDATE customers SET merged_into = {7201 + i}, "
                    f"merged_at = UTC_TIMESTAMP(3) WHERE id = {7200 + i};\n" for i in range(9))
    srv.dbinfo.sql(f"INSERT INTO customers (id, name) VALUES {rows};\n{links}", srv.database)
    util.check_eq(_create(alice, customer_id=7201)["customer_id"], 7209, "8 hops are followed")
    _refused(srv, alice, "conflict", "customer 7200 is merged through more than 8 customers",
             "ticket.create", kind="call", channel="phone", subject="x", customer_id=7200)
    _refused(srv, alice, "not_found", "no customer with id 424242", "ticket.create",
             kind="call", channel="phone", subject="x", customer_id=424242)
