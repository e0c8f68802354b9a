"""Text from the database reaches the terminal without its control
characters: ccagent strips escape sequences, C1 controls and bidirectional
overrides from everything the server sends, in every output mode."""

import json

from itest import util

# ESC [2J (clear screen), an OSC title with BEL, CSI as the C1 byte U+009B,
# a right-to-left override, a DEL, and an isolate; the visible words survive.
HOSTILE = ("Mallory\x1b[2J\x1b]0;pwned\x07 O'Brien\u009b31m "
           "\u202egnp.exe\u202c \u2066x\u2069\x7f 客服")
FORBIDDEN = ["\x1b", "\x07", "\u009b", "\u202e", "\u202c", "\u2066", "\u2069", "\x7f"]


def _check_clean(text, where):
    for ch in FORBIDDEN:
        util.check(ch not in text, f"{where} contains {ch!r}: {text!r}")


def test_scripted_output_is_clean(ctx):
    srv = ctx.server(start=False)
    srv.add_agent("mallory", "pw-mallory", name=HOSTILE)
    srv.start()
    agent = ctx.ccagent(srv)

    run = agent.run("-c", "whoami", user="mallory", password="pw-mallory")
    util.check_eq(run.returncode, 0, f"ccagent exit status ({run.stderr!r})")
    _check_clean(run.stdout + run.stderr, "ccagent whoami output")
    for word in ("Mallory", "O'Brien", "客服"):
        util.check_in(word, run.stdout, "the printable part of the name")

    raw = agent.run("--json", "-c", "whoami", user="mallory", password="pw-mallory")
    util.check_eq(raw.returncode, 0, f"ccagent --json exit status ({raw.stderr!r})")
    _check_clean(raw.stdout + raw.stderr, "ccagent --json output")
    reply = json.loads(raw.stdout.strip().splitlines()[-1])
    util.check_eq(reply["agent"]["name"], HOSTILE,
                  "--json keeps the exact value, escaped rather than dropped")


def test_interactive_output_is_clean(ctx):
    srv = ctx.server(start=False)
    srv.add_agent("mallory", "pw-mallory", name=HOSTILE)
    srv.start()
    term = ctx.ccagent(srv).interactive(user="mallory", password="pw-mallory")
    term.expect(r"logged in as mallory", timeout=15)
    term.sendline("whoami")
    term.expect(r"O'Brien", timeout=10)
    term.sendline("quit")
    util.check_eq(term.wait(10), 0, "ccagent exit status after quit")
    screen = term.raw.decode(errors="replace")
    # the line editor draws with escape sequences of its own, so look for
    # the hostile ones by their context rather than for every ESC
    for bad in ("Mallory\x1b", "\x1b]0;", "pwned\x07", "\u009b", "\u202e", "\u2066",
                "\u2069", "\x7f"):
        util.check(bad not in screen, f"the terminal received {bad!r}")
