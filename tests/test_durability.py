"""Durable means on disk: what the service acknowledges survives a power loss, not only a crash.

SQLite commits with synchronous=FULL unless KBGEN_SQLITE_SYNCHRONOUS=normal says otherwise;
PostgreSQL never runs kbgen's commits with synchronous_commit=off; attachment files and their
folder are fsynced before the rows that point at them commit.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import event

from kbgen.web.app import create_app
from kbgen.settings import Settings
from test_tickets_support import ANN, Portal, xcally

FULL, NORMAL = 2, 1  # what PRAGMA synchronous answers


def _service(tmp_path, database_url: str, **env: str):
    """The app as `kbgen serve` builds it: settings from the environment."""
    settings = Settings.from_env(tmp_path, env={"KBGEN_DATABASE_URL": database_url,
                                                "KBGEN_DATA_DIR": str(tmp_path / "data"), **env})
    return create_app(settings, serve_site=False, send_mail=False)


def _connection_setting(app, query: str):
    from starlette.testclient import TestClient

    # A request first, so the connection asked is one the service has opened and used.
    assert TestClient(app).get("/api/me").status_code in (200, 401)
    with app.state.engine.connect() as conn:
        return conn.exec_driver_sql(query).scalar()


def test_the_services_sqlite_connections_commit_with_synchronous_full_unless_normal_is_chosen(tmp_path):
    for choice, expected in [({}, FULL), ({"KBGEN_SQLITE_SYNCHRONOUS": "normal"}, NORMAL),
                             ({"KBGEN_SQLITE_SYNCHRONOUS": "FULL"}, FULL)]:
        app = _service(tmp_path, f"sqlite:///{tmp_path / 'kbgen.db'}", **choice)
        try:
            assert _connection_setting(app, "PRAGMA synchronous") == expected, choice
            assert _connection_setting(app, "PRAGMA journal_mode") == "wal"
        finally:
            app.state.engine.dispose()


def test_an_unknown_sqlite_synchronous_value_stops_the_service_with_what_to_set(tmp_path):
    with pytest.raises(ValueError) as error:
        _service(tmp_path, f"sqlite:///{tmp_path / 'kbgen.db'}", KBGEN_SQLITE_SYNCHRONOUS="off")
    assert "KBGEN_SQLITE_SYNCHRONOUS is 'off'" in str(error.value) and "full" in str(error.value)


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_postgresql_commits_are_never_acknowledged_before_they_are_on_disk(tmp_path, database_url):
    # As if the administrator had set synchronous_commit for the server, the database or the role:
    # off is turned on, and every setting that waits for the disk is kept.
    for given, used in [("off", "on"), ("remote_write", "remote_write"), ("local", "local")]:
        url = database_url.replace("options=", f"options=-csynchronous_commit%3D{given}%20", 1)
        app = _service(tmp_path, url)
        try:
            assert _connection_setting(app, "SHOW synchronous_commit") == used, given
            assert _connection_setting(app, "SELECT current_schema()").startswith("t_")  # the URL's options apply
        finally:
            app.state.engine.dispose()


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    yield portal
    portal.close()


@pytest.fixture
def disk_log(portal, monkeypatch):
    """What reaches the disk, in order: ("fsync", path) for each os.fsync, ("insert", table), ("commit",)."""
    log: list[tuple] = []
    real_fsync = os.fsync

    def fsync(fd):
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    engine = portal.app.state.engine

    def insert(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO"):
            log.append(("insert", statement.split()[2].strip('"')))

    def commit(conn):
        log.append(("commit",))

    event.listen(engine, "before_cursor_execute", insert)
    event.listen(engine, "commit", commit)
    yield log
    event.remove(engine, "before_cursor_execute", insert)
    event.remove(engine, "commit", commit)


def _order_of_attachment_writes(log: list[tuple], stored: str, folder: str) -> list[str]:
    """The steps that make one attachment durable, in the order they first happened."""
    steps = {"file fsynced": ("fsync", stored), "folder fsynced": ("fsync", folder),
             "row inserted": ("insert", "ticket_attachments")}
    seen: list[str] = []
    for entry in log:
        seen += [step for step, wanted in steps.items() if entry == wanted and step not in seen]
        if entry == ("commit",) and "row inserted" in seen:
            return seen + ["committed"]
    return seen


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names an fsynced descriptor through /proc")
def test_attachment_files_and_their_folder_are_fsynced_before_the_ticket_commits(portal, disk_log):
    log = b"[Mar  1 09:00:01] WARNING[123]: chan_sip.c: no agents available\n" * 3000
    body = xcally()
    data = {k: body[k] for k in ("product", "request_type", "priority")}
    data.update({f"fields.{k}": v for k, v in body["fields"].items()})
    response = portal.client(ANN).post("/api/tickets", data=data,
                                       files=[("files.logs", ("asterisk.log", log, "text/plain"))])
    assert response.status_code == 201, response.text

    (attachment,) = portal.ticket(response.json()["key"]).attachments
    folder = portal.settings.attachments_dir
    path = folder / attachment.stored_name
    assert path.read_bytes() == log and attachment.size == len(log)
    assert _order_of_attachment_writes(disk_log, str(path), str(folder)) == [
        "file fsynced", "folder fsynced", "row inserted", "committed"]
    # The attachments folder was new: its own name in the data folder is flushed too.
    assert ("fsync", str(folder.parent)) in disk_log


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names an fsynced descriptor through /proc")
def test_comment_attachments_are_fsynced_before_the_comment_commits(portal, disk_log):
    key = portal.open()
    trace = b"INVITE sip:100@pbx.acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5\r\n" * 500
    response = portal.client(ANN).post(f"/api/tickets/{key}/comments", data={"text": "The SIP trace."},
                                       files=[("files", ("sip.txt", trace, "text/plain"))])
    assert response.status_code == 201, response.text

    (attachment,) = portal.ticket(key).attachments
    folder = portal.settings.attachments_dir
    path = folder / attachment.stored_name
    assert path.read_bytes() == trace
    assert _order_of_attachment_writes(disk_log, str(path), str(folder)) == [
        "file fsynced", "folder fsynced", "row inserted", "committed"]
