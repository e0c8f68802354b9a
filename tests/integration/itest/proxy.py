"""A TCP relay the harness can cut, to take the database away from a
running server without touching the shared MariaDB."""

import select
import socket
import threading

from . import util


class TcpProxy:
    """Relays 127.0.0.1:port to a target; stop() drops every connection and
    the listener, start() brings the listener back on the same port."""

    def __init__(self, target_port, port=None):
        self.target = ("127.0.0.1", target_port)
        self.port = port or util.free_port()
        self.listener = None
        self.pairs = []
        self.lock = threading.Lock()
        self.thread = None
        self.running = False

    def start(self):
        """Listen and relay in a background thread."""
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def _loop(self):
        listener = self.listener
        while self.running:
            with self.lock:
                socks = [listener] + [s for pair in self.pairs for s in pair]
            try:
                readable, _, _ = select.select(socks, [], [], 0.1)
            except (OSError, ValueError):
                continue  # a socket was closed by stop()
            for s in readable:
                if s is listener:
                    self._accept()
                else:
                    self._relay(s)

    def _accept(self):
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        with self.lock:
            self.pairs.append((client, upstream))

    def _relay(self, s):
        with self.lock:
            pair = next((p for p in self.pairs if s in p), None)
        if pair is None:
            return
        other = pair[1] if s is pair[0] else pair[0]
        try:
            data = s.recv(65536)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        self._drop(pair)

    def _drop(self, pair):
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        for s in pair:
            try:
                s.close()
            except OSError:
                pass

    def stop(self):
        """Refuse new connections and cut the open ones."""
        self.running = False
        if self.thread:
            self.thread.join(5)
        self.listener.close()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def connections(self):
        with self.lock:
            return len(self.pairs)
