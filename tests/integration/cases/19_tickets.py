"""Tickets: create, show, list, note and transition through the state table
to resolved and closed; refusals that write nothing; two writers racing on
one version; the event hash chain checked by callcentred --verify-ticket,
before and after an event row is tampered with; reopen after close opens a
linked follow-up ticket."""

import os
import re
import threading
import time
import unicodedata

from itest import admin, util, wire

REF = re.compile(r"^T\d{6}-[0-9A-HJKMNP-TV-Z]{6}$")


def _setup(ctx, agents=None):
    """A server with alice (agent), bob (agent) and sue (supervisor) at site
    SH, a queue 'general' of SH, and alice logged in."""
    srv = ctx.server(agents=agents or {"alice": "pw-alice", "bob": "pw-bob"})
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.dbinfo.sql("INSERT INTO queues (code, name, site_id) "
                   "SELECT 'general', 'General', id FROM sites WHERE code = 'SH';\n"
                   "INSERT INTO customers (id, name) VALUES (7001, '王芳');\n", srv.database)
    conn = ctx.connect(srv)
    conn.login("alice", "pw-alice")
    return srv, conn


def _count(srv, table, where="1 = 1"):
    return int(srv.dbinfo.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}", srv.database))


def _counts(srv):
    """Row counts of every table a ticket op writes."""
    return {t: _count(srv, t) for t in ("tickets", "ticket_events", "ticket_notes",
                                         "ticket_links")}


def _move(conn, ticket, action, **args):
    """A transition that must succeed; returns the ticket after it."""
    reply = conn.ok("ticket.transition", ticket=ticket["id"], action=action,
                    version=ticket["version"], **args)
    moved = reply["ticket"]
    util.check_eq(moved["version"], ticket["version"] + 1, f"version after {action}")
    return moved


def _verify(srv, ref):
    proc = srv.tool("--verify-ticket", ref)
    return proc.returncode, proc.stdout.strip() + proc.stderr.strip()


def test_lifecycle(ctx):
    """new -> in_progress -> pending_customer -> in_progress -> resolved ->
    closed, with a note, list filters and pages, and a verified chain."""
    srv, conn = _setup(ctx)
    created = conn.ok("ticket.create", kind="complaint", channel="phone", severity=2,
                      priority=7, subject="快递破损 parcel damaged", customer_id=7001)["ticket"]
    util.check(REF.match(created["ref"]), f"ref {created['ref']!r} is not T<date>-<base32>")
    util.check_eq((created["state"], created["version"], created["severity"],
                   created["priority"], created["customer_id"], created["site"],
                   created["owning_site"], created["owner"], created["queue"]),
                  ("new", 1, 2, 7, 7001, "SH", "SH", None, None), "created ticket")
    util.check_eq(created["subject"], "快递破损 parcel damaged", "subject round trip")

    shown = conn.ok("ticket.show", ticket=created["ref"])
    util.check_eq(shown["ticket"], created, "ticket.show by ref vs ticket.create")
    util.check_eq([e["op"] for e in shown["events"]], ["create"], "first event")
    util.check_eq(shown["events"][0]["new_value"], "new", "create event new_value")
    util.check_eq(shown["events"][0]["actor"], "alice", "create event actor")

    t = _move(conn, created, "accept", queue="general")
    util.check_eq((t["state"], t["owner"], t["queue"]), ("in_progress", "alice", "general"),
                  "after accept")
    shown = conn.ok("ticket.show", ticket=t["id"])["ticket"]
    util.check_eq(shown, t, "ticket.show vs the accept's reply (names from the cache)")
    util.check_eq(list(shown), list(t), "the same members in the same order")
    note = conn.ok("ticket.note", ticket=t["id"], body="客户来电\n第二行", visibility="customer")
    util.check_eq((note["note"]["visibility"], note["ticket"]["version"]),
                  ("customer", t["version"]), "a note leaves the version alone")
    conn.ok("ticket.note", ticket=t["ref"], body="internal remark", version=t["version"])
    t = _move(conn, t, "hold")
    util.check_eq(t["state"], "pending_customer", "after hold")
    t = _move(conn, t, "customer_replied")
    util.check_eq(t["state"], "in_progress", "after customer_replied")
    wire.check_error(conn.request("ticket.transition", ticket=t["id"], action="resolve",
                                  version=t["version"]), "bad_request", "code")
    t = _move(conn, t, "resolve", code="refunded", summary="refund issued\nline 2")
    util.check_eq((t["state"], t["resolution_code"], t["resolution_summary"]),
                  ("resolved", "refunded", "refund issued\nline 2"), "after resolve")
    util.check(isinstance(t["resolved_at"], int) and t["resolved_at"] > 0,
               f"resolved_at {t['resolved_at']!r}")
    t = _move(conn, t, "close")
    util.check_eq(t["state"], "closed", "after close")
    util.check(t["closed_at"] >= t["resolved_at"], f"closed_at {t['closed_at']}")

    shown = conn.ok("ticket.show", ticket=t["id"])
    util.check_eq([e["op"] for e in shown["events"]],
                  ["create", "accept", "note", "note", "hold", "customer_replied", "resolve",
                   "close"], "event ops, oldest first")
    util.check_eq([(e["old_value"], e["new_value"]) for e in shown["events"][4:]],
                  [("in_progress", "pending_customer"), ("pending_customer", "in_progress"),
                   ("in_progress", "resolved"), ("resolved", "closed")], "event states")
    util.check_eq(shown["events"][1]["detail"], {"queue": "general"}, "accept detail")
    util.check_eq([n["body"] for n in shown["notes"]], ["internal remark", "客户来电\n第二行"],
                  "notes, newest first")
    util.check_eq(shown["notes"][0]["author"], "alice", "note author")

    rc, out = _verify(srv, t["ref"])
    util.check_eq((rc, out), (0, "ok 8 events"), "--verify-ticket on an intact chain")

    # lists: mine, queue, state, and keyset pages newest first
    other = conn.ok("ticket.create", kind="inquiry", channel="web", subject="size?",
                    queue="general")["ticket"]
    util.check_eq((other["state"], other["queue"]), ("queued", "general"),
                  "create with a queue enqueues")
    util.check(isinstance(other["enqueued_at"], int), "enqueued_at set when queued")
    third = conn.ok("ticket.create", kind="call", channel="phone", subject="walk-in")["ticket"]
    ids = [x["id"] for x in conn.ok("ticket.list")["tickets"]]
    util.check_eq(ids, [third["id"], other["id"], t["id"]], "ticket.list newest first")
    util.check_eq([x["id"] for x in conn.ok("ticket.list", mine=True)["tickets"]], [t["id"]],
                  "ticket.list mine")
    util.check_eq([x["id"] for x in conn.ok("ticket.list", queue="general",
                                            state="queued")["tickets"]], [other["id"]],
                  "ticket.list queue and state")
    page1 = conn.ok("ticket.list", limit=2)
    util.check_eq([x["id"] for x in page1["tickets"]], [third["id"], other["id"]], "page 1")
    util.check_eq(page1["next_after_id"], other["id"], "next_after_id of a full page")
    page2 = conn.ok("ticket.list", limit=2, after_id=page1["next_after_id"])
    util.check_eq(([x["id"] for x in page2["tickets"]], page2["next_after_id"]),
                  ([t["id"]], None), "page 2 is the last")
    wire.check_error(conn.request("ticket.list", limit=101), "bad_request", "limit")


def test_reopen(ctx):
    """Reopen: a resolved ticket within the window goes back to its owner;
    after the window it is refused; a closed one stays closed and a linked
    follow-up ticket is opened in the same transaction."""
    srv, conn = _setup(ctx)
    t = conn.ok("ticket.create", kind="call", channel="phone", subject="reopen me",
                customer_id=7001)["ticket"]
    t = _move(conn, t, "accept", queue="general")
    t = _move(conn, t, "resolve", code="answered")
    t = _move(conn, t, "reopen")
    util.check_eq((t["state"], t["reopen_count"], t["resolved_at"], t["resolution_code"],
                   t["owner"]), ("in_progress", 1, None, None, "alice"), "reopened")
    t = _move(conn, t, "resolve", code="answered")
    srv.dbinfo.sql(f"UPDATE tickets SET resolved_at = UTC_TIMESTAMP(3) - INTERVAL 8 DAY "
                   f"WHERE id = {t['id']}", srv.database)
    wire.check_error(conn.request("ticket.transition", ticket=t["id"], action="reopen",
                                  version=t["version"]), "conflict", "7 days")
    t = _move(conn, t, "close")

    before = _counts(srv)
    reply = conn.ok("ticket.transition", ticket=t["ref"], action="reopen", version=t["version"])
    old, new = reply["ticket"], reply["followup"]
    util.check_eq((old["state"], old["version"]), ("closed", t["version"] + 1),
                  "a closed ticket stays closed")
    util.check_eq((new["state"], new["customer_id"], new["subject"], new["owning_site"]),
                  ("new", 7001, "reopen me", "SH"), "follow-up ticket")
    after = _counts(srv)
    util.check_eq({k: after[k] - before[k] for k in after},
                  {"tickets": 1, "ticket_events": 2, "ticket_notes": 0, "ticket_links": 1},
                  "rows written by reopen after close")
    shown = conn.ok("ticket.show", ticket=new["id"])
    util.check_eq(shown["links"], [{"kind": "followup_of", "direction": "to",
                                    "relation": "followup_of", "id": old["id"],
                                    "ref": old["ref"], "state": "closed",
                                    "subject": "reopen me"}], "follow-up links")
    util.check_eq(shown["events"][0]["detail"], {"followup_of": old["ref"]},
                  "follow-up create event")
    shown_old = conn.ok("ticket.show", ticket=old["id"])
    util.check_eq([(x["kind"], x["direction"], x["ref"]) for x in shown_old["links"]],
                  [("followup_of", "from", new["ref"])], "closed ticket links")
    util.check_eq(shown_old["events"][-1]["op"], "reopen", "reopen event on the closed ticket")
    util.check_eq(shown_old["events"][-1]["detail"], {"followup": new["ref"]}, "reopen detail")
    for ref in (old["ref"], new["ref"]):
        util.check_eq(_verify(srv, ref)[0], 0, f"--verify-ticket {ref}")


def test_refusals(ctx):
    """Unknown ticket, customer, queue; invalid transition naming the allowed
    ones; wrong role and non-owner; stale version; overlong or malformed
    fields: each refused with its code, and no row written."""
    srv, conn = _setup(ctx)
    t = conn.ok("ticket.create", kind="complaint", channel="phone", subject="x")["ticket"]
    t = _move(conn, t, "accept", queue="general")
    base = _counts(srv)

    def refused(want, part, op, **args):
        wire.check_error(conn.request(op, **args), want, part)
        util.check_eq(_counts(srv), base, f"rows after a refused {op} {args}"[:200])

    refused("not_found", "no ticket with id 999999", "ticket.show", ticket=999999)
    refused("not_found", "no ticket with ref T000000-AAAAAA", "ticket.note",
            ticket="T000000-AAAAAA", body="x")
    refused("not_found", "no ticket", "ticket.transition", ticket=999999, action="hold",
            version=1)
    refused("not_found", "no customer with id 424242", "ticket.create", kind="call",
            channel="phone", subject="x", customer_id=424242)
    refused("not_found", "no queue with code nope", "ticket.create", kind="call",
            channel="phone", subject="x", queue="nope")
    refused("not_found", "no queue", "ticket.transition", ticket=t["id"],
            action="transfer_queue", queue="nope", version=t["version"])
    msg = wire.check_error(conn.request("ticket.transition", ticket=t["id"], action="close",
                                        version=t["version"]), "conflict",
                           "cannot close a ticket that is in_progress; allowed: ")
    for action in ("hold", "resolve", "transfer_queue", "escalate"):
        util.check_in(action, msg, "allowed actions in the refusal")
    util.check_eq(_counts(srv), base, "rows after an invalid transition")
    refused("conflict", "ticket changed since version 1 (now 2)", "ticket.transition",
            ticket=t["id"], action="hold", version=1)
    refused("conflict", "ticket changed since version 1 (now 2)", "ticket.note",
            ticket=t["id"], body="late", version=1)
    refused("bad_request", "action", "ticket.transition", ticket=t["id"], action="explode",
            version=t["version"])
    refused("bad_request", "version", "ticket.transition", ticket=t["id"], action="hold")
    refused("bad_request", "severity", "ticket.create", kind="call", channel="phone",
            subject="x", severity=2)
    refused("bad_request", "severity", "ticket.create", kind="complaint", channel="phone",
            subject="x", severity=5)
    refused("bad_request", "kind", "ticket.create", kind="rant", channel="phone", subject="x")
    refused("bad_request", "control character", "ticket.create", kind="call",
            channel="phone", subject="bell\x07")
    refused("bad_request", "subject", "ticket.create", kind="call", channel="phone")
    refused("too_large", "\"subject\" exceeds 255 characters", "ticket.create", kind="call",
            channel="phone", subject="字" * 256)
    refused("too_large", "\"body\" exceeds 8192 bytes", "ticket.note", ticket=t["id"],
            body="x" * 8193)
    refused("too_large", "\"summary\"", "ticket.transition", ticket=t["id"], action="resolve",
            code="c", summary="s" * 2001, version=t["version"])

    bob = ctx.connect(srv)
    bob.login("bob", "pw-bob")
    wire.check_error(bob.request("ticket.transition", ticket=t["id"], action="hold",
                                 version=t["version"]), "forbidden", "only the owner")
    fresh = conn.ok("ticket.create", kind="call", channel="phone", subject="y")["ticket"]
    wire.check_error(conn.request("ticket.transition", ticket=fresh["id"], action="escalate",
                                  version=1), "forbidden", "only supervisor")
    sue = ctx.connect(srv)
    sue.login("sue", "pw-sue")
    escalated = sue.ok("ticket.transition", ticket=fresh["id"], action="escalate",
                       version=1)["ticket"]
    util.check_eq((escalated["state"], escalated["escalation_level"]), ("new", 1), "escalate")

    # the longest values that fit are stored whole
    long_subject = "字" * 255
    made = conn.ok("ticket.create", kind="call", channel="phone", subject=long_subject)
    util.check_eq(made["ticket"]["subject"], long_subject, "255-character subject")
    conn.ok("ticket.note", ticket=t["id"], body="x" * 8192)


def test_concurrent_writers(ctx):
    """Two connections send a transition with the same version at once:
    exactly one succeeds, the other gets conflict, every round."""
    srv, conn = _setup(ctx)
    second = ctx.connect(srv)
    second.login("alice", "pw-alice")
    t = conn.ok("ticket.create", kind="call", channel="phone", subject="race")["ticket"]
    t = _move(conn, t, "accept", queue="general")
    rounds = 6
    for n in range(rounds):
        replies = [None, None]
        barrier = threading.Barrier(2)

        def send(i, c, version=t["version"]):
            barrier.wait()
            replies[i] = c.request("ticket.transition", ticket=t["id"], action="escalate",
                                   version=version)

        threads = [threading.Thread(target=send, args=(i, c))
                   for i, c in enumerate((conn, second))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        oks = [r for r in replies if r and r.get("ok")]
        util.check_eq(len(oks), 1, f"round {n}: exactly one writer wins: {replies}")
        loser = next(r for r in replies if r and not r.get("ok"))
        wire.check_error(loser, "conflict", f"changed since version {t['version']}")
        t = oks[0]["ticket"]
    util.check_eq((t["escalation_level"], t["version"]), (rounds, 2 + rounds), "final ticket")
    util.check_eq(_count(srv, "ticket_events", f"ticket_id = {t['id']}"), 2 + rounds,
                  "one event per won round")
    util.check_eq(_verify(srv, t["ref"])[0], 0, "chain after the races")


def test_verify_tamper(ctx):
    """--verify-ticket finds a changed event row and a cut-off tail."""
    srv, conn = _setup(ctx)
    t = conn.ok("ticket.create", kind="call", channel="phone", subject="audit")["ticket"]
    t = _move(conn, t, "accept", queue="general")
    conn.ok("ticket.note", ticket=t["id"], body="remark")
    t = _move(conn, t, "hold")
    util.check_eq(_verify(srv, t["ref"]), (0, "ok 4 events"), "intact chain")

    event_id = srv.dbinfo.scalar(f"SELECT id FROM ticket_events WHERE ticket_id = {t['id']} "
                                 "AND seq = 2", srv.database)
    srv.dbinfo.sql(f"UPDATE ticket_events SET new_value = 'resolved' WHERE id = {event_id}",
                   srv.database)
    rc, out = _verify(srv, t["ref"])
    util.check_eq(rc, 1, f"--verify-ticket exit status after tampering ({out})")
    util.check_in(f"event id {event_id} (seq 2)", out, "verifier names the tampered row")
    util.check_in("hash mismatch", out, "verifier names the fault")

    srv.dbinfo.sql(f"UPDATE ticket_events SET new_value = 'in_progress' WHERE id = {event_id};"
                   f"DELETE FROM ticket_events WHERE ticket_id = {t['id']} AND seq = 4",
                   srv.database)
    rc, out = _verify(srv, t["ref"])
    util.check_eq(rc, 1, f"--verify-ticket exit status with the last event gone ({out})")
    util.check_in("head mismatch", out, "verifier notices the cut-off tail")

    rc, out = _verify(srv, "T000000-AAAAAA")
    util.check_eq(rc, 1, "--verify-ticket on an unknown ref")
    util.check_in("no ticket with ref T000000-AAAAAA", out, "unknown ref message")


def _cells(line):
    """Terminal cells a line takes: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def test_ccagent_ticket_views(ctx):
    """ccagent shows a ticket (header, notes, history) and a ticket list
    within the terminal's width, Chinese text aligned."""
    srv, conn = _setup(ctx)
    ticket = conn.ok("ticket.create", kind="complaint", channel="phone", severity=2,
                     customer_id=7001, subject="快递破损，客户要求退款 " * 6)["ticket"]
    conn.ok("ticket.note", ticket=ticket["ref"], body="已联系客户，等待仓库回复",
            visibility="internal")
    _move(conn, ticket, "accept", queue="general")
    agent = ctx.ccagent(srv)
    os.environ["COLUMNS"] = "80"  # ccagent's output is not a terminal here
    try:
        shown = agent.run("-c", f"ticket.show ticket={ticket['ref']}", user="alice",
                          password="pw-alice")
        listed = agent.run("-c", "ticket.list mine=true", user="alice", password="pw-alice")
    finally:
        os.environ.pop("COLUMNS", None)
    for run in (shown, listed):
        util.check_eq(run.returncode, 0, f"ccagent exit status ({run.stderr!r})")
        wide = [line for line in run.stdout.splitlines() if _cells(line) > 80]
        util.check(not wide, f"lines wider than 80 cells: {wide}")
    for text in (ticket["ref"], "in_progress", "S2", "快递破损", "已联系客户，等待仓库回复",
                 "History", "new -> in_progress"):
        util.check_in(text, shown.stdout, "the ticket view")
    util.check_in(ticket["ref"], listed.stdout, "the ticket list")


def test_group_commit(ctx):
    """With one database worker busy, the writes queued behind it commit
    together in one transaction. A refusal in the middle of such a group
    rolls it back and splits it: the refused write gets its own error, the
    writes before and after it land exactly once, and every chain stays
    whole."""
    srv = ctx.server(settings={"database.workers": "1"}, agents={"alice": "pw-alice"})
    srv.dbinfo.sql("INSERT INTO queues (code, name, site_id) "
                   "SELECT 'general', 'General', id FROM sites WHERE code = 'SH';\n",
                   srv.database)
    conns = []
    for _ in range(5):
        c = ctx.connect(srv)
        c.login("alice", "pw-alice")
        conns.append(c)
    tickets = [_move(c, c.ok("ticket.create", kind="call", channel="phone",
                             subject=f"group {i}")["ticket"], "accept", queue="general")
               for i, c in enumerate(conns)]
    before, _ = admin.metrics(srv.admin_port)
    # hold ticket 0's row lock so that the worker waits on its first write
    holder = srv.dbinfo.session(srv.database)
    try:
        holder.stdin.write(f"START TRANSACTION;\nSELECT id FROM tickets WHERE id = "
                           f"{tickets[0]['id']} FOR UPDATE;\n")
        holder.stdin.flush()
        util.check_eq(holder.stdout.readline().strip(), str(tickets[0]["id"]), "row locked")
        sent = []

        def send(i, op, **args):
            c = conns[i]
            c.send({"id": c.next_id, "op": op, "ticket": tickets[i]["id"], **args})
            sent.append((i, c.next_id))
            c.next_id += 1
            time.sleep(util.scaled(0.3))  # queued in this order

        send(0, "ticket.note", body="waits for the lock")
        send(1, "ticket.note", body="before the refusal")
        send(2, "ticket.transition", action="escalate", version=tickets[2]["version"] - 1)
        send(3, "ticket.note", body="after the refusal")
        send(4, "ticket.note", body="last of the group")
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
    replies = {i: conns[i].reply_for(rid, 30.0) for i, rid in sent}
    for i in (0, 1, 3, 4):
        util.check(replies[i].get("ok") is True, f"note {i}: {replies[i]}")
    wire.check_error(replies[2], "conflict", "changed since version")
    after, _ = admin.metrics(srv.admin_port)

    def grew(name):
        return after[name] - before[name]

    util.check(grew("cc_db_write_group_splits_total") >= 1,
               "the refusal split its group")
    util.check(grew("cc_db_write_group_jobs_total") > grew("cc_db_write_groups_total"),
               f"writes were grouped: {grew('cc_db_write_group_jobs_total')} writes in "
               f"{grew('cc_db_write_groups_total')} transactions")
    for i, t in enumerate(tickets):
        want = 0 if i == 2 else 1
        util.check_eq(_count(srv, "ticket_notes", f"ticket_id = {t['id']}"), want,
                      f"notes of ticket {i}: each landed once")
        util.check_eq(_count(srv, "ticket_events", f"ticket_id = {t['id']}"), 2 + want,
                      f"events of ticket {i}")
        util.check_eq(_verify(srv, t["ref"])[0], 0, f"chain of ticket {i}")
