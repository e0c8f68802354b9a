"""The private MariaDB instance shared by one test run.

`start` initialises a data folder, starts mariadbd on a free loopback port
and a unix socket in a temporary folder, creates the account the servers
under test use, and writes the connection facts to db.json; `stop` shuts it
down. Each case then makes its own database through `DbInfo`."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from . import util

INFO_FILE = "db.json"
PID_FILE = "mariadbd.pid"
APP_USER = "cc_itest"
DB_PREFIX = "cc_itest_"


class DbError(RuntimeError):
    """The MariaDB instance could not be started, reached or stopped."""


def _run(argv, stdin=None, timeout=60):
    """Run a MariaDB tool; raise DbError with its output on failure."""
    proc = subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise DbError(
            f"{os.path.basename(argv[0])} failed (exit {proc.returncode}):\n"
            f"{proc.stdout}{proc.stderr}"
        )
    return proc.stdout


def _program(name):
    """A MariaDB program: on PATH, or in the sbin folders a normal user's
    PATH lacks on Debian."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError(f"{name} not found (install mariadb-server)")


def _kill_stale(base):
    """Stop a mariadbd that an aborted earlier run left on this folder."""
    pid_path = os.path.join(base, PID_FILE)
    try:
        with open(pid_path) as f:
            pid = int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return
    cmd = util.pid_cmdline(pid)
    datadir = os.path.join(base, "data")
    if cmd and os.path.basename(cmd[0]) == "mariadbd" and f"--datadir={datadir}" in cmd:
        os.kill(pid, signal.SIGKILL)
        util.wait_until(lambda: not util.pid_alive(pid), 10, f"stale mariadbd {pid} to exit")
    os.unlink(pid_path)


def _wait_ready(proc, sock, timeout):
    """Poll until mariadbd answers on its socket; False if it exited or
    did not answer in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        ping = subprocess.run(
            ["mariadb-admin", "--no-defaults", f"--socket={sock}", "-uroot", "ping"],
            capture_output=True,
            text=True,
        )
        if ping.returncode == 0 and "alive" in ping.stdout:
            return True
        time.sleep(0.1)
    return False


def start(base):
    """Start a fresh instance under base and write base/db.json."""
    base = os.path.abspath(base)
    os.makedirs(base, exist_ok=True)
    _kill_stale(base)
    old = load_info(base, missing_ok=True)
    if old and os.path.isdir(old.get("sockdir", "")):
        shutil.rmtree(old["sockdir"], ignore_errors=True)
    for name in ("data", "cases", INFO_FILE, "mariadbd.log"):
        path = os.path.join(base, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)
    os.makedirs(os.path.join(base, "cases"))

    datadir = os.path.join(base, "data")
    # unix socket paths are limited to 107 bytes; build trees can be deep
    sockdir = tempfile.mkdtemp(prefix="cc-itest-db-")
    sock = os.path.join(sockdir, "mysqld.sock")
    user = "root" if os.geteuid() == 0 else None
    install = [
        _program("mariadb-install-db"),
        "--no-defaults",
        "--force",  # the host name need not resolve: accounts are local only
        f"--datadir={datadir}",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
    ]
    if user:
        install.append(f"--user={user}")
    _run(install, timeout=120)

    log_path = os.path.join(base, "mariadbd.log")
    last_error = None
    for _attempt in range(3):
        port = util.free_port()
        argv = [
            _program("mariadbd"),
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            f"--pid-file={os.path.join(sockdir, 'mariadbd.pid')}",
            "--max-connections=1000",
            "--innodb-buffer-pool-size=128M",
            # tests are not about durability: spare the shared disk
            "--innodb-flush-log-at-trx-commit=2",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
        ]
        if user:
            argv.append(f"--user={user}")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # outlives this setup step
            )
        with open(os.path.join(base, PID_FILE), "w") as f:
            f.write(f"{proc.pid}\n")
        if _wait_ready(proc, sock, 60):
            break
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise DbError(f"mariadbd not ready after 60 s; log tail:\n{util.file_tail(log_path, 30)}")
        # most likely the port was taken in the meantime: try another
        last_error = util.file_tail(log_path, 30)
        os.unlink(os.path.join(base, PID_FILE))
    else:
        raise DbError(f"mariadbd did not start; log tail:\n{last_error}")

    password = os.urandom(12).hex()
    info = {
        "pid": proc.pid,
        "host": "127.0.0.1",
        "port": port,
        "socket": sock,
        "sockdir": sockdir,
        "datadir": datadir,
        "log": log_path,
        "user": APP_USER,
        "password": password,
        "prefix": DB_PREFIX,
    }
    db = DbInfo(info)
    # the servers under test get their own databases and nothing else
    pattern = DB_PREFIX.replace("_", "\\_") + "%"
    db.sql(
        f"CREATE USER '{APP_USER}'@'127.0.0.1' IDENTIFIED BY '{password}';\n"
        f"CREATE USER '{APP_USER}'@'localhost' IDENTIFIED BY '{password}';\n"
        f"GRANT ALL ON `{pattern}`.* TO '{APP_USER}'@'127.0.0.1';\n"
        f"GRANT ALL ON `{pattern}`.* TO '{APP_USER}'@'localhost';\n"
    )
    tmp = os.path.join(base, INFO_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(info, f, indent=2)
    os.replace(tmp, os.path.join(base, INFO_FILE))
    return db


def stop(base):
    """Shut down the instance under base (and remove its socket folder)."""
    base = os.path.abspath(base)
    info = load_info(base, missing_ok=True)
    if info is None:
        _kill_stale(base)
        return
    pid = info["pid"]
    cmd = util.pid_cmdline(pid)
    if cmd and os.path.basename(cmd[0]) == "mariadbd":
        os.kill(pid, signal.SIGTERM)
        try:
            util.wait_until(lambda: not util.pid_alive(pid), 60, "mariadbd to shut down")
        except util.CheckFailed:
            os.kill(pid, signal.SIGKILL)
            raise DbError(f"mariadbd {pid} ignored SIGTERM for 60 s; killed")
    shutil.rmtree(info["sockdir"], ignore_errors=True)
    for name in (INFO_FILE, PID_FILE):
        path = os.path.join(base, name)
        if os.path.exists(path):
            os.unlink(path)


def load_info(base, missing_ok=False):
    """The connection facts written by start, or None."""
    path = os.path.join(base, INFO_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise DbError(
            f"{path} is missing: the MariaDB fixture is not running "
            "(run the suite through ctest, or start it with dbfixture.py start)"
        )


def sql_quote(value):
    """A SQL string literal (for the harness's own statements)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0")
    return f"'{escaped}'"


class DbInfo:
    """Administrative access to the shared instance through the mariadb
    command-line client over the unix socket."""

    def __init__(self, info):
        self.info = info
        self.host = info["host"]
        self.port = info["port"]
        self.user = info["user"]
        self.password = info["password"]

    @classmethod
    def load(cls, base):
        """Attach to the instance started by start(base)."""
        info = load_info(base)
        if not util.pid_alive(info["pid"]):
            raise DbError(f"mariadbd (pid {info['pid']}) is not running; see {info['log']}")
        return cls(info)

    def sql(self, statements, database=None, timeout=60):
        """Run SQL as root; returns the result rows as lists of strings."""
        argv = [
            "mariadb",
            "--no-defaults",
            f"--socket={self.info['socket']}",
            "-uroot",
            "--batch",
            "--skip-column-names",
            "--raw",
        ]
        if database:
            argv.append(f"--database={database}")
        out = _run(argv, stdin=statements, timeout=timeout)
        return [line.split("\t") for line in out.splitlines()]

    def session(self, database=None):
        """A mariadb client kept open (stdin and stdout pipes, unbuffered):
        for holding a transaction's locks while the server works."""
        argv = ["mariadb", "--no-defaults", f"--socket={self.info['socket']}", "-uroot",
                "--batch", "--skip-column-names", "--raw", "--unbuffered"]
        if database:
            argv.append(f"--database={database}")
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)

    def scalar(self, query, database=None):
        """The single value a query returns."""
        rows = self.sql(query, database)
        if len(rows) != 1 or len(rows[0]) != 1:
            raise DbError(f"expected one value from {query!r}, got {rows!r}")
        return rows[0][0]

    def create_database(self, tag):
        """A new, empty database whose name starts with tag; returns its name."""
        safe = "".join(c if c.isalnum() else "_" for c in tag.lower())[:30]
        name = f"{DB_PREFIX}{safe}_{os.getpid()}_{os.urandom(3).hex()}"
        self.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return name

    def drop_database(self, name):
        """Remove a database made by create_database."""
        if not name.startswith(DB_PREFIX):
            raise DbError(f"refusing to drop {name}: not a test database")
        self.sql(f"DROP DATABASE IF EXISTS `{name}`")
