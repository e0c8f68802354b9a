"""callcentred under test: its config file, its tools (--migrate,
--hash-password, --check-config) and the running daemon."""

import os
import re
import signal
import subprocess
import time

from . import admin, db, util

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")
HARNESS_MARK = "--- harness:"  # our own lines in the server log


class ServerError(util.CheckFailed):
    """The server did not start, or did not stop as it should."""


class Server:
    """One callcentred with its own folder, config, ports and log."""

    def __init__(self, binary, folder, dbinfo, database, cert, key, settings=None):
        self.binary = binary
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.dbinfo = dbinfo
        self.database = database
        self.conf = os.path.join(folder, "callcentred.conf")
        self.log = os.path.join(folder, "callcentred.log")
        self.proc = None
        self.exit_codes = []  # of every run, in order
        self.problems = []  # failures noticed while stopping
        self.port = util.free_port()
        self.admin_port = util.free_port()
        # relative names: the config file's folder is the base for them
        self.install_key_pair(cert, key)
        with open(os.path.join(folder, "db.pass"), "w") as f:
            f.write(dbinfo.password + "\n")
        os.chmod(os.path.join(folder, "db.pass"), 0o600)
        self.settings = {
            "server.listen": "127.0.0.1:{port}",
            "server.admin_listen": "127.0.0.1:{admin_port}",
            "server.shutdown_timeout": "5",
            "tls.cert": "server.crt",
            "tls.key": "server.key",
            "database.host": dbinfo.host,
            "database.port": str(dbinfo.port),
            "database.user": dbinfo.user,
            "database.password_file": "db.pass",
            "database.name": database,
            "database.workers": "2",
            "database.connect_timeout": "3",
            "auth.scrypt_n_log2": "10",
            "auth.hash_workers": "1",
            "log.level": "debug",
        }
        for key_name, value in (settings or {}).items():
            if value is None:
                self.settings.pop(key_name, None)
            else:
                self.settings[key_name] = str(value)
        self.write_config()

    def install_key_pair(self, cert, key):
        """Copy a certificate and key in as server.crt / server.key."""
        for src, name, mode in ((cert, "server.crt", 0o644), (key, "server.key", 0o600)):
            dst = os.path.join(self.folder, name)
            with open(src, "rb") as f_in, open(dst, "wb") as f_out:
                f_out.write(f_in.read())
            os.chmod(dst, mode)

    @property
    def key_path(self):
        return os.path.join(self.folder, "server.key")

    @property
    def cert_path(self):
        return os.path.join(self.folder, "server.crt")

    def write_config(self):
        """Write the INI file from self.settings."""
        sections = {}
        for name, value in self.settings.items():
            section, key = name.split(".", 1)
            value = value.format(port=self.port, admin_port=self.admin_port)
            sections.setdefault(section, []).append(f"{key} = {value}")
        with open(self.conf, "w") as f:
            f.write("# written by the integration harness\n")
            for section, lines in sections.items():
                f.write(f"\n[{section}]\n" + "\n".join(lines) + "\n")

    def tool(self, *args, stdin=None, timeout=60.0, config=True):
        """Run callcentred once in the foreground; returns CompletedProcess."""
        argv = [self.binary] + (["-f", self.conf] if config else []) + list(args)
        return subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=util.scaled(timeout), preexec_fn=util.die_with_parent)

    def migrate(self):
        """callcentred --migrate (must succeed)."""
        proc = self.tool("--migrate")
        util.check(proc.returncode == 0,
                   f"callcentred --migrate exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
        return proc

    def hash_password(self, password):
        """The stored form of password, from callcentred --hash-password."""
        proc = self.tool("--hash-password", stdin=password + "\n")
        util.check(proc.returncode == 0,
                   f"callcentred --hash-password exited {proc.returncode}: {proc.stderr}")
        value = proc.stdout.strip()
        util.check(value.startswith("$scrypt$"), f"--hash-password printed {value!r}")
        util.check(password not in proc.stdout + proc.stderr,
                   "--hash-password echoed the password")
        return value

    def add_agent(self, user, password, name=None, role="agent", site="SH"):
        """Insert an agent (and its site) directly into the database."""
        hashed = self.hash_password(password)
        q = db.sql_quote
        self.dbinfo.sql(
            f"INSERT IGNORE INTO sites (code, name) VALUES ({q(site)}, {q(site + ' site')});\n"
            "INSERT INTO agents (username, display_name, role, site_id, password_hash) "
            f"SELECT {q(user)}, {q(name or user.title())}, {q(role)}, id, {q(hashed)} "
            f"FROM sites WHERE code = {q(site)};\n",
            self.database)

    def start(self, wait=True, timeout=20.0):
        """Start the daemon; with wait, until it serves both ports. Retries
        with new ports if one was taken by someone else meanwhile."""
        for attempt in range(3):
            with open(self.log, "ab") as log:
                log.write(f"{HARNESS_MARK} starting {self.binary} -f {self.conf}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    [self.binary, "-f", self.conf],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    preexec_fn=util.die_with_parent)
            if not wait:
                return self
            try:
                self.wait_ready(timeout)
                return self
            except ServerError:
                if self.proc.poll() is None or "in use" not in util.file_tail(self.log, 10):
                    raise
                self.exit_codes.append(self.proc.returncode)
                self.port, self.admin_port = util.free_port(), util.free_port()
                self.write_config()
        raise ServerError(f"callcentred could not bind after {attempt + 1} tries")

    def wait_ready(self, timeout=20.0):
        """Wait until both ports listen and /healthz answers (any status)."""
        deadline = time.monotonic() + util.scaled(timeout)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"callcentred exited with status {self.proc.returncode} "
                                  f"during start-up")
            if util.port_listening(self.port) and util.port_listening(self.admin_port):
                try:
                    admin.get(self.admin_port, "/healthz", timeout=2)
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise ServerError(f"callcentred not serving on ports {self.port}/{self.admin_port} "
                          f"after {timeout * util.TIME_SCALE:.0f} s")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        """Send a signal to the daemon."""
        util.check(self.running(), "callcentred is not running")
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Wait for the daemon to exit; its status, or None if it did not."""
        try:
            code = self.proc.wait(timeout=util.scaled(timeout))
        except subprocess.TimeoutExpired:
            return None
        self.exit_codes.append(code)
        return code

    def stop(self, timeout=None):
        """SIGTERM and wait for a clean exit; SIGKILL (and note a problem)
        if it does not come. Returns the exit status."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        if timeout is None:
            timeout = int(self.settings.get("server.shutdown_timeout", "10")) + 5
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait_exit(timeout)
        if code is None:
            self.proc.kill()
            self.proc.wait()
            self.exit_codes.append(self.proc.returncode)
            self.problems.append(f"callcentred ignored SIGTERM for "
                                 f"{timeout * util.TIME_SCALE:.0f} s and was killed")
            return self.proc.returncode
        if code != 0:
            self.problems.append(f"callcentred exited with status {code} after SIGTERM")
        return code

    def kill(self):
        """SIGKILL, for emergencies only."""
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def log_text(self):
        """Everything the daemon (and its tools) logged so far."""
        try:
            with open(self.log, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def find_log(self, pattern):
        """The first log line matching the regex pattern, or None."""
        regex = re.compile(pattern)
        for line in self.log_text().splitlines():
            if regex.search(line) and not line.startswith(HARNESS_MARK):
                return line
        return None

    def wait_log(self, pattern, timeout=10.0):
        """Wait until a log line matches the regex pattern; returns the line."""
        return util.wait_until(lambda: self.find_log(pattern), util.scaled(timeout),
                               f"/{pattern}/ in the server log")

    def sanitizer_report(self):
        """The first sanitizer report line in the log, or None."""
        for line in self.log_text().splitlines():
            if any(mark in line for mark in SANITIZER_MARKS):
                return line
        return None
