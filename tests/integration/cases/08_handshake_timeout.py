"""Stalled TLS handshakes are dropped after server.handshake_timeout.

Clients that connect and never finish the handshake must not hold a slot
for longer, nor hold up anyone else."""

import socket
import ssl
import time

from itest import admin, util

TIMEOUT = 2


def _client_hello_prefix(n):
    """The first n bytes of a real TLS ClientHello."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    assert hello[0] == 0x16 and len(hello) > n
    return hello[:n]


def _wait_dropped(sock, limit):
    """Seconds until the server closes sock (EOF or reset); fail after limit."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
        if data == b"":
            return time.monotonic() - start
        # a TLS alert is allowed; keep waiting for the close
    raise util.CheckFailed(f"connection still open after {limit:.1f} s")


def test_stalled_handshakes(ctx):
    """Silent and half-hello clients are closed after about handshake_timeout
    seconds while a normal client logs in."""
    srv = ctx.server(settings={"server.handshake_timeout": TIMEOUT},
                     agents={"alice": "pw-alice"})
    silent = socket.create_connection(("127.0.0.1", srv.port))
    partial = socket.create_connection(("127.0.0.1", srv.port))
    opened = time.monotonic()
    partial.sendall(_client_hello_prefix(60))

    # a normal client is served while the two stall
    conn = ctx.connect(srv)
    t0 = time.monotonic()
    conn.login("alice", "pw-alice")
    util.check(time.monotonic() - t0 < util.scaled(3), "login slow while handshakes stall")

    limit = util.scaled(TIMEOUT + 5)
    for name, sock in (("silent", silent), ("partial hello", partial)):
        _wait_dropped(sock, limit)
        elapsed = time.monotonic() - opened
        ctx.note(f"{name} client dropped after {elapsed:.2f} s")
        util.check(elapsed >= TIMEOUT - 0.5,
                   f"{name} client dropped after {elapsed:.2f} s, before the "
                   f"{TIMEOUT} s handshake timeout")
        sock.close()
    util.check(conn.is_open(), "the logged-in client was dropped too")
    util.check_eq(conn.ok("whoami")["agent"]["user"], "alice", "whoami after the drops")

    srv.wait_log(r"handshake.timeout", timeout=5)
    m, _ = admin.metrics(srv.admin_port)
    util.check_eq(m.get('cc_closes_total{reason="handshake_timeout"}'), 2.0,
                  "closes by handshake timeout")


def test_garbage_instead_of_tls(ctx):
    """Plain text on the TLS port fails the handshake and is closed quickly."""
    srv = ctx.server(settings={"server.handshake_timeout": 10})
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.sendall(b'{"id": 1, "op": "ping"}\n')
    elapsed = _wait_dropped(sock, util.scaled(5))
    util.check(elapsed < util.scaled(5), "plain text kept open")
    sock.close()
    m, _ = admin.metrics(srv.admin_port)
    util.check_eq(m.get("cc_tls_handshake_failures_total"), 1.0, "handshake failures")
