"""The complaint form in a real browser: headless Chromium, driven by
tests/browser/complaint.mjs (Playwright), files a complaint through
ccgateway over real TLS, follows the private status link, switches to
English and saves screenshots; the ticket is then in the database as a web
complaint with the customer's text exactly as typed."""

import json
import os
import shutil
import struct
import subprocess

from itest import util
from itest.db import sql_quote

BROWSER_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "..", "..", "browser"))
CHROMIUM = os.environ.get("CC_CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = ("install them with: apt-get install nodejs chromium fonts-wqy-zenhei; "
                f"then run 'npm ci' in {BROWSER_DIR} (tests/run does both)")

# name, width of the viewport the screenshot was taken at
SHOTS = [(f"{page}-{size}.png", width)
         for page in ("form", "confirm", "status", "status-en")
         for size, width in (("mobile", 390), ("desktop", 1280))]


def _tools():
    """node's path, after checking that node, Chromium and the browser
    test's modules are there; fails (does not skip) when one is missing."""
    node = shutil.which("node")
    util.check(node is not None, f"node is not installed: {INSTALL_HINT}")
    util.check(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is not installed: {INSTALL_HINT}")
    modules = os.path.join(BROWSER_DIR, "node_modules", "playwright-core", "package.json")
    util.check(os.path.exists(modules),
               f"{BROWSER_DIR}/node_modules has no playwright-core: {INSTALL_HINT}")
    return node


def _png_size(path):
    """(width, height) of a PNG file; fails if it is not one."""
    with open(path, "rb") as f:
        head = f.read(24)
    util.check(head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR",
               f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def _rows(srv, query):
    return srv.dbinfo.sql(query, srv.database)


def test_complaint_in_browser(ctx):
    """File a complaint as 王芳 in zh-CN with a script in the description,
    follow it, read it in English: the script is shown as text and never
    runs, and the ticket is a web complaint in the complaints queue."""
    node = _tools()
    srv = ctx.server(start=False)
    gw = ctx.gateway(srv, start=False)  # its account and queue, before srv starts
    srv.start()
    gw.start()
    gw.wait_healthy()

    shots = os.path.join(ctx.dir, "screenshots")
    argv = [node, os.path.join(BROWSER_DIR, "complaint.mjs"),
            "--url", f"https://127.0.0.1:{gw.port}", "--ca", ctx.ca.cert,
            "--cert", ctx.leaf[0], "--screenshot-dir", shots, "--chromium", CHROMIUM]
    ctx.note("running " + " ".join(argv[1:]))
    proc = subprocess.run(argv, cwd=BROWSER_DIR, capture_output=True, text=True,
                          timeout=util.scaled(150), preexec_fn=util.die_with_parent,
                          env=dict(os.environ, HOME=ctx.dir))
    lines = proc.stdout.strip().splitlines()
    util.check(lines, f"complaint.mjs printed nothing (exit {proc.returncode}); "
                      f"stderr: {util.shorten(proc.stderr, 2000)}")
    found = json.loads(lines[-1])
    failed = [c["what"] for c in found.get("checks", []) if not c["ok"]]
    util.check(proc.returncode == 0 and found.get("ok") is True,
               f"complaint.mjs exited {proc.returncode}: {found.get('error')}; failed: {failed}; "
               f"stderr: {util.shorten(proc.stderr, 2000)}")
    util.check(len(found["checks"]) >= 30, f"only {len(found['checks'])} checks ran")
    ctx.note(f"browser: {len(found['checks'])} checks passed, ref {found['ref']}, "
             f"state {found['state']}")

    # what the browser saw
    util.check(all("\u4e00" <= c <= "\u9fff" for c in found["labels_zh"]["name"][:2]),
               f"the name label is Chinese: {found['labels_zh']}")
    util.check_in("<script>alert(1)</script>", found["description_shown"],
                  "the description shown as text")
    util.check_eq(found["dialogs"], [], "dialogs opened")
    util.check(found["state_text_zh"] != found["state_text_en"],
               f"the state in two languages: {found['state_text_zh']!r} {found['state_text_en']!r}")
    util.check("script-src" in found["csp"] or "default-src 'none'" in found["csp"],
               f"a CSP that governs scripts: {found['csp']}")

    # the screenshots: PNGs at both widths, of a plausible size
    util.check_eq(sorted(os.path.basename(p) for p in found["screenshots"]),
                  sorted(name for name, _ in SHOTS), "the screenshots taken")
    for name, width in SHOTS:
        path = os.path.join(shots, name)
        util.check(os.path.isfile(path), f"{path} was saved")
        w, h = _png_size(path)
        util.check_eq(w, width, f"the width of {name}")
        util.check(400 <= h <= 20000, f"{name} is {w}x{h}")
        size = os.path.getsize(path)
        util.check(10_000 <= size <= 10_000_000, f"{name} has {size} bytes")

    # the ticket: a web complaint in the complaints queue, for 王芳
    ref = found["ref"]
    rows = _rows(srv,
                 "SELECT t.id, t.kind, t.channel, t.state, q.code, t.language, c.name "
                 "FROM tickets t JOIN queues q ON q.id = t.queue_id "
                 "JOIN customers c ON c.id = t.customer_id "
                 f"WHERE t.ref = {sql_quote(ref)}")
    util.check_eq(len(rows), 1, f"tickets with ref {ref}")
    tid, kind, channel, state, queue, language, name = rows[0]
    util.check_eq((kind, channel, queue, language, name),
                  ("complaint", "web", "complaints", "zh-CN", "王芳"), "the ticket")
    util.check_eq(state, found["state"], "the state the status page showed")
    rows = _rows(srv,
                 "SELECT category, resolution, urgency, language, contact_name, order_ref "
                 f"FROM web_complaints WHERE ticket_id = {tid}")
    util.check_eq([tuple(r) for r in rows],
                  [("delivery", "refund", "high", "zh-CN", "王芳", "SO-1001")],
                  "the complaint's details")
    # the description is stored as typed (a textarea sends CRLF line breaks)
    same = srv.dbinfo.scalar(
        "SELECT COUNT(*) FROM ticket_notes WHERE ticket_id = "
        f"{tid} AND author_kind = 'customer' AND visibility = 'customer' "
        f"AND REPLACE(body, CHAR(13), '') = {sql_quote(found['description_typed'])}",
        srv.database)
    util.check_eq(same, "1", "the customer's note holds the description as typed")
    events = srv.dbinfo.scalar(
        f"SELECT COUNT(*) FROM ticket_events WHERE ticket_id = {tid}", srv.database)
    util.check(int(events) >= 1, f"the ticket has its events: {events}")
