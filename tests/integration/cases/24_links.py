"""Ticket links and merges, customer merges: link and unlink with an event
on both tickets and the link shown from both sides; merge and unmerge with
the duplicate's state, owner and queue restored and both event chains
verified; every refusal with its code and nothing written; customer merges
that the 360 view and the search follow, undone by a supervisor only; and
ccagent showing both."""

import importlib
import os
import sys
import threading
import unicodedata

from itest import util, wire

sys.path.insert(0, os.path.dirname(__file__))
routing = importlib.import_module("26_routing")

WANG, WANG_DUP, LI = 7001, 7002, 7003

# (external id, customer, amount in fen, status, days ago)
ORDERS = [
    ("SO-1", WANG, 120000, "delivered", 10),
    ("SO-2", WANG, 80000, "delivered", 40),
    ("SO-3", WANG_DUP, 300000, "delivered", 100),
]


def _setup(ctx):
    """alice and bob (agents), sue (supervisor) at SH, a queue 'general',
    three customers with contacts and orders; alice and sue logged in."""
    srv = ctx.server(agents={"alice": "pw-alice", "bob": "pw-bob"})
    srv.add_agent("sue", "pw-sue", role="supervisor")
    orders = ",\n".join(
        f"('{ext}', {cust}, {amount}, '{status}', UTC_TIMESTAMP(3) - INTERVAL {days} DAY)"
        for ext, cust, amount, status, days in ORDERS)
    srv.dbinfo.sql(f"""
INSERT INTO queues (code, name, site_id) SELECT 'general', 'General', id FROM sites
  WHERE code = 'SH';
INSERT INTO customers (id, name) VALUES ({WANG}, '王芳'), ({WANG_DUP}, '王小芳'), ({LI}, '李雷');
INSERT INTO customer_contacts (customer_id, kind, value, is_primary) VALUES
  ({WANG}, 'phone', '+8613800138000', 1),
  ({WANG_DUP}, 'phone', '+8613700000000', 1),
  ({LI}, 'phone', '+8615000000000', 1);
INSERT INTO orders (external_id, customer_id, amount_minor, status, ordered_at) VALUES {orders};
""", srv.database)
    conn = ctx.connect(srv)
    conn.login("alice", "pw-alice")
    sue = ctx.connect(srv)
    sue.login("sue", "pw-sue")
    return srv, conn, sue


def _count(srv, table, where="1 = 1"):
    return int(srv.dbinfo.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}", srv.database))


def _state(srv):
    """Everything a link or merge op writes: row counts and each ticket's
    version, state and chain head; each customer's merge columns."""
    counts = {t: _count(srv, t) for t in ("tickets", "ticket_events", "ticket_links",
                                          "customer_events")}
    tickets = srv.dbinfo.sql("SELECT id, version, state, last_event_seq, owner_agent_id "
                             "FROM tickets ORDER BY id", srv.database)
    customers = srv.dbinfo.sql("SELECT id, merged_into, merged_at, merged_by FROM customers "
                               "ORDER BY id", srv.database)
    return counts, tickets, customers


def _verify(srv, ref):
    proc = srv.tool("--verify-ticket", ref)
    return proc.returncode, proc.stdout.strip() + proc.stderr.strip()


def _new(conn, subject, customer=WANG, **args):
    return conn.ok("ticket.create", kind="complaint", channel="phone", subject=subject,
                   customer_id=customer, **args)["ticket"]


def _show(conn, ticket):
    return conn.ok("ticket.show", ticket=ticket["id"])


def _links(conn, ticket):
    return [(x["relation"], x["kind"], x["direction"], x["ref"])
            for x in _show(conn, ticket)["links"]]


def test_link_unlink(ctx):
    """A related link shows on both tickets with an event on each chain;
    linking twice, to itself or to an unknown ticket is refused; unlink
    removes it with events on both."""
    srv, conn, _ = _setup(ctx)
    a = _new(conn, "破损包裹")
    b = _new(conn, "same parcel, second call")
    reply = conn.ok("ticket.link", ticket=a["id"], other=b["ref"])
    util.check_eq((reply["ticket"]["ref"], reply["other"]["ref"]), (a["ref"], b["ref"]),
                  "link reply tickets")
    util.check_eq(reply["ticket"], _show(conn, a)["ticket"], "link reply: the whole ticket")
    util.check_eq(sorted(reply["other"]), ["id", "ref", "version"], "link reply: other, brief")
    util.check_eq(reply["links"], [{"kind": "related", "direction": "to", "relation": "related",
                                    "id": b["id"], "ref": b["ref"], "state": "new",
                                    "subject": "same parcel, second call"}], "link reply links")
    util.check_eq(_links(conn, b), [("related", "related", "from", a["ref"])],
                  "the link seen from the other ticket")
    for t, other in ((a, b), (b, a)):
        shown = _show(conn, t)
        last = shown["events"][-1]
        util.check_eq((last["op"], last["new_value"], last["detail"]),
                      ("link", "related", {"kind": "related", "ticket": other["ref"]}),
                      f"link event on {t['ref']}")
        util.check_eq(shown["ticket"]["version"], 1, "a link leaves the version alone")

    unrelated = _new(conn, "unrelated")
    before = _state(srv)

    def refused(code, part, op, **args):
        wire.check_error(conn.request(op, **args), code, part)
        util.check_eq(_state(srv), before, f"rows after a refused {op} {args}")

    refused("conflict", "already linked", "ticket.link", ticket=a["id"], other=b["id"])
    refused("conflict", "already linked", "ticket.link", ticket=b["ref"], other=a["id"])
    refused("bad_request", "cannot be linked to itself", "ticket.link", ticket=a["id"],
            other=a["id"])
    refused("bad_request", "cannot be linked to itself", "ticket.link", ticket=a["id"],
            other=a["ref"])
    refused("not_found", "no ticket with id 999999", "ticket.link", ticket=a["id"],
            other=999999)
    refused("not_found", "no ticket with ref T000000-AAAAAA", "ticket.link",
            ticket="T000000-AAAAAA", other=a["id"])
    refused("bad_request", "kind", "ticket.link", ticket=a["id"], other=b["id"],
            kind="merged_into")
    refused("bad_request", "other", "ticket.link", ticket=a["id"])
    refused("not_found", "not linked", "ticket.unlink", ticket=a["id"], other=unrelated["id"])

    reply = conn.ok("ticket.unlink", ticket=b["id"], other=a["id"])
    util.check_eq(reply["links"], [], "links after unlink")
    util.check_eq((_links(conn, a), _links(conn, b)), ([], []), "no links left")
    for t, other in ((a, b), (b, a)):
        last = _show(conn, t)["events"][-1]
        util.check_eq((last["op"], last["old_value"], last["detail"]),
                      ("unlink", "related", {"kind": "related", "ticket": other["ref"]}),
                      f"unlink event on {t['ref']}")
        util.check_eq(_verify(srv, t["ref"]), (0, "ok 3 events"), f"chain of {t['ref']}")
    wire.check_error(conn.request("ticket.unlink", ticket=a["id"], other=b["id"]),
                     "not_found", "not linked")


def test_merge_unmerge(ctx):
    """A duplicate merged into a survivor is closed and linked; unmerge
    restores its state, owner and queue; events on both chains, which
    verify; an owner who has gone leaves the ticket queued."""
    srv, conn, sue = _setup(ctx)
    dup = _new(conn, "duplicate complaint")
    dup = conn.ok("ticket.transition", ticket=dup["id"], action="accept", queue="general",
                  version=dup["version"])["ticket"]
    surv = _new(conn, "original complaint", queue="general")
    util.check_eq((dup["state"], dup["owner"], surv["state"]), ("in_progress", "alice", "queued"),
                  "before the merge")

    reply = conn.ok("ticket.merge", ticket=dup["ref"], into=surv["id"], version=dup["version"])
    util.check_eq((reply["ticket"]["state"], reply["ticket"]["version"], reply["into"]["ref"]),
                  ("closed", dup["version"] + 1, surv["ref"]), "merge reply")
    shown = _show(conn, dup)
    util.check_eq(_links(conn, dup), [("merged_into", "merged_into", "to", surv["ref"])],
                  "duplicate's link")
    util.check_eq(_links(conn, surv), [("merged_from", "merged_into", "from", dup["ref"])],
                  "survivor's link")
    util.check_eq(shown["links"][0]["subject"], "original complaint", "link subject")
    last = shown["events"][-1]
    util.check_eq((last["op"], last["old_value"], last["new_value"], last["detail"]),
                  ("merge", "in_progress", "closed",
                   {"into": surv["ref"], "state": "in_progress", "owner": "alice",
                    "owner_id": last["detail"]["owner_id"], "queue": "general",
                    "queue_id": last["detail"]["queue_id"]}), "duplicate's merge event")
    util.check(isinstance(shown["ticket"]["closed_at"], int), "closed_at set by the merge")
    last = _show(conn, surv)["events"][-1]
    util.check_eq((last["op"], last["detail"]), ("merge", {"merged": dup["ref"]}),
                  "survivor's merge event")
    dup = shown["ticket"]

    # refusals, each writing nothing
    other = _new(conn, "third")
    closed = _new(conn, "closed one")
    closed = sue.ok("ticket.transition", ticket=closed["id"], action="close", code="dup",
                    version=1)["ticket"]
    li = _new(conn, "someone else's", customer=LI)
    before = _state(srv)

    def refused(code, part, op, who=conn, **args):
        wire.check_error(who.request(op, **args), code, part)
        util.check_eq(_state(srv), before, f"rows after a refused {op} {args}")

    refused("conflict", f"ticket {dup['ref']} is already merged into {surv['ref']}",
            "ticket.merge", ticket=dup["id"], into=other["id"], version=dup["version"])
    refused("conflict", f"ticket {dup['ref']} is itself merged into {surv['ref']}",
            "ticket.merge", ticket=other["id"], into=dup["id"], version=1)
    refused("conflict", "has tickets merged into it", "ticket.merge", ticket=surv["id"],
            into=other["id"], version=surv["version"])
    refused("conflict", f"ticket {closed['ref']} is closed", "ticket.merge",
            ticket=other["id"], into=closed["id"], version=1)
    refused("conflict", "different customers", "ticket.merge", ticket=li["id"],
            into=other["id"], version=1)
    refused("forbidden", "only supervisor, admin", "ticket.merge", ticket=li["id"],
            into=other["id"], version=1, force=True)
    refused("conflict", "ticket changed since version 1 (now 2)", "ticket.merge",
            ticket=closed["id"], into=other["id"], version=1)
    refused("bad_request", "merged into itself", "ticket.merge", ticket=other["id"],
            into=other["id"], version=1)
    refused("bad_request", "merged into itself", "ticket.merge", ticket=other["id"],
            into=other["ref"], version=1)
    refused("bad_request", "version", "ticket.merge", ticket=other["id"], into=surv["id"])
    refused("bad_request", "force", "ticket.merge", ticket=other["id"], into=surv["id"],
            version=1, force="yes")
    refused("not_found", "no ticket with id 999999", "ticket.merge", ticket=999999,
            into=surv["id"], version=1)
    refused("conflict", f"ticket {other['ref']} is not merged", "ticket.unmerge",
            ticket=other["id"])
    refused("conflict", "ticket changed since version 1", "ticket.unmerge", ticket=dup["id"],
            version=1)
    refused("not_found", "no ticket with ref T000000-AAAAAA", "ticket.unmerge",
            ticket="T000000-AAAAAA")

    # a supervisor may merge tickets of different customers with force
    forced = sue.ok("ticket.merge", ticket=li["id"], into=other["id"], version=1, force=True)
    util.check_eq(forced["ticket"]["state"], "closed", "forced merge")
    sue.ok("ticket.unmerge", ticket=li["id"])

    reply = conn.ok("ticket.unmerge", ticket=dup["id"], version=dup["version"])
    t = reply["ticket"]
    util.check_eq((t["state"], t["owner"], t["queue"], t["version"]),
                  ("in_progress", "alice", "general", dup["version"] + 1), "restored")
    shown = _show(conn, dup)
    util.check_eq((shown["ticket"]["closed_at"], shown["links"]), (None, []),
                  "closed_at and link gone")
    last = shown["events"][-1]
    util.check_eq((last["op"], last["old_value"], last["new_value"], last["detail"]),
                  ("unmerge", "closed", "in_progress",
                   {"into": surv["ref"], "state": "in_progress", "owner": "alice",
                    "queue": "general", "restored": True}), "duplicate's unmerge event")
    last = _show(conn, surv)["events"][-1]
    util.check_eq((last["op"], last["detail"]), ("unmerge", {"merged": dup["ref"]}),
                  "survivor's unmerge event")
    util.check_eq(_links(conn, surv), [], "survivor's links after unmerge")
    wire.check_error(conn.request("ticket.unmerge", ticket=dup["id"]), "conflict",
                     "is not merged")

    # merged again; alice leaves; the unmerged ticket goes back to its queue
    dup = conn.ok("ticket.merge", ticket=dup["id"], into=surv["id"],
                  version=t["version"])["ticket"]
    srv.dbinfo.sql("UPDATE agents SET active = 0 WHERE username = 'alice'", srv.database)
    t = sue.ok("ticket.unmerge", ticket=dup["ref"])["ticket"]
    util.check_eq((t["state"], t["owner"], t["queue"]), ("queued", None, "general"),
                  "an owner who is gone: back in the queue")
    last = sue.ok("ticket.show", ticket=dup["id"])
    util.check(isinstance(last["ticket"]["enqueued_at"], int), "enqueued_at when requeued")
    util.check_eq(last["events"][-1]["detail"]["restored"], False, "not restored as it was")

    for ref in (dup["ref"], surv["ref"], li["ref"], other["ref"]):
        rc, out = _verify(srv, ref)
        util.check_eq(rc, 0, f"--verify-ticket {ref} ({out})")
    util.check_eq(_verify(srv, dup["ref"]), (0, "ok 6 events"), "duplicate's chain")
    util.check_eq(_verify(srv, surv["ref"]), (0, "ok 5 events"), "survivor's chain")


def test_merge_permission(ctx):
    """An agent cannot close a colleague's open work by merging it (as they
    cannot close it): forbidden, nothing written; its owner and a
    supervisor can. Unmerge follows the same rule on the state the merge
    recorded."""
    srv, alice, sue = _setup(ctx)
    srv.add_agent("carl", "pw-carl")
    carl = ctx.connect(srv)
    carl.login("carl", "pw-carl")
    t = _new(alice, "alice's work")
    t = alice.ok("ticket.transition", ticket=t["id"], action="accept", queue="general",
                 version=t["version"])["ticket"]
    surv = _new(carl, "the same complaint, logged again")

    def refused(who, part, op, **args):
        before = _state(srv)
        wire.check_error(who.request(op, **args), "forbidden", part)
        util.check_eq(_state(srv), before, f"rows after a refused {op} {args}")

    refused(carl, f"ticket {t['ref']} is in_progress with another agent; only its owner or a "
                  "supervisor, admin or service can merge it",
            "ticket.merge", ticket=t["id"], into=surv["id"], version=t["version"])
    t = alice.ok("ticket.transition", ticket=t["id"], action="hold",
                 version=t["version"])["ticket"]
    refused(carl, f"ticket {t['ref']} is pending_customer with another agent",
            "ticket.merge", ticket=t["ref"], into=surv["ref"], version=t["version"])
    # close is refused to carl too: the merge rule matches it
    wire.check_error(carl.request("ticket.transition", ticket=t["id"], action="close",
                                  code="dup", version=t["version"]), "conflict", None)

    merged = sue.ok("ticket.merge", ticket=t["id"], into=surv["id"], version=t["version"])
    util.check_eq(merged["ticket"]["state"], "closed", "a supervisor may merge it")
    refused(carl, f"ticket {t['ref']} was pending_customer with another agent when it was "
                  "merged; only that agent or a supervisor or admin can unmerge it",
            "ticket.unmerge", ticket=t["id"])
    back = alice.ok("ticket.unmerge", ticket=t["id"])["ticket"]
    util.check_eq((back["state"], back["owner"]), ("pending_customer", "alice"),
                  "the owner may unmerge it")
    # the owner may merge her own work
    t = alice.ok("ticket.merge", ticket=t["id"], into=surv["id"],
                 version=back["version"])["ticket"]
    util.check_eq((t["state"], t["owner"]), ("closed", "alice"), "merged by its owner")
    for ref in (t["ref"], surv["ref"]):
        util.check_eq(_verify(srv, ref)[0], 0, f"chain of {ref}")


def test_unmerged_ticket_is_routed(ctx):
    """The merge and unmerge replies carry the whole ticket, which the
    router reads: a merged ticket leaves the line, and one that an unmerge
    puts back in its queue is offered to a ready agent."""
    srv = routing._setup(ctx)
    alice = routing._login(ctx, srv, "alice")
    bob = routing._login(ctx, srv, "bob")
    sue = routing._login(ctx, srv, "sue")
    dup = routing._create(sue, "重复来电")
    surv = routing._create(sue, "查询订单")
    util.check_eq((dup["state"], dup["channel"], surv["state"]), ("queued", "phone", "queued"),
                  "both waiting")

    merged = sue.ok("ticket.merge", ticket=dup["id"], into=surv["id"], version=dup["version"])
    shown = sue.ok("ticket.show", ticket=dup["id"])["ticket"]
    util.check_eq(merged["ticket"], shown, "the merge reply's ticket is the whole ticket")
    util.check_eq((merged["ticket"]["state"], merged["ticket"]["kind"],
                   merged["ticket"]["owning_site"]), ("closed", "inquiry", "SH"), "merged")
    util.check_eq(sorted(merged["into"]), ["id", "ref", "version"], "the survivor, brief")

    # the merged ticket, first in line before, is no longer offered
    alice.ok("agent.ready")
    offer = routing._event(alice, "offer")
    util.check_eq(offer["ticket"]["ref"], surv["ref"], "the survivor is offered, not the "
                                                       "merged ticket")
    alice.ok("offer.accept", ticket=surv["ref"])
    bob.ok("agent.ready")
    routing._no_event(bob, "offer")

    reply = sue.ok("ticket.unmerge", ticket=dup["ref"])
    t = reply["ticket"]
    util.check_eq((t["state"], t["owner"], t["queue"], t["channel"], t["priority"]),
                  ("queued", None, "general", "phone", dup["priority"]),
                  "unmerged: back in its queue")
    util.check_eq(sorted(t), sorted(shown), "the unmerge reply's ticket is the whole ticket")
    util.check(isinstance(t["enqueued_at"], int), f"enqueued_at: {t['enqueued_at']}")
    offer = routing._event(bob, "offer", ticket=dup["ref"])
    util.check_eq((offer["ticket"]["state"], offer["ticket"]["owner"]), ("offered", "bob"),
                  "the unmerged ticket is offered to the ready agent")
    bob.ok("offer.accept", ticket=dup["ref"])
    ops = [e["op"] for e in sue.ok("ticket.show", ticket=dup["id"])["events"]]
    util.check_eq(ops, ["create", "merge", "unmerge", "offer", "accept"], "history")
    util.check_eq(_verify(srv, dup["ref"]), (0, "ok 5 events"), "chain of the unmerged ticket")


def _race(pairs):
    """Send each (connection, op, args) at the same instant; the replies."""
    replies = [None] * len(pairs)
    barrier = threading.Barrier(len(pairs))

    def send(i, c, op, args):
        barrier.wait()
        replies[i] = c.request(op, **args)

    threads = [threading.Thread(target=send, args=(i,) + pair) for i, pair in enumerate(pairs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return replies


def test_races(ctx):
    """Two agents link the same pair, or merge two tickets into each other,
    at the same instant: exactly one wins, the other gets conflict (never a
    database error), every round; the chains verify."""
    srv, conn, _ = _setup(ctx)
    second = ctx.connect(srv)
    second.login("bob", "pw-bob")
    for n in range(4):
        a, b = _new(conn, f"race {n} a"), _new(conn, f"race {n} b")
        replies = _race([(conn, "ticket.link", {"ticket": a["id"], "other": b["id"]}),
                         (second, "ticket.link", {"ticket": b["ref"], "other": a["ref"]})])
        util.check_eq(sum(1 for r in replies if r.get("ok")), 1, f"round {n}: one link wins")
        wire.check_error(next(r for r in replies if not r.get("ok")), "conflict",
                         "already linked")
        replies = _race([(conn, "ticket.merge", {"ticket": a["id"], "into": b["id"],
                                                 "version": 1}),
                         (second, "ticket.merge", {"ticket": b["id"], "into": a["id"],
                                                   "version": 1})])
        util.check_eq(sum(1 for r in replies if r.get("ok")), 1, f"round {n}: one merge wins")
        wire.check_error(next(r for r in replies if not r.get("ok")), "conflict", None)
        util.check_eq(_count(srv, "ticket_links", f"kind = 'merged_into' AND from_ticket_id "
                                                  f"IN ({a['id']}, {b['id']})"), 1,
                      f"round {n}: one merge link")
        for t in (a, b):
            util.check_eq(_verify(srv, t["ref"])[0], 0, f"chain of {t['ref']}")


def test_customer_merge(ctx):
    """customer.merge: the survivor's view includes the duplicate's tickets
    and orders, the duplicate's view is the survivor's, a search by the
    duplicate's phone finds the survivor; refusals write nothing; unmerge
    is for supervisors and restores both."""
    srv, conn, sue = _setup(ctx)
    dup_ticket = _new(conn, "old account", customer=WANG_DUP)
    base = conn.ok("customer.show", customer_id=WANG)
    util.check_eq((base["value"]["orders"], base["value"]["lifetime_value_minor"],
                   base["merged"], base["customer"]["merged_ids"]), (2, 200000, [], []),
                  "survivor before the merge")
    util.check_eq(conn.ok("customer.search", phone="13700000000")["customers"][0]["id"],
                  WANG_DUP, "search before the merge")

    reply = conn.ok("customer.merge", customer=WANG_DUP, into=WANG)
    util.check_eq((reply["customer"]["id"], reply["customer"]["merged_into"],
                   reply["into"]["id"]), (WANG_DUP, WANG, WANG), "merge reply")
    view = conn.ok("customer.show", customer_id=WANG)
    util.check_eq([(m["id"], m["name"]) for m in view["merged"]], [(WANG_DUP, "王小芳")],
                  "merged customers")
    util.check_eq(view["merged"][0]["merged_at"], reply["customer"]["merged_at"], "merged_at")
    util.check_eq(view["customer"]["merged_ids"], [WANG_DUP], "merged_ids")
    util.check_eq((view["value"]["orders"], view["value"]["lifetime_value_minor"]),
                  (3, 500000), "orders of both customers")
    util.check(view["value"]["rfm"]["monetary"] > base["value"]["rfm"]["monetary"],
               f"RFM monetary rises with the merged orders ({view['value']['rfm']})")
    util.check_in(dup_ticket["id"], [t["id"] for t in view["tickets"]["items"]],
                  "the duplicate's ticket in the survivor's view")
    util.check_in("+8613700000000", [c["value"] for c in view["contacts"]],
                  "the duplicate's contact")
    util.check("merged_into" not in view and "resolved_from" not in view,
               "a survivor is not redirected")
    dview = conn.ok("customer.show", customer_id=WANG_DUP)
    util.check_eq((dview["customer"]["id"], dview["resolved_from"], dview["merged_into"]["id"],
                   dview["merged_into"]["merged_at"]),
                  (WANG, WANG_DUP, WANG, reply["customer"]["merged_at"]),
                  "the duplicate's view is the survivor's")
    util.check_eq(_ids(conn.ok("customer.search", phone="137 0000 0000")), [WANG],
                  "search by the duplicate's phone")
    util.check_eq(_ids(conn.ok("customer.search", name="王")), [WANG],
                  "search by name: the survivor once")
    util.check_eq(srv.dbinfo.sql("SELECT customer_id, op, detail, actor FROM customer_events "
                                 "ORDER BY id", srv.database),
                  [[str(WANG_DUP), "merge", f'{{"into":{WANG}}}', "alice"],
                   [str(WANG), "merge", f'{{"merged":{WANG_DUP}}}', "alice"]],
                  "customer events")

    before = _state(srv)

    def refused(code, part, op, who=conn, **args):
        wire.check_error(who.request(op, **args), code, part)
        util.check_eq(_state(srv), before, f"rows after a refused {op} {args}")

    refused("bad_request", "merged into itself", "customer.merge", customer=LI, into=LI)
    refused("conflict", f"customer {WANG_DUP} is already merged into {WANG}",
            "customer.merge", customer=WANG_DUP, into=LI)
    refused("conflict", f"customer {WANG_DUP} is itself merged into {WANG}", "customer.merge",
            customer=LI, into=WANG_DUP)
    refused("conflict", f"customer {WANG} has 1 customers merged into it", "customer.merge",
            customer=WANG, into=LI)
    refused("not_found", "no customer with id 424242", "customer.merge", customer=424242,
            into=WANG)
    refused("not_found", "no customer with id 424242", "customer.merge", customer=LI,
            into=424242)
    refused("bad_request", "into", "customer.merge", customer=LI)
    refused("forbidden", None, "customer.unmerge", customer=WANG_DUP)
    refused("conflict", f"customer {LI} is not merged", "customer.unmerge", who=sue,
            customer=LI)
    refused("not_found", "no customer with id 424242", "customer.unmerge", who=sue,
            customer=424242)

    reply = sue.ok("customer.unmerge", customer=WANG_DUP)
    util.check_eq((reply["customer"]["merged_into"], reply["customer"]["merged_at"]),
                  (None, None), "unmerge reply")
    after = conn.ok("customer.show", customer_id=WANG)
    util.check_eq((after["merged"], after["value"]["orders"], after["value"]["rfm"]),
                  ([], 2, base["value"]["rfm"]), "survivor after unmerge")
    dview = conn.ok("customer.show", customer_id=WANG_DUP)
    util.check_eq((dview["customer"]["id"], "resolved_from" in dview, dview["value"]["orders"]),
                  (WANG_DUP, False, 1), "the duplicate is itself again")
    util.check_eq(_ids(conn.ok("customer.search", phone="13700000000")), [WANG_DUP],
                  "search after unmerge")
    util.check_eq(srv.dbinfo.sql("SELECT customer_id, op, actor FROM customer_events "
                                 "WHERE op = 'unmerge' ORDER BY id", srv.database),
                  [[str(WANG_DUP), "unmerge", "sue"], [str(WANG), "unmerge", "sue"]],
                  "unmerge events")
    util.check_eq(srv.dbinfo.sql(f"SELECT merged_into, merged_at, merged_by FROM customers "
                                 f"WHERE id = {WANG_DUP}", srv.database),
                  [["NULL", "NULL", "NULL"]], "merge columns cleared")


def _ids(reply):
    return [c["id"] for c in reply["customers"]]


def _cells(line):
    """Terminal cells a line takes: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def test_ccagent_views(ctx):
    """ccagent shows a merged ticket's link and the merged customers of a
    survivor within 80 columns."""
    srv, conn, _ = _setup(ctx)
    dup = _new(conn, "重复的投诉 " * 8)
    surv = _new(conn, "原始投诉，包裹破损 " * 8)
    conn.ok("ticket.merge", ticket=dup["id"], into=surv["id"], version=dup["version"])
    conn.ok("customer.merge", customer=WANG_DUP, into=WANG)
    agent = ctx.ccagent(srv)
    os.environ["COLUMNS"] = "80"  # ccagent's output is not a terminal here
    try:
        shown = agent.run("-c", f"ticket.show ticket={dup['ref']}", user="alice",
                          password="pw-alice")
        survivor = agent.run("-c", f"ticket.show ticket={surv['ref']}", user="alice",
                             password="pw-alice")
        cust = agent.run("-c", f"customer.show customer_id={WANG}", user="alice",
                         password="pw-alice")
        redirected = agent.run("-c", f"customer.show customer_id={WANG_DUP}", user="alice",
                               password="pw-alice")
    finally:
        os.environ.pop("COLUMNS", None)
    for run in (shown, survivor, cust, redirected):
        util.check_eq(run.returncode, 0, f"ccagent exit status ({run.stderr!r})")
        wide = [line for line in run.stdout.splitlines() if _cells(line) > 80]
        util.check(not wide, f"lines wider than 80 cells: {wide}")
    link = [line for line in shown.stdout.splitlines() if surv["ref"] in line]
    util.check(link and "merged_into" in link[0] and "原始投诉" in link[0],
               f"the merged ticket's link line: {link} in {shown.stdout}")
    util.check_in(f"into {surv['ref']}", shown.stdout, "the survivor in the history")
    merge = [line for line in shown.stdout.splitlines() if " merge " in line]
    util.check(merge and "new -> closed" in merge[0], f"the merge in the history: {merge}")
    link = [line for line in survivor.stdout.splitlines() if dup["ref"] in line]
    util.check(link and "merged_from" in link[0], f"the survivor's link line: {link}")
    util.check_in("Merged into this customer", cust.stdout, "customer view")
    merged = [line for line in cust.stdout.splitlines() if str(WANG_DUP) in line]
    util.check(merged and "王小芳" in merged[0], f"the merged customer's line: {merged}")
    util.check_in(f"customer #{WANG_DUP} was merged into this one", redirected.stdout,
                  "the duplicate's view")
