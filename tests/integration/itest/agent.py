"""ccagent under test: scripted runs (-c) and interactive sessions on a
pseudo-terminal."""

import os
import pty
import re
import select
import signal
import subprocess
import time

from . import server, util


class Agent:
    """Runs ccagent against one server address with one CA file."""

    def __init__(self, binary, folder, port, ca_file, host="127.0.0.1"):
        self.binary = binary
        self.folder = folder
        self.port = port
        self.ca_file = ca_file
        self.host = host
        self.transcripts = []  # (argv, rc, stdout, stderr) of scripted runs
        self.sessions = []

    def address_args(self, host=None):
        """The options that aim ccagent at the server."""
        args = ["-s", f"{host or self.host}:{self.port}"]
        if self.ca_file:
            args += ["--ca", self.ca_file]
        return args

    def env(self, password=None):
        """The environment for ccagent: no inherited password."""
        env = util.env_without("CCAGENT_PASSWORD", "CCAGENT_SERVER", "CCAGENT_USER",
                               "CCAGENT_CA")
        env["TERM"] = "dumb"
        if password is not None:
            env["CCAGENT_PASSWORD"] = password
        return env

    def run(self, *args, user=None, password=None, host=None, address=True, stdin="",
            timeout=20.0):
        """One scripted run; returns CompletedProcess (text)."""
        argv = [self.binary] + (self.address_args(host) if address else [])
        if user:
            argv += ["-u", user]
        argv += list(args)
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              env=self.env(password), timeout=util.scaled(timeout),
                              preexec_fn=util.die_with_parent)
        self.transcripts.append((argv, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def password_file(self, password, name="agent.pass"):
        """A file holding password, readable by the owner only."""
        path = os.path.join(self.folder, name)
        with open(path, "w") as f:
            f.write(password + "\n")
        os.chmod(path, 0o600)
        return path

    def interactive(self, *args, user=None, password=None):
        """Start ccagent on a pseudo-terminal."""
        argv = [self.binary] + self.address_args()
        if user:
            argv += ["-u", user]
        argv += list(args)
        session = PtySession(argv, self.env(password))
        self.sessions.append(session)
        return session

    def close(self):
        """End interactive sessions still running."""
        for s in self.sessions:
            s.close()

    def sanitizer_reports(self):
        """Sanitizer reports in any output seen, as problem strings."""
        found = []
        texts = [t[3] for t in self.transcripts] + [s.output for s in self.sessions]
        for text in texts:
            for line in text.splitlines():
                if any(mark in line for mark in server.SANITIZER_MARKS):
                    found.append(f"sanitizer report from ccagent: {line}")
                    break
        return found

    def dump(self):
        """Print the transcripts."""
        for argv, rc, out, err in self.transcripts:
            print(f"--- ccagent {' '.join(argv[1:])} -> exit {rc}")
            print(f"stdout: {util.shorten(out, 2000)}")
            print(f"stderr: {util.shorten(err, 2000)}")
        for s in self.sessions:
            print(f"--- interactive ccagent {' '.join(s.argv[1:])} "
                  f"(exit {s.returncode}) screen:")
            print(util.shorten(s.output, 4000))


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\r")


class PtySession:
    """A process on a pseudo-terminal with expect-style reading."""

    def __init__(self, argv, env):
        self.argv = argv
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True,
                                     preexec_fn=util.die_with_parent)
        os.close(slave)
        self.raw = b""
        self.pos = 0  # how far expect() has consumed self.output
        self.returncode = None

    @property
    def output(self):
        """Everything shown so far, with terminal control sequences removed."""
        return _ANSI.sub("", self.raw.decode(errors="replace"))

    def _pump(self, timeout):
        """Read what the program wrote within timeout; False at EOF."""
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the program closed the terminal
            return False
        if not data:
            return False
        self.raw += data
        return True

    def expect(self, pattern, timeout=10.0):
        """Wait for pattern (a regex) in new output; returns the match and
        consumes output up to it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + util.scaled(timeout)
        while True:
            m = regex.search(self.output, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(min(left, 0.2)) and not self.alive():
                m = regex.search(self.output, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                state = "running" if self.alive() else f"exited {self.proc.poll()}"
                raise util.CheckFailed(
                    f"ccagent ({state}) did not show /{pattern}/ within "
                    f"{timeout * util.TIME_SCALE:.0f} s; new output: "
                    f"{util.shorten(self.output[self.pos:], 1500)!r}")

    def sendline(self, text):
        """Type a line."""
        os.write(self.master, text.encode() + b"\r")

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=10.0):
        """Wait for exit, collecting output; returns the status or None."""
        deadline = time.monotonic() + util.scaled(timeout)
        while self.alive() and time.monotonic() < deadline:
            self._pump(0.1)
        while self._pump(0.05) and self._pump_more():
            pass
        self.returncode = self.proc.poll()
        return self.returncode

    def _pump_more(self):
        r, _, _ = select.select([self.master], [], [], 0)
        return bool(r)

    def close(self):
        """Stop the program if still running and release the terminal."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=util.scaled(5))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.poll()
        try:
            os.close(self.master)
        except OSError:
            pass
