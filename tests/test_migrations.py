"""Schema upgrades keep data, run once when replicas start together, and refuse a newer schema."""
from __future__ import annotations

import sys
import threading

import pytest
from sqlalchemy import (Column, DateTime, ForeignKey, Integer, MetaData, String, Table, inspect, insert, select,
                        text)

from kbgen import accounts, migrations
from kbgen.db import make_engine, make_sessionmaker

PASSWORD = "correct horse battery"


def release_one(engine, password_hash: str, session_token: str) -> None:
    """A database as schema version 1 left it (before users.last_login_at), with an organization,
    a user and a signed-in session. Frozen here on purpose: the models have moved on."""
    old = MetaData()
    organizations = Table("organizations", old, Column("id", Integer, primary_key=True),
                          Column("name", String(200), unique=True, nullable=False),
                          Column("created_at", DateTime(), nullable=False))
    users = Table("users", old, Column("id", Integer, primary_key=True),
                  Column("organization_id", ForeignKey("organizations.id"), nullable=False, index=True),
                  Column("email", String(320), unique=True, nullable=False),
                  Column("name", String(200), nullable=False), Column("role", String(16), nullable=False),
                  Column("password_hash", String(255), nullable=False),
                  Column("created_at", DateTime(), nullable=False))
    sessions = Table("login_sessions", old, Column("id", Integer, primary_key=True),
                     Column("token_hash", String(64), unique=True, nullable=False),
                     Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
                     Column("csrf_token", String(64), nullable=False),
                     Column("created_at", DateTime(), nullable=False),
                     Column("last_seen_at", DateTime(), nullable=False, index=True))
    Table("login_failures", old, Column("id", Integer, primary_key=True),
          Column("key_hash", String(64), nullable=False), Column("failed_at", DateTime(), nullable=False))
    now = accounts.utcnow()
    with engine.begin() as conn:
        old.create_all(conn)
        migrations.schema_version.create(conn)
        conn.execute(insert(migrations.schema_version).values(version=1, description="create all tables",
                                                              applied_at=now))
        org_id = conn.execute(insert(organizations).values(name="Acme Telecom", created_at=now)).inserted_primary_key[0]
        user_id = conn.execute(insert(users).values(
            organization_id=org_id, email="ann@acme.example", name="Ann Example", role="customer",
            password_hash=password_hash, created_at=now)).inserted_primary_key[0]
        conn.execute(insert(sessions).values(token_hash=accounts._digest(session_token), user_id=user_id,
                                             csrf_token="csrf", created_at=now, last_seen_at=now))


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_a_fresh_database_gets_every_table_at_the_latest_version(engine):
    assert migrations.current_version(engine) == 0
    assert migrations.upgrade(engine) == (0, migrations.MIGRATIONS[-1].version)
    tables = set(inspect(engine).get_table_names())
    assert {"organizations", "users", "login_sessions", "login_failures", "schema_version"} <= tables
    assert set(migrations.import_models()) >= {"kbgen.accounts"}
    assert migrations.upgrade(engine) == (2, 2)  # nothing left to do
    with engine.connect() as conn:
        assert conn.scalars(select(migrations.schema_version.c.version)).all() == [1, 2]


def test_an_upgrade_keeps_the_data_and_signed_in_sessions(engine):
    release_one(engine, accounts.hash_password(PASSWORD), session_token="still-signed-in")

    assert migrations.upgrade(engine) == (1, 2)

    assert "last_login_at" in {c["name"] for c in inspect(engine).get_columns("users")}
    with make_sessionmaker(engine).begin() as db:
        login = accounts.find_session(db, "still-signed-in")
        assert login is not None and login.user.email == "ann@acme.example"
        assert login.user.organization.name == "Acme Telecom" and login.user.last_login_at is None
        user = accounts.authenticate(db, "ann@acme.example", PASSWORD)
        assert user is not None and user.last_login_at is not None  # the new column is in use
        accounts.add_user(db, organization="Acme Telecom", email="bob@acme.example", role="partner",
                          password=PASSWORD)
    # Tables of model modules that arrived after release 1 are created too.
    for table in tables_outside_accounts():
        assert inspect(engine).has_table(table)


def tables_outside_accounts() -> list[str]:
    from kbgen.db import Base

    migrations.import_models()
    return [t for t in Base.metadata.tables if t not in {"organizations", "users", "login_sessions", "login_failures"}]


def test_replicas_starting_together_upgrade_once(database_url):
    """Two services (each its own engine, as two processes would have) upgrade one empty database at once."""
    start = threading.Barrier(2)
    results, errors = [], []

    def replica():
        engine = make_engine(database_url)
        try:
            start.wait()
            results.append(migrations.upgrade(engine))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results) == [(0, 2), (2, 2)]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalars(select(migrations.schema_version.c.version)).all() == [1, 2]
    engine.dispose()


def test_an_older_kbgen_refuses_a_database_a_newer_one_upgraded(engine):
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(migrations.schema_version).values(version=99, description="from the future",
                                                              applied_at=accounts.utcnow()))
    with pytest.raises(migrations.SchemaTooNew, match="schema version 99, newer than this kbgen knows .2.: upgrade"):
        migrations.upgrade(engine)


def test_add_column_is_a_no_op_when_the_column_or_the_table_is_not_there_to_change(engine):
    migrations.upgrade(engine)
    with engine.begin() as conn:
        migrations.add_column(conn, "users", Column("last_login_at", DateTime()))  # already there
        migrations.add_column(conn, "not_created_yet", Column("x", Integer()))  # create_all adds it later
        migrations.add_column(conn, "users", Column("locale", String(10)))
        conn.execute(text("UPDATE users SET locale = 'it'"))
    assert "locale" in {c["name"] for c in inspect(engine).get_columns("users")}


def test_model_modules_not_written_yet_are_skipped_but_broken_ones_fail(tmp_path, monkeypatch):
    (tmp_path / "kbgen_probe_broken.py").write_text("import kbgen_probe_dependency_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(migrations, "MODEL_MODULES", ["kbgen.accounts", "kbgen.not_written_yet",
                                                      "kbgen.no_package_yet.models"])
    assert migrations.import_models() == ["kbgen.accounts"]
    monkeypatch.setattr(migrations, "MODEL_MODULES", ["kbgen.accounts", "kbgen_probe_broken"])
    with pytest.raises(ModuleNotFoundError, match="kbgen_probe_dependency_not_installed"):
        migrations.import_models()
    sys.modules.pop("kbgen_probe_broken", None)
