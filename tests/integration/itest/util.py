"""Small helpers shared by the integration harness: checks, waiting, ports,
child processes that die with the harness."""

import ctypes
import os
import random
import signal
import socket
import time

# Multiplies every timeout; the sanitizer build runs the server several times
# slower. Set once by the runner from --timeout-scale.
TIME_SCALE = 1.0


class CheckFailed(AssertionError):
    """A test expectation that did not hold."""


def scaled(seconds):
    """A timeout stretched for slow (sanitizer) builds."""
    return seconds * TIME_SCALE


def check(cond, message):
    """Fail the current test with message unless cond holds."""
    if not cond:
        raise CheckFailed(message)


def check_eq(actual, expected, what):
    """Fail unless actual == expected, showing both."""
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def check_in(needle, haystack, what):
    """Fail unless needle is in haystack, showing both."""
    if needle not in haystack:
        raise CheckFailed(f"{what}: {needle!r} not found in {shorten(haystack)!r}")


def shorten(value, limit=600):
    """A value cut to limit characters for messages."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def wait_until(predicate, timeout, what, interval=0.05):
    """Poll predicate until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise CheckFailed(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


_PORTS_GIVEN = set()


def _ephemeral_low():
    """The first port of the kernel's ephemeral range (32768 if unknown)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago, below the
    ephemeral range: a port from that range (what binding port 0 gives)
    can be handed to an outgoing connection of any test before the server
    binds it. Never the same port twice in one run."""
    rnd = random.Random(os.urandom(8))
    hi = min(32000, _ephemeral_low() - 1)
    for _ in range(500):
        port = rnd.randint(20000, hi)
        if port in _PORTS_GIVEN:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    raise RuntimeError("no free TCP port on 127.0.0.1 below the ephemeral range")


def port_listening(port):
    """Is some socket listening on 127.0.0.1:port (read from /proc/net/tcp,
    so that probing does not open a connection the server would count)."""
    want_local = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if state != "0A":
                        continue
                    if local in want_local or (
                        table.endswith("6") and local.endswith(f":{port:04X}")
                    ):
                        return True
        except FileNotFoundError:
            continue
    return False


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def die_with_parent():
    """preexec_fn for children: SIGKILL them if the harness dies, so that a
    timed-out or crashed case never leaves a server behind."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def pid_alive(pid):
    """Does a process with this id exist (and is it not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def pid_cmdline(pid):
    """The command line of a process as a list, [] when it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except (FileNotFoundError, ProcessLookupError):
        return []


def file_tail(path, lines=40):
    """The last lines of a text file, or a note that it is missing."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return f"({path} does not exist)"
    text = data.decode(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def env_without(*names):
    """A copy of the environment without the given variables."""
    env = dict(os.environ)
    for name in names:
        env.pop(name, None)
    return env
