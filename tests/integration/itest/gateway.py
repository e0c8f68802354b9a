"""ccgateway under test: its config file and secrets, the running daemon,
and requests to it over real HTTPS with the curl command-line tool."""

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

from . import util
from .server import HARNESS_MARK, SANITIZER_MARKS


class GatewayError(util.CheckFailed):
    """The gateway did not start, or did not stop as it should."""


class Response:
    """One HTTP answer as curl saw it."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> last value
        self.body = body  # text

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.headers} {util.shorten(self.body, 300)!r}>"


class Gateway:
    """One ccgateway with its own folder, config, port and log, aimed at a
    callcentred (its port, and the case's CA)."""

    def __init__(self, binary, folder, upstream_port, ca_file, cert, key, password,
                 settings=None):
        self.binary = binary
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.ca_file = ca_file
        self.conf = os.path.join(folder, "ccgateway.conf")
        self.log = os.path.join(folder, "ccgateway.log")
        self.proc = None
        self.exit_codes = []
        self.problems = []
        self.port = util.free_port()
        for src, name in ((cert, "gateway.crt"), (key, "gateway.key")):
            with open(src, "rb") as f_in, open(os.path.join(folder, name), "wb") as f_out:
                f_out.write(f_in.read())
        os.chmod(os.path.join(folder, "gateway.key"), 0o600)
        self._secret_file("upstream.pass", password)
        self.form_secret = os.urandom(32).hex()
        self._secret_file("form.secret", self.form_secret)
        self.api_key, line = self.new_api_key("itest")
        with open(os.path.join(folder, "api.keys"), "w") as f:
            f.write("# name sha256(key)\n" + line + "\n")
        self.settings = {
            "http.listen": "127.0.0.1:{port}",
            "http.timeout": "3",
            "tls.cert": "gateway.crt",
            "tls.key": "gateway.key",
            "upstream.host": "127.0.0.1",
            "upstream.port": str(upstream_port),
            "upstream.server_name": "localhost",
            "upstream.ca_file": ca_file,
            "upstream.user": "gateway",
            "upstream.password_file": "upstream.pass",
            "upstream.connections": "2",
            "upstream.request_timeout": "5",
            "upstream.reconnect_max": "1",
            "web.form_secret_file": "form.secret",
            "web.api_keys_file": "api.keys",
            "log.level": "debug",
        }
        for name, value in (settings or {}).items():
            if value is None:
                self.settings.pop(name, None)
            else:
                self.settings[name] = str(value)
        self.write_config()

    def _secret_file(self, name, text):
        path = os.path.join(self.folder, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)

    def new_api_key(self, name):
        """(key, line) from ccgateway --new-api-key NAME."""
        proc = subprocess.run([self.binary, "--new-api-key", name], capture_output=True,
                              text=True, timeout=util.scaled(20),
                              preexec_fn=util.die_with_parent)
        util.check(proc.returncode == 0, f"--new-api-key exited {proc.returncode}: "
                                         f"{proc.stderr}")
        key = re.search(r"^key: (\S+)$", proc.stdout, re.M)
        line = re.search(r"^line for web.api_keys_file: (.+)$", proc.stdout, re.M)
        util.check(key and line, f"--new-api-key printed {proc.stdout!r}")
        return key.group(1), line.group(1)

    def write_config(self):
        sections = {}
        for name, value in self.settings.items():
            section, key = name.split(".", 1)
            sections.setdefault(section, []).append(f"{key} = {value.format(port=self.port)}")
        with open(self.conf, "w") as f:
            f.write("# written by the integration harness\n")
            for section, lines in sections.items():
                f.write(f"\n[{section}]\n" + "\n".join(lines) + "\n")

    def tool(self, *args, timeout=20.0):
        """Run ccgateway once in the foreground; returns CompletedProcess."""
        return subprocess.run([self.binary, "-f", self.conf] + list(args),
                              capture_output=True, text=True, timeout=util.scaled(timeout),
                              preexec_fn=util.die_with_parent)

    # the daemon

    def start(self, timeout=20.0):
        """Start and wait until /healthz answers (200 or 503)."""
        with open(self.log, "ab") as log:
            log.write(f"{HARNESS_MARK} starting {self.binary} -f {self.conf}\n".encode())
            log.flush()
            self.proc = subprocess.Popen([self.binary, "-f", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=util.die_with_parent)
        deadline = time.monotonic() + util.scaled(timeout)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.exit_codes.append(self.proc.returncode)
                raise GatewayError(f"ccgateway exited with status {self.proc.returncode} "
                                   f"during start-up:\n{util.file_tail(self.log, 10)}")
            if util.port_listening(self.port):
                try:
                    self.health()
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise GatewayError(f"ccgateway not serving on {self.port} after {timeout} s")

    def health(self):
        """The status of /healthz (Python's TLS client, not curl: fast)."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                          b"Connection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        return int(data.split(b" ", 2)[1])

    def wait_healthy(self, timeout=20.0):
        """Wait until an upstream connection is logged in (/healthz 200)."""
        util.wait_until(lambda: self.health() == 200, util.scaled(timeout),
                        "ccgateway /healthz 200")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM and wait for exit status 0 (else a problem is noted)."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=util.scaled(timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.problems.append("ccgateway ignored SIGTERM and was killed")
            code = self.proc.returncode
        self.exit_codes.append(code)
        if code != 0:
            self.problems.append(f"ccgateway exited with status {code} after SIGTERM")
        return code

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def sanitizer_report(self):
        for line in self.log_text().splitlines():
            if any(mark in line for mark in SANITIZER_MARKS):
                return line
        return None

    # requests

    @property
    def url(self):
        return f"https://localhost:{self.port}"

    def curl(self, path, method=None, data=None, form=None, json_body=None, headers=None,
             timeout=20.0, extra=None):
        """One request with curl over HTTPS, trusting the case's CA. data:
        bytes or str sent as is; form: a dict sent urlencoded; json_body: an
        object sent as application/json."""
        argv = ["curl", "-sS", "--cacert", self.ca_file, "--max-time", str(util.scaled(timeout)),
                "--resolve", f"localhost:{self.port}:127.0.0.1", "-D", "-",
                "-o", os.path.join(self.folder, "curl.body"), "-w", "%{http_code}"]
        body = None
        hdrs = dict(headers or {})
        if form is not None:
            from urllib.parse import urlencode
            body = urlencode(form).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        if body is not None:
            argv += ["--data-binary", "@-"]
        if method:
            argv += ["-X", method]
        for name, value in hdrs.items():
            argv += ["-H", f"{name}: {value}"]
        argv += list(extra or [])
        argv.append(self.url + path)
        proc = subprocess.run(argv, input=body if body is not None else b"", capture_output=True,
                              timeout=util.scaled(timeout) + 5, preexec_fn=util.die_with_parent)
        util.check(proc.returncode == 0, f"curl {path} exited {proc.returncode}: "
                                         f"{proc.stderr.decode(errors='replace')}")
        out = proc.stdout.decode(errors="replace")
        status = int(out[-3:])
        headers = {}
        for line in out[:-3].splitlines()[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        with open(os.path.join(self.folder, "curl.body"), "rb") as f:
            text = f.read().decode(errors="replace")
        return Response(status, headers, text)


def read_response(sock, timeout=10.0):
    """One HTTP/1.1 answer (with Content-Length) from a socket: a Response,
    or None when the connection ended before a status line."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode(errors="replace").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return Response(int(lines[0].split(" ", 2)[1]), headers,
                    body[:length].decode(errors="replace"))


class FakeUpstream:
    """A stand-in for callcentred over TLS (the case's certificate): it
    accepts the gateway's login and answers every other request with
    answer(conn, msg), a reply object or None for no answer at all. conn
    is the connection's number in the order they were accepted;
    self.calls lists (conn, op) of the requests seen."""

    def __init__(self, cert, key, answer):
        self.answer = answer
        self.calls = []
        self.logins = 0
        self.conns = []
        self.lock = threading.Lock()
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                n = len(self.conns)
                self.conns.append(raw)
            threading.Thread(target=self._serve, args=(raw, n), daemon=True).start()

    def _serve(self, raw, n):
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
            f = s.makefile("rb")
            for line in f:
                if not line.strip():
                    continue
                msg = json.loads(line)
                if msg.get("op") == "login":
                    reply = {"id": msg["id"], "ok": True}
                    with self.lock:
                        self.logins += 1
                else:
                    with self.lock:
                        self.calls.append((n, msg.get("op")))
                    reply = self.answer(n, msg)
                    if reply is None:
                        continue
                    reply = dict(reply, id=msg["id"])
                s.sendall(json.dumps(reply).encode() + b"\n")
        except (OSError, ValueError):
            pass

    def close(self):
        self.closed = True
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass
