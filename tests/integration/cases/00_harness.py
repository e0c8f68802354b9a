"""The harness itself: MariaDB fixture, certificates, protocol client."""

import json
import os
import socket
import ssl
import subprocess
import threading

from itest import db, util, wire


def test_database_fixture(ctx):
    """Per-test databases exist, the servers' account can use them and only them."""
    name = ctx.database("probe")
    ctx.db.sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(8)); "
               "INSERT INTO t VALUES (1, 'x'), (2, 'y');", name)
    util.check_eq(ctx.db.scalar("SELECT COUNT(*) FROM t", name), "2", "rows in probe table")
    util.check_eq(ctx.db.scalar("SELECT @@character_set_server"), "utf8mb4", "server charset")

    def as_app(statement, database):
        return subprocess.run(
            ["mariadb", "--no-defaults", "-h", ctx.db.host, "-P", str(ctx.db.port),
             "-u", ctx.db.user, f"-p{ctx.db.password}", "--batch", "--skip-column-names",
             "-e", statement, database],
            capture_output=True, text=True, timeout=30)

    ok = as_app("SELECT v FROM t WHERE id = 2", name)
    util.check_eq((ok.returncode, ok.stdout.strip()), (0, "y"), "app account over TCP")
    denied = as_app("SELECT 1", "mysql")
    util.check(denied.returncode != 0 and "denied" in denied.stderr,
               f"app account must not reach other schemas: {denied.stderr!r}")
    try:
        ctx.db.drop_database("mysql")
    except db.DbError as e:
        util.check_in("not a test database", str(e), "drop guard")
    else:
        raise util.CheckFailed("drop_database accepted a non-test database")


def test_certificates(ctx):
    """Leaf certificates are ECDSA P-256 with the right names and chain."""
    cert, key = ctx.leaf
    util.check(ctx.ca.verify(cert), "leaf does not verify against its CA")
    util.check(not ctx.other_ca().verify(cert), "leaf verifies against an unrelated CA")
    util.check_eq(os.stat(key).st_mode & 0o777, 0o600, "key file mode")
    text = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    util.check_in("prime256v1", text, "leaf key curve")
    util.check_in("DNS:localhost", text, "leaf names")
    util.check_in("IP Address:127.0.0.1", text, "leaf names")


def test_protocol_client(ctx):
    """The raw client frames lines, verifies the server and sees EOF."""
    cert, key = ctx.leaf
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        raw, _ = listener.accept()
        with sctx.wrap_socket(raw, server_side=True) as s:
            f = s.makefile("rwb")
            req = json.loads(f.readline())
            f.write(b'{"event":"hint"}\n' + json.dumps({"id": req["id"], "ok": True}).encode()
                    + b"\n")
            f.flush()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    conn = ctx.connect(port=port)
    reply = conn.request("ping")
    util.check_eq(reply, {"id": 1, "ok": True}, "reply")
    util.check_eq(conn.events, [{"event": "hint"}], "events seen on the way")
    util.check_eq(conn.wait_closed(timeout=5), [], "messages before EOF")
    t.join(5)
    listener.close()

    # a server with a certificate from another CA is refused
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    t = threading.Thread(target=lambda: _accept_tls(listener, sctx), daemon=True)
    t.start()
    try:
        wire.Conn.open(port, ctx.other_ca().cert, timeout=5)
    except ssl.SSLCertVerificationError:
        pass
    else:
        raise util.CheckFailed("client accepted a certificate from an unrelated CA")
    t.join(5)
    listener.close()


def _accept_tls(listener, sctx):
    """Accept one connection and attempt a handshake (expected to fail)."""
    raw, _ = listener.accept()
    try:
        sctx.wrap_socket(raw, server_side=True).close()
    except (ssl.SSLError, OSError):
        raw.close()
