"""The database schema over time: Alembic revisions in versions/, run by kbgen itself.

`upgrade(engine)` brings any database to the newest revision: an empty one, one an
earlier kbgen with Alembic left, or one of kbgen 0.1 (its own `schema_version`
table at version 1 or 2). Revision 0001 is the schema of 0.1, created table by
table where missing, so every database joins the one history with its rows.
Users need no alembic.ini: the configuration is built here, and the revisions
ship inside the package. A change to a model needs a new revision
(`kbgen db revision "what changed"` writes one from the models' difference;
tests/test_migrations.py fails until it exists).

Several replicas may start together: the whole upgrade runs in one transaction
under a PostgreSQL advisory lock, or an immediate (write) transaction on SQLite,
so one upgrades and the others then find nothing to do.
"""
from __future__ import annotations

import importlib
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Column, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

HERE = Path(__file__).resolve().parent

# Every module that defines models on kbgen.db.Base. Some are written concurrently with this
# one, so a module that does not exist yet is skipped; any other import error is a real bug.
MODEL_MODULES = ["kbgen.accounts", "kbgen.tickets", "kbgen.mail.notifications", "kbgen.tickets.servers",
                 "kbgen.search.missed", "kbgen.feedback"]

_LOCK_KEY = zlib.crc32(b"kbgen.migrations")  # one advisory lock per PostgreSQL database

# kbgen 0.1 numbered its schema in this table (1 and 2). Revision 0001 keeps the table with one more
# row, so a 0.1 replica still running beside a newer one refuses the database instead of writing to it.
LEGACY_TABLE = "schema_version"
LEGACY_LATEST = 2  # the last schema_version kbgen 0.1 wrote
LEGACY_FENCE = 3  # the row revision 0001 adds: "newer than this kbgen knows" to 0.1


class SchemaTooNew(RuntimeError):
    """A newer kbgen has upgraded this database; an older one must not write to it."""


def import_models() -> list[str]:
    """Import the model modules that exist, so Base.metadata holds their tables; returns their names."""
    found = []
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only "this module (or its package) is not written yet" is expected.
            if exc.name != name and not name.startswith(f"{exc.name}."):
                raise
            continue
        found.append(name)
    return found


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """What Alembic compares with the models: everything but 0.1's fence table."""
    return not (type_ == "table" and name == LEGACY_TABLE)


def add_column(conn: Connection, table: str, column: Column) -> None:
    """ALTER TABLE ... ADD COLUMN in the database's own dialect; nothing to do when the table is
    not there (a revision creates it later, with the column) or already has the column."""
    names = inspect(conn)
    if not names.has_table(table) or column.name in {c["name"] for c in names.get_columns(table)}:
        return
    ddl_type = column.type.compile(dialect=conn.dialect)
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {ddl_type}")


def config(connection: Connection | None = None):
    """Alembic's configuration without an alembic.ini: the revisions inside this package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.attributes["connection"] = connection
    return cfg


def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this kbgen knows."""
    return _script().get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at: None when empty, 'schema_version N' for a kbgen 0.1 database."""
    with engine.connect() as conn:
        return _revision(conn)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the newest revision; returns (revision before, revision after)."""
    from alembic import command

    import_models()
    latest = head()
    with _exclusive(engine) as conn:
        before = _revision(conn)
        _refuse_newer(engine, conn, before, latest)
        if before != latest:
            command.upgrade(config(conn), "head")
            _check_foreign_keys(conn)
    return before, latest


def differences(engine: Engine) -> list:
    """What Alembic finds between the database and the models (empty when they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from kbgen.db import Base

    import_models()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": True})
        return compare_metadata(context, Base.metadata)


def _revision(conn: Connection) -> str | None:
    from alembic.migration import MigrationContext

    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None and inspect(conn).has_table(LEGACY_TABLE):
        version = conn.scalar(text(f"SELECT max(version) FROM {LEGACY_TABLE}"))
        return f"{LEGACY_TABLE} {version or 0}"
    return revision


def _refuse_newer(engine: Engine, conn: Connection, revision: str | None, latest: str) -> None:
    where = engine.url.render_as_string(hide_password=True)
    if revision is None:
        return
    if revision.startswith(LEGACY_TABLE):
        version = int(revision.split()[-1])
        if version <= LEGACY_LATEST:
            return
        known = f"{LEGACY_TABLE} {LEGACY_LATEST}"
    else:
        from alembic.util import CommandError

        try:
            if _script().get_revision(revision) is not None:
                return
        except CommandError:
            pass
        known = latest
    raise SchemaTooNew(f"the database {where} is at schema revision {revision!r}, newer than this kbgen "
                       f"knows ({known!r}): upgrade kbgen")


def _check_foreign_keys(conn: Connection) -> None:
    """SQLite migrates with foreign keys off (see _exclusive): the rows must still agree at the end."""
    if conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the upgrade would leave rows pointing nowhere ({broken[:5]}); nothing was changed")


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other process's upgrade can interleave with."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield conn
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.begin() as conn:
            yield conn
        return
    # pysqlite opens transactions lazily and never for DDL; this engine makes the whole upgrade
    # one BEGIN IMMEDIATE transaction, so a second process waits instead of creating tables twice.
    locking = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": 60})

    @event.listens_for(locking, "connect")
    def _manual(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        # Off while migrating: Alembic changes a SQLite table by copying it and dropping the old
        # one, which would cascade to the rows pointing at it. _check_foreign_keys runs at the end.
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    @event.listens_for(locking, "begin")
    def _immediate(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locking.begin() as conn:
            yield conn
    finally:
        locking.dispose()


def new_revision(message: str) -> Path:
    """Write the next revision from what the models changed since the newest one (for developers)."""
    import tempfile

    from alembic import command

    from kbgen.db import make_engine

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/head.db")
        try:
            upgrade(engine)
            latest = head()
            with engine.begin() as conn:
                script = command.revision(config(conn), message=message, autogenerate=True,
                                          rev_id=f"{int(latest) + 1:04d}")
        finally:
            engine.dispose()
    return Path(script.path)


__all__ = ["LEGACY_TABLE", "MODEL_MODULES", "SchemaTooNew", "add_column", "config", "current_revision",
           "differences", "head", "import_models", "new_revision", "upgrade"]
