"""Compensations and follow-ups: request, approve or reject within the
approver's role limit, issue; schedule and complete follow-ups; refusals
(over the limit, self-approval, decided twice, bad amounts, unknown ids)
that write nothing; the ticket's event chain verified after all of it."""

import threading
import time

from itest import util, wire


def _setup(ctx):
    """alice and bob (agents), sue (supervisor), ada (admin), svc (service)
    at SH; customer 7001; a complaint ticket of 7001 and one without a
    customer; alice logged in."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"})
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.add_agent("ada", "pw-ada", role="admin")
    srv.add_agent("svc", "pw-svc", role="service")
    srv.dbinfo.sql("INSERT INTO customers (id, name) VALUES (7001, '王芳'), (7002, 'Li Lei');\n",
                   srv.database)
    conns = {}
    for user in ("alice", "bob", "sue", "ada", "svc"):
        conns[user] = ctx.connect(srv)
        conns[user].login(user, f"pw-{user}")
    ticket = conns["alice"].ok("ticket.create", kind="complaint", channel="phone", severity=2,
                               subject="破损 damaged", customer_id=7001)["ticket"]
    bare = conns["alice"].ok("ticket.create", kind="call", channel="phone",
                             subject="no customer")["ticket"]
    return srv, conns, ticket, bare


def _count(srv, table):
    return int(srv.dbinfo.scalar(f"SELECT COUNT(*) FROM {table}", srv.database))


def _snapshot(srv):
    """Row counts and the mutable state of every table these ops write."""
    state = {t: _count(srv, t) for t in ("compensations", "followups", "ticket_events")}
    state["comp_rows"] = srv.dbinfo.scalar(
        "SELECT COALESCE(GROUP_CONCAT(CONCAT_WS(':', id, state, version, "
        "IFNULL(approver_id, '-'), IFNULL(external_ref, '-')) ORDER BY id), '') "
        "FROM compensations", srv.database)
    state["followup_rows"] = srv.dbinfo.scalar(
        "SELECT COALESCE(GROUP_CONCAT(CONCAT_WS(':', id, IFNULL(outcome, '-')) ORDER BY id), "
        "'') FROM followups", srv.database)
    state["heads"] = srv.dbinfo.scalar(
        "SELECT GROUP_CONCAT(CONCAT(id, ':', last_event_seq, ':', version) ORDER BY id) "
        "FROM tickets", srv.database)
    return state


def _verify(srv, ref, events):
    proc = srv.tool("--verify-ticket", ref)
    util.check_eq((proc.returncode, proc.stdout.strip() + proc.stderr.strip()),
                  (0, f"ok {events} events"), f"--verify-ticket {ref}")


def _events(conn, ticket):
    return conn.ok("ticket.show", ticket=ticket["id"])["events"]


def test_compensation_lifecycle(ctx):
    """alice requests; sue approves within the supervisor limit; svc issues.
    A second request is rejected by bob. Each step is one ticket event."""
    srv, c, t, _ = _setup(ctx)
    req = c["alice"].ok("compensation.request", ticket=t["ref"], kind="refund", amount=8800,
                        reason="外箱破损，退款 88 元", version=t["version"])
    comp = req["compensation"]
    util.check_eq((comp["ticket_id"], comp["customer_id"], comp["kind"], comp["amount"],
                   comp["currency"], comp["state"], comp["requested_by"], comp["approver"],
                   comp["decided_at"], comp["issued_at"], comp["version"]),
                  (t["id"], 7001, "refund", 8800, "CNY", "requested", "alice", None, None,
                   None, 1), "requested compensation")
    util.check_eq(comp["reason"], "外箱破损，退款 88 元", "reason round trip")
    util.check_eq(req["ticket"], {"id": t["id"], "ref": t["ref"], "version": t["version"]},
                  "a request leaves the ticket version alone")

    approved = c["sue"].ok("compensation.approve", compensation=comp["id"],
                           note="photo checked")["compensation"]
    util.check_eq((approved["state"], approved["approver"], approved["decision_note"],
                   approved["version"]), ("approved", "sue", "photo checked", 2), "approved")
    util.check(approved["decided_at"] >= comp["requested_at"], "decided_at after request")

    issued = c["svc"].ok("compensation.issue", compensation=comp["id"],
                         external_ref="RF-2024-0001")["compensation"]
    util.check_eq((issued["state"], issued["external_ref"], issued["version"]),
                  ("issued", "RF-2024-0001", 3), "issued")
    util.check(isinstance(issued["issued_at"], int), "issued_at set")

    second = c["alice"].ok("compensation.request", ticket=t["id"], kind="coupon", amount=1500,
                           reason="goodwill")["compensation"]
    rejected = c["bob"].ok("compensation.approve", compensation=second["id"],
                           decision="reject")["compensation"]
    util.check_eq((rejected["state"], rejected["approver"], rejected["decision_note"]),
                  ("rejected", "bob", None), "rejected by a peer within the agent limit")
    letter = c["bob"].ok("compensation.request", ticket=t["id"], kind="apology_letter",
                         reason="signed letter")["compensation"]
    util.check_eq(letter["amount"], 0, "an apology letter costs nothing")
    util.check_eq(c["alice"].ok("compensation.approve",
                                compensation=letter["id"])["compensation"]["state"],
                  "approved", "an agent approves a peer's apology letter (limit 0)")

    events = _events(c["alice"], t)
    util.check_eq([(e["op"], e["old_value"], e["new_value"], e["actor"]) for e in events],
                  [("create", None, "new", "alice"),
                   ("compensation.request", None, "requested", "alice"),
                   ("compensation.approve", "requested", "approved", "sue"),
                   ("compensation.issue", "approved", "issued", "svc"),
                   ("compensation.request", None, "requested", "alice"),
                   ("compensation.reject", "requested", "rejected", "bob"),
                   ("compensation.request", None, "requested", "bob"),
                   ("compensation.approve", "requested", "approved", "alice")],
                  "ticket events")
    util.check_eq(events[1]["detail"], {"compensation_id": comp["id"], "kind": "refund",
                                        "amount": 8800, "currency": "CNY"}, "request detail")
    util.check_eq(events[3]["detail"], {"compensation_id": comp["id"],
                                        "external_ref": "RF-2024-0001"}, "issue detail")
    _verify(srv, t["ref"], 8)


def test_compensation_refusals(ctx):
    """Over the approver's limit, self-approval, no limit row, decided twice,
    issuing what is not approved, bad amounts and unknown ids: each refused
    with its code and message, and nothing written."""
    srv, c, t, bare = _setup(ctx)
    big = c["alice"].ok("compensation.request", ticket=t["id"], kind="refund", amount=100001,
                        reason="big refund")["compensation"]
    coupon = c["alice"].ok("compensation.request", ticket=t["id"], kind="coupon",
                           amount=2001, reason="coupon")["compensation"]
    # within alice's own agent limit, so only the four-eyes rule refuses it
    small = c["alice"].ok("compensation.request", ticket=t["id"], kind="coupon",
                          amount=1000, reason="small coupon")["compensation"]
    base = _snapshot(srv)

    def refused(conn, want, part, op, **args):
        wire.check_error(c[conn].request(op, **args), want, part)
        util.check_eq(_snapshot(srv), base, f"state after a refused {op} {args}"[:200])

    refused("sue", "forbidden",
            "amount 100001 exceeds the supervisor approval limit of 100000 for refund in CNY",
            "compensation.approve", compensation=big["id"])
    refused("bob", "forbidden", "role agent has no approval limit for refund in CNY",
            "compensation.approve", compensation=big["id"])
    refused("bob", "forbidden", "role agent has no approval limit for refund in CNY",
            "compensation.approve", compensation=big["id"], decision="reject")
    refused("bob", "forbidden", "amount 2001 exceeds the agent approval limit of 2000",
            "compensation.approve", compensation=coupon["id"])
    refused("alice", "forbidden", f"you requested compensation {small['id']}; someone else "
            "must decide it", "compensation.approve", compensation=small["id"])
    refused("alice", "forbidden", "someone else must decide it", "compensation.approve",
            compensation=small["id"], decision="reject")
    refused("svc", "forbidden", "role service may not call compensation.approve",
            "compensation.approve", compensation=coupon["id"])
    refused("alice", "forbidden", "role agent may not call compensation.issue",
            "compensation.issue", compensation=coupon["id"])
    refused("sue", "conflict", "is requested; only an approved one can be issued",
            "compensation.issue", compensation=coupon["id"])
    refused("ada", "not_found", "no compensation with id 999999", "compensation.approve",
            compensation=999999)
    refused("ada", "not_found", "no compensation with id 999999", "compensation.issue",
            compensation=999999)
    refused("alice", "not_found", "no ticket with id 999999", "compensation.request",
            ticket=999999, kind="gift", amount=100, reason="x")
    refused("alice", "not_found", "no ticket with ref T000000-AAAAAA", "compensation.request",
            ticket="T000000-AAAAAA", kind="gift", amount=100, reason="x")
    refused("alice", "bad_request", "has no customer", "compensation.request",
            ticket=bare["id"], kind="gift", amount=100, reason="x")
    refused("alice", "conflict", "ticket changed since version 9", "compensation.request",
            ticket=t["id"], kind="gift", amount=100, reason="x", version=9)
    for amount, code, part in ((0, "bad_request", "\"amount\" must be positive"),
                               (-5, "bad_request", "\"amount\" must be positive"),
                               (1.5, "bad_request", "\"amount\" is required"),
                               ("100", "bad_request", "\"amount\" is required"),
                               (100000001, "too_large", "\"amount\" exceeds the largest"),
                               (2 ** 62, "too_large", "\"amount\" exceeds the largest")):
        refused("alice", code, part, "compensation.request", ticket=t["id"], kind="refund",
                amount=amount, reason="x")
    refused("alice", "bad_request", "\"amount\" is required", "compensation.request",
            ticket=t["id"], kind="refund", reason="x")
    refused("alice", "bad_request", "must be 0 for an apology_letter", "compensation.request",
            ticket=t["id"], kind="apology_letter", amount=10, reason="x")
    refused("alice", "bad_request", "\"kind\" must be one of", "compensation.request",
            ticket=t["id"], kind="cash", amount=10, reason="x")
    refused("alice", "bad_request", "\"currency\" must be an ISO 4217", "compensation.request",
            ticket=t["id"], kind="gift", amount=10, currency="cn", reason="x")
    refused("alice", "too_large", "\"reason\" exceeds 500 characters", "compensation.request",
            ticket=t["id"], kind="gift", amount=10, reason="因" * 501)
    refused("alice", "bad_request", "\"decision\" must be one of", "compensation.approve",
            compensation=coupon["id"], decision="maybe")
    refused("alice", "bad_request", "\"compensation\" is required", "compensation.approve")

    # a currency without limit rows is for the admin role only: none exist
    usd = c["alice"].ok("compensation.request", ticket=t["id"], kind="gift", amount=500,
                        currency="USD", reason="x" * 500)["compensation"]
    util.check_eq((usd["currency"], len(usd["reason"])), ("USD", 500), "500-character reason")
    base = _snapshot(srv)
    refused("ada", "forbidden", "role admin has no approval limit for gift in USD",
            "compensation.approve", compensation=usd["id"])

    # decided once only, by the first of two deciders
    util.check_eq(c["ada"].ok("compensation.approve", compensation=big["id"])
                  ["compensation"]["state"], "approved", "admin has no limit")
    base = _snapshot(srv)
    refused("sue", "conflict", "is approved; only a requested one can be decided",
            "compensation.approve", compensation=big["id"], decision="reject")
    refused("ada", "conflict", "is approved; only a requested one can be decided",
            "compensation.approve", compensation=big["id"])
    c["sue"].ok("compensation.issue", compensation=big["id"])
    base = _snapshot(srv)
    refused("ada", "conflict", "is issued; only an approved one can be issued",
            "compensation.issue", compensation=big["id"])
    _verify(srv, t["ref"], 7)


def test_racing_deciders(ctx):
    """bob approves and sue rejects the same request at once: exactly one
    decision lands, the other gets conflict, every round."""
    srv, c, t, _ = _setup(ctx)
    rounds = 5
    for n in range(rounds):
        comp = c["alice"].ok("compensation.request", ticket=t["id"], kind="gift", amount=100,
                             reason=f"round {n}")["compensation"]
        replies = [None, None]
        barrier = threading.Barrier(2)

        def send(i, user, decision):
            barrier.wait()
            replies[i] = c[user].request("compensation.approve", compensation=comp["id"],
                                         decision=decision)

        threads = [threading.Thread(target=send, args=(0, "bob", "approve")),
                   threading.Thread(target=send, args=(1, "sue", "reject"))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        oks = [r for r in replies if r.get("ok")]
        util.check_eq(len(oks), 1, f"round {n}: one decision wins: {replies}")
        loser = replies[1] if oks[0] is replies[0] else replies[0]
        wire.check_error(loser, "conflict", "only a requested one can be decided")
        state = srv.dbinfo.scalar(f"SELECT state FROM compensations WHERE id = {comp['id']}",
                                  srv.database)
        util.check_eq(state, oks[0]["compensation"]["state"], f"round {n}: stored state")
    events = srv.dbinfo.scalar(f"SELECT COUNT(*) FROM ticket_events WHERE ticket_id = {t['id']}",
                               srv.database)
    util.check_eq(int(events), 1 + 2 * rounds, "one event per request and per decision")
    _verify(srv, t["ref"], 1 + 2 * rounds)


def test_followups(ctx):
    """Schedule for a ticket (an event on it) and for a customer alone (no
    ticket, no event); complete once; refusals write nothing."""
    srv, c, t, bare = _setup(ctx)
    due = int(time.time() * 1000) + 3600 * 1000
    rep = c["alice"].ok("followup.schedule", ticket=t["id"], purpose="complaint_check",
                        due_at=due, assignee="bob")
    f = rep["followup"]
    util.check_eq((f["customer_id"], f["ticket_id"], f["purpose"], f["due_at"], f["assignee"],
                   f["created_by"], f["done_at"], f["outcome"]),
                  (7001, t["id"], "complaint_check", due, "bob", "alice", None, None),
                  "scheduled follow-up")
    util.check_eq(rep["ticket"]["ref"], t["ref"], "ticket in the reply")
    care = c["sue"].ok("followup.schedule", customer=7002, purpose="care", due_at=due)
    util.check_eq((care["followup"]["ticket_id"], care["followup"]["assignee"],
                   "ticket" in care), (None, "sue", False), "customer-only follow-up")

    base = _snapshot(srv)

    def refused(conn, want, part, op, **args):
        wire.check_error(c[conn].request(op, **args), want, part)
        util.check_eq(_snapshot(srv), base, f"state after a refused {op} {args}"[:200])

    now = int(time.time() * 1000)
    refused("alice", "not_found", "no ticket with id 999999", "followup.schedule",
            ticket=999999, purpose="callback", due_at=due)
    refused("alice", "not_found", "no customer with id 999999", "followup.schedule",
            customer=999999, purpose="callback", due_at=due)
    refused("alice", "not_found", "no active agent named nobody", "followup.schedule",
            ticket=t["id"], purpose="callback", due_at=due, assignee="nobody")
    refused("alice", "bad_request", "has no customer", "followup.schedule", ticket=bare["id"],
            purpose="callback", due_at=due)
    refused("alice", "bad_request", "customer 7002 is not the customer of ticket",
            "followup.schedule", ticket=t["id"], customer=7002, purpose="callback",
            due_at=due)
    refused("alice", "bad_request", "\"ticket\" or \"customer\" is required",
            "followup.schedule", purpose="callback", due_at=due)
    refused("alice", "bad_request", "\"purpose\" must be one of", "followup.schedule",
            ticket=t["id"], purpose="chat", due_at=due)
    refused("alice", "bad_request", "\"due_at\" must be an integer from", "followup.schedule",
            ticket=t["id"], purpose="callback", due_at=now - 3600 * 1000)
    refused("alice", "bad_request", "\"due_at\" must be an integer from", "followup.schedule",
            ticket=t["id"], purpose="callback", due_at=now + 400 * 86400 * 1000)
    refused("alice", "bad_request", "\"due_at\" is required", "followup.schedule",
            ticket=t["id"], purpose="callback")
    refused("bob", "not_found", "no follow-up with id 999999", "followup.done",
            followup=999999, outcome="reached")
    refused("bob", "bad_request", "\"outcome\" must be one of", "followup.done",
            followup=f["id"], outcome="maybe")
    refused("bob", "too_large", "\"note\" exceeds 1000 characters", "followup.done",
            followup=f["id"], outcome="reached", note="n" * 1001)

    done = c["bob"].ok("followup.done", followup=f["id"], outcome="reached",
                       note="客户满意\nsatisfied")["followup"]
    util.check_eq((done["outcome"], done["outcome_note"]), ("reached", "客户满意\nsatisfied"),
                  "done follow-up")
    util.check(isinstance(done["done_at"], int) and done["done_at"] >= f["created_at"],
               f"done_at {done['done_at']!r}")
    c["sue"].ok("followup.done", followup=care["followup"]["id"], outcome="no_answer")
    base = _snapshot(srv)
    refused("alice", "conflict", "is already done (reached)", "followup.done",
            followup=f["id"], outcome="declined")

    events = _events(c["alice"], t)
    util.check_eq([(e["op"], e["old_value"], e["new_value"], e["actor"]) for e in events],
                  [("create", None, "new", "alice"),
                   ("followup.schedule", None, "complaint_check", "alice"),
                   ("followup.done", "open", "reached", "bob")], "ticket events")
    util.check_eq(events[1]["detail"]["followup_id"], f["id"], "schedule detail")
    util.check_eq(events[1]["detail"]["due_at"], due, "schedule detail due_at")
    _verify(srv, t["ref"], 3)
    util.check_eq(_count(srv, "followups"), 2, "follow-ups written")

