"""A tiny test runner for one case file: runs its test_* functions in the
order they are written, each with a fresh Ctx (own folder, database,
certificates and servers), always tears down, and on failure prints the
tails of the server logs and client transcripts."""

import argparse
import importlib.util
import inspect
import os
import shutil
import sys
import time
import traceback

from . import agent, db, gateway, pki, server, util, wire


class Ctx:
    """Everything one test function uses; owns what it starts."""

    def __init__(self, opts, case_name, test_name):
        self.opts = opts
        self.name = f"{case_name}.{test_name}"
        root = os.path.join(opts.itest_dir, "cases")
        os.makedirs(root, exist_ok=True)
        self.dir = os.path.join(root, f"{case_name}-{test_name}-{os.getpid()}")
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        self.db = db.DbInfo.load(opts.itest_dir)
        self.schema_dir = opts.schema_dir
        self.databases = []
        self.servers = []
        self.conns = []
        self.agents = []
        self.gateways = []
        self._ca = None
        self._leaf = None
        self.t0 = time.monotonic()

    def note(self, message):
        """A progress line in the test's output."""
        print(f"  [{time.monotonic() - self.t0:6.2f}s] {message}", flush=True)

    # certificates

    @property
    def ca(self):
        """The case's CA (made on first use)."""
        if self._ca is None:
            self._ca = pki.Ca(os.path.join(self.dir, "pki"), "callcentre test CA")
        return self._ca

    @property
    def leaf(self):
        """(cert, key) for localhost and 127.0.0.1 signed by self.ca."""
        if self._leaf is None:
            self._leaf = self.ca.issue("server")
        return self._leaf

    def other_ca(self, stem="other"):
        """A second, unrelated CA in its own folder."""
        return pki.Ca(os.path.join(self.dir, f"pki-{stem}"), f"unrelated CA {stem}")

    # database and servers

    def database(self, tag="db"):
        """A new database for this test."""
        name = self.db.create_database(f"{self.name}_{tag}")
        self.databases.append(name)
        return name

    def server(self, settings=None, agents=None, start=True, migrate=True, database=None,
               name=None, cert=None, key=None):
        """A callcentred for this test: own folder and ports, a new database
        (migrated), the given agents {user: password} inserted, started."""
        util.check(os.access(self.opts.server, os.X_OK),
                   f"{self.opts.server} is not built (or not executable)")
        if database is None:
            database = self.database(f"s{len(self.servers)}")
        folder = os.path.join(self.dir, name or f"server{len(self.servers)}")
        srv = server.Server(self.opts.server, folder, self.db, database,
                            cert or self.leaf[0], key or self.leaf[1], settings)
        self.servers.append(srv)
        if migrate:
            srv.migrate()
        for user, password in (agents or {}).items():
            srv.add_agent(user, password)
        if start:
            srv.start()
            self.note(f"callcentred up: tls {srv.port}, admin {srv.admin_port}, "
                      f"db {database}")
        return srv

    def connect(self, srv=None, port=None, **kw):
        """A raw protocol connection to srv (or port), closed at teardown."""
        conn = wire.Conn.open(srv.port if port is None else port,
                              kw.pop("ca_file", self.ca.cert), **kw)
        self.conns.append(conn)
        return conn

    def ccagent(self, srv=None, port=None, ca_file=None):
        """A ccagent runner aimed at srv, trusting the case's CA."""
        util.check(os.access(self.opts.agent, os.X_OK),
                   f"{self.opts.agent} is not built (or not executable)")
        a = agent.Agent(self.opts.agent, self.dir, port if port is not None else srv.port,
                        ca_file or self.ca.cert)
        self.agents.append(a)
        return a

    def gateway(self, srv, settings=None, start=True):
        """A ccgateway aimed at srv: the service account "gateway" and a
        "complaints" queue made in srv's database (before srv starts, so
        that it knows the queue), a form secret and an API key
        (gw.api_key) in the gateway's folder; started unless start is
        false. Stopped at teardown."""
        binary = self.opts.gateway
        util.check(os.access(binary, os.X_OK), f"{binary} is not built (or not executable)")
        password = f"pw-gateway-{os.getpid()}"
        srv.add_agent("gateway", password, name="Web gateway", role="service")
        srv.dbinfo.sql(
            "INSERT IGNORE INTO queues (code, name, site_id) "
            "SELECT 'complaints', 'Complaints', id FROM sites WHERE code = 'SH';\n",
            srv.database)
        folder = os.path.join(self.dir, f"gateway{len(self.gateways)}")
        gw = gateway.Gateway(binary, folder, srv.port, self.ca.cert, self.leaf[0],
                             self.leaf[1], password, settings)
        self.gateways.append(gw)
        if start:
            gw.start()
            self.note(f"ccgateway up: https {gw.port} -> callcentred {srv.port}")
        return gw

    # teardown

    def teardown(self, passed):
        """Stop everything; the problems found on the way (a server that
        did not exit cleanly, sanitizer reports)."""
        problems = []
        for conn in self.conns:
            conn.close()
        for a in self.agents:
            a.close()
            problems.extend(a.sanitizer_reports())
        for gw in self.gateways:
            gw.stop()
            problems.extend(gw.problems)
            report = gw.sanitizer_report()
            if report:
                problems.append(f"sanitizer report in {gw.log}: {report}")
        for srv in self.servers:
            try:
                srv.stop()
            except Exception as e:  # keep tearing down the rest
                srv.kill()
                problems.append(f"stopping {srv.folder}: {e}")
            problems.extend(srv.problems)
            report = srv.sanitizer_report()
            if report:
                problems.append(f"sanitizer report in {srv.log}: {report}")
        if passed and not problems:
            for name in self.databases:
                self.db.drop_database(name)
        return problems

    def dump(self):
        """Print what helps to understand a failure."""
        for srv in self.servers:
            print(f"--- tail of {srv.log} (exit codes {srv.exit_codes}):")
            print(util.file_tail(srv.log, 60))
        for gw in self.gateways:
            print(f"--- tail of {gw.log} (exit codes {gw.exit_codes}):")
            print(util.file_tail(gw.log, 60))
        for a in self.agents:
            a.dump()
        print(f"--- files kept in {self.dir}")


def load_case(path):
    """Import a case file as a module."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(f"itest_case_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return name, module


def case_tests(module):
    """The test_* functions of a case module in source order."""
    tests = [(n, f) for n, f in vars(module).items()
             if n.startswith("test_") and inspect.isfunction(f)]
    return sorted(tests, key=lambda t: t[1].__code__.co_firstlineno)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run one integration case file.")
    parser.add_argument("case", help="path of the case file")
    parser.add_argument("--itest-dir", required=True, help="the fixture's folder")
    parser.add_argument("--server", required=True, help="path of callcentred")
    parser.add_argument("--agent", required=True, help="path of ccagent")
    parser.add_argument("--gateway", help="path of ccgateway (default: next to callcentred)")
    parser.add_argument("--schema-dir", required=True, help="the schema/ migrations folder")
    parser.add_argument("--timeout-scale", type=float, default=1.0,
                        help="stretch timeouts (sanitizer builds)")
    parser.add_argument("--keep", action="store_true", help="keep the folders of passed tests")
    parser.add_argument("-k", dest="only", help="run only tests whose name contains this")
    opts = parser.parse_args(argv)
    util.TIME_SCALE = opts.timeout_scale
    if opts.gateway is None:
        opts.gateway = os.path.join(os.path.dirname(opts.server), "gateway", "ccgateway")

    case_name, module = load_case(opts.case)
    if module.__doc__:
        print(module.__doc__.strip().splitlines()[0], flush=True)
    failed = []
    ran = 0
    for test_name, func in case_tests(module):
        if opts.only and opts.only not in test_name:
            continue
        ran += 1
        print(f"== {case_name}.{test_name}", flush=True)
        ctx = Ctx(opts, case_name, test_name)
        started = time.monotonic()
        error = None
        try:
            func(ctx)
        except Exception:  # the test failed; report and carry on
            error = traceback.format_exc()
        problems = ctx.teardown(error is None)
        elapsed = time.monotonic() - started
        if error is None and not problems:
            print(f"ok   {test_name} ({elapsed:.2f} s)", flush=True)
            if not opts.keep:
                shutil.rmtree(ctx.dir, ignore_errors=True)
            continue
        failed.append(test_name)
        print(f"FAIL {test_name} ({elapsed:.2f} s)", flush=True)
        if error:
            print(error.rstrip())
        for p in problems:
            print(f"teardown: {p}")
        ctx.dump()
        sys.stdout.flush()
    if ran == 0:
        print("FAIL: no tests ran", flush=True)
        return 1
    print(f"{ran - len(failed)}/{ran} passed" + (f"; failed: {', '.join(failed)}" if failed else ""),
          flush=True)
    return 1 if failed else 0
