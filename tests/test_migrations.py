"""Schema upgrades keep data, run once when replicas start together, and refuse a newer schema.

A database made by kbgen 0.1 (tests/fixtures/schema-0.1.*.sql, dumped by 0.1 itself) upgrades
in place with its rows; a fresh database from the migrations equals the models, so a model
change without a migration fails here.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import (Column, DateTime, ForeignKey, Integer, MetaData, String, Table, func, inspect, insert,
                        select, text)
from starlette.testclient import TestClient

from kbgen import accounts, migrations
from kbgen.db import make_engine, make_sessionmaker, utcnow
from kbgen.mail.notifications import Outbox
from kbgen.tickets import Ticket, TicketEvent
from kbgen.web.app import create_app
from test_tickets_support import SITE, settings_for, xcally

PASSWORD = "correct horse battery"
FIXTURES = Path(__file__).parent / "fixtures"
HEAD = migrations.head()

# kbgen 0.1's own version table, as 0.1 defined it.
legacy_versions = Table("schema_version", MetaData(),
                        Column("version", Integer, primary_key=True, autoincrement=False),
                        Column("description", String(200), nullable=False),
                        Column("applied_at", DateTime(), nullable=False))


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
    now = utcnow()
    with engine.begin() as conn:
        old.create_all(conn)
        legacy_versions.create(conn)
        conn.execute(insert(legacy_versions).values(version=1, description="create all tables", applied_at=now))
        org_id = conn.execute(insert(organizations).values(name="Acme Telecom", created_at=now)).inserted_primary_key[0]
        user_id = conn.execute(insert(users).values(
            organization_id=org_id, email="ann@acme.example", name="Ann Example", role="customer",
            password_hash=password_hash, created_at=now)).inserted_primary_key[0]
        conn.execute(insert(sessions).values(token_hash=accounts._digest(session_token), user_id=user_id,
                                             csrf_token="csrf", created_at=now, last_seen_at=now))


def load_release_0_1(engine) -> None:
    """The fixture database of kbgen 0.1, loaded as its dump says (for PostgreSQL: into the test's schema)."""
    kind = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    script = (FIXTURES / f"schema-0.1.{kind}.sql").read_text()
    raw = engine.raw_connection()
    try:
        if kind == "sqlite":
            raw.driver_connection.executescript(script)
        else:
            raw.cursor().execute(script)
            raw.commit()
    finally:
        raw.close()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def fence(engine) -> list[int]:
    with engine.connect() as conn:
        return conn.scalars(select(legacy_versions.c.version).order_by(legacy_versions.c.version)).all()


def test_a_fresh_database_gets_every_table_at_the_latest_revision(engine):
    assert migrations.current_revision(engine) is None
    assert migrations.upgrade(engine) == (None, HEAD)
    tables = set(inspect(engine).get_table_names())
    assert {"organizations", "users", "login_sessions", "login_failures", "alembic_version"} <= tables
    assert set(migrations.import_models()) >= {"kbgen.accounts"}
    assert migrations.upgrade(engine) == (HEAD, HEAD)  # nothing left to do
    assert migrations.current_revision(engine) == HEAD
    # kbgen 0.1 reads its own table and finds a version newer than its 2: it refuses this database.
    assert fence(engine) == [migrations.LEGACY_FENCE] and migrations.LEGACY_FENCE > migrations.LEGACY_LATEST


def test_the_migrations_make_the_schema_the_models_describe(engine):
    """A model changed without a revision fails here: write one with `kbgen db revision MESSAGE`."""
    migrations.upgrade(engine)
    assert migrations.differences(engine) == []
    with engine.begin() as conn:  # and a difference is seen: a column no model has
        conn.execute(text("ALTER TABLE users ADD COLUMN locale VARCHAR(10)"))
    assert [diff[0] for diff in migrations.differences(engine)] == ["remove_column"]


def test_a_database_of_kbgen_0_1_upgrades_in_place_keeping_its_rows(tmp_path, engine):
    load_release_0_1(engine)
    assert migrations.current_revision(engine) == "schema_version 2"

    assert migrations.upgrade(engine) == ("schema_version 2", HEAD)

    assert migrations.differences(engine) == []
    assert fence(engine) == [1, 2, migrations.LEGACY_FENCE]
    with make_sessionmaker(engine)() as db:
        assert [(u.email, u.role, u.organization.name) for u in accounts.list_users(db)] == [
            ("ann@acme.example", "customer", "Acme Telecom"), ("sam@vendor.example", "agent", "Vendor Support")]
        ticket = db.scalars(select(Ticket).where(Ticket.key == "XC-1")).one()
        assert ticket.summary == "Calls drop after 30 seconds" and ticket.requester.email == "ann@acme.example"
        comments = db.scalars(select(TicketEvent).where(TicketEvent.kind == "comment")).all()
        assert [c.body for c in comments] == ["Please send the **Asterisk** log."]
        assert db.scalar(select(func.count()).select_from(Outbox)) == 3

    # The service works on it: old passwords sign in, old tickets show, new rows get new ids and keys.
    app = create_app(settings_for(tmp_path, engine.url.render_as_string(hide_password=False)), serve_site=False,
                     send_mail=False)
    try:
        client = TestClient(app, base_url=SITE, headers={"Origin": SITE})
        signed_in = client.post("/api/session", json={"email": "ann@acme.example", "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        client.headers["X-CSRF-Token"] = client.cookies.get(accounts.CSRF_COOKIE)
        shown = client.get("/api/tickets/XC-1")
        assert shown.status_code == 200 and "Asterisk" in shown.text
        assert client.post("/api/tickets/XC-1/comments", json={"text": "Attached."}).status_code == 201
        opened = client.post("/api/tickets", json=xcally("Transfers fail"))
        assert opened.status_code == 201, opened.text
        assert opened.json()["key"] == "XC-2"
    finally:
        app.state.engine.dispose()
    with make_sessionmaker(engine)() as db:
        assert db.scalar(select(func.count()).select_from(Outbox)) > 3


def test_an_upgrade_keeps_the_data_and_signed_in_sessions(engine):
    release_one(engine, accounts.hash_password(PASSWORD), session_token="still-signed-in")

    assert migrations.upgrade(engine) == ("schema_version 1", HEAD)

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
    assert migrations.differences(engine) == []


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
    assert sorted(results, key=str) == [(HEAD, HEAD), (None, HEAD)]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalars(text("SELECT version_num FROM alembic_version")).all() == [HEAD]
    assert fence(engine) == [migrations.LEGACY_FENCE]  # written once
    engine.dispose()


def test_an_older_kbgen_refuses_a_database_a_newer_one_upgraded(engine):
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(migrations.SchemaTooNew,
                       match=f"schema revision '0099', newer than this kbgen knows .'{HEAD}'.: upgrade kbgen"):
        migrations.upgrade(engine)


def test_a_0_1_database_numbered_past_0_1_is_refused(engine):
    with engine.begin() as conn:
        legacy_versions.create(conn)
        conn.execute(insert(legacy_versions).values(version=99, description="from the future", applied_at=utcnow()))
    with pytest.raises(migrations.SchemaTooNew, match="'schema_version 99', newer than this kbgen knows "
                                                      ".'schema_version 2'.: upgrade"):
        migrations.upgrade(engine)


def test_add_column_is_a_no_op_when_the_column_or_the_table_is_not_there_to_change(engine):
    migrations.upgrade(engine)
    with engine.begin() as conn:
        migrations.add_column(conn, "users", Column("last_login_at", DateTime()))  # already there
        migrations.add_column(conn, "not_created_yet", Column("x", Integer()))  # a revision creates it later
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
