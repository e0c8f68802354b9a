"""The Grafana dashboard in deploy/grafana stays true to the server: every
metric its queries use is one that callcentred's /metrics exposes (with a
call waiting and one answered, so that the per-queue figures are there;
the queue requires a skill alice holds, so that the per-skill figures are
there too), and its queries use only the labels those metrics carry."""

import json
import os
import re

from itest import admin, util

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "callcentre-dashboard.json")
# PromQL words that are not metric names
WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "le", "queue", "site", "code",
         "skill", "without", "avg", "max", "min"}


def _queries(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("expr", "definition") and isinstance(v, str):
                yield v
            else:
                yield from _queries(v)
    elif isinstance(node, list):
        for v in node:
            yield from _queries(v)


def test_dashboard_metrics_exist(ctx):
    with open(DASHBOARD, encoding="utf-8") as f:
        dash = json.load(f)
    util.check(dash.get("panels"), "the dashboard has panels")
    srv = ctx.server(agents={"alice": "pw-alice"}, start=False)
    srv.add_agent("pbx", "pw-pbx", role="service")
    srv.dbinfo.sql(
        "INSERT INTO queues (code, name, site_id, offer_seconds, wrapup_seconds) "
        "SELECT 'general', 'General', id, 60, 0 FROM sites WHERE code = 'SH';\n"
        "INSERT INTO agent_queues (agent_id, queue_id) SELECT a.id, q.id FROM agents a, "
        "queues q WHERE a.username = 'alice' AND q.code = 'general';\n"
        "INSERT INTO skills (code, name, kind) VALUES ('billing', 'Billing', 'task');\n"
        "INSERT INTO queue_skills (queue_id, skill_id, min_proficiency) SELECT q.id, s.id, 1 "
        "FROM queues q, skills s WHERE q.code = 'general' AND s.code = 'billing';\n"
        "INSERT INTO agent_skills (agent_id, skill_id, proficiency) SELECT a.id, s.id, 3 "
        "FROM agents a, skills s WHERE a.username = 'alice' AND s.code = 'billing';\n"
        "INSERT INTO call_routes (dialled, ivr, queue_id, priority) "
        "SELECT '4008001234', '', id, 5 FROM queues WHERE code = 'general';\n", srv.database)
    srv.start()
    pbx, alice = ctx.connect(srv), ctx.connect(srv)
    pbx.login("pbx", "pw-pbx")
    alice.login("alice", "pw-alice")
    pbx.ok("call.arrive", call_id="dash-1", caller="13800138000", dialled="4008001234")
    alice.ok("agent.ready")
    offered = False
    for _ in range(20):
        if any(e.get("event") == "offer" for e in alice.events):
            break
        msg = alice.read(timeout=10.0)
        if msg.get("event") == "offer":
            offered = True
            break
    util.check(offered or any(e.get("event") == "offer" for e in alice.events),
               "the call was offered to alice")
    pbx.ok("call.answer", call_id="dash-1")
    pbx.ok("call.arrive", call_id="dash-2", caller="13800138001", dialled="4008001234")
    util.wait_until(lambda: "cc_queue_service_level{" in admin.metrics(srv.admin_port)[1], 10,
                    "the queue's service level in /metrics")
    util.check('cc_skill_service_level{skill="billing"}' in admin.metrics(srv.admin_port)[0],
               "the skill's service level in /metrics")
    _, text = admin.metrics(srv.admin_port)
    exposed = {m[0] for m in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)}
    histograms = {m[0] for m in re.findall(r"^# TYPE (\S+) (histogram)$", text, re.M)}
    labels = {}
    for name, lab in re.findall(r"^([a-z_:]+)\{([^}]*)\}", text, re.M):
        labels.setdefault(name, set()).update(re.findall(r'(\w+)="', lab))
    used = set()
    for q in _queries(dash):
        for name in re.findall(r"\b(cc_[a-z_]+)", q):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            util.check(name in exposed or (base in histograms and base != name),
                       f"the dashboard queries {name}, which /metrics does not expose")
            used.add(name)
            for sel in re.findall(re.escape(name) + r"\{([^}]*)\}", q):
                for label in re.findall(r"(\w+)=~?", sel):
                    util.check(label in labels.get(name, set()),
                               f"{name} has no label {label} (it has {labels.get(name)})")
    util.check(len(used) >= 15, f"the dashboard uses the server's figures: {sorted(used)}")
    util.check({"cc_queue_waiting", "cc_queue_service_level", "cc_queue_asa_seconds"} <= used,
               "the live queue figures are on the dashboard")
    util.check({"cc_skill_waiting", "cc_skill_longest_wait_seconds", "cc_skill_service_level",
                "cc_skill_agents_ready"} <= used, "the live skill figures are on the dashboard")
