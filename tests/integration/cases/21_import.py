"""ccimport: customers and orders from CSV into a real database. A mixed file
gives an exact per-line report, keeps the good rows and nothing of the
refused ones (not even a refused customer's contacts), reads the same with
--dry-run while writing nothing, and changes nothing when imported again;
orders find their customers and show in customer.show."""

import os
import pty
import select
import stat
import subprocess
import time

from itest import util

SEEDED = 501  # a customer already in the database before any import

CUSTOMER_HEADER = "member_id,name,phones,emails,site,region,language,value_tier"

# (line, text) of the mixed customers file; lines are joined with CRLF and
# the file starts with a UTF-8 byte order mark. Line 9's record goes on to
# line 10 inside a quoted field.
CUSTOMER_LINES = [
    "M-001,王芳,138 0013 8000;+86 139-1234-5678,Wang.Fang@Example.com,SH,上海,zh-CN,regular",
    'M-002,"Li, Lei","13700000001",li.lei@example.com,,,en,',
    'M-003,Bad "quote",13700000002,,,,,',
    "M-004,Zhang San,12ab,,,,,",
    "M-005," + "名" * 129 + ",13700000005,,,,,",
    "M-006,Chen Jing,13800138000,,,,,",
    "M-007,Ch\udce9n,13700000007,,,,,",  # \xe9 alone: Latin-1, not UTF-8
    'M-008,Zhao Lei,"13700000008;\r\n13700000009",zhao@example.com,SH,,,',
    "M-009,Sun Li,13700000010,boom@example.com,,,,",
    "M-010,Wu Fei,13700000011,,XX,,,",
    "M-011,Qian Wei,13900000000,,,,,",
    "M-001,王芳,,,,,,",
    "M-012,Zhou Xun,13700000012,,,,,,",
    '"M-013",Liu Yang,13700000013,,SH,,,',
]

CUSTOMER_REPORT = [
    "line 4: malformed_csv: '\"' inside an unquoted field (field 2); quote the whole field "
    "and double its quotes",
    'line 5, field phones: bad_value: "12ab" is not a phone number',
    "line 6, field name: too_long: 129 characters; at most 128",
    'line 7, field phones: conflict: "+8613800138000" is also on line 2, for another customer',
    "line 8, field name: bad_utf8: invalid UTF-8 at byte 3; save the file as UTF-8",
    "line 11: database: contact refused by the test trigger",
    'line 12, field site: unknown: no site with code "XX"',
    f'line 13, field phones: conflict: "+8613900000000" belongs to another customer '
    f"(id {SEEDED})",
    'line 14, field member_id: duplicate: "M-001" is also on line 2',
    "line 15: malformed_csv: 9 fields; the header has 8",
]

# phones of refused rows: none may be in the database
REFUSED_PHONES = ["+8613700000002", "+8613700000005", "+8613700000007", "+8613700000010",
                  "+8613700000011", "+8613700000012"]

ORDER_HEADER = "order_id,member_id,phone,email,amount,refunded,currency,ordered_at,status"
ORDER_LINES = [
    "SO-1,M-001,,,1234.50,,CNY,2024-03-01T10:00:00+08:00,delivered",
    "SO-2,,138-0013-8000,,99.9,0,,2024-03-02 12:00:00Z,paid",
    "SO-3,M-002,,,100.00,200.00,,2024-03-03T00:00:00Z,refunded",
    "SO-4,M-404,,,10,,,2024-03-03T00:00:00Z,",
    "SO-5,M-001,13700000001,,10,,,2024-03-03T00:00:00Z,",
    "SO-6,M-002,,,-5,,,2024-03-03T00:00:00Z,",
    "SO-7,M-002,,,10.999,,,2024-03-03T00:00:00Z,",
    "SO-8,M-002,,,10,,RMB,2024-03-03T00:00:00Z,",
    "SO-9,M-002,,,10,,,2024-03-03 10:00,",
    "SO-10,M-002,,,10,,,2024-02-30T00:00:00Z,",
    "SO-11,M-002,,,10,,,2024-03-03T00:00:00Z,lost",
    "SO-1,M-001,,,1,,,2024-03-03T00:00:00Z,",
    "SO-12,,,LI.LEI@example.com,5000,,jpy,2024-03-04T09:30:00.250+09:00,shipped",
]
ORDER_REPORT = [
    "line 4, field refunded: out_of_range: 200.00 is more than the amount 100.00",
    'line 5, field member_id: unknown: no customer with member_id "M-404"',
    'line 6, field phone: conflict: "+8613700000001" is customer {m002}, but member_id '
    '"M-001" is customer {m001}',
    'line 7, field amount: out_of_range: "-5" is negative',
    'line 8, field amount: bad_value: "10.999" has more than 2 decimals',
    'line 9, field currency: bad_value: "RMB" is not an ISO 4217 currency code '
    "(the yuan is CNY)",
    'line 10, field ordered_at: bad_value: "2024-03-03 10:00" has no time zone; add Z or an '
    "offset like +08:00 (or run with --zone)",
    'line 11, field ordered_at: bad_value: "2024-02-30T00:00:00Z" is not a time like '
    "2024-03-01T10:00:00+08:00",
    'line 12, field status: bad_value: "lost" is not one of placed, paid, shipped, delivered, '
    "cancelled, returned, refunded",
    'line 13, field order_id: duplicate: "SO-1" is also on line 2',
]


def _binary(ctx):
    """ccimport, built next to callcentred."""
    path = os.path.join(os.path.dirname(ctx.opts.server), "ccimport")
    util.check(os.access(path, os.X_OK), f"{path} is not built (or not executable)")
    return path


def _run(ctx, srv, *args):
    """Run ccimport with the server's config; (status, stdout, stderr)."""
    argv = [_binary(ctx), "-f", srv.conf] + list(args)
    proc = subprocess.run(argv, capture_output=True, timeout=util.scaled(120),
                          preexec_fn=util.die_with_parent)
    out = proc.stdout.decode()  # strict: the report must be valid UTF-8
    err = proc.stderr.decode()
    for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        util.check(mark not in err, f"sanitizer report from ccimport:\n{err}")
    ctx.note(f"ccimport {' '.join(args[-2:])}: exit {proc.returncode}")
    return proc.returncode, out, err


def _write(ctx, name, header, lines, eol="\n", bom=False):
    """Write a CSV file in the test's folder; lines may carry lone
    surrogates for raw bytes. Returns its path."""
    text = eol.join([header] + lines) + eol
    data = text.encode("utf-8", "surrogateescape")
    path = os.path.join(ctx.dir, name)
    with open(path, "wb") as f:
        f.write((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _summary(out):
    """The counts line of the summary, without the timing."""
    lines = [ln for ln in out.splitlines() if ln.startswith(("customers:", "orders:"))]
    util.check_eq(len(lines), 1, f"one summary line in {out!r}")
    return lines[0].split(" (")[0]


def _report(err):
    """The report lines of stderr (ccimport's own notes left out)."""
    return [ln for ln in err.splitlines() if ln.startswith("line ")]


def _state(srv):
    """Every customer and contact, for before/after comparisons."""
    customers = srv.dbinfo.sql(
        "SELECT id, name, COALESCE(site_id, ''), COALESCE(region, ''), language, value_tier "
        "FROM customers ORDER BY id", srv.database)
    contacts = srv.dbinfo.sql(
        "SELECT customer_id, kind, value, is_primary FROM customer_contacts ORDER BY id",
        srv.database)
    orders = srv.dbinfo.sql(
        "SELECT external_id, customer_id, amount_minor, refunded_minor, currency, status, "
        "ordered_at, updated_at FROM orders ORDER BY id", srv.database)
    return customers, contacts, orders


def _setup(ctx, start=False):
    """A migrated database with one customer, a second site and a trigger
    that fails one e-mail's insert (after its customer and phone)."""
    srv = ctx.server(agents={"alice": "pw-alice"}, start=start)
    srv.dbinfo.sql(f"""
INSERT INTO sites (code, name, time_zone) VALUES ('BJ', 'Beijing', 'Asia/Shanghai');
INSERT INTO customers (id, name) VALUES ({SEEDED}, 'Existing');
INSERT INTO customer_contacts (customer_id, kind, value, is_primary) VALUES
  ({SEEDED}, 'phone', '+8613900000000', 1), ({SEEDED}, 'member_id', 'M-900', 0);
DELIMITER //
CREATE TRIGGER refuse_boom BEFORE INSERT ON customer_contacts FOR EACH ROW
  IF NEW.value = 'boom@example.com' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'contact refused by the test trigger';
  END IF //
DELIMITER ;
""", srv.database)
    return srv


def _customers_file(ctx):
    return _write(ctx, "customers.csv", CUSTOMER_HEADER, CUSTOMER_LINES, eol="\r\n", bom=True)


def _customer_id(srv, member_id):
    return int(srv.dbinfo.scalar(
        "SELECT customer_id FROM customer_contacts WHERE kind = 'member_id' "
        f"AND value = '{member_id}'", srv.database))


def test_customers_mixed_file(ctx):
    """Dry run, import, re-import: one exact report, good rows only, nothing
    of a refused row, nothing written by the dry run or the second import."""
    srv = _setup(ctx)
    path = _customers_file(ctx)
    before = _state(srv)

    code, out, err = _run(ctx, srv, "--dry-run", "customers", path)
    util.check_eq(code, 1, f"dry-run exit status (stderr: {err})")
    util.check_eq(_report(err), CUSTOMER_REPORT, "dry-run report")
    util.check_in("dry run: nothing was written", out, "dry-run summary")
    util.check_eq(_summary(out),
                  "customers: 14 rows: 4 inserted, 0 updated, 0 unchanged, 10 refused",
                  "dry-run counts")
    util.check_eq(_state(srv), before, "database after --dry-run")

    # small batches: savepoints and commits cross batch boundaries
    code, out, err = _run(ctx, srv, "--batch", "3", "customers", path)
    util.check_eq(code, 1, f"import exit status (stderr: {err})")
    util.check_eq(_report(err), CUSTOMER_REPORT, "import report")
    util.check_eq(_summary(out),
                  "customers: 14 rows: 4 inserted, 0 updated, 0 unchanged, 10 refused",
                  "import counts")

    rows = srv.dbinfo.sql(
        "SELECT k.value, c.name, COALESCE(s.code, ''), COALESCE(c.region, ''), c.language, "
        "c.value_tier FROM customers c JOIN customer_contacts k ON k.customer_id = c.id "
        "AND k.kind = 'member_id' LEFT JOIN sites s ON s.id = c.site_id ORDER BY k.value",
        srv.database)
    util.check_eq(rows, [["M-001", "王芳", "SH", "上海", "zh-CN", "regular"],
                         ["M-002", "Li, Lei", "", "", "en", "new"],
                         ["M-008", "Zhao Lei", "SH", "", "zh-CN", "new"],
                         ["M-013", "Liu Yang", "SH", "", "zh-CN", "new"],
                         ["M-900", "Existing", "", "", "zh-CN", "new"]], "customers imported")
    contacts = srv.dbinfo.sql(
        "SELECT m.value, k.kind, k.value, k.is_primary FROM customer_contacts k "
        "JOIN customer_contacts m ON m.customer_id = k.customer_id AND m.kind = 'member_id' "
        "WHERE k.kind <> 'member_id' AND m.value IN ('M-001', 'M-008') ORDER BY k.id",
        srv.database)
    util.check_eq(contacts, [["M-001", "phone", "+8613800138000", "1"],
                             ["M-001", "phone", "+8613912345678", "0"],
                             ["M-001", "email", "wang.fang@example.com", "0"],
                             ["M-008", "phone", "+8613700000008", "1"],
                             ["M-008", "phone", "+8613700000009", "0"],
                             ["M-008", "email", "zhao@example.com", "0"]], "contacts")
    # the trigger failed M-009's e-mail after its customer, member id and
    # phone were inserted: the savepoint took all of them back
    phones = ", ".join(f"'{p}'" for p in REFUSED_PHONES)
    util.check_eq(srv.dbinfo.scalar(
        f"SELECT COUNT(*) FROM customer_contacts WHERE value IN ({phones}) "
        "OR value LIKE 'M-0__' AND value NOT IN ('M-001', 'M-002', 'M-008', 'M-013')",
        srv.database), "0", "contacts of refused rows")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM customers WHERE name IN "
                                    "('Sun Li', 'Wu Fei', 'Qian Wei', 'Chen Jing', 'Zhou Xun')",
                                    srv.database), "0", "refused customers")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM customers", srv.database), "5",
                  "customers in all")
    after = _state(srv)

    code, out, err = _run(ctx, srv, "customers", path)
    util.check_eq(code, 1, "re-import exit status")
    util.check_eq(_report(err), CUSTOMER_REPORT, "re-import report")
    util.check_eq(_summary(out),
                  "customers: 14 rows: 0 inserted, 0 updated, 4 unchanged, 10 refused",
                  "re-import counts")
    util.check_eq(_state(srv), after, "database after the re-import")


def test_customers_update_and_clean_reimport(ctx):
    """A clean file imports with status 0 and again as all unchanged; a
    changed cell updates, an empty one keeps the stored value, and a new
    contact is added beside the old ones."""
    srv = _setup(ctx)
    lines = ["M-100,Ma Li,13700000100,,SH,杭州,zh-CN,potential",
             "M-101,Ma Yun,,ma.yun@example.com,,,,"]
    path = _write(ctx, "clean.csv", CUSTOMER_HEADER, lines)
    code, out, err = _run(ctx, srv, "-q", "customers", path)
    util.check_eq((code, err), (0, ""), "clean import")
    util.check_eq(_summary(out), "customers: 2 rows: 2 inserted, 0 updated, 0 unchanged, "
                  "0 refused", "clean counts")
    state = _state(srv)
    code, out, err = _run(ctx, srv, "customers", path)
    util.check_eq((code, err), (0, ""), "clean re-import")
    util.check_eq(_summary(out), "customers: 2 rows: 0 inserted, 0 updated, 2 unchanged, "
                  "0 refused", "clean re-import counts")
    util.check_eq(_state(srv), state, "nothing changed by the re-import")

    changed = ["M-100,Ma Li,13700000100;13700000199,,BJ,,,loyal",
               "M-101,Ma Yun,,ma.yun@example.com,,,,"]
    path = _write(ctx, "changed.csv", CUSTOMER_HEADER, changed)
    code, out, err = _run(ctx, srv, "customers", path)
    util.check_eq((code, err), (0, ""), "changed import")
    util.check_eq(_summary(out), "customers: 2 rows: 0 inserted, 1 updated, 1 unchanged, "
                  "0 refused", "changed counts")
    cid = _customer_id(srv, "M-100")
    util.check_eq(srv.dbinfo.sql(
        "SELECT s.code, c.region, c.value_tier FROM customers c JOIN sites s "
        f"ON s.id = c.site_id WHERE c.id = {cid}", srv.database),
        [["BJ", "杭州", "loyal"]], "updated customer (region kept)")
    util.check_eq(srv.dbinfo.sql(
        f"SELECT value, is_primary FROM customer_contacts WHERE customer_id = {cid} "
        "AND kind = 'phone' ORDER BY id", srv.database),
        [["+8613700000100", "1"], ["+8613700000199", "0"]], "phones after the update")


def test_orders(ctx):
    """Orders find their customer by member id, phone or e-mail; the bad
    ones are refused line by line; re-import changes nothing; a changed
    status updates; customer.show counts the imported orders."""
    srv = _setup(ctx, start=True)
    code, _, err = _run(ctx, srv, "-q", "customers", _customers_file(ctx))
    util.check_eq(code, 1, f"customers import (stderr: {err})")
    m001, m002 = _customer_id(srv, "M-001"), _customer_id(srv, "M-002")
    path = _write(ctx, "orders.csv", ORDER_HEADER, ORDER_LINES)
    report = [line.format(m001=m001, m002=m002) for line in ORDER_REPORT]

    code, out, err = _run(ctx, srv, "-n", "orders", path)
    util.check_eq(code, 1, f"dry-run exit status (stderr: {err})")
    util.check_eq(_report(err), report, "orders dry-run report")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM orders", srv.database), "0",
                  "orders after --dry-run")

    errors = os.path.join(ctx.dir, "orders.errors")
    code, out, err = _run(ctx, srv, "--errors", errors, "orders", path)
    util.check_eq(code, 1, f"orders exit status (stderr: {err})")
    util.check_eq(_report(err), [], "no report on stderr with --errors")
    util.check_in(f"10 refused rows reported in {errors}", err, "pointer to the report")
    with open(errors) as f:
        util.check_eq(f.read().splitlines(), report, "orders report in --errors FILE")
    util.check_eq(stat.S_IMODE(os.stat(errors).st_mode), 0o600, "report file mode")
    util.check_eq(_summary(out), "orders: 13 rows: 3 inserted, 0 updated, 0 unchanged, "
                  "10 refused", "orders counts")
    util.check_eq(srv.dbinfo.sql(
        "SELECT external_id, customer_id, amount_minor, refunded_minor, currency, status, "
        "DATE_FORMAT(ordered_at, '%Y-%m-%d %H:%i:%s.%f') FROM orders ORDER BY external_id",
        srv.database),
        [["SO-1", str(m001), "123450", "0", "CNY", "delivered", "2024-03-01 02:00:00.000000"],
         ["SO-12", str(m002), "5000", "0", "JPY", "shipped", "2024-03-04 00:30:00.250000"],
         ["SO-2", str(m001), "9990", "0", "CNY", "paid", "2024-03-02 12:00:00.000000"]],
        "orders stored (times in UTC, amounts in minor units)")

    state = _state(srv)
    code, out, err = _run(ctx, srv, "orders", path)
    util.check_eq(_report(err), report, "orders re-import report")
    util.check_eq(_summary(out), "orders: 13 rows: 0 inserted, 0 updated, 3 unchanged, "
                  "10 refused", "orders re-import counts")
    util.check_eq(_state(srv), state, "nothing changed by the re-import")

    moved = _write(ctx, "moved.csv", ORDER_HEADER,
                   ["SO-2,,138-0013-8000,,99.9,99.9,,2024-03-02 12:00:00Z,refunded",
                    "SO-1,M-002,,,1234.50,,CNY,2024-03-01T10:00:00+08:00,delivered"])
    code, out, err = _run(ctx, srv, "orders", moved)
    util.check_eq(_report(err), [f'line 3, field order_id: conflict: "SO-1" belongs to another '
                                 f"customer (id {m001})"], "an order never changes customer")
    util.check_eq(_summary(out), "orders: 2 rows: 0 inserted, 1 updated, 0 unchanged, "
                  "1 refused", "update counts")

    conn = ctx.connect(srv)
    conn.login("alice", "pw-alice")
    value = conn.ok("customer.show", customer_id=m001).get("value", {})
    # SO-1 1234.50 kept; SO-2 99.90 now wholly refunded
    util.check_eq((value.get("orders"), value.get("kept_orders"), value.get("returned_orders"),
                   value.get("lifetime_value_minor"), value.get("refunded_minor")),
                  (2, 1, 1, 123450, 9990), "customer.show of the imported orders")


def test_bad_files(ctx):
    """Usage, file and header errors exit 2 before anything is read into
    the database; an unreachable database exits 3."""
    srv = _setup(ctx)
    cases = [
        (["customers"], "usage: ccimport"),
        (["people", "x.csv"], '"people" is not customers or orders'),
        (["customers", os.path.join(ctx.dir, "missing.csv")], "No such file or directory"),
        (["--batch", "0", "customers", "x.csv"], "--batch"),
        (["--zone", "+8", "orders", "x.csv"], "--zone"),
    ]
    headers = [
        ("", "empty file: no header line"),
        ("member_id,name,phone,phones", 'line 1: column 4 ("phones") repeats column 3 (phones)'),
        ("member_id,name,nickname",
         'line 1: unknown column "nickname" (column 3); the columns are member_id, name, '
         "phones, emails, site, region, language, value_tier (--skip-unknown ignores others)"),
        ("member_id,phones", 'line 1: the required column "name" is missing'),
        ("member_id,,name", "line 1: column 2 has no name"),
        ("\ufeffmember_id,name\n", None),
    ]
    for args, expect in cases:
        code, out, err = _run(ctx, srv, *args)
        util.check_eq(code, 2, f"exit status of {args}")
        util.check_in(expect, err, f"message of {args}")
    for i, (header, expect) in enumerate(headers):
        path = os.path.join(ctx.dir, f"h{i}.csv")
        with open(path, "w") as f:
            f.write(header)
        code, out, err = _run(ctx, srv, "customers", path)
        if expect is None:  # a BOM before a bare header: no rows, all fine
            util.check_eq((code, _summary(out)), (0, "customers: 0 rows: 0 inserted, "
                                                  "0 updated, 0 unchanged, 0 refused"),
                          "header only")
            continue
        util.check_eq(code, 2, f"exit status for header {header!r}")
        util.check_in(f"{path}: {expect}", err, f"message for header {header!r}")
    utf16 = os.path.join(ctx.dir, "utf16.csv")
    with open(utf16, "wb") as f:
        f.write("member_id,name\r\nM-1,x\r\n".encode("utf-16"))
    code, _, err = _run(ctx, srv, "customers", utf16)
    util.check_eq(code, 2, "UTF-16 file")
    util.check_in("the file is UTF-16; save it as UTF-8", err, "UTF-16 message")

    # --skip-unknown: a warning naming the column, the rest imported
    path = _write(ctx, "extra.csv", "member_id,nickname,name", ["M-1,x,Xu"])
    code, out, err = _run(ctx, srv, "--skip-unknown", "customers", path)
    util.check_eq(code, 0, f"--skip-unknown (stderr: {err})")
    util.check_in('warning: column 2 ("nickname") is not imported', err, "skip warning")

    # a database that is not there
    code, out, err = _run(ctx, srv, "-o", f"database.port={util.free_port()}",
                          "--skip-unknown", "customers", path)
    util.check_eq(code, 3, f"exit status without a database (stderr: {err})")
    util.check_in("cannot connect to the database", err, "no-database message")
    util.check_eq(srv.dbinfo.scalar("SELECT COUNT(*) FROM customers", srv.database), "2",
                  "customers after the bad files (the seeded one and M-1)")


def test_progress_bar(ctx):
    """On a terminal, stderr shows a bar with percentage, rate and ETA that
    is erased for report lines and at the end."""
    srv = _setup(ctx)
    lines = [f"P-{i:05d},Name {i},1370{i:07d},,,,," for i in range(3000)]
    lines[1500] = "P-bad,Name,12ab,,,,,"
    path = _write(ctx, "many.csv", CUSTOMER_HEADER, lines)
    pid, fd = pty.fork()
    if pid == 0:  # the child: ccimport on the terminal
        os.execv(_binary(ctx), [_binary(ctx), "-f", srv.conf, "--batch", "100", "customers",
                                path])
    chunks = []
    deadline = time.monotonic() + util.scaled(120)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode()
    util.check_eq(os.waitstatus_to_exitcode(status), 1, f"exit status; output {text!r}")
    util.check_in("100%", text, "bar at 100%")
    util.check_in("rows/s", text, "rate")
    util.check_in("ETA", text, "ETA")
    util.check_in("[##", text, "the bar itself")
    util.check_in('\r\x1b[Kline 1502, field phones: bad_value: "12ab" is not a phone number',
                  text, "report line printed over the erased bar")
    util.check_in("\r\x1b[Kcustomers: 3000 rows: 2999 inserted, 0 updated, 0 unchanged, "
                  "1 refused", text, "summary after the erased bar")
