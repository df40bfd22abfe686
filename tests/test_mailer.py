"""The outbox sender: every email delivered once, none lost while SMTP is down, retries, .eml files."""
from __future__ import annotations

import datetime as dt
import email
import subprocess
import threading
import uuid
from email import policy
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from conftest import SmtpSink
from kbgen import migrations
from kbgen.db import make_engine, make_sessionmaker
from kbgen.mail.sender import OutboxSender, SmtpTransport
from kbgen.mail.notifications import FAILED, PENDING, SENDING, SENT, Outbox, notify, utcnow
from kbgen.settings import Settings


def make_settings(tmp_path: Path, database_url: str, smtp_url: str | None) -> Settings:
    return Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                    data_dir=tmp_path / "data", forms_dir=tmp_path / "forms", content_dir=tmp_path / "content",
                    database_url=database_url, smtp_url=smtp_url, mail_from="portal@support.example",
                    support_team_email="team@support.example", public_url="https://support.example",
                    notify_burst_seconds=0)  # each email due at once: bursts are tests/test_notification_bursts.py's


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    migrations.upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def enqueue(Session, count: int = 1, to: str = "ada@acme.example") -> list[int]:
    """Outbox rows as notify() leaves them: pending and due now."""
    with Session() as session:
        rows = [Outbox(event="status_changed", ticket_key=f"XC-{n}", to_email=to, to_name="Ada",
                       reply_to="no-reply@support.example", subject=f"[XC-{n}] Status changed",
                       body_text=f"Request XC-{n} moved.", body_html=f"<p>Request XC-{n} moved.</p>",
                       message_id=f"<outbox.{uuid.uuid4().hex}@support.example>", status=PENDING, next_attempt_at=utcnow())
                for n in range(count)]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def row(Session, row_id: int) -> Outbox:
    with Session() as session:
        return session.get(Outbox, row_id)


def test_two_senders_racing_deliver_each_email_exactly_once(database_url, tmp_path, smtp_server):
    # Two replicas: separate engines and senders over the same database.
    engines = [make_engine(database_url) for _ in range(2)]
    migrations.upgrade(engines[0])
    makers = [make_sessionmaker(engine) for engine in engines]
    ids = enqueue(makers[0], 40)
    settings = make_settings(tmp_path, database_url, smtp_server.url)
    senders = [OutboxSender(maker, settings, batch=3) for maker in makers]
    start = threading.Barrier(2)
    sent = [0, 0]

    def run(i: int) -> None:
        start.wait()
        sent[i] = senders[i].send_due()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    delivered = [m["X-Kbgen-Outbox-Id"] for m in smtp_server.messages]
    assert sorted(delivered, key=int) == [str(i) for i in ids]  # all of them, none twice
    assert sum(sent) == 40
    with makers[0]() as session:
        assert set(session.scalars(select(Outbox.status))) == {SENT}
        assert set(session.scalars(select(Outbox.attempts))) == {1}
    for engine in engines:
        engine.dispose()


def test_email_queued_while_smtp_is_down_is_sent_when_it_is_back(db, tmp_path, database_url):
    server = SmtpSink()  # its port is reserved, nothing listens yet
    sender = OutboxSender(db, make_settings(tmp_path, database_url, server.url), base_delay=60)
    [row_id] = enqueue(db)

    now = utcnow() + dt.timedelta(minutes=1)  # ahead of the clock, so the delays below are exact
    assert sender.send_due(now) == 0
    waiting = row(db, row_id)
    assert waiting.status == PENDING and waiting.attempts == 1
    assert "Connection refused" in waiting.last_error or "ConnectionRefused" in waiting.last_error
    assert now + dt.timedelta(seconds=30) <= waiting.next_attempt_at <= now + dt.timedelta(seconds=60)

    assert sender.send_due(now + dt.timedelta(seconds=1)) == 0  # not due yet: no new attempt
    assert row(db, row_id).attempts == 1

    server.start()
    try:
        assert sender.send_due(waiting.next_attempt_at) == 1
        assert [m["Subject"] for m in server.messages] == ["[XC-0] Status changed"]
        done = row(db, row_id)
        assert done.status == SENT and done.attempts == 2 and done.sent_at is not None
    finally:
        server.stop()


def test_retries_back_off_exponentially_then_give_up_keeping_the_row(db, tmp_path, database_url):
    server = SmtpSink()
    sender = OutboxSender(db, make_settings(tmp_path, database_url, server.url), base_delay=10, max_attempts=4)
    [row_id] = enqueue(db)
    now = utcnow() + dt.timedelta(minutes=1)
    delays = []
    for _ in range(3):
        sender.send_due(now)
        waiting = row(db, row_id)
        delays.append((waiting.next_attempt_at - now).total_seconds())
        now = waiting.next_attempt_at
    # Jitter keeps each wait between half and all of 10s, 20s, 40s.
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20 and 20 <= delays[2] <= 40

    sender.send_due(now)
    failed = row(db, row_id)
    assert failed.status == FAILED and failed.attempts == 4
    assert failed.last_error.startswith("attempt 4: ")

    server.start()
    try:
        assert sender.send_due(now + dt.timedelta(days=1)) == 0  # given up means given up
        assert server.messages == []
    finally:
        server.stop()


def test_an_email_whose_sender_died_is_sent_after_the_lease(db, tmp_path, database_url, smtp_server):
    [row_id] = enqueue(db)
    now = utcnow()
    with db() as session:  # what a replica that crashed mid-send leaves behind
        session.execute(update(Outbox).where(Outbox.id == row_id).values(
            status=SENDING, claimed_by="sender-dead", claimed_until=now + dt.timedelta(seconds=300), attempts=1))
        session.commit()
    sender = OutboxSender(db, make_settings(tmp_path, database_url, smtp_server.url), lease=300)

    assert sender.send_due(now) == 0  # the other sender may still be sending it
    assert sender.send_due(now + dt.timedelta(seconds=301)) == 1
    assert len(smtp_server.messages) == 1
    assert row(db, row_id).status == SENT


def test_a_batch_slower_than_its_lease_is_still_sent_once_when_nobody_took_over(db, tmp_path, database_url,
                                                                              smtp_server):
    ids = enqueue(db, 3)
    sender = OutboxSender(db, make_settings(tmp_path, database_url, smtp_server.url), lease=0.001, batch=3)
    assert sender.send_due() == 3
    assert sorted(int(m["X-Kbgen-Outbox-Id"]) for m in smtp_server.messages) == ids


def test_a_sender_skips_rows_another_sender_took_over(db, tmp_path, database_url, smtp_server):
    first, second = enqueue(db, 2)
    settings = make_settings(tmp_path, database_url, smtp_server.url)
    now = utcnow() + dt.timedelta(minutes=1)
    other = OutboxSender(db, settings, lease=300)
    taken = []

    class Sink(SmtpTransport):
        """The real SMTP transport; while it sends the first row, another replica takes the second."""

        def send(self, message):
            if not taken:
                with db() as session:  # the batch's lease on the second row has run out...
                    session.execute(update(Outbox).where(Outbox.id == second)
                                    .values(claimed_until=now - dt.timedelta(seconds=1)))
                    session.commit()
                taken.append(other.send_due(now))  # ...and the other replica sends it
            super().send(message)

    slow = OutboxSender(db, settings, lease=300, batch=2, transport=Sink(smtp_server.url))
    assert slow.send_due(now) == 1
    assert taken == [1]
    assert sorted(int(m["X-Kbgen-Outbox-Id"]) for m in smtp_server.messages) == [first, second]
    assert {row(db, first).status, row(db, second).status} == {SENT}


def test_a_refused_recipient_fails_at_once_and_others_still_go(db, tmp_path, database_url, smtp_server):
    smtp_server.refuse = {"gone@acme.example"}
    [refused] = enqueue(db, to="gone@acme.example")
    [accepted] = enqueue(db, to="ada@acme.example")
    sender = OutboxSender(db, make_settings(tmp_path, database_url, smtp_server.url))

    assert sender.send_due() == 1
    assert [m["X-Rcpt-To"] for m in smtp_server.messages] == ["ada@acme.example"]
    gone = row(db, refused)
    assert gone.status == FAILED and gone.attempts == 1 and "550" in gone.last_error
    assert row(db, accepted).status == SENT


def test_without_smtp_url_emails_are_written_as_eml_files(db, tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, None)
    [row_id] = enqueue(db)
    assert OutboxSender(db, settings).send_due() == 1

    files = list(settings.mail_dir.glob("*.eml"))
    assert [f.name for f in files] == [f"outbox-{row_id}.eml"]
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "Ada <ada@acme.example>"
    assert message["Message-ID"] == row(db, row_id).message_id
    assert message.get_body(("plain",)).get_content().strip() == "Request XC-0 moved."
    assert message.get_body(("html",)).get_content().strip() == "<p>Request XC-0 moved.</p>"
    assert row(db, row_id).status == SENT


def test_background_sender_sends_as_soon_as_a_notification_commits(db, tmp_path, database_url, smtp_server):
    settings = make_settings(tmp_path, database_url, smtp_server.url)
    sender = OutboxSender(db, settings, interval=300)  # only a wake-up can explain a prompt delivery
    sender.start()
    try:
        assert sender.running
        ticket = SimpleNamespace(key="XC-7", product="xcally", summary="No audio", status="In progress",
                                 priority="Normal", url="requests/XC-7/", organization=SimpleNamespace(name="Acme"),
                                 requester=SimpleNamespace(email="ada@acme.example", name="Ada", role="customer"))
        agent = SimpleNamespace(email="grace@support.example", name="Grace", role="agent")
        with db() as session:
            notify(session, settings, "status_changed", ticket, agent, old="Waiting for Support", new="In progress")
            session.commit()
        [message] = smtp_server.wait_for(1, timeout=20)
        assert message["Subject"] == "[XC-7] Status changed to In progress: No audio"
    finally:
        sender.stop()
    assert not sender.running


# -- SMTP URLs: authentication and TLS ---------------------------------------------------------


class Credentials:
    def __init__(self, login: bytes, password: bytes):
        self.login, self.password = login, password

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        ok = auth_data.login == self.login and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_url_credentials_log_in(db, tmp_path, database_url):
    server = SmtpSink(authenticator=Credentials(b"portal@support.example", b"p@ss:word"),
                      auth_required=True, auth_require_tls=False).start()
    try:
        url = f"smtp://portal%40support.example:p%40ss%3Aword@127.0.0.1:{server.port}"
        [row_id] = enqueue(db)
        assert OutboxSender(db, make_settings(tmp_path, database_url, url)).send_due() == 1
        assert len(server.messages) == 1

        wrong = f"smtp://portal%40support.example:nope@127.0.0.1:{server.port}"
        [other] = enqueue(db)
        assert OutboxSender(db, make_settings(tmp_path, database_url, wrong)).send_due() == 0
        refused = row(db, other)
        assert refused.status == PENDING and "535" in refused.last_error  # kept for after the fix
    finally:
        server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, trusted by the client through SSL_CERT_FILE."""
    folder = tmp_path_factory.mktemp("tls")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return folder / "cert.pem", folder / "key.pem"


def _server_tls(certificate):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.mark.parametrize("scheme", ["smtps", "smtp+starttls"])
def test_tls_urls_deliver_over_verified_tls(scheme, certificate, db, tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    options = ({"ssl_context": _server_tls(certificate)} if scheme == "smtps"
               else {"tls_context": _server_tls(certificate), "require_starttls": True})
    server = SmtpSink(**options).start()
    try:
        enqueue(db)
        sender = OutboxSender(db, make_settings(tmp_path, database_url, f"{scheme}://127.0.0.1:{server.port}"))
        assert sender.send_due() == 1
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_unknown_smtp_url_scheme_is_explained(tmp_path):
    settings = make_settings(tmp_path, "sqlite://", "smtp-ssl://mail.example:465")
    with pytest.raises(ValueError, match="smtp\\+starttls://user:pass@host:587"):
        OutboxSender(None, settings)


def test_a_password_is_never_sent_in_clear_over_the_network(tmp_path):
    settings = make_settings(tmp_path, "sqlite://", "smtp://portal:secret@mail.example:587")
    with pytest.raises(ValueError, match="unencrypted; use smtp\\+starttls://…@mail.example:587"):
        OutboxSender(None, settings)


def test_send_pending_command_flushes_the_outbox_once(db, tmp_path, database_url, smtp_server):
    from click.testing import CliRunner

    from kbgen.cli import cli

    enqueue(db, 2)
    enqueue(db, to="gone@acme.example")
    smtp_server.refuse = {"gone@acme.example"}
    env = {"KBGEN_DATABASE_URL": database_url, "KBGEN_DATA_DIR": str(tmp_path / "data"),
           "KBGEN_SMTP_URL": smtp_server.url}
    result = CliRunner().invoke(cli, ["mail", "send-pending", "--project", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == "sent 2 emails (SMTP); 0 waiting to retry, 1 failed\n"
    assert len(smtp_server.messages) == 2
