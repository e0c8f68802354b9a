"""The ops behind the public web gateway (service role): complaint.file finds
or creates the customer and files a queued, routed web complaint with its
SLA, hash chain and the customer's note; idempotency keys; refusals that
name the field and write nothing; complaint.status by reference and token
with a customer-safe timeline; complaint.csat after resolution, once;
order.upsert; agents kept out; the details in ticket.show."""

import importlib
import json
import random
import re
import sys
import time

from itest import admin, util, wire

sys.path.insert(0, __import__("os").path.dirname(__file__))
routing = importlib.import_module("26_routing")
_event, _login = routing._event, routing._login

FORM = {"name": "李雷", "phone": "139 1234 5678", "category": "delivery",
        "description": "包裹三天没有更新物流\n请尽快处理", "resolution": "refund"}
TABLES = ("tickets", "customers", "customer_contacts", "ticket_notes", "ticket_events",
          "web_complaints", "web_idempotency", "csat", "orders")


def _setup(ctx, settings=None):
    srv = ctx.server(agents={"alice": "pw-alice"}, start=False, settings=settings)
    srv.add_agent("gw", "pw-gw", role="service")
    srv.add_agent("sue", "pw-sue", role="supervisor")
    srv.add_agent("root", "pw-root", role="admin")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, wrapup_seconds) "
        "SELECT 'complaints', 'Complaints', id, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO customers (id, name) VALUES (7001, '王芳'), (7002, 'Old Li'), "
        "(7003, 'Li Lei');\n"
        "UPDATE customers SET merged_into = 7003, merged_at = UTC_TIMESTAMP(3) "
        "WHERE id = 7002;\n"
        "INSERT INTO customer_contacts (customer_id, kind, value) VALUES "
        "(7001, 'phone', '+8613800138000'), (7002, 'email', 'lilei@example.com');\n",
        srv.database)
    srv.start()
    return srv


def _counts(srv):
    return {t: int(srv.dbinfo.scalar(f"SELECT COUNT(*) FROM {t}", srv.database))
            for t in TABLES}


def _verify(srv, ref):
    proc = srv.tool("--verify-ticket", ref)
    util.check_eq(proc.returncode, 0, f"--verify-ticket {ref}: {proc.stdout}{proc.stderr}")


def _file(gw, **changes):
    form = dict(FORM)
    form.update(changes)
    return gw.ok("complaint.file", **{k: v for k, v in form.items() if v is not None})


def _field_error(reply, code, field, part=None):
    wire.check_error(reply, code, part)
    util.check_eq(reply["error"].get("field"), field, f"field in {util.shorten(reply)}")


def test_file_and_customers(ctx):
    """A new customer is created; a known phone finds its customer; an
    e-mail of a merged customer finds the survivor. The ticket is a queued
    web complaint with SLA clocks, a verified chain and the customer's
    note; ticket.show carries the complaint's details."""
    srv = _setup(ctx)
    gw = _login(ctx, srv, "gw")
    sue = _login(ctx, srv, "sue")
    before = _counts(srv)
    r = _file(gw, email="Li.Lei@Example.COM", order="SO-404", urgency="high")
    util.check_eq(set(r), {"id", "ok", "ticket", "token", "duplicate"}, "reply members")
    util.check_eq(set(r["ticket"]),
                  {"ref", "state", "created_at", "first_response_due", "resolution_due"},
                  "the ticket as the gateway gets it")
    util.check(re.fullmatch(r"[A-Za-z0-9_-]{43}", r["token"]), f"token {r['token']!r}")
    util.check_eq((r["ticket"]["state"], r["duplicate"]), ("queued", False), "filed")
    util.check(r["ticket"]["first_response_due"] and r["ticket"]["resolution_due"],
               f"promised times: {r['ticket']}")
    after = _counts(srv)
    util.check_eq((after["tickets"] - before["tickets"],
                   after["customers"] - before["customers"],
                   after["customer_contacts"] - before["customer_contacts"]),
                  (1, 1, 2), "one ticket, one new customer with two contacts")
    shown = sue.ok("ticket.show", ticket=r["ticket"]["ref"])
    t = shown["ticket"]
    util.check_eq((t["kind"], t["channel"], t["state"], t["queue"], t["priority"],
                   t["language"], t["owning_site"], t["order_id"]),
                  ("complaint", "web", "queued", "complaints", 6, "zh-CN", "SH", None),
                  "a queued web complaint (urgency high: priority 6)")
    util.check(t["subject"].startswith("delivery: 包裹三天没有更新物流"), f"subject {t['subject']}")
    contacts = srv.dbinfo.sql(
        f"SELECT kind, value FROM customer_contacts WHERE customer_id = {t['customer_id']} "
        "ORDER BY kind", srv.database)
    util.check_eq(contacts, [["phone", "+8613912345678"], ["email", "li.lei@example.com"]],
                  "normalised contacts")
    util.check_eq(srv.dbinfo.scalar(f"SELECT name FROM customers WHERE id = "
                                    f"{t['customer_id']}", srv.database), "李雷", "name")
    util.check_eq([(n["author_kind"], n["visibility"], n["body"]) for n in shown["notes"]],
                  [("customer", "customer", FORM["description"])], "the customer's note")
    util.check_eq([e["op"] for e in shown["events"]], ["create"], "one create on the chain")
    d = shown["events"][0]["detail"]
    util.check_eq((d["via"], d["category"], d["resolution"], d["urgency"], d["customer"],
                   d["order"]), ("web", "delivery", "refund", "high", "created", "SO-404"),
                  "the create event records what was filed")
    util.check_eq(shown["ticket"]["language"], "zh-CN", "the language went in with the ticket")
    util.check_eq({s["metric"]: s["state"] for s in shown["sla"]}["first_response"],
                  "running", "the first-response clock runs")
    c = shown["complaint"]
    util.check_eq((c["category"], c["resolution"], c["urgency"], c["language"],
                   c["contact_name"], c["contact_phone"], c["contact_email"], c["order"]),
                  ("delivery", "refund", "high", "zh-CN", "李雷", "139 1234 5678",
                   "Li.Lei@Example.COM", "SO-404"),
                  "ticket.show shows the details as given")
    _verify(srv, t["ref"])

    known = _file(gw, name="Someone Else", phone="+86 138-0013-8000")
    alice = _login(ctx, srv, "alice")
    kt = alice.ok("ticket.show", ticket=known["ticket"]["ref"])
    util.check_eq(kt["ticket"]["customer_id"], 7001, "found by phone")
    util.check_eq(srv.dbinfo.scalar("SELECT name FROM customers WHERE id = 7001",
                                    srv.database), "王芳", "an existing name is kept")
    util.check_eq(kt["events"][-1]["detail"]["customer"], "found", "the detail says found")
    util.check_eq(kt["complaint"]["contact_name"], "Someone Else",
                  "agents see the details too, the name as given")
    util.check_eq((kt["complaint"]["contact_verified"], kt["complaint"]["customer_existing"],
                   kt["complaint"]["name_differs"], kt["complaint"]["customer_name"]),
                  (False, True, True, "王芳"), "a stranger's name on a known phone is flagged")
    util.check_eq((c["contact_verified"], c["customer_existing"], c["name_differs"]),
                  (False, False, False), "a new customer: nothing to flag")
    run = ctx.ccagent(srv).run("-c", f"ticket.show ticket={known['ticket']['ref']}",
                               user="alice", password="pw-alice")
    util.check_eq(run.returncode, 0, f"ccagent ticket.show ({run.stderr!r})")
    util.check_in("contact not verified (public web form)", run.stdout, "ccagent says so")
    util.check_in("! the contact found customer 王芳, not the name given", run.stdout,
                  "ccagent warns of the other name")
    util.check_in("name Someone Else", run.stdout, "and shows the name given")

    merged = _file(gw, phone=None, email="LILEI@example.com", language="en")
    mt = sue.ok("ticket.show", ticket=merged["ticket"]["ref"])
    util.check_eq((mt["ticket"]["customer_id"], mt["ticket"]["language"]), (7003, "en"),
                  "a merged customer's contact files for the survivor")
    util.check_eq(mt["events"][-1]["detail"]["customer_merged"], [7002, 7003],
                  "the detail records the merge followed")
    util.check_eq(_counts(srv)["customers"], after["customers"], "no customer created")
    _verify(srv, mt["ticket"]["ref"])

    # a flagged customer is served, and the detail says so
    srv.dbinfo.sql("UPDATE customers SET flagged_at = UTC_TIMESTAMP(3), flag_reason = 'abuse' "
                   "WHERE id = 7001", srv.database)
    fl = _file(gw, phone="13800138000")
    ft = sue.ok("ticket.show", ticket=fl["ticket"]["ref"])
    util.check_eq(ft["events"][-1]["detail"].get("customer_flagged"), True, "flagged")


def test_idempotency(ctx):
    """The same key with the same complaint gives the same ticket and token;
    the same key with another complaint, or from another account, is not a
    duplicate (a key never hands out someone else's token); expired keys
    are forgotten and, now and then, deleted."""
    srv = _setup(ctx)
    srv.add_agent("gw2", "pw-gw2", role="service")
    gw = _login(ctx, srv, "gw")
    first = _file(gw, idempotency_key="form-nonce-0001")
    before = _counts(srv)
    again = _file(gw, idempotency_key="form-nonce-0001")
    util.check_eq((again["ticket"]["ref"], again["token"], again["duplicate"]),
                  (first["ticket"]["ref"], first["token"], True), "the duplicate")
    util.check_eq(_counts(srv), before, "a duplicate writes nothing")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM web_idempotency WHERE "
                                    "key_hash = UNHEX(SHA2('form-nonce-0001', 256))",
                                    srv.database), "0", "not the key's bare SHA-256")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM web_idempotency WHERE "
                                    "INSTR(token_xor, 'form') > 0", srv.database), "0",
                  "no plain key")
    edited = _file(gw, idempotency_key="form-nonce-0001", description="someone else's text")
    util.check(edited["ticket"]["ref"] != first["ticket"]["ref"] and not edited["duplicate"]
               and edited["token"] != first["token"],
               f"the same key with another complaint files anew: {edited}")
    stranger = _file(_login(ctx, srv, "gw2"), idempotency_key="form-nonce-0001")
    util.check(stranger["ticket"]["ref"] != first["ticket"]["ref"]
               and stranger["token"] != first["token"],
               "the same key from another account files anew")
    other = _file(gw, idempotency_key="form-nonce-0002")
    util.check(other["ticket"]["ref"] != first["ticket"]["ref"] and not other["duplicate"],
               "another key, another complaint")
    st = gw.ok("complaint.status", ref=first["ticket"]["ref"], token=again["token"])
    util.check_eq(st["complaint"]["ref"], first["ticket"]["ref"], "the returned token works")
    # an expired key is forgotten, and its row reused
    srv.dbinfo.sql("UPDATE web_idempotency SET created_at = UTC_TIMESTAMP(3) - INTERVAL 25 HOUR",
                   srv.database)
    rows = srv.dbinfo.scalar("SELECT COUNT(*) FROM web_idempotency", srv.database)
    late = _file(gw, idempotency_key="form-nonce-0001")
    util.check(late["ticket"]["ref"] != first["ticket"]["ref"] and not late["duplicate"],
               "a key older than 24 h files anew")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM web_idempotency", srv.database), rows,
                  "the expired row was reused")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM web_idempotency WHERE created_at < "
                                    "UTC_TIMESTAMP(3) - INTERVAL 24 HOUR", srv.database),
                  str(int(rows) - 1), "the other expired rows are still there")
    # every 256th filing deletes expired rows, apart from any filing
    for i in range(260):
        gw.send(dict(FORM, id=1000 + i, op="complaint.file"))
    for i in range(260):
        util.check(gw.reply_for(1000 + i, 60.0).get("ok") is True, f"filing {i}")
    util.wait_until(lambda: srv.dbinfo.scalar(
        "SELECT COUNT(*) FROM web_idempotency WHERE created_at < UTC_TIMESTAMP(3) - "
        "INTERVAL 24 HOUR", srv.database) == "0", 10, "expired rows deleted")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM web_idempotency", srv.database), "1",
                  "the fresh row stays")


def test_idempotency_race(ctx):
    """The same key sent on four connections at once files one complaint;
    every caller gets its ref and token."""
    srv = _setup(ctx)
    conns = [_login(ctx, srv, "gw") for _ in range(4)]
    before = _counts(srv)["tickets"]
    for i, conn in enumerate(conns):
        conn.send(dict(FORM, id=100 + i, op="complaint.file", idempotency_key="race-key-0001"))
    replies = [conn.reply_for(100 + i) for i, conn in enumerate(conns)]
    util.check(all(r.get("ok") for r in replies), f"all answered: {replies}")
    util.check_eq(len({(r["ticket"]["ref"], r["token"]) for r in replies}), 1,
                  "one ref and token for all")
    util.check_eq(sorted(r["duplicate"] for r in replies), [False, True, True, True],
                  "one filed, three duplicates")
    util.check_eq(_counts(srv)["tickets"] - before, 1, "one ticket")


def _ticket_row(srv, ref):
    """The columns of a filed complaint that do not depend on when or for
    whom it was filed, with its due instants as offsets from its creation."""
    cols = ("kind", "channel", "IFNULL(severity, '-')", "priority", "state", "site_id",
            "queue_id", "owning_site_id", "IFNULL(language, '-')", "IFNULL(sla_policy_id, '-')",
            "last_event_seq", "version", "enqueued_at = created_at",
            "first_responded_at IS NULL", "status_token_hash IS NOT NULL",
            "TIMESTAMPDIFF(SECOND, created_at, first_response_due)",
            "TIMESTAMPDIFF(SECOND, created_at, resolution_due)",
            "IFNULL(TIMESTAMPDIFF(SECOND, created_at, next_response_due), '-')")
    return srv.dbinfo.scalar(f"SELECT CONCAT_WS('|', {', '.join(cols)}) FROM tickets "
                             f"WHERE ref = '{ref}'", srv.database)


def _clock_rows(srv, ref):
    return srv.dbinfo.scalar(
        "SELECT GROUP_CONCAT(CONCAT_WS('|', c.metric, c.state, c.basis, c.target_ms, "
        "c.warn_percent, c.elapsed_ms, c.since_at = t.created_at, c.started_at = t.created_at, "
        "c.breach_at IS NULL, c.notified) ORDER BY c.metric) FROM ticket_sla_clocks c "
        f"JOIN tickets t ON t.id = c.ticket_id WHERE t.ref = '{ref}'", srv.database)


def _customer_of(srv, ref):
    return int(srv.dbinfo.scalar(f"SELECT customer_id FROM tickets WHERE ref = '{ref}'",
                                 srv.database))


def test_file_batched(ctx):
    """Complaints queued together are filed together, in multi-row
    statements, and each exactly as it would be filed alone: a key repeated
    in the batch or seen before gives the first ticket back, a known
    contact finds its customer (through merges), a contact repeated in the
    batch lands on the customer its first filing made; every ticket has its
    clocks, due times, note, details and a whole chain."""
    srv = _setup(ctx, settings={"database.workers": "1"})
    alice = _login(ctx, srv, "alice")
    gws = [_login(ctx, srv, "gw") for _ in range(8)]
    seen = _file(gws[0], idempotency_key="seen-before-0001", phone="137 0000 0001")
    alone = _file(gws[0], name="Alone", phone="137 0000 0002", email="alone@example.com",
                  urgency="urgent")
    blocker = alice.ok("ticket.create", kind="call", channel="phone", subject="blocker")["ticket"]
    forms = [
        dict(name="Zero", phone="137 0000 1000", idempotency_key="batch-key-0000"),
        dict(name="One", phone=None, email="one@example.com", idempotency_key="batch-key-0001"),
        dict(name="Zero", phone="137 0000 1000", idempotency_key="batch-key-0000"),
        dict(name="Known", phone="+8613800138000"),
        dict(name="Zero again", phone="137 0000 1000", description="second complaint"),
        dict(name="Merged", phone=None, email="lilei@example.com"),
        dict(name="Six", phone="137 0000 0006", email="six@example.com", urgency="urgent"),
        dict(idempotency_key="seen-before-0001", phone="137 0000 0001"),
    ]
    before_rows = _counts(srv)
    before, _ = admin.metrics(srv.admin_port)
    holder = srv.dbinfo.session(srv.database)
    try:
        holder.stdin.write(f"START TRANSACTION;\nSELECT id FROM tickets WHERE id = "
                           f"{blocker['id']} FOR UPDATE;\n")
        holder.stdin.flush()
        util.check_eq(holder.stdout.readline().strip(), str(blocker["id"]), "row locked")
        alice.send({"id": 900, "op": "ticket.note", "ticket": blocker["id"],
                    "body": "holds the only worker"})
        time.sleep(util.scaled(0.5))
        for i, form in enumerate(forms):
            full = dict(FORM)
            full.update(form)
            gws[i].send(dict({k: v for k, v in full.items() if v is not None},
                             id=100 + i, op="complaint.file"))
            time.sleep(util.scaled(0.1))  # queued in this order
        time.sleep(util.scaled(0.5))
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
    util.check(alice.reply_for(900, 30.0).get("ok") is True, "the note")
    r = [gws[i].reply_for(100 + i, 30.0) for i in range(len(forms))]
    for i, reply in enumerate(r):
        util.check(reply.get("ok") is True, f"filing {i}: {reply}")
    after, _ = admin.metrics(srv.admin_port)

    def grew(name):
        return after[name] - before[name]

    # one batch, or two when a job of the server's own (a rollup, a purge)
    # was queued between the filings and cut the group
    util.check(1 <= grew("cc_db_write_batches_total") <= 2,
               f"batched: {grew('cc_db_write_batches_total')} batches")
    util.check_eq(grew("cc_db_write_batch_jobs_total"), 8, "of all eight filings")
    util.check_eq(grew("cc_db_write_batch_later_total"), 5,
                  "five filed after it: two repeated keys, a known phone, a repeated phone, "
                  "a merged customer's e-mail")
    refs = [x["ticket"]["ref"] for x in r]
    util.check_eq([x["duplicate"] for x in r],
                  [False, False, True, False, False, False, False, True], "duplicates")
    util.check_eq((refs[2], r[2]["token"]), (refs[0], r[0]["token"]), "a key repeated in the batch")
    util.check_eq((refs[7], r[7]["token"]), (seen["ticket"]["ref"], seen["token"]),
                  "a key seen before")
    util.check_eq(len(set(refs)), 7, "six new tickets and the one seen before")
    rows = _counts(srv)
    util.check_eq(rows["tickets"] - before_rows["tickets"], 6, "six new tickets")
    util.check_eq(rows["customers"] - before_rows["customers"], 3, "three new customers")
    util.check_eq(rows["customer_contacts"] - before_rows["customer_contacts"], 4,
                  "their four contacts")
    util.check_eq(rows["web_idempotency"] - before_rows["web_idempotency"], 2, "two new keys")
    util.check_eq(_customer_of(srv, refs[4]), _customer_of(srv, refs[0]),
                  "a phone repeated in the batch finds the customer its first filing made")
    util.check_eq(_customer_of(srv, refs[3]), 7001, "a known phone finds its customer")
    util.check_eq(_customer_of(srv, refs[5]), 7003, "a merged customer's e-mail, the survivor")
    six = _customer_of(srv, refs[6])
    util.check_eq(srv.dbinfo.scalar(
        "SELECT GROUP_CONCAT(CONCAT(kind, ':', value, ':', is_primary) ORDER BY kind) FROM "
        f"customer_contacts WHERE customer_id = {six}", srv.database),
        "phone:+8613700000006:1,email:six@example.com:0", "the contacts of a new customer")
    util.check_eq(srv.dbinfo.scalar(f"SELECT CONCAT_WS('|', name, site_id, language) FROM "
                                    f"customers WHERE id = {six}", srv.database),
                  srv.dbinfo.scalar("SELECT CONCAT_WS('|', 'Six', site_id, language) FROM "
                                    f"customers WHERE id = {_customer_of(srv, alone['ticket']['ref'])}",
                                    srv.database), "the customer as one filed alone")
    util.check_eq(_ticket_row(srv, refs[6]), _ticket_row(srv, alone["ticket"]["ref"]),
                  "the ticket as one filed alone")
    util.check_eq(_clock_rows(srv, refs[6]), _clock_rows(srv, alone["ticket"]["ref"]),
                  "its clocks as one filed alone")
    for i in (0, 1, 3, 4, 5, 6):
        _verify(srv, refs[i])
        util.check_eq(srv.dbinfo.scalar(
            "SELECT CONCAT_WS('|', (SELECT COUNT(*) FROM ticket_notes n WHERE n.ticket_id = t.id "
            "AND n.visibility = 'customer'), (SELECT COUNT(*) FROM web_complaints w WHERE "
            "w.ticket_id = t.id), (SELECT COUNT(*) FROM ticket_sla_clocks c WHERE c.ticket_id "
            "= t.id), (SELECT COUNT(*) FROM ticket_events e WHERE e.ticket_id = t.id)) FROM "
            f"tickets t WHERE t.ref = '{refs[i]}'", srv.database), "1|1|3|1",
            f"filing {i}: note, details, clocks, create event")
        st = gws[0].ok("complaint.status", ref=refs[i], token=r[i]["token"])
        util.check_eq(st["complaint"]["ref"], refs[i], f"filing {i}: its token works")
    util.check_eq(json.loads(srv.dbinfo.scalar(
        f"SELECT e.detail FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id WHERE "
        f"t.ref = '{refs[0]}'", srv.database))["customer"], "created", "the event's detail")
    listed = _login(ctx, srv, "sue").ok("ticket.list", queue="complaints")
    util.check(set(refs) <= {t["ref"] for t in listed["tickets"]},
               f"every batched complaint is listed in its queue: {util.shorten(listed)}")


def _queue_behind_blocker(ctx, srv, alice, gws, forms, during):
    """Hold the only worker on a locked ticket, queue forms in order, run
    during(srv) while they wait, then release."""
    blocker = alice.ok("ticket.create", kind="call", channel="phone", subject="blocker")["ticket"]
    holder = srv.dbinfo.session(srv.database)
    holder.stdin.write(f"START TRANSACTION;\nSELECT id FROM tickets WHERE id = "
                       f"{blocker['id']} FOR UPDATE;\n")
    holder.stdin.flush()
    util.check_eq(holder.stdout.readline().strip(), str(blocker["id"]), "row locked")
    alice.send({"id": 900, "op": "ticket.note", "ticket": blocker["id"], "body": "hold"})
    time.sleep(util.scaled(0.5))
    for i, form in enumerate(forms):
        full = dict(FORM)
        full.update(form)
        gws[i].send(dict({k: v for k, v in full.items() if v is not None},
                         id=100 + i, op="complaint.file"))
        time.sleep(util.scaled(0.1))
    time.sleep(util.scaled(0.3))
    holder.stdin.write("ROLLBACK;\n")
    holder.stdin.close()
    holder.wait(timeout=10)
    during(srv)
    util.check(alice.reply_for(900, 30.0).get("ok") is True, "the note")

def test_lost_connection_mid_batch(ctx):
    """The worker's connection dies while the batch waits on a row lock
    (KILL CONNECTION): the group must be rolled back without touching the
    closed handle, and every filing answered."""
    srv = _setup(ctx, settings={"database.workers": "1"})
    alice = _login(ctx, srv, "alice")
    gws = [_login(ctx, srv, "gw") for _ in range(4)]
    forms = [dict(name=f"K{i}", phone=f"137 0000 20{i:02d}") for i in range(4)]
    # an uncommitted contact the batch's INSERT will wait on (the plain
    # read of known contacts does not see it)
    lock = srv.dbinfo.session(srv.database)
    lock.stdin.write("START TRANSACTION;\nINSERT INTO customers (id, name) VALUES (9901, 'x');\n"
                     "INSERT INTO customer_contacts (customer_id, kind, value) VALUES "
                     "(9901, 'phone', '+8613700002002');\nSELECT 'held';\n")
    lock.stdin.flush()
    util.check_eq(lock.stdout.readline().strip(), "held", "contact held")

    def kill_worker(srv):
        deadline = time.time() + util.scaled(10)
        victim = None
        while time.time() < deadline and victim is None:
            rows = srv.dbinfo.sql("SELECT id FROM information_schema.processlist WHERE "
                                  "info LIKE 'INSERT INTO customer_contacts%'")
            victim = rows[0][0] if rows else None
            time.sleep(0.1)
        util.check(victim is not None, "the batch waits on the held contact")
        srv.dbinfo.sql(f"KILL CONNECTION {victim}")
        time.sleep(util.scaled(0.3))
        lock.stdin.write("ROLLBACK;\n")
        lock.stdin.close()
        lock.wait(timeout=10)

    _queue_behind_blocker(ctx, srv, alice, gws, forms, kill_worker)
    r = [gws[i].reply_for(100 + i, 30.0) for i in range(len(forms))]
    util.check(all(x.get("ok") is True for x in r), f"all filed after the reconnect: {r}")
    util.check_eq(len({x["ticket"]["ref"] for x in r}), 4, "four tickets")

def test_later_refused(ctx):
    """A complaint left for later in a batch is refused (its contact's
    customer is merged through too many others): the group is split, it
    gets its own refusal, the others are filed once each."""
    srv = _setup(ctx, settings={"database.workers": "1"})
    ids = list(range(8101, 8112))
    srv.dbinfo.sql("INSERT INTO customers (id, name) VALUES " +
                   ", ".join(f"({i}, 'm{i}')" for i in ids) + ";\n" +
                   "".join(f"UPDATE customers SET merged_into = {b}, merged_at = "
                           f"UTC_TIMESTAMP(3) WHERE id = {a};\n" for a, b in zip(ids, ids[1:])) +
                   "INSERT INTO customer_contacts (customer_id, kind, value) VALUES "
                   "(8101, 'phone', '+8613700006001');\n", srv.database)
    alice = _login(ctx, srv, "alice")
    gws = [_login(ctx, srv, "gw") for _ in range(4)]
    forms = [dict(name="A", phone="137 0000 6000"), dict(name="B", phone="137 0000 6001"),
             dict(name="C", phone="137 0000 6002"), dict(name="D", phone="137 0000 6003")]
    before = _counts(srv)
    _queue_behind_blocker(ctx, srv, alice, gws, forms, lambda s: None)
    r = [gws[i].reply_for(100 + i, 30.0) for i in range(4)]
    util.check_eq([x.get("ok") is True for x in r], [True, False, True, True], f"replies {r}")
    util.check_eq(r[1]["error"]["code"], "conflict", "its own refusal")
    after = _counts(srv)
    util.check_eq(after["tickets"] - before["tickets"], 4, "three tickets once each, and the blocker")
    util.check_eq(after["web_complaints"] - before["web_complaints"], 3, "three complaints")
    util.check_eq(after["customers"] - before["customers"], 3, "three new customers")

def test_stale_key_contact_order(ctx):
    """A complaint whose key is stale (filed anew) and a later complaint of
    the batch with the same phone: filed in queue order, the first makes the
    customer and the second finds it, as filed alone one after the other."""
    srv = _setup(ctx, settings={"database.workers": "1"})
    alice = _login(ctx, srv, "alice")
    gws = [_login(ctx, srv, "gw") for _ in range(2)]
    first = dict(name="First", phone="137 0000 7000", idempotency_key="stale-key-0001")
    _file(gws[0], **first)
    srv.dbinfo.sql("UPDATE web_idempotency SET created_at = created_at - INTERVAL 2 DAY;\n"
                   "UPDATE customer_contacts SET value = '+8613999990000' "
                   "WHERE value = '+8613700007000';\n", srv.database)
    forms = [first, dict(name="Second", phone="137 0000 7000")]
    _queue_behind_blocker(ctx, srv, alice, gws, forms, lambda s: None)
    r = [gws[i].reply_for(100 + i, 30.0) for i in range(2)]
    util.check(all(x.get("ok") for x in r), f"filed: {r}")
    util.check_eq(r[0]["duplicate"], False, "a stale key files anew")
    c0, c1 = _customer_of(srv, r[0]["ticket"]["ref"]), _customer_of(srv, r[1]["ticket"]["ref"])
    util.check_eq(c0, c1, "one customer for the phone")
    util.check_eq(srv.dbinfo.scalar(f"SELECT name FROM customers WHERE id = {c0}", srv.database),
                  "First", "the customer the first complaint in queue order made")

def test_concurrent_batches(ctx):
    """Two workers filing overlapping complaints at once (repeated phones,
    repeated keys): every filing answered ok, one ticket a key, one
    customer a phone, whole chains."""
    rnd = random.Random(7)
    srv = _setup(ctx, settings={"database.workers": "2"})
    n = 24
    gws = [_login(ctx, srv, "gw") for _ in range(n)]
    before, _ = admin.metrics(srv.admin_port)
    sent = []
    for rnd_no in range(4):
        batch = []
        for i in range(n):
            p = rnd.randrange(8)
            form = dict(FORM, name=f"P{p}", phone=f"137 0000 4{p:03d}",
                        description=f"r{rnd_no} c{i}")
            if rnd.random() < 0.5:
                k = rnd.randrange(6)
                form.update(idempotency_key=f"conc-key-{k:04d}", description=f"key {k}",
                            name=f"K{k}", phone=f"137 0000 50{k:02d}")
            batch.append(form)
        for i, form in enumerate(batch):
            gws[i].send(dict(form, id=1000 * rnd_no + i, op="complaint.file"))
        for i, form in enumerate(batch):
            rep = gws[i].reply_for(1000 * rnd_no + i, 60.0)
            util.check(rep.get("ok") is True, f"filing {rnd_no}/{i}: {rep}")
            sent.append((form, rep))
    after, _ = admin.metrics(srv.admin_port)
    util.check(after["cc_db_write_batches_total"] > before["cc_db_write_batches_total"],
               "some batches ran")
    bykey = {}
    for form, rep in sent:
        if "idempotency_key" in form:
            bykey.setdefault(form["idempotency_key"], []).append(rep)
    for k, reps in bykey.items():
        util.check_eq(len({(r["ticket"]["ref"], r["token"]) for r in reps}), 1, f"{k}: one ticket")
        util.check_eq(sum(1 for r in reps if not r["duplicate"]), 1, f"{k}: filed once")
    refs = {rep["ticket"]["ref"] for _, rep in sent}
    nokey = sum(1 for form, _ in sent if "idempotency_key" not in form)
    util.check_eq(len(refs), nokey + len(bykey), "one ticket a filing or key")
    util.check_eq(int(srv.dbinfo.scalar("SELECT COUNT(*) FROM tickets WHERE channel = 'web'",
                                        srv.database)), len(refs), "no ticket written twice")
    util.check_eq(srv.dbinfo.scalar(
        "SELECT COUNT(*) FROM (SELECT w.contact_phone FROM web_complaints w JOIN tickets t ON "
        "t.id = w.ticket_id GROUP BY w.contact_phone HAVING COUNT(DISTINCT t.customer_id) > 1) x",
        srv.database), "0", "one customer a phone")
    for ref in sorted(refs)[:10]:
        _verify(srv, ref)
    print("metrics", {k: after[k] - before[k] for k in after if "batch" in k or "split" in k})


def test_refusals(ctx):
    """Every refusal names its field and writes nothing; agents may not call
    the web ops; a missing complaint queue is unavailable and logged."""
    srv = _setup(ctx)
    gw = _login(ctx, srv, "gw")
    before = _counts(srv)
    form = dict(FORM)
    cases = [
        ({"name": None}, "bad_request", "name"),
        ({"name": "x" * 129}, "bad_request", "name"),
        ({"phone": None}, "bad_request", "phone"),
        ({"phone": "call me"}, "bad_request", "phone"),
        ({"email": "not-an-address"}, "bad_request", "email"),
        ({"description": "长" * 4001}, "bad_request", "description"),
        ({"description": None}, "bad_request", "description"),
        ({"category": "weather"}, "bad_request", "category"),
        ({"category": "x" * 300}, "bad_request", "category"),
        ({"resolution": "revenge"}, "bad_request", "resolution"),
        ({"urgency": "now"}, "bad_request", "urgency"),
        ({"language": "fr"}, "bad_request", "language"),
        ({"order": "S" * 65}, "bad_request", "order"),
        ({"idempotency_key": "short"}, "bad_request", "idempotency_key"),
        ({"idempotency_key": "nonce-with-ü-inside"}, "bad_request", "idempotency_key"),
    ]
    for change, code, field in cases:
        args = dict(form)
        args.update(change)
        args = {k: v for k, v in args.items() if v is not None}
        _field_error(gw.request("complaint.file", **args), code, field)
    util.check_eq(_counts(srv), before, "refusals write nothing")
    # exactly at the limits is fine
    _file(gw, name="名" * 128, description="长" * 4000, order="S" * 64)
    before = _counts(srv)
    # other errors keep their shape: no field
    err = gw.request("no.such.op")
    util.check("field" not in err["error"], f"no field on {err}")

    alice = _login(ctx, srv, "alice")
    for op, args in (("complaint.file", FORM), ("complaint.status", {"ref": "x", "token": "y"}),
                     ("complaint.csat", {"ref": "x", "token": "y", "score": 5}),
                     ("order.upsert", {"order": "SO-1"})):
        wire.check_error(alice.request(op, **args), "forbidden")
    util.check_eq(_counts(srv), before, "forbidden calls write nothing")

    other = _setup(ctx, settings={"web.complaint_queue": "nowhere"})
    gw2 = _login(ctx, other, "gw")
    counts = _counts(other)
    wire.check_error(gw2.request("complaint.file", **FORM), "unavailable")
    other.wait_log(r"no complaint queue.*queue=nowhere")
    util.check_eq(_counts(other), counts, "nothing written without the queue")


def test_status_timeline_csat(ctx):
    """Status by ref and token (a wrong token and an unknown ref alike); the
    timeline shows what the customer may see; a rating before resolution is
    refused, after it accepted once."""
    srv = _setup(ctx)
    gw = _login(ctx, srv, "gw")
    r = _file(gw)
    ref, token = r["ticket"]["ref"], r["token"]
    wrong = gw.request("complaint.status", ref=ref, token="A" * 43)
    unknown = gw.request("complaint.status", ref="T000101-AAAAAA", token=token)
    wire.check_error(wrong, "not_found", "no complaint with this reference and token")
    util.check_eq(wrong["error"], unknown["error"], "a wrong token and an unknown ref alike")
    sue = _login(ctx, srv, "sue")
    plain = sue.ok("ticket.create", kind="complaint", channel="phone", subject="by phone")
    util.check_eq(gw.request("complaint.status", ref=plain["ticket"]["ref"], token=token)["error"],
                  wrong["error"], "a ticket without a token alike")

    st = gw.ok("complaint.status", ref=ref, token=token)["complaint"]
    util.check_eq((st["state"], st["next_step"], st["category"], st["resolution"],
                   st["urgency"], st["language"]),
                  ("queued", "received", "delivery", "refund", "normal", "zh-CN"), "received")
    util.check_eq([e["kind"] for e in st["timeline"]], ["created", "customer"], "timeline")
    util.check_eq(st["timeline"][1]["text"], FORM["description"], "the description")
    util.check_eq((st["first_response"]["state"], st["first_response"]["met_at"],
                   st["first_response"]["breached"]), ("running", None, False), "clock")
    util.check(st["first_response"]["due_at"], "first response due")
    util.check_eq(st["csat"], {"allowed": False, "score": None, "comment": None}, "no rating")
    wire.check_error(gw.request("complaint.csat", ref=ref, token=token, score=5), "conflict",
                     "the complaint is not resolved yet")

    alice = _login(ctx, srv, "alice")
    alice.ok("agent.ready")
    offer = _event(alice, "offer")
    util.check_eq(offer["ticket"]["ref"], ref, "the complaint is routed")
    t = alice.ok("offer.accept", ticket=ref)["ticket"]
    st = gw.ok("complaint.status", ref=ref, token=token)["complaint"]
    util.check_eq(st["next_step"], "assigned", "an agent has it, no answer yet")
    alice.ok("ticket.note", ticket=ref, body="internal: customer sounds angry, check fraud")
    alice.ok("ticket.note", ticket=ref, body="我们已联系快递公司。", visibility="customer")
    alice.ok("ticket.resolve", ticket=ref, version=t["version"], code="refunded",
             summary="refund issued")
    st = gw.ok("complaint.status", ref=ref, token=token)["complaint"]
    util.check_eq([(e["kind"], e.get("state")) for e in st["timeline"]],
                  [("created", None), ("customer", None), ("state", "in_progress"),
                   ("reply", None), ("state", "resolved")], "the customer's timeline")
    util.check_eq(st["timeline"][3]["text"], "我们已联系快递公司。", "the staff reply")
    dump = json.dumps(st, ensure_ascii=False)
    for secret in ("internal:", "alice", "Alice", "offered", "refunded", "refund issued"):
        util.check(secret not in dump, f"{secret!r} leaked into {dump}")
    util.check_eq((st["state"], st["next_step"], st["csat"]["allowed"]),
                  ("resolved", "resolved", True), "resolved, may be rated")
    util.check(st["first_response"]["met_at"] and st["first_response"]["state"] == "stopped",
               f"first response met: {st['first_response']}")
    util.check(st["resolution_clock"]["met_at"], f"resolved: {st['resolution_clock']}")

    wire.check_error(gw.request("complaint.csat", ref=ref, token="B" * 43, score=5),
                     "not_found", "no complaint with this reference and token")
    _field_error(gw.request("complaint.csat", ref=ref, token=token, score=6), "bad_request",
                 "score")
    rated = gw.ok("complaint.csat", ref=ref, token=token, score=4, comment="快，谢谢")
    util.check_eq((rated["csat"]["score"], rated["csat"]["comment"]), (4, "快，谢谢"), "rated")
    util.check("_stats" not in rated, f"internal members stay inside: {rated}")
    util.check_eq(sue.ok("queue.stats", scope="queue", queue="complaints")["stats"]["csat"], 4,
                  "the rating counts in the queue's CSAT today")
    wire.check_error(gw.request("complaint.csat", ref=ref, token=token, score=1), "conflict",
                     "this complaint was already rated")
    alice_id = srv.dbinfo.scalar("SELECT id FROM agents WHERE username = 'alice'", srv.database)
    util.check_eq(srv.dbinfo.sql("SELECT score, round, agent_id FROM csat", srv.database),
                  [["4", "0", alice_id]], "one rating, for the owner")
    st = gw.ok("complaint.status", ref=ref, token=token)["complaint"]
    util.check_eq(st["csat"], {"allowed": False, "score": 4, "comment": "快，谢谢"}, "shown")
    util.check_eq(sue.ok("ticket.show", ticket=ref)["events"][-1]["op"], "csat",
                  "the rating is on the chain")
    _verify(srv, ref)
    root = _login(ctx, srv, "root")
    util.check_eq(root.ok("complaint.status", ref=ref, token=token)["complaint"]["ref"], ref,
                  "admins may look for support")


def test_orders(ctx):
    """order.upsert creates an order (and its customer), then updates it
    without moving it; a complaint naming the customer's order links it."""
    srv = _setup(ctx)
    gw = _login(ctx, srv, "gw")
    base = {"order": "SO-1001", "amount_minor": 12900, "currency": "CNY",
            "ordered_at": 1763900000000, "status": "paid"}
    first = gw.ok("order.upsert", customer={"member_id": "M-77", "name": "韩梅梅"}, **base)
    util.check_eq((first["created"], first["order"]["external_id"], first["order"]["status"]),
                  (True, "SO-1001", "paid"), "created")
    cust = first["order"]["customer_id"]
    util.check_eq(srv.dbinfo.sql(f"SELECT kind, value FROM customer_contacts WHERE customer_id "
                                 f"= {cust}", srv.database), [["member_id", "M-77"]],
                  "a new customer by member id")
    upd = dict(base, amount_minor=9900, status="shipped")
    second = gw.ok("order.upsert", customer={"phone": "13800138000"}, **upd)
    util.check_eq((second["created"], second["order"]["id"], second["order"]["customer_id"],
                   second["order"]["status"]),
                  (False, first["order"]["id"], cust, "shipped"), "updated, not moved")
    util.check_eq(srv.dbinfo.scalar("SELECT CONCAT(amount_minor, ':', status) FROM orders "
                                    "WHERE external_id = 'SO-1001'", srv.database),
                  "9900:shipped", "stored")
    mine = gw.ok("order.upsert", customer={"phone": "+86 138 0013 8000"},
                 **dict(base, order="SO-2002"))
    util.check_eq(mine["order"]["customer_id"], 7001, "found by phone")
    for change, field in (({"currency": "cny"}, "currency"), ({"status": "lost"}, "status"),
                          ({"amount_minor": -1}, "amount_minor")):
        _field_error(gw.request("order.upsert", customer={"member_id": "M-1"},
                                **dict(base, **change)), "bad_request", field)
    _field_error(gw.request("order.upsert", customer={}, **base), "bad_request", "customer")
    root = _login(ctx, srv, "root")
    root.ok("order.upsert", customer={"member_id": "M-78"}, **dict(base, order="SO-3003"))

    sue = _login(ctx, srv, "sue")
    linked = _file(gw, phone="13800138000", order="SO-2002")
    util.check_eq(sue.ok("ticket.show", ticket=linked["ticket"]["ref"])["ticket"]["order_id"],
                  mine["order"]["id"], "the customer's own order is linked")
    foreign = _file(gw, phone="13800138000", order="SO-1001")
    shown = sue.ok("ticket.show", ticket=foreign["ticket"]["ref"])
    util.check_eq((shown["ticket"]["order_id"], shown["complaint"]["order"]), (None, "SO-1001"),
                  "another customer's order stays text")
