"""ccagent top, the supervisors' live view, in a real terminal (tmux, 80x24)
against a real server with calls waiting: the queue rows show their
waiting counts and follow new arrivals, a resize to 120x40 redraws with the
columns that fit, s sorts, r makes the supervisor ready (agent.status says
so), a queue's items pane moves a ticket, raises a priority and
broadcasts, and q or SIGTERM leaves the alternate screen with the cursor
back. On 150 queues, a queue from the last part of a picture in parts
shows and follows pushes in parts.
ccagent report refuses bad options before connecting, and prints the
server's rollups as CSV, a table and JSON, with an SVG chart."""

import importlib
import json
import os
import subprocess
import sys
import time

from itest import server, util

sys.path.insert(0, os.path.dirname(__file__))
stats = importlib.import_module("31_stats")
routing = importlib.import_module("26_routing")
_login = routing._login

# a second number routed to 'vip', so that the two queues differ
VIP_ROUTE = ("INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
             "SELECT '4008005555', '', id, 5 FROM queues WHERE code = 'vip';\n")


class Tmux:
    """One tmux server of the test's own (its socket in the case folder)
    running one pane: a shell that runs argv, then prints its exit status
    and stays (a dead pane would not tell whether the cursor came back)."""

    def __init__(self, ctx, argv, env, cols=80, rows=24):
        self.sock = os.path.join(ctx.dir, "tmux.sock")
        self.env = dict(os.environ)
        self.env.pop("TMUX", None)
        cmd = ["new-session", "-d", "-s", "top", "-x", str(cols), "-y", str(rows)]
        for k, v in env.items():
            cmd += ["-e", f"{k}={v}"]
        self.tmux(*cmd, " ".join(_quote(a) for a in argv) + '; echo "exit=$?"; sleep 600')

    def tmux(self, *args):
        """Run a tmux command on our server; its output."""
        proc = subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True,
                              text=True, env=self.env, timeout=util.scaled(10))
        util.check(proc.returncode == 0, f"tmux {args[0]}: {proc.stderr.strip()}")
        return proc.stdout

    def screen(self):
        """The pane's visible text, one string per row."""
        return self.tmux("capture-pane", "-p", "-t", "top").split("\n")

    def info(self, fmt):
        """A pane format value (#{pane_dead}, #{alternate_on} ...)."""
        return self.tmux("display-message", "-p", "-t", "top", fmt).strip()

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "top", *keys)

    def wait_screen(self, predicate, what, timeout=15):
        """Poll the screen until predicate(rows) holds; fail showing it."""
        deadline = time.monotonic() + util.scaled(timeout)
        while True:
            rows = self.screen()
            if predicate(rows):
                return rows
            if time.monotonic() > deadline:
                raise util.CheckFailed(f"{what}; the screen:\n" + "\n".join(rows))
            time.sleep(0.1)

    def close(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True,
                       env=self.env, timeout=util.scaled(10))


def _quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def _row(rows, first):
    """The fields of the screen row whose first field is first, or None."""
    for r in rows:
        f = r.split()
        if f and f[0] == first:
            return f
    return None


def _waiting(rows, queue):
    """The waiting column of queue's row (third: queue, site, waiting)."""
    f = _row(rows, queue)
    return int(f[2]) if f and len(f) > 2 and f[2].isdigit() else None


def _exited(term):
    """ccagent's exit status once the shell printed it, else None."""
    for r in term.screen():
        if r.startswith("exit="):
            return r[5:].strip()
    return None


def _check_restored(term, how):
    """ccagent ended with status 0 and gave the screen back."""
    util.wait_until(lambda: _exited(term) is not None, util.scaled(10),
                    f"ccagent top exits on {how}")
    util.check_eq(_exited(term), "0", f"exit status after {how}")
    util.check_eq(term.info("#{alternate_on}"), "0", f"back on the main screen after {how}")
    util.check_eq(term.info("#{cursor_flag}"), "1", f"cursor shown again after {how}")
    util.check(not any(r.startswith("ccagent top") for r in term.screen()),
               "the live view is gone from the screen")
    text = "\n".join(term.screen())
    # (a long report scrolls its first line away; its summary stays)
    for mark in server.SANITIZER_MARKS + ("SUMMARY: AddressSanitizer",):
        util.check(mark not in text, f"a sanitizer report from ccagent top:\n{text}")


def _start_top(ctx, srv, user="sue"):
    agent = ctx.ccagent(srv)
    argv = [agent.binary] + agent.address_args() + ["-u", user, "top"]
    env = {"CCAGENT_PASSWORD": "pw-" + user, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    term = Tmux(ctx, argv, env)
    return term


def test_live_view(ctx):
    srv = stats._setup(ctx, extra_sql=VIP_ROUTE)
    pbx = _login(ctx, srv, "pbx")
    pbx.ok("call.arrive", call_id="g1", caller="13900000001", dialled="4008001234")
    for i in range(3):
        pbx.ok("call.arrive", call_id=f"v{i}", caller=f"1390000010{i}", dialled="4008005555")

    term = _start_top(ctx, srv)
    try:
        rows = term.wait_screen(lambda r: _waiting(r, "general") == 1 and
                                _waiting(r, "vip") == 3,
                                "the queue rows with their waiting counts")
        util.check_eq(term.info("#{alternate_on}"), "1", "drawn on the alternate screen")
        util.check_eq(term.info("#{cursor_flag}"), "0", "cursor hidden")
        util.check_eq(len(rows[0]) <= 80 and all(len(r) <= 80 for r in rows), True,
                      "nothing wider than the terminal")
        head = next(r for r in rows if r.startswith("queue"))
        util.check("ASA" not in head and "waiting" in head and "SL" in head,
                   f"80 columns keep the important ones: {head!r}")
        util.check(_row(rows, "sue") is not None and _row(rows, "alice") is not None,
                   f"the site's agents are listed: {rows}")

        # a new call: the row follows
        pbx.ok("call.arrive", call_id="g2", caller="13900000002", dialled="4008001234")
        term.wait_screen(lambda r: _waiting(r, "general") == 2, "general now has 2 waiting")

        # sorting: by queue code first; s twice: by waiting, most first
        rows = term.screen()
        order = [r.split()[0] for r in rows if _row([r], "general") or _row([r], "vip")]
        util.check_eq(order, ["general", "vip"], "sorted by queue code")
        term.keys("s", "s")
        rows = term.wait_screen(lambda r: any(x.startswith("queue") and "waitingv" in x
                                              for x in r), "the header marks the sort")
        order = [r.split()[0] for r in rows if _row([r], "general") or _row([r], "vip")]
        util.check_eq(order, ["vip", "general"], "sorted by waiting, most first")

        # resize: redrawn to the new size, with the columns that now fit
        term.tmux("resize-window", "-t", "top", "-x", "120", "-y", "40")
        rows = term.wait_screen(lambda r: len(r) >= 40 and
                                any(x.startswith("queue") and "ASA" in x for x in r),
                                "redrawn at 120x40 with the ASA column")
        util.check(_waiting(rows, "vip") == 3, "the figures are still there")

        # r on one's own line: agent.ready for sue
        rows = term.screen()
        agents = [r.split()[0] for r in rows
                  if r.split() and r.split()[0] in ("alice", "bob", "sue")]
        util.check("sue" in agents, f"sue is listed: {agents}")
        term.keys("r")
        term.wait_screen(lambda r: any("agent.set: " in x for x in r) or
                         agents.index("sue") == 0,
                         "r on another agent's line goes through agent.set")
        for _ in range(agents.index("sue")):
            term.keys("j")
        term.keys("r")
        term.wait_screen(lambda r: any("agent.ready: you are " in x for x in r),
                         "the ready reply on the status line")
        sue = _login(ctx, srv, "sue")
        st = sue.ok("queue.stats", scope="site", agents=True)
        mine = {a["user"]: a for a in st["agents"]}
        util.check_eq(mine["sue"]["state"] in ("ready", "reserved", "busy"), True,
                      f"sue takes work now: {mine['sue']}")
        status = sue.ok("agent.status")
        util.check_eq(status["state"] in ("ready", "reserved", "busy"), True,
                      f"agent.status: {status}")
        term.wait_screen(lambda r: (_row(r, "sue") or ["", "", ""])[2] != "offline",
                         "sue's line shows her new state")

        # q: the main screen and the cursor come back, exit status 0
        term.keys("q")
        _check_restored(term, "q")
    finally:
        term.close()


def test_large_picture(ctx):
    """A supervisor of no site on 150 queues and 60 skills: the picture
    and the pushes come in several lines; a queue from a later part shows,
    and follows a push that is itself in parts."""
    srv = stats.big_server(
        ctx, "INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
        "SELECT '4008009149', '', id, 5 FROM queues WHERE code = 'q149';\n")
    pbx = _login(ctx, srv, "pbx")
    for i in range(2):
        pbx.ok("call.arrive", call_id=f"z{i}", caller=f"1390000020{i}", dialled="4008009149")
    term = _start_top(ctx, srv, "sky")
    try:
        # most waiting first: q149, of the picture's last part, on top
        term.wait_screen(lambda r: _row(r, "q000") is not None, "the view is up")
        term.keys("s", "s")
        term.wait_screen(lambda r: _waiting(r, "q149") == 2, "q149 with its 2 waiting")
        # every worker ready: a push of every scope, in parts; then a call
        workers = [_login(ctx, srv, f"w{w}") for w in range(stats.BIG_WORKERS)]
        for w in workers:
            w.ok("agent.ready")
        pbx.ok("call.arrive", call_id="z2", caller="13900000202", dialled="4008009149")
        term.wait_screen(lambda r: _waiting(r, "q149") == 3, "q149 follows the pushes")
        util.check(not any("max" in r and "line" in r for r in term.screen()),
                   "no line refused by ccagent")
        term.keys("q")
        _check_restored(term, "q")
    finally:
        term.close()


def test_alert(ctx):
    """A queue whose longest wait passes its threshold: the alert shows
    above the table and the queue's row turns red; cleared, both go."""
    rollups = importlib.import_module("32_rollups")
    srv = rollups._setup(ctx)
    root = _login(ctx, srv, "root")
    root.ok("queue.set", queue="general", alert_wait_above_seconds=1)
    term = _start_top(ctx, srv)
    try:
        term.wait_screen(lambda r: _row(r, "general") is not None, "the view is up")
        util.check(not any(r.startswith("ALERT") for r in term.screen()), "no alert yet")
        pbx = _login(ctx, srv, "pbx")
        pbx.ok("call.arrive", call_id="a1", caller="13900000001", dialled="4008001234")
        rows = term.wait_screen(lambda r: any(x.startswith("ALERT general longest_wait")
                                              for x in r), "the alert above the table")
        line = next(x for x in rows if x.startswith("ALERT"))
        util.check_in("threshold 1", line, "the threshold the server reported")
        styled = term.tmux("capture-pane", "-p", "-e", "-t", "top").split("\n")
        red = [x for x in styled if "general" in x and "ALERT" not in x]
        plain = [x for x in styled if "vip" in x]
        util.check(len(red) == 1 and "31m" in red[0], f"the queue's row in red: {red!r}")
        util.check(len(plain) == 1 and "31m" not in plain[0], f"vip's row is not: {plain!r}")
        pbx.ok("call.abandon", call_id="a1")
        term.wait_screen(lambda r: not any(x.startswith("ALERT") for x in r),
                         "the alert goes once cleared")
        term.keys("q")
        _check_restored(term, "q")
    finally:
        term.close()


def test_sigterm_restores(ctx):
    srv = stats._setup(ctx)
    term = _start_top(ctx, srv)
    try:
        term.wait_screen(lambda r: _row(r, "general") is not None, "the view is up")
        shell = term.info("#{pane_pid}")
        child = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True)
        pids = [int(p) for p in child.stdout.split()]
        util.check_eq(len(pids), 1, f"ccagent under the pane's shell: {child.stdout!r}")
        os.kill(pids[0], 15)
        _check_restored(term, "SIGTERM")
    finally:
        term.close()


def test_report_usage(ctx):
    srv = stats._setup(ctx)
    agent = ctx.ccagent(srv)
    cases = [
        (["report", "--from", "2026-11-01", "--to", "2026-11-02"], "--by"),
        (["report", "--from", "2026-11-01", "--to", "2026-11-02", "--by", "week"],
         "--by takes"),
        (["report", "--from", "yesterday", "--to", "2026-11-02", "--by", "day"],
         "YYYY-MM-DD"),
        (["report", "--from", "2026-11-01", "--to", "2026-11-02", "--by", "day",
          "--format", "xml"], "--format"),
    ]
    for args, want in cases:
        run = agent.run(*args, user="sue", password="pw-sue")
        util.check_eq(run.returncode, 2, f"exit status of {args}")
        util.check_in(want, run.stderr, f"the reason for {args}")
        util.check_eq(run.stdout, "", "nothing on standard output")
    run = agent.run("top", user="sue", password="pw-sue")
    util.check_eq(run.returncode, 2, "top without a terminal")
    util.check_in("needs a terminal", run.stderr, "the reason")


def test_report(ctx):
    """ccagent report against the rollups: CSV with the hand-counted
    figures and a totals row, the table, JSON, the SVG chart, and the
    server's refusal of another site's figures."""
    rollups = importlib.import_module("32_rollups")
    srv = rollups._setup(ctx)
    rollups._calls(ctx, srv)
    rollups._written(srv, 3)
    time.sleep(1.5)
    today = rollups._today()
    agent = ctx.ccagent(srv)
    chart = os.path.join(ctx.dir, "volume.svg")
    run = agent.run("report", "--from", today, "--to", today, "--by", "queue", "--format",
                    "csv", "--chart", chart, user="sue", password="pw-sue")
    util.check_eq(run.returncode, 0, f"report exit status ({run.stderr!r})")
    # (text mode reads CRLF as "\n"; tests/unit/test_report.c checks the CRLF)
    lines = run.stdout.split("\n")
    util.check_eq(lines[0], "key,offered,answered,answered_within,abandoned,short_abandoned,"
                  "sl,sl2,asa_ms,aht_ms,occupancy,csat", "the CSV header")
    util.check_eq(lines[-1], "", "every record ends with a line end")
    rows = {ln.split(",")[0]: ln.split(",") for ln in lines[1:-1]}
    general = next((v for k, v in rows.items() if k.endswith("general")), None)
    util.check(general is not None, f"a row for the queue: {run.stdout!r}")
    util.check_eq(general[1:5], ["3", "2", "1", "1"], "offered, answered, in SL, abandoned")
    util.check_eq(general[6], "0.5", "service level as a plain ratio")
    util.check("total" in rows, f"the totals row: {run.stdout!r}")
    util.check(all(len(v) == 12 for v in rows.values()), "twelve fields a row")
    with open(chart, encoding="utf-8") as f:
        svg = f.read()
    util.check(svg.startswith("<?xml") and "viewBox=" in svg and svg.rstrip().endswith("</svg>"),
               "a standalone SVG")
    util.check("<script" not in svg and "general" in svg, "labelled, no script")

    table = agent.run("report", "--from", today, "--to", today, "--by", "queue",
                      user="sue", password="pw-sue")
    util.check_eq(table.returncode, 0, f"table exit status ({table.stderr!r})")
    line = next((ln for ln in table.stdout.splitlines() if "general" in ln), "")
    util.check_in("50.0%", line, "the table's service level")

    js = agent.run("report", "--from", today, "--to", today, "--by", "queue", "--format",
                   "json", user="sue", password="pw-sue")
    util.check_eq(js.returncode, 0, f"json exit status ({js.stderr!r})")
    got = json.loads(js.stdout)
    util.check(any(r["key"].endswith("general") and r["offered"] == 3 for r in got),
               f"the rows as the server gave them: {got}")

    other = agent.run("report", "--from", today, "--to", today, "--by", "queue", "--site",
                      "BJ", user="sue", password="pw-sue")
    util.check_eq(other.returncode, 1, "another site's figures are refused")
    util.check_in("not_found", other.stderr, "the server's code")
    util.check_eq(other.stdout, "", "nothing printed")


def _items_rows(rows):
    """The items pane's ticket rows: (place, ref, state, priority, rest)."""
    out = []
    for r in rows:
        f = r.split()
        if len(f) >= 5 and (f[0].isdigit() or f[0] == "-") and f[1].startswith("T"):
            out.append(f)
    return out


def _status(rows):
    """The bottom line (the last row with text)."""
    text = [r for r in rows if r.strip()]
    return text[-1].strip() if text else ""


def test_queue_actions(ctx):
    """On a queue row, Enter opens its tickets in line with their places
    (queue.items); + raises the selected ticket's priority and it moves
    ahead; m moves it to another queue; a refused move shows the server's
    error; b broadcasts to the queue's agents (Tab in the prompt: to the
    site's) and the message reaches alice's ccagent; every change is a
    ticket event by the supervisor; a customer's subject is shown without
    its terminal controls; Esc goes back to the queues, all in 80x24."""
    srv = stats._setup(ctx)
    sue = _login(ctx, srv, "sue")

    def create(subject):
        return sue.ok("ticket.create", kind="inquiry", channel="web", subject=subject,
                      queue="general")["ticket"]

    a, b, c = create("甲 first \u202etxt.exe"), create("乙 second"), create("丙 third")
    alice = ctx.ccagent(srv).interactive(user="alice", password="pw-alice")
    alice.expect(r"logged in as alice", timeout=15)
    term = _start_top(ctx, srv)
    try:
        term.wait_screen(lambda r: _waiting(r, "general") == 3, "general has 3 waiting")
        term.keys("Tab")
        term.wait_screen(lambda r: "Tab agents" in _status(r), "Tab: the queue rows")
        term.keys("Enter")
        rows = term.wait_screen(lambda r: len(_items_rows(r)) == 3,
                                "Enter: general's tickets")
        util.check(any(x.startswith("queue general (SH): 3 in line, 3 waiting") for x in rows),
                   f"the pane's title: {rows}")
        items = _items_rows(rows)
        util.check_eq([(f[0], f[1], f[2]) for f in items],
                      [("1", a["ref"], "waiting"), ("2", b["ref"], "waiting"),
                       ("3", c["ref"], "waiting")], "in line by arrival")
        first = next(x for x in rows if a["ref"] in x)
        util.check("甲 first txt.exe" in first and "\u202e" not in first,
                   f"the subject without its bidi override: {first!r}")
        util.check(all(len(x) <= 80 for x in rows), "nothing wider than the terminal")
        util.check_in("m move to", _status(rows), "the pane's keys on the bottom line")

        # +: the third ticket one step more urgent: first in line at once
        term.keys("j", "j", "+")
        rows = term.wait_screen(lambda r: f"{c['ref']}: priority now 6" in _status(r),
                                "the priority's confirmation")
        rows = term.wait_screen(lambda r: [f[1] for f in _items_rows(r)] ==
                                [c["ref"], a["ref"], b["ref"]], "c moved ahead")
        util.check_eq([f[0] for f in _items_rows(rows)], ["1", "2", "3"], "places")
        ev = sue.ok("ticket.show", ticket=c["ref"])["events"][-1]
        util.check_eq((ev["actor"], ev["op"], ev["detail"]),
                      ("sue", "update", {"priority": [5, 6]}), "written as sue's change")

        # m: a queue that does not exist is the server's refusal, shown
        term.keys("m")
        term.wait_screen(lambda r: _status(r).startswith("move to queue"), "the move prompt")
        term.keys("nowhere", "Enter")
        rows = term.wait_screen(lambda r: "ticket.transfer: not_found" in _status(r),
                                "the server's refusal on the bottom line")
        util.check_eq(len(_items_rows(rows)), 3, "nothing moved")

        # m: the selected ticket (still c) to vip
        term.keys("m", "vip", "Enter")
        term.wait_screen(lambda r: f"{c['ref']}: moved to queue vip" in _status(r),
                         "the move's confirmation")
        rows = term.wait_screen(lambda r: [f[1] for f in _items_rows(r)] ==
                                [a["ref"], b["ref"]], "c left general's line")
        util.check_eq([it["ref"] for it in sue.ok("queue.items", queue="vip")["items"]],
                      [c["ref"]], "c waits in vip")
        ev = sue.ok("ticket.show", ticket=c["ref"])["events"][-1]
        util.check_eq((ev["actor"], ev["op"]), ("sue", "transfer_queue"),
                      "written as sue's transfer")

        # b: to the queue's agents: alice, and sue's other connection (a
        # supervisor without queues of her own serves her site's)
        term.keys("b")
        term.wait_screen(lambda r: _status(r).startswith("broadcast to queue general"),
                         "the broadcast prompt names the queue")
        term.keys("请就绪 ready now", "Enter")
        term.wait_screen(lambda r: "broadcast to queue general: delivered to 2" in _status(r),
                         "the broadcast's confirmation")
        alice.expect(r"请就绪 ready now")
        # Tab in the prompt: to the whole site instead
        term.keys("b", "Tab")
        term.wait_screen(lambda r: _status(r).startswith("broadcast to site SH"),
                         "Tab: the prompt names the site")
        term.keys("site wide", "Enter")
        term.wait_screen(lambda r: "broadcast to site SH: delivered to 2" in _status(r),
                         "the site broadcast's confirmation")
        alice.expect(r"site wide")

        # Esc: back to the queue table
        term.keys("Escape")
        term.wait_screen(lambda r: _waiting(r, "general") == 2 and _waiting(r, "vip") == 1,
                         "the queue rows again, with the moves counted")
        term.keys("q")
        _check_restored(term, "q")
    finally:
        term.close()
        alice.close()
