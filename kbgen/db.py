"""Database access: one SQLAlchemy engine per service, SQLite by default, PostgreSQL by URL.

Models live with their concept (accounts, tickets, ...) and all derive from `Base`, so
`Base.metadata` is the whole schema. `open_database(settings)` is how the service, the CLI
and the mail sender start: the engine as configured, the schema upgraded (kbgen.migrations),
a sessionmaker. Timestamps are stored as naive UTC (`utcnow`): SQLite keeps no time zones.

A commit is durable when it returns: an acknowledged ticket or comment survives a power
loss, not only a killed process.  SQLite runs with synchronous=FULL (in WAL mode, the log
is flushed to the disk at every commit); KBGEN_SQLITE_SYNCHRONOUS=normal trades that for
speed (WAL with NORMAL survives a crash of the service, but a power loss can take the last
commits).  PostgreSQL is durable as configured, except that kbgen turns synchronous_commit
back on for its own connections if the server, the database or the role turned it off.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from kbgen.settings import SQLITE_SYNCHRONOUS, sqlite_synchronous_mode

if TYPE_CHECKING:
    from kbgen.settings import Settings

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite keeps no time zones, so every stored timestamp is UTC without one."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


def make_engine(url: str, *, sqlite_synchronous: str = "full") -> Engine:
    if url.startswith("sqlite"):
        try:
            mode = sqlite_synchronous_mode(sqlite_synchronous)
        except ValueError as exc:
            raise ValueError(f"KBGEN_SQLITE_SYNCHRONOUS is {sqlite_synchronous!r}: {exc}") from None
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets readers work while one writer writes
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS[mode]}")
            if mode == "full":  # macOS only: a plain fsync there leaves the commit in the drive's cache
                cursor.execute("PRAGMA fullfsync=ON")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if engine.dialect.name == "postgresql":
        warned: list[bool] = []

        @event.listens_for(engine, "connect")
        def _durable_commits(dbapi_conn, _record):
            # Only "off" acknowledges a commit before it is on disk; local, remote_write, on and
            # remote_apply all keep it, and a stricter choice of the administrator stays as it is.
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT current_setting('synchronous_commit')")
            if cursor.fetchone()[0] == "off":
                cursor.execute("SET synchronous_commit TO on")
                if not warned:
                    warned.append(True)
                    log.warning("PostgreSQL has synchronous_commit=off; kbgen sets it to on for its connections "
                                "so that acknowledged tickets survive a power loss")
            cursor.close()
            dbapi_conn.commit()  # a SET inside a transaction that is rolled back would be undone

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


@dataclass
class Database:
    """One configured database: its engine and the sessionmaker over it."""

    engine: Engine
    sessionmaker: sessionmaker

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.dispose()


def open_database(settings: "Settings", *, upgrade: bool = True) -> Database:
    """The database of these settings, its schema brought to the newest revision first unless upgrade=False."""
    from kbgen import migrations

    engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    if upgrade:
        try:
            migrations.upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        refresh_statistics(engine)
    return Database(engine, make_sessionmaker(engine))


def refresh_statistics(engine: Engine) -> None:
    """SQLite keeps no statistics until asked: without them its planner may scan 100,000 tickets for a
    queue an index answers. A sampled ANALYZE (a few milliseconds) at start; PostgreSQL's autovacuum
    keeps its own."""
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
    except Exception as exc:  # noqa: BLE001 - statistics are an optimisation; a busy database starts anyway
        log.warning("SQLite ANALYZE at start failed (%s); queries still work", exc)
