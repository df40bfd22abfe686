"""The database schema over time: numbered migrations recorded in a `schema_version` table.

A fresh database gets every table of the current models at once (migration 1,
`Base.metadata.create_all`) and is recorded at the latest version. An older
database gets the explicit DDL of each migration it lacks, so its rows stay.
Tables of model modules added since (a new concept, a new table) are then
created; changing an existing table always needs a new migration here.

Several replicas may start together: the whole upgrade runs in one transaction
under a PostgreSQL advisory lock, or an immediate (write) transaction on SQLite.
"""
from __future__ import annotations

import datetime as dt
import importlib
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, event, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from kbgen.db import Base

# Every module that defines models on kbgen.db.Base. Some are written concurrently with this
# one, so a module that does not exist yet is skipped; any other import error is a real bug.
MODEL_MODULES = ["kbgen.accounts", "kbgen.tickets", "kbgen.mail.notifications", "kbgen.tickets.servers", "kbgen.search.missed"]

_LOCK_KEY = zlib.crc32(b"kbgen.migrations")  # one advisory lock per PostgreSQL database

schema_version = Table(
    "schema_version", MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String(200), nullable=False),
    Column("applied_at", DateTime(), nullable=False),
)


class SchemaTooNew(RuntimeError):
    """A newer kbgen has upgraded this database; an older one must not write to it."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def add_column(conn: Connection, table: str, column: Column) -> None:
    """ALTER TABLE ... ADD COLUMN in the database's own dialect; nothing to do when the table is
    created later by create_all (it gets the column then) or already has it."""
    names = inspect(conn)
    if not names.has_table(table) or column.name in {c["name"] for c in names.get_columns(table)}:
        return
    ddl_type = column.type.compile(dialect=conn.dialect)
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {ddl_type}")


def _create_all(conn: Connection) -> None:
    Base.metadata.create_all(conn)


def _users_last_login(conn: Connection) -> None:
    add_column(conn, "users", Column("last_login_at", DateTime(), nullable=True))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create all tables", _create_all),
    Migration(2, "users.last_login_at, shown by 'kbgen users list'", _users_last_login),
)


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


def current_version(engine: Engine) -> int:
    """The version the database is at; 0 for an empty database."""
    with engine.connect() as conn:
        return _version(conn)


def upgrade(engine: Engine, migrations: tuple[Migration, ...] = MIGRATIONS) -> tuple[int, int]:
    """Bring the database to the latest version; returns (version before, version after)."""
    import_models()
    latest = migrations[-1].version
    with _exclusive(engine) as conn:
        schema_version.create(conn, checkfirst=True)
        before = _version(conn)
        if before > latest:
            raise SchemaTooNew(f"the database {engine.url.render_as_string(hide_password=True)} is at schema "
                               f"version {before}, newer than this kbgen knows ({latest}): upgrade kbgen")
        if before == 0:
            migrations[0].apply(conn)  # the current models: every later migration is already in them
            pending = migrations
        else:
            pending = tuple(m for m in migrations if m.version > before)
            for migration in pending:
                migration.apply(conn)
            Base.metadata.create_all(conn)  # tables of model modules added since
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        if pending:
            conn.execute(schema_version.insert(), [
                {"version": m.version, "description": m.description, "applied_at": now} for m in pending])
    return before, latest


def _version(conn: Connection) -> int:
    if not inspect(conn).has_table(schema_version.name):
        return 0
    return conn.scalar(select(schema_version.c.version).order_by(schema_version.c.version.desc()).limit(1)) or 0


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
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(locking, "begin")
    def _immediate(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locking.begin() as conn:
            yield conn
    finally:
        locking.dispose()
