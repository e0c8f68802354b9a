"""The loopback admin HTTP port: /healthz and Prometheus /metrics."""

import http.client
import re

from . import util


def get(port, path, timeout=10.0):
    """GET path; returns (status, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=util.scaled(timeout))
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_metrics(text):
    """Prometheus text format to {"name{labels}": value} (labels as
    written, sorted by key) and a plain {"name": value} for unlabelled ones."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        util.check(m is not None, f"malformed metrics line: {line!r}")
        name, labels, value = m.group(1), m.group(2), m.group(3)
        key = name
        if labels:
            pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels)
            key = name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(pairs)) + "}"
        samples[key] = float(value)
    return samples


def metrics(port):
    """The parsed /metrics of a server (must answer 200)."""
    status, body = get(port, "/metrics")
    util.check_eq(status, 200, "/metrics status")
    return parse_metrics(body), body
