"""customer.search and customer.show: every search key, normalised phones and
e-mail, Chinese name prefixes, merged customers, and the customer 360 view
with its numbers worked out by hand from the rows inserted here."""

import os
import unicodedata

from itest import util, wire

WANG, WANG_MERGED, LI = 1001, 1002, 1003

# (external id, amount in fen, refunded fen, status, days ago)
ORDERS = [
    ("SO-1", 120000, 0, "delivered", 10),
    ("SO-2", 80000, 0, "delivered", 40),
    ("SO-3", 50000, 50000, "refunded", 20),
    ("SO-4", 300000, 0, "delivered", 200),
    ("SO-5", 99900, 0, "cancelled", 5),
    ("SO-6", 60000, 10000, "delivered", 400),
]


def _seed(srv):
    """Three customers (one merged into another) with their whole history."""
    agent = "(SELECT id FROM agents WHERE username = 'alice')"
    site = "(SELECT id FROM sites WHERE code = 'SH')"
    ago = "UTC_TIMESTAMP(3) - INTERVAL {} DAY".format
    orders = ",\n".join(
        f"('{ext}', {WANG}, {amount}, {refunded}, '{status}', {ago(days)})"
        for ext, amount, refunded, status, days in ORDERS)
    srv.dbinfo.sql(f"""
INSERT INTO customers (id, name, site_id, region, language, value_tier) VALUES
  ({WANG}, '王芳', {site}, '上海', 'zh-CN', 'regular'),
  ({WANG_MERGED}, '王小芳', {site}, NULL, 'zh-CN', 'new'),
  ({LI}, '李雷', {site}, NULL, 'zh-CN', 'new');
UPDATE customers SET merged_into = {WANG}, merged_at = UTC_TIMESTAMP(3) WHERE id = {WANG_MERGED};
INSERT INTO customer_contacts (customer_id, kind, value, is_primary) VALUES
  ({WANG}, 'phone', '+8613800138000', 1),
  ({WANG}, 'phone', '+8613912345678', 0),
  ({WANG}, 'email', 'wang.fang@example.com', 0),
  ({WANG}, 'member_id', 'M-0001', 0),
  ({WANG_MERGED}, 'phone', '+8613700000000', 1),
  ({LI}, 'phone', '+8615000000000', 1);
INSERT INTO orders (external_id, customer_id, amount_minor, refunded_minor, status, ordered_at)
VALUES {orders};
INSERT INTO tickets (id, ref, kind, channel, severity, state, subject, customer_id,
                     owning_site_id, created_at, closed_at) VALUES
  (5001, 'T-5001', 'complaint', 'phone', 2, 'new', '快递破损', {WANG}, {site}, {ago(30)}, NULL),
  (5002, 'T-5002', 'inquiry', 'web', NULL, 'closed', 'size question', {WANG}, {site},
   {ago(25)}, {ago(24)}),
  (5003, 'T-5003', 'return_refund', 'phone', NULL, 'new', '退货', {WANG}, {site}, {ago(20)},
   NULL),
  (5004, 'T-5004', 'call', 'phone', NULL, 'closed', 'old account', {WANG_MERGED}, {site},
   {ago(300)}, {ago(299)}),
  (5005, 'T-5005', 'complaint', 'phone', 1, 'new', 'not hers', {LI}, {site}, {ago(1)}, NULL);
INSERT INTO ticket_notes (ticket_id, author_kind, author_agent_id, body, created_at) VALUES
  (5001, 'agent', {agent}, 'first contact', {ago(29)}),
  (5001, 'agent', {agent}, '已联系客户，等待退款', {ago(28)}),
  (5003, 'system', NULL, 'return label sent', {ago(19)});
INSERT INTO compensations (ticket_id, customer_id, kind, amount_minor, state, reason,
                           requested_by, approver_id, decided_at, issued_at) VALUES
  (5001, {WANG}, 'coupon', 2000, 'issued', 'damaged parcel', {agent}, {agent},
   UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)),
  (5001, {WANG}, 'gift', 3000, 'issued', 'second apology', {agent}, {agent},
   UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)),
  (5001, {WANG}, 'refund', 50000, 'requested', 'refund', {agent}, NULL, NULL, NULL),
  (5005, {LI}, 'coupon', 9900, 'issued', 'not hers', {agent}, {agent},
   UTC_TIMESTAMP(3), UTC_TIMESTAMP(3));
INSERT INTO csat (ticket_id, score, comment, agent_id) VALUES (5002, 4, '很满意', {agent});
INSERT INTO followups (customer_id, ticket_id, purpose, due_at, assignee_agent_id,
                       done_at, outcome) VALUES
  ({WANG}, 5001, 'complaint_check', UTC_TIMESTAMP(3) + INTERVAL 2 DAY, {agent}, NULL, NULL),
  ({WANG}, NULL, 'care', {ago(3)}, NULL, {ago(2)}, 'reached');
""", srv.database)


def _setup(ctx):
    srv = ctx.server(agents={"alice": "pw-alice"})
    _seed(srv)
    conn = ctx.connect(srv)
    conn.login("alice", "pw-alice")
    return srv, conn


def _ids(reply):
    return [c.get("id") for c in reply.get("customers", [])]


def test_search_keys(ctx):
    """Each key finds the customer, however the phone or e-mail is written;
    merged customers come back as their survivor."""
    _, conn = _setup(ctx)
    for key, value in [("phone", "138 0013 8000"), ("phone", "+86 138-0013-8000"),
                       ("phone", "0086 13912345678"), ("phone", "13700000000"),
                       ("email", "  Wang.Fang@EXAMPLE.com "), ("member_id", "M-0001"),
                       ("order_id", "SO-3"), ("name", "王"), ("name", "王芳"),
                       ("name", "王小")]:
        reply = conn.ok("customer.search", **{key: value})
        util.check_eq(_ids(reply), [WANG], f"search {key}={value!r}")
        util.check_eq(reply.get("key"), key, "reply key")
    found = conn.ok("customer.search", phone="138-0013-8000")
    util.check_eq(found.get("value"), "+8613800138000", "normalised phone in the reply")
    wang = found["customers"][0]
    util.check_eq(wang, {"id": WANG, "name": "王芳", "site": "SH", "tier": "regular",
                         "language": "zh-CN",
                         "contact": {"kind": "phone", "value": "+8613800138000"}},
                  "search result")

    util.check_eq(_ids(conn.ok("customer.search", name="李")), [LI], "name 李")
    util.check_eq(_ids(conn.ok("customer.search", name="王%")), [], "% is not a wildcard")
    util.check_eq(_ids(conn.ok("customer.search", phone="13800000000")), [], "unknown phone")
    util.check_eq(_ids(conn.ok("customer.search", order_id="so-3")), [],
                  "order ids are compared exactly")
    # limit bounds the answer
    two = conn.ok("customer.search", name="王", limit=1)
    util.check_eq(_ids(two), [WANG], "limit 1")


def test_search_bad_arguments(ctx):
    """Missing, doubled, malformed and overlong keys are refused by name."""
    _, conn = _setup(ctx)
    wire.check_error(conn.request("customer.search"), "bad_request", "one of phone")
    wire.check_error(conn.request("customer.search", phone="1", name="王"), "bad_request",
                     "only one")
    wire.check_error(conn.request("customer.search", phone="call me"), "bad_request", "phone")
    wire.check_error(conn.request("customer.search", phone="123"), "bad_request", "phone")
    wire.check_error(conn.request("customer.search", email="no-at-sign"), "bad_request",
                     "email")
    wire.check_error(conn.request("customer.search", name=7), "bad_request", "name")
    wire.check_error(conn.request("customer.search", name=""), "bad_request", "name")
    wire.check_error(conn.request("customer.search", name="王" * 200), "too_large", "name")
    wire.check_error(conn.request("customer.search", member_id="m" * 255), "too_large",
                     "member_id")
    wire.check_error(conn.request("customer.search", name="王", limit=51), "bad_request",
                     "limit")
    wire.check_error(conn.request("customer.search", name="王", limit="5"), "bad_request",
                     "limit")
    util.check(conn.is_open(), "connection closed after bad arguments")


def test_show_360(ctx):
    """Every section of the view, with the numbers worked out by hand."""
    _, conn = _setup(ctx)
    view = conn.ok("customer.show", customer_id=WANG)
    cust = view.get("customer", {})
    util.check_eq((cust.get("id"), cust.get("name"), cust.get("site"), cust.get("region")),
                  (WANG, "王芳", "SH", "上海"), "profile")
    util.check_eq(cust.get("merged_ids"), [WANG_MERGED], "customers merged into it")
    util.check("resolved_from" not in view, f"resolved_from on a survivor: {view}")
    contacts = {(c["kind"], c["value"], c["primary"]) for c in view.get("contacts", [])}
    util.check_eq(contacts, {("phone", "+8613800138000", True),
                             ("phone", "+8613912345678", False),
                             ("email", "wang.fang@example.com", False),
                             ("member_id", "M-0001", False),
                             ("phone", "+8613700000000", True)}, "contacts")

    # Not cancelled: SO-1,2,3,4,6 (5 orders). Kept (not wholly refunded):
    # SO-1,2,4,6 (4). Returned or refunded: SO-3 (1) -> return rate 1/5.
    # Lifetime value: 1200 + 800 + 0 + 3000 + (600 - 100) = 5500 yuan.
    counted = [o for o in ORDERS if o[3] != "cancelled"]
    ltv = sum(amount - refunded for _, amount, refunded, _, _ in counted)
    util.check_eq(ltv, 550000, "the test's own sum")
    # R: last kept order 10 days ago (<= 30) -> 5; F: 4 kept (>= 3, < 5) -> 3;
    # M: 5,500 yuan (>= 5,000, < 15,000) -> 4. R 5, F 3 -> "potential".
    # Tier: first order 400 days ago (not new), F 3 (not loyal), >= 365 -> "old".
    value = view.get("value", {})
    util.check_eq(value.get("rfm"), {"recency": 5, "frequency": 3, "monetary": 4,
                                     "segment": "potential"}, "rfm")
    util.check_eq(value.get("tier"), "old", "value tier")
    util.check_eq((value.get("orders"), value.get("kept_orders"), value.get("returned_orders")),
                  (5, 4, 1), "order counts")
    util.check_eq(value.get("lifetime_value_minor"), ltv, "lifetime value")
    util.check_eq(value.get("refunded_minor"), 60000, "refunded")
    util.check_eq(value.get("return_rate"), 0.2, "return rate")
    util.check_eq((value.get("currency"), value.get("mixed_currencies")), ("CNY", False),
                  "currency")
    util.check(isinstance(value.get("last_order_at"), int), f"last_order_at: {value}")

    tickets = view.get("tickets", {})
    items = tickets.get("items", [])
    util.check_eq([t["id"] for t in items], [5004, 5003, 5002, 5001], "tickets, newest first")
    util.check_eq(tickets.get("next_before_id"), None, "no further page")
    first = {t["id"]: t for t in items}
    util.check_eq((first[5001]["kind"], first[5001]["severity"], first[5001]["state"],
                   first[5001]["last_note"]),
                  ("complaint", 2, "new", "已联系客户，等待退款"), "complaint ticket")
    util.check_eq(first[5003]["last_note"], "return label sent", "system note")
    util.check_eq(first[5002]["last_note"], None, "ticket without notes")
    util.check_eq(first[5004]["customer_id"], WANG_MERGED, "merged customer's ticket")

    util.check_eq([(c["id"], c["severity"]) for c in view.get("open_complaints", [])],
                  [(5001, 2)], "open complaints")
    util.check_eq(view.get("compensations"),
                  {"given": {"count": 2, "total_minor": 5000},
                   "pending": {"count": 1, "total_minor": 50000}}, "compensations")
    csat = view.get("csat", [])
    util.check_eq([(c["ticket_ref"], c["score"], c["comment"]) for c in csat],
                  [("T-5002", 4, "很满意")], "csat")
    follow = view.get("followups", [])
    util.check_eq([(f["purpose"], f["ticket_id"], f["assignee"]) for f in follow],
                  [("complaint_check", 5001, "alice")], "open follow-ups")


def test_show_pages_and_merges(ctx):
    """Tickets page by before_id; a merged id shows its survivor; unknown ids
    and bad arguments are refused."""
    _, conn = _setup(ctx)
    page = conn.ok("customer.show", customer_id=WANG, limit=3)["tickets"]
    util.check_eq([t["id"] for t in page["items"]], [5004, 5003, 5002], "page 1")
    util.check_eq(page["next_before_id"], 5002, "page 1 cursor")
    page = conn.ok("customer.show", customer_id=WANG, limit=3, before_id=5002)["tickets"]
    util.check_eq([t["id"] for t in page["items"]], [5001], "page 2")
    util.check_eq(page["next_before_id"], None, "page 2 cursor")

    merged = conn.ok("customer.show", customer_id=WANG_MERGED)
    util.check_eq((merged["customer"]["id"], merged.get("resolved_from")), (WANG, WANG_MERGED),
                  "merged customer resolves to the survivor")

    li = conn.ok("customer.show", customer_id=LI)
    util.check_eq(li["value"]["rfm"], {"recency": 0, "frequency": 0, "monetary": 0,
                                       "segment": "prospect"}, "no orders")
    util.check_eq((li["value"]["tier"], li["value"]["orders"], li["value"]["return_rate"]),
                  ("potential", 0, 0.0), "no orders: tier and rate")
    util.check_eq([c["id"] for c in li["open_complaints"]], [5005], "Li's complaint only")
    util.check_eq(li["compensations"]["given"], {"count": 1, "total_minor": 9900},
                  "Li's compensations only")

    wire.check_error(conn.request("customer.show", customer_id=999999), "not_found")
    wire.check_error(conn.request("customer.show"), "bad_request", "customer_id")
    wire.check_error(conn.request("customer.show", customer_id="1001"), "bad_request",
                     "customer_id")
    wire.check_error(conn.request("customer.show", customer_id=0), "bad_request",
                     "customer_id")
    wire.check_error(conn.request("customer.show", customer_id=WANG, limit=51), "bad_request",
                     "limit")
    wire.check_error(conn.request("customer.show", customer_id=WANG, before_id=-1), "bad_request",
                     "before_id")


def test_needs_login(ctx):
    """The customer ops are for logged-in staff only."""
    srv, _ = _setup(ctx)
    anon = ctx.connect(srv)
    wire.check_error(anon.request("customer.show", customer_id=WANG), "unauthorized")
    wire.check_error(anon.request("customer.search", phone="13800138000"), "unauthorized")


def _cells(line):
    """Terminal cells a line takes: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def test_ccagent_customer_view(ctx):
    """ccagent lays the 360 view out within the terminal's width, Chinese
    text included, with the hand-worked figures."""
    srv, _ = _setup(ctx)
    agent = ctx.ccagent(srv)
    for cols in (80, 132):
        os.environ["COLUMNS"] = str(cols)  # ccagent's output is not a terminal here
        try:
            run = agent.run("-c", f"customer.show customer_id={WANG}", user="alice",
                            password="pw-alice")
        finally:
            os.environ.pop("COLUMNS", None)
        util.check_eq(run.returncode, 0, f"ccagent exit status ({run.stderr!r})")
        out = run.stdout
        for text in ("王芳", "RFM 5/3/4 potential", "LTV 5,500.00", "T-5001", "快递破损",
                     "已联系客户，等待退款", "Compensations  given"):
            util.check_in(text, out, f"the customer view at {cols} columns")
        wide = [line for line in out.splitlines() if _cells(line) > cols]
        util.check(not wide, f"lines wider than {cols} cells: {wide}")
