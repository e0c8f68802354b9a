"""Slow consumers: a client that never reads is dropped.

Once its unsent output passes server.output_queue_max the server closes it;
other clients are unaffected."""

import json
import time

from itest import admin, util


def test_slow_consumer_dropped(ctx):
    srv = ctx.server(settings={"server.output_queue_max": 4096},
                     agents={"alice": "pw-alice"})
    other = ctx.connect(srv)
    other.login("alice", "pw-alice")

    # a small receive buffer so the kernel does not soak up the replies
    hog = ctx.connect(srv, rcvbuf=4096)
    batch = b"".join(json.dumps({"id": i, "op": "ping"}).encode() + b"\n"
                     for i in range(1000))
    hog.sock.settimeout(0.5)
    sent = 0
    dropped = False
    deadline = time.monotonic() + util.scaled(20)
    while time.monotonic() < deadline:
        try:
            hog.sock.sendall(batch)
            sent += 1000
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        except (TimeoutError, OSError):
            # our send buffer is full: the server stopped reading from us
            if srv.find_log(r"slow.consumer"):
                dropped = True
                break
    ctx.note(f"sent {sent} pings without reading; dropped={dropped}")
    line = srv.wait_log(r"slow.consumer", timeout=10)
    ctx.note(f"server log: {line}")

    util.check(other.is_open(), "the well-behaved client was dropped too")
    util.check_eq(other.ok("whoami")["agent"]["user"], "alice", "whoami on the other client")
    m, _ = admin.metrics(srv.admin_port)
    util.check_eq(m.get('cc_closes_total{reason="slow_consumer"}'), 1.0, "slow consumer closes")
    util.wait_until(lambda: admin.metrics(srv.admin_port)[0].get("cc_connections") == 1.0,
                    util.scaled(5), "the hog's connection to be gone")
