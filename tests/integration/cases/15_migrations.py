"""Schema migrations: recorded with their SHA-256, applied once."""

import glob
import hashlib
import os

from itest import util


def _schema_files(ctx):
    files = sorted(glob.glob(os.path.join(ctx.schema_dir, "[0-9][0-9][0-9]_*.sql")))
    util.check(files, f"no migrations found in {ctx.schema_dir}")
    return files


def _recorded(ctx, srv):
    rows = ctx.db.sql("SELECT name, checksum FROM schema_migrations ORDER BY name", srv.database)
    return {name: checksum for name, checksum in rows}


def test_every_file_recorded(ctx):
    """After --migrate each schema/NNN_*.sql has a row with its SHA-256."""
    srv = ctx.server(start=False)
    recorded = _recorded(ctx, srv)
    files = _schema_files(ctx)
    util.check_eq(len(recorded), len(files), f"rows in schema_migrations ({recorded})")
    for path in files:
        name = os.path.basename(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        util.check(name in recorded, f"{name} not recorded: {sorted(recorded)}")
        util.check_eq(recorded[name].lower(), digest, f"checksum of {name}")
    # and the schema is really there
    tables = {r[0] for r in ctx.db.sql("SHOW TABLES", srv.database)}
    for table in ("agents", "sites", "tickets", "ticket_events", "schema_migrations"):
        util.check_in(table, tables, "tables after --migrate")


def test_second_migrate_is_a_no_op(ctx):
    """A second --migrate applies nothing; neither does start-up."""
    srv = ctx.server(start=False)
    first = _recorded(ctx, srv)
    stamps = ctx.db.sql("SELECT name, applied_at FROM schema_migrations", srv.database)
    again = srv.migrate()
    util.check("applying" not in again.stderr, f"second --migrate applied something:\n"
               f"{again.stderr}")
    util.check_eq(_recorded(ctx, srv), first, "schema_migrations after a second --migrate")
    srv.start()
    util.check(srv.find_log(r"msg=\"applying\"") is None, "start-up applied a migration")
    util.check_eq(ctx.db.sql("SELECT name, applied_at FROM schema_migrations", srv.database),
                  stamps, "applied_at after start-up")


def test_fresh_start_migrates(ctx):
    """Start-up alone applies the migrations to an empty database."""
    srv = ctx.server(migrate=False)
    util.check_eq(len(_recorded(ctx, srv)), len(_schema_files(ctx)), "migrations applied at start")


def test_edited_migration_refused(ctx):
    """A recorded checksum that no longer matches stops start-up with the file name."""
    srv = ctx.server(start=False)
    name = os.path.basename(_schema_files(ctx)[0])
    ctx.db.sql(f"UPDATE schema_migrations SET checksum = REPEAT('0', 64) WHERE name = '{name}'",
               srv.database)
    proc = srv.tool("--migrate")
    util.check_eq(proc.returncode, 1, "--migrate exit status with a changed migration")
    util.check_in(name, proc.stderr, "--migrate error")
    srv.start(wait=False)
    util.check_eq(srv.wait_exit(util.scaled(15)), 1, "start-up exit status")
    util.check_in(name, srv.log_text(), "start-up error")
