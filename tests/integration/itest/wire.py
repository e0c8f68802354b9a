"""A raw client for the agent protocol: TLS, one JSON object per line.
Deliberately independent of ccagent, so that each checks the other."""

import json
import select
import socket
import ssl
import time

from . import util

MAX_LINE = 65536


class Closed(Exception):
    """The server closed the connection."""


def client_context(ca_file):
    """A verifying TLS client context trusting only ca_file."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # a server that drops us without close_notify reads as a plain EOF
    ctx.options |= getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    return ctx


class Conn:
    """One connection: send requests, read replies and events."""

    def __init__(self, sock):
        self.sock = sock  # the TLS socket
        self.buf = b""
        self.events = []  # server pushes seen while waiting for replies
        self.next_id = 1
        self.eof = False

    @classmethod
    def open(cls, port, ca_file, host="127.0.0.1", server_hostname="localhost",
             timeout=10.0, rcvbuf=None, source=None):
        """Connect (from the loopback address source, if given) and finish
        the TLS handshake."""
        timeout = util.scaled(timeout)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        try:
            if source is not None:
                raw.bind((source, 0))
            raw.connect((host, port))
            tls = client_context(ca_file).wrap_socket(raw, server_hostname=server_hostname)
        except BaseException:
            raw.close()
            raise
        tls.settimeout(timeout)
        return cls(tls)

    def close(self):
        """Close without ceremony."""
        try:
            self.sock.close()
        except OSError:
            pass

    def tls_version(self):
        """The negotiated protocol, e.g. "TLSv1.3"."""
        return self.sock.version()

    def send_raw(self, data):
        """Write bytes as they are."""
        self.sock.sendall(data)

    def send(self, obj):
        """Write one JSON object as a line."""
        self.send_raw(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def _fill(self, deadline):
        """Read more bytes into buf; raise Closed at EOF, TimeoutError at deadline."""
        if self.eof:
            raise Closed("connection already closed")
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no data from server")
            # data may already sit decrypted inside the TLS object
            if self.sock.pending() == 0:
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    continue
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
                chunk = b""
            except ssl.SSLWantReadError:
                continue
            except socket.timeout:
                continue
            if not chunk:
                self.eof = True
                raise Closed("server closed the connection")
            self.buf += chunk
            return

    def read_line(self, timeout=10.0):
        """The next line from the server, without its LF."""
        deadline = time.monotonic() + util.scaled(timeout)
        while b"\n" not in self.buf:
            self._fill(deadline)
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def read(self, timeout=10.0):
        """The next message (reply or event) as a dict."""
        line = self.read_line(timeout)
        try:
            msg = json.loads(line)
        except ValueError as e:
            raise util.CheckFailed(f"server sent a line that is not JSON ({e}): "
                                   f"{util.shorten(line)!r}")
        util.check(isinstance(msg, dict), f"server sent a non-object: {util.shorten(line)!r}")
        return msg

    def reply_for(self, rid, timeout=10.0):
        """Read until the reply with id rid; events on the way go to self.events."""
        while True:
            msg = self.read(timeout)
            if "event" in msg and "id" not in msg:
                self.events.append(msg)
                continue
            util.check_eq(msg.get("id"), rid, f"reply id (reply {util.shorten(msg)})")
            return msg

    def request(self, op, timeout=10.0, **args):
        """Send {"id", "op", **args} and return its reply."""
        rid = self.next_id
        self.next_id += 1
        self.send({"id": rid, "op": op, **args})
        return self.reply_for(rid, timeout)

    def ok(self, op, timeout=10.0, **args):
        """request() that must succeed; returns the reply."""
        reply = self.request(op, timeout=timeout, **args)
        util.check(reply.get("ok") is True, f"{op} failed: {util.shorten(reply)}")
        return reply

    def login(self, user, password, timeout=15.0):
        """Log in (must succeed); returns the reply."""
        return self.ok("login", timeout=timeout, user=user, password=password)

    def wait_closed(self, timeout=10.0):
        """Read until EOF, returning the messages seen; fail if the server
        keeps the connection open past timeout."""
        seen = []
        deadline = time.monotonic() + util.scaled(timeout)
        try:
            while True:
                while b"\n" in self.buf:
                    line, _, self.buf = self.buf.partition(b"\n")
                    seen.append(json.loads(line))
                self._fill(deadline)
        except Closed:
            if self.buf:
                seen.append(self.buf)
            return seen
        except TimeoutError:
            raise util.CheckFailed(
                f"server kept the connection open for {timeout * util.TIME_SCALE:.1f} s "
                f"(messages seen: {util.shorten(seen)})")

    def is_open(self, timeout=5.0):
        """Does a ping still get an answer."""
        try:
            return self.request("ping", timeout=timeout).get("ok") is True
        except (Closed, OSError, TimeoutError):
            return False


def error_of(reply):
    """(code, message) of an error reply; fails on a success reply."""
    util.check(reply.get("ok") is False, f"expected an error reply, got {util.shorten(reply)}")
    err = reply.get("error")
    util.check(isinstance(err, dict), f"error reply without an error object: {reply}")
    return err.get("code"), err.get("message", "")


def check_error(reply, code, message_part=None):
    """Fail unless reply is an error with this code (and message part)."""
    got_code, message = error_of(reply)
    util.check_eq(got_code, code, f"error code in {util.shorten(reply)}")
    if message_part is not None:
        util.check_in(message_part, message, "error message")
    return message
