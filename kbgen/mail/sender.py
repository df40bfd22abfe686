"""Delivers the outbox: claims due rows, sends them over SMTP (or writes .eml files), retries.

Claiming is one conditional UPDATE per row (`... WHERE id = :id AND status =
'pending' AND due`), so two sender threads or two service replicas sharing a
database never both send a row: the database lets exactly one UPDATE match.
A claim is a lease; a sender that dies mid-send leaves its row in 'sending'
until the lease ends, and then another sender retries it. Delivery is
therefore at least once in that crash case only; the Message-ID is fixed per
row, so the duplicate is recognisable.

Transport comes from Settings.smtp_url:
  smtp://[user:pass@]host:port          plain SMTP (port 25 by default)
  smtp+starttls://[user:pass@]host:port upgrade with STARTTLS (587)
  smtps://[user:pass@]host:port         TLS from the start (465)
Without a URL, each email is written to Settings.mail_dir as <row>.eml, so
`make run` needs no mail server and a developer can open what was sent.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import os
import random
import smtplib
import ssl
import threading
import uuid
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker as SessionMaker

from kbgen.mail.notifications import FAILED, PENDING, SENDING, SENT, Outbox, as_naive_utc, utcnow
from kbgen.settings import Settings

log = logging.getLogger("kbgen.mail.sender")


class Transport(Protocol):
    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


class PermanentError(Exception):
    """The message can never be delivered as it is (e.g. every recipient refused); do not retry."""


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class SmtpTransport:
    """One SMTP connection reused for a batch and reopened after any error."""

    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        schemes = {"smtp": (25, False, False), "smtp+starttls": (587, False, True), "smtps": (465, True, False)}
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"KBGEN_SMTP_URL {url!r} is not understood; use smtp://host:port, "
                             "smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465")
        default_port, self.implicit_tls, self.starttls = schemes[parts.scheme]
        self.host, self.port = parts.hostname, parts.port or default_port
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        if self.username and not (self.implicit_tls or self.starttls) and not _is_loopback(self.host):
            raise ValueError(f"KBGEN_SMTP_URL would send the password for {self.host} unencrypted; "
                             f"use smtp+starttls://…@{self.host}:587 or smtps://…@{self.host}:465")
        self.timeout = timeout
        self.ssl_context = ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            with contextlib.suppress(Exception):
                smtp.close()
            raise
        return smtp

    def send(self, message: Message) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentError(f"recipient refused: {exc.recipients}") from exc
            raise
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:  # the server rejects this content; resending it will not help
                raise PermanentError(f"message refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
            self.close()
            raise
        except Exception:
            self.close()  # the connection's state is unknown; the next send opens a fresh one
            raise

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(Exception):
                self._smtp.quit()
            with contextlib.suppress(Exception):
                self._smtp.close()
            self._smtp = None


class EmlTransport:
    """Writes each email as a file; rewriting the same row overwrites the same file."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = message["X-Kbgen-Outbox-Id"]
        target = self.directory / f"outbox-{name}.eml"
        partial = target.with_suffix(f".{uuid.uuid4().hex}.tmp")
        partial.write_bytes(bytes(message))
        os.replace(partial, target)  # readers never see half a file

    def close(self) -> None:
        pass


def transport_for(settings: Settings) -> Transport:
    return SmtpTransport(settings.smtp_url) if settings.smtp_url else EmlTransport(settings.mail_dir)


# Python's 78-column folding can break a subject right after "Subject:", which some clients
# then show with a leading space; 998 is the hard limit of RFC 5322.
def _header(text: str) -> str | Header:
    """ASCII as it is; anything else as an RFC 2047 encoded word."""
    return text if text.isascii() else Header(text, "utf-8")


def build_message(row: Outbox, settings: Settings) -> Message:
    # The legacy (compat32) API on purpose: the newer Message parses every header it is
    # given, which made building emails the costliest step of taking a ticket (see bench/).
    message = MIMEMultipart("alternative")
    message["From"] = settings.mail_from
    message["To"] = formataddr((row.to_name, row.to_email), charset="utf-8") if row.to_name else row.to_email
    message["Reply-To"] = row.reply_to
    message["Subject"] = _header(row.subject)
    message["Date"] = format_datetime(row.created_at.replace(tzinfo=dt.timezone.utc))
    message["Message-ID"] = row.message_id or f"<outbox.{row.id}@localhost>"
    if row.thread_id:  # mail clients group every email about one ticket together
        message["References"] = row.thread_id
        message["In-Reply-To"] = row.thread_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Kbgen-Outbox-Id"] = str(row.id)
    message.attach(MIMEText(row.body_text, "plain", "utf-8"))
    message.attach(MIMEText(row.body_html, "html", "utf-8"))
    return message


def _clock(now: dt.datetime) -> dt.datetime:
    """The time to write leases and retries from: `now` (a test's or a pass's start), or later if time moved on."""
    return max(now, utcnow())


class OutboxSender:
    """Sends due outbox rows; `send_due()` once, or `start()` a background thread."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings, *, transport: Transport | None = None,
                 max_attempts: int = 8, base_delay: float = 30.0, max_delay: float = 3600.0,
                 lease: float = 300.0, interval: float = 5.0, batch: int = 50):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.transport = transport or transport_for(settings)
        self.max_attempts = max_attempts
        self.base_delay, self.max_delay = base_delay, max_delay
        self.lease = dt.timedelta(seconds=lease)
        self.interval, self.batch = interval, batch
        self.name = f"sender-{uuid.uuid4().hex[:12]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one batch at a time per sender: the transport is not shareable

    # -- one pass ---------------------------------------------------------------------------

    def _due(self, now: dt.datetime):
        return or_(and_(Outbox.status == PENDING, Outbox.next_attempt_at <= now),
                   and_(Outbox.status == SENDING, Outbox.claimed_until < now,
                        Outbox.attempts < self.max_attempts))

    def _claim(self, session: Session, now: dt.datetime) -> tuple[list[int], bool]:
        """(row ids this sender now owns, whether more may be due); rows another sender claimed are skipped."""
        # A row whose sender died on every attempt (say, a message that crashes it) stops here.
        session.execute(
            update(Outbox).where(Outbox.status == SENDING, Outbox.claimed_until < now,
                                 Outbox.attempts >= self.max_attempts)
            .values(status=FAILED, claimed_until=None,
                    last_error=func.coalesce(Outbox.last_error, "") + " (sender lease expired on last attempt)")
            .execution_options(synchronize_session=False))
        session.commit()
        candidates = session.scalars(select(Outbox.id).where(self._due(now))
                                     .order_by(Outbox.next_attempt_at, Outbox.id).limit(self.batch)).all()
        if not candidates:
            session.commit()
            return [], False
        # The due condition again: a row another sender claimed since the SELECT no longer
        # matches (PostgreSQL re-checks it after waiting for that sender's row lock).
        mine = set(session.scalars(
            update(Outbox).where(Outbox.id.in_(candidates), self._due(now))
            .values(status=SENDING, claimed_by=self.name, claimed_until=_clock(now) + self.lease,
                    attempts=Outbox.attempts + 1)
            .returning(Outbox.id)
            .execution_options(synchronize_session=False)).all())
        session.commit()
        return [row_id for row_id in candidates if row_id in mine], len(candidates) == self.batch

    def _renew(self, session: Session, row_id: int, now: dt.datetime) -> Outbox | None:
        """The row, if this sender still holds it, with a fresh lease covering the send about to start.

        A batch is claimed at once but sent one by one; without this, a slow batch could
        outlive the lease and another sender would send its last rows a second time.
        An expired lease nobody took over is still ours: taking over rewrites claimed_by,
        and the database orders that UPDATE and this one.
        """
        row = session.scalars(
            update(Outbox).where(Outbox.id == row_id, Outbox.status == SENDING, Outbox.claimed_by == self.name)
            .values(claimed_until=_clock(now) + self.lease)
            .returning(Outbox)
            .execution_options(synchronize_session=False, populate_existing=True)).first()
        session.commit()
        return row

    def backoff(self, attempts: int) -> dt.timedelta:
        """Exponential with jitter, so a crowd of failed emails does not retry in lockstep."""
        delay = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return dt.timedelta(seconds=random.uniform(delay / 2, delay))

    def _finish(self, session: Session, row: Outbox, now: dt.datetime, error: Exception | None,
                permanent: bool = False) -> None:
        if error is None:
            values = dict(status=SENT, sent_at=utcnow(), claimed_until=None, last_error=None)
        else:
            give_up = permanent or row.attempts >= self.max_attempts
            values = dict(status=FAILED if give_up else PENDING, claimed_until=None,
                          last_error=f"attempt {row.attempts}: {error.__class__.__name__}: {error}"[:2000],
                          next_attempt_at=now if give_up else _clock(now) + self.backoff(row.attempts))
        session.execute(update(Outbox)
                        .where(Outbox.id == row.id, Outbox.status == SENDING, Outbox.claimed_by == self.name)
                        .values(**values).execution_options(synchronize_session=False))
        session.commit()
        session.expunge(row)

    def send_due(self, now: dt.datetime | None = None) -> int:
        """Send every row due at `now`; returns how many were delivered."""
        now = as_naive_utc(now) if now else utcnow()
        sent = 0
        # One session for the pass, committed at every step: no transaction stays open while
        # SMTP talks, and the connection is checked out once rather than three times an email.
        with self._lock, self.sessionmaker() as session:
            try:
                while True:
                    claimed, more = self._claim(session, now)
                    for row_id in claimed:
                        row = self._renew(session, row_id, now)
                        if row is None:  # the lease ran out during a slow batch and another sender has it
                            continue
                        message = build_message(row, self.settings)
                        try:
                            self.transport.send(message)
                        except PermanentError as exc:
                            log.warning("email %s to %s refused: %s", row.id, row.to_email, exc)
                            self._finish(session, row, now, exc, permanent=True)
                        except Exception as exc:  # noqa: BLE001 - any failure is retried later
                            log.warning("email %s to %s not sent (attempt %s): %s",
                                        row.id, row.to_email, row.attempts, exc)
                            self._finish(session, row, now, exc)
                        else:
                            self._finish(session, row, now, None)
                            sent += 1
                    if not more:  # not "claimed < batch": a racing sender may have taken the rest of a full batch
                        return sent
            finally:
                self.transport.close()

    def counts(self) -> dict[str, int]:
        """How many rows are in each status (for the CLI and monitoring)."""
        with self.sessionmaker() as session:
            rows = session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()
        return {status: count for status, count in rows}

    # -- background thread ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Send now instead of at the next interval."""
        self._wake.set()

    def _after_commit(self, session) -> None:
        if session.info.pop("kbgen_outbox_dirty", False):
            self.wake()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.send_due()
            except Exception:  # noqa: BLE001 - a database outage must not kill the thread
                log.exception("outbox pass failed; retrying in %ss", self.interval)
            self._wake.wait(self.interval)

    def run_forever(self) -> None:
        """Send in the foreground until stop() (or a signal) ends it: the `kbgen mail run` worker."""
        self._stop.clear()
        self._run()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        event.listen(self.sessionmaker, "after_commit", self._after_commit)
        self._thread = threading.Thread(target=self._run, name=f"kbgen-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        with contextlib.suppress(Exception):
            event.remove(self.sessionmaker, "after_commit", self._after_commit)
        self._thread = None


@contextlib.asynccontextmanager
async def lifespan(app):
    """FastAPI lifespan: deliver the outbox in the background while the service runs.

    `kbgen serve` turns this off and runs the sender as its own process instead (`kbgen mail run`),
    so building and sending emails never takes CPU from answering customers.
    """
    if not getattr(app.state, "send_mail", True):
        yield
        return
    sender = OutboxSender(app.state.sessionmaker, app.state.settings)
    app.state.outbox_sender = sender
    sender.start()
    try:
        yield
    finally:
        await asyncio.to_thread(sender.stop)
