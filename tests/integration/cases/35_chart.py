"""The SVG chart of ccagent report in a real browser: calls answered and
abandoned over the real server make rollups (as 32_rollups, intervals of a
second), among them in queues whose codes are markup; ccagent report
--chart draws them by interval and by queue, and headless Chromium
(tests/browser/chart.mjs) opens each file: an SVG document with no parse
error, 960x420, the axis labels, legend and every queue code shown as
text (a long one cut with an ellipsis), every text inside the picture
(none cut off at an edge), nothing that could run, and a screenshot that
is not blank and holds each series' colour. Charts altered by hand (the
markup left unescaped, an ampersand left bare, the drawing taken out, a
text moved off the edge) fail those checks, so the checks can fail."""

import datetime
import importlib
import json
import os
import subprocess
import sys
import time

from itest import util
from itest.db import sql_quote

sys.path.insert(0, os.path.dirname(__file__))
browser = importlib.import_module("30_browser")
rollups = importlib.import_module("32_rollups")
_login = rollups._login

WIDTH, HEIGHT = 960, 420
# queue codes a chart must show as text, never as markup
HOSTILE = [
    "<script>alert(1)</script>",
    "\"><svg onload=alert(2)>",
    "Q&A ]]> <!-- 'x' &amp;",
    "投诉 & 退款",
]
# a queue code too long for the x axis: shown cut, with an ellipsis
LONG = "customer-service-returns-and-refunds-east-china"
LONG_SHOWN = LONG[:27] + "\u2026"
# drawn on every chart: the axes and the legend
COMMON = ["contacts", "service level", "offered", "answered", "abandoned", "0%", "100%"]


def _hostile_sql():
    sql = ""
    for i, code in enumerate(HOSTILE + [LONG]):
        sql += ("INSERT INTO queues (code, name, site_id, wrapup_seconds, sticky_seconds) "
                f"SELECT {sql_quote(code)}, 'Hostile {i}', id, 0, 0 FROM sites "
                "WHERE code = 'SH';\n"
                "INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
                f"SELECT '40080020{i:02d}', '', id, 5 FROM queues "
                f"WHERE code = {sql_quote(code)};\n")
    return sql


def _run_charts(ctx, node, charts, shots, expect=COMMON):
    """chart.mjs on the files: (exit status, its JSON line)."""
    argv = [node, os.path.join(browser.BROWSER_DIR, "chart.mjs"), "--screenshot-dir", shots,
            "--width", str(WIDTH), "--height", str(HEIGHT), "--chromium", browser.CHROMIUM]
    for c in charts:
        argv += ["--chart", c]
    for e in expect:
        argv += ["--expect", e]
    proc = subprocess.run(argv, cwd=browser.BROWSER_DIR, capture_output=True, text=True,
                          timeout=util.scaled(110), preexec_fn=util.die_with_parent,
                          env=dict(os.environ, HOME=ctx.dir))
    lines = proc.stdout.strip().splitlines()
    util.check(lines, f"chart.mjs printed nothing (exit {proc.returncode}); "
                      f"stderr: {util.shorten(proc.stderr, 2000)}")
    return proc.returncode, json.loads(lines[-1])


def _failed(chart):
    return [c["what"] for c in chart["checks"] if not c["ok"]]


def _report(ctx, srv, chart, *args):
    """ccagent report as sue, CSV, with the chart; the CSV records."""
    today = rollups._today()
    run = ctx.ccagent(srv).run("report", "--from", today, "--to", today, *args, "--format",
                               "csv", "--chart", chart, user="sue", password="pw-sue")
    util.check_eq(run.returncode, 0, f"report exit status ({run.stderr!r})")
    return [ln.split(",") for ln in run.stdout.split("\n")[1:] if ln]


def _check_painted(chart, name):
    """The screenshot's pixels: not blank, each bar colour beyond its
    10x10 legend swatch."""
    px = chart["pixels"]
    util.check_eq((px["width"], px["height"]), (WIDTH, HEIGHT), f"{name}: the screenshot's size")
    util.check(px["not_background"] > WIDTH * HEIGHT // 50,
               f"{name}: {px['not_background']} pixels drawn")
    for series in ("offered", "answered", "abandoned"):
        util.check(px[series] > 150, f"{name}: {series} bars painted ({px[series]} pixels)")
    util.check(px["service_level"] > 0, f"{name}: the service level colour ({px})")
    if any(n >= 2 for n in chart["polyline_points"]) or chart["sl_markers"]:
        util.check(px["service_level"] > 60,
                   f"{name}: the service level line painted ({px['service_level']} pixels)")
    util.check(os.path.getsize(chart["screenshot"]) > 5000, f"{name}: a PNG of substance")
    util.check_eq(browser._png_size(chart["screenshot"]), (WIDTH, HEIGHT),
                  f"{name}: the PNG's own size")


def test_chart_in_browser(ctx):
    node = browser._tools()
    srv = rollups._setup(ctx, _hostile_sql())
    rollups._calls(ctx, srv)
    pbx = _login(ctx, srv, "pbx")
    for i, _ in enumerate(HOSTILE + [LONG]):
        pbx.ok("call.arrive", call_id=f"h{i}", dialled=f"40080020{i:02d}")
        pbx.ok("call.abandon", call_id=f"h{i}")
    util.wait_until(lambda: rollups._sums(srv, "queue")[0] == 4 + len(HOSTILE), 8,
                    "the rollups written")
    time.sleep(1.5)

    charts = os.path.join(ctx.dir, "charts")
    os.makedirs(charts)
    by_interval = os.path.join(charts, "intervals.svg")
    rows = _report(ctx, srv, by_interval, "--by", "interval", "--queue", "general")
    util.check(len(rows) >= 3, f"several intervals and the totals: {rows}")
    labels = [datetime.datetime.fromtimestamp(int(r[0]) / 1000, datetime.timezone.utc)
              .strftime("%Y-%m-%d %H:%M") for r in rows if r[0] != "total"]
    by_queue = os.path.join(charts, "queues.svg")
    rows = _report(ctx, srv, by_queue, "--by", "queue")
    util.check(any(r[0] == "general" for r in rows), f"the queues reported: {rows}")

    shots = os.path.join(ctx.dir, "screenshots")
    status, found = _run_charts(ctx, node, [by_interval, by_queue], shots)
    got = {os.path.basename(c["file"]): c for c in found["charts"]}
    util.check(status == 0 and found["ok"] is True,
               f"chart.mjs exited {status}: {found.get('error')}; failed: "
               f"{ {k: _failed(c) for k, c in got.items()} }")
    for name, chart in got.items():
        util.check(len(chart["checks"]) >= 12 + len(COMMON), f"{name}: the checks ran")
        util.check_eq(chart["root"], "svg", f"{name}: the root")
        util.check_eq(chart["size"], [str(WIDTH), str(HEIGHT)], f"{name}: the root's size")
        util.check(chart["title"].startswith("Contacts and service level by "),
                   f"{name}: the title {chart['title']!r}")
        util.check_eq(chart["dialogs"], [], f"{name}: dialogs")
        util.check_eq(chart["texts_outside"], [], f"{name}: texts cut off at an edge")
        _check_painted(chart, name)
        ctx.note(f"{name}: {len(chart['checks'])} checks, {chart['pixels']}")

    iv = got["intervals.svg"]
    for label in labels:
        util.check_in(label, iv["texts"], "an interval's time on the x axis")
    util.check(iv["rects"] >= 3 * len(labels), f"three bars an interval: {iv['rects']}")
    util.check(any(n >= 2 for n in iv["polyline_points"]) or iv["sl_markers"] > 0,
               f"the service level is drawn: a line {iv['polyline_points']} or "
               f"{iv['sl_markers']} markers")

    q = got["queues.svg"]
    for code in HOSTILE + ["general"]:
        util.check_in(code, q["texts"], "a queue code shown as text, as it is")
    util.check_in(LONG_SHOWN, q["texts"], "a long queue code cut with an ellipsis")
    util.check(LONG not in q["texts"], "the long code is not drawn whole")
    # a service level of one queue alone is a marker (a rect), not a line
    util.check_eq(q["sl_markers"], 1, "the lone service level point's marker")
    util.check_eq([e for e in q["elements"] if e != "polyline"],
                  ["line", "rect", "svg", "text", "title"], "the elements of the chart")

    # the same chart spoiled three ways: the checks see each
    with open(by_queue, encoding="utf-8") as f:
        svg = f.read()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    util.check_in(escaped, svg, "the script escaped in the file")
    spoiled = {
        "unescaped.svg": svg.replace(escaped, "<script>alert(1)</script>"),
        "bare-ampersand.svg": svg.replace("Q&amp;A", "Q&A"),
        "no-drawing.svg": svg[:svg.index("<rect")] + "</svg>\n",
        "off-the-edge.svg": svg.replace('y="24" font-size="16"', 'y="-20" font-size="16"', 1),
    }
    paths = []
    for name, text in spoiled.items():
        util.check(text != svg, f"{name} differs")
        paths.append(os.path.join(charts, name))
        with open(paths[-1], "w", encoding="utf-8") as f:
            f.write(text)
    status, found = _run_charts(ctx, node, paths, os.path.join(ctx.dir, "spoiled"))
    util.check_eq(status, 1, "chart.mjs fails the spoiled charts")
    bad = {os.path.basename(c["file"]): c for c in found["charts"]}
    util.check(not any(c["ok"] for c in bad.values()), f"every spoiled chart fails: {bad}")
    unescaped = _failed(bad["unescaped.svg"])
    util.check("no script element" in unescaped and "no dialog opened" in unescaped,
               f"an unescaped script is found and runs: {unescaped}")
    util.check_in("no XML parse error", _failed(bad["bare-ampersand.svg"]),
                  "a bare ampersand is a parse error")
    util.check_in("the screenshot is not blank", _failed(bad["no-drawing.svg"]),
                  "a chart with nothing drawn")
    util.check_in("every text inside the chart", _failed(bad["off-the-edge.svg"]),
                  "a title above the top edge")
