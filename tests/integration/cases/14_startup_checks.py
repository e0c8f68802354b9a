"""Start-up checks: key file permissions, --check-config."""

import os

from itest import util


def test_check_config_ok(ctx):
    """--check-config on a good config prints "config ok" and exits 0."""
    srv = ctx.server(start=False)
    proc = srv.tool("--check-config")
    util.check_eq(proc.returncode, 0, f"--check-config exit status ({proc.stderr!r})")
    util.check_in("config ok", proc.stdout + proc.stderr, "--check-config output")


def test_key_readable_by_others(ctx):
    """A key file readable by group or others: refused, naming the file."""
    srv = ctx.server(start=False)
    for mode in (0o644, 0o640):
        os.chmod(srv.key_path, mode)
        proc = srv.tool("--check-config")
        util.check_eq(proc.returncode, 1, f"--check-config exit status with key mode {mode:o}")
        util.check_in(srv.key_path, proc.stderr, "--check-config error")
        util.check("config ok" not in proc.stdout, "--check-config said ok")

    os.chmod(srv.key_path, 0o644)
    srv.start(wait=False)
    code = srv.wait_exit(util.scaled(10))
    util.check_eq(code, 1, "exit status of a start with a readable key")
    util.check_in(srv.key_path, srv.log_text(), "start-up error")
    util.check(not util.port_listening(srv.port), "server listens despite the bad key")


def test_bad_configs(ctx):
    """Unknown keys, bad values and a missing certificate are refused with exit 1."""
    srv = ctx.server(start=False)
    for override, word in (("server.no_such_key=1", "no_such_key"),
                           ("server.handshake_timeout=-3", "handshake_timeout"),
                           ("server.admin_listen=10.1.2.3:7480", "admin_listen"),
                           ("tls.cert=missing.crt", "missing.crt")):
        proc = srv.tool("-o", override, "--check-config")
        util.check_eq(proc.returncode, 1, f"--check-config -o {override} exit status")
        util.check_in(word, proc.stderr, f"--check-config -o {override} error")

    # a key that does not match the certificate
    other_cert, _ = ctx.ca.issue("mismatch")
    proc = srv.tool("-o", f"tls.cert={other_cert}", "--check-config")
    util.check_eq(proc.returncode, 1, "--check-config with a mismatched key")
    util.check_in(srv.key_path, proc.stderr, "mismatched key error")
    util.check("mismatch" in proc.stderr or "does not match" in proc.stderr,
               f"mismatched key error does not say so: {proc.stderr!r}")

    version = srv.tool("--version", config=False)
    util.check_eq(version.returncode, 0, "--version exit status")
    util.check(any(ch.isdigit() for ch in version.stdout), f"--version: {version.stdout!r}")
