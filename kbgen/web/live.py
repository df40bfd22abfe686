"""Live updates: one change feed per worker process, fanned out to the open ticket pages and requests lists.

Every change of a ticket moves its `updated_at` (kbgen/tickets/service.py), which has an index
(ix_tickets_updated). While anybody listens, the feed asks the database once a second which tickets
moved, whatever the number of listeners: one indexed query per second per worker is the whole cost of
keeping thousands of pages current, and it works across workers and replicas because they all write
the same database. Each listener has a small bounded queue; one that falls behind is dropped (its
browser reconnects), so a slow client never holds memory or the feed.

Timestamps come from each writer's clock when it starts its transaction, so a slow transaction can
commit a time older than one already seen: the feed therefore looks OVERLAP back every time and
remembers what it delivered within that window, so a late commit is delivered once, not lost.

Who may hear what: a customer or partner only their organizations' tickets (User.organization_ids),
the support team everything; the same rule as kbgen.tickets.queries, checked when a stream opens and
again every SESSION_CHECK seconds with the sign-in session behind it (signed out, expired, deactivated
or moved out of an organization: the stream ends). Events carry a key and a time, never content:
the page fetches the ticket through the API, which applies every rule again.

The same background machinery runs the periodic sweeps about once a minute per process: missed SLA
targets (kbgen.tickets.record_breaches) and Resolved requests nobody answered (kbgen.tickets.auto_close);
both are safe from several processes at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm import sessionmaker as SessionMaker

from kbgen import tickets
from kbgen.accounts import LoginSession, User
from kbgen.db import utcnow
from kbgen.tickets.errors import FilterInvalid
from kbgen.tickets.models import Ticket
from kbgen.tickets.queries import get_ticket, sees_everything, visible_to

log = logging.getLogger("kbgen.web.live")

POLL_EVERY = 1.0  # seconds between two looks at the database while anybody listens
OVERLAP = dt.timedelta(seconds=10)  # how far back each look reaches, for transactions that commit late
PAGE = 500  # changed tickets read per query; a burst takes several
MAX_PAGES = 20  # per look: a larger burst is read on the next looks
QUEUE = 64  # changes waiting for one listener; past that it is dropped and its browser reconnects
SESSION_CHECK = 60.0  # seconds between two checks of the listeners' sign-in sessions
SWEEP_EVERY = 60.0  # seconds between two SLA breach sweeps (with jitter, so workers spread out)
START_MARGIN = dt.timedelta(seconds=1)  # a feed that starts delivers this much before it: a repeat beats a miss
RETRY_MS = (3000, 5000)  # the reconnection delay each stream suggests, picked in this range per stream


class Busy(Exception):
    """Too many streams: for this person (429) or for this worker (503); retry after `retry_after` seconds."""

    def __init__(self, status: int, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after


@dataclass(frozen=True)
class Change:
    """One ticket that moved: what a listener is told (its key and when), and who may hear it."""

    ticket_id: int
    key: str
    organization_id: int
    updated_at: dt.datetime

    def event(self) -> dict[str, str]:
        return {"key": self.key, "updated_at": self.updated_at.isoformat() + "Z"}


@dataclass
class Watch:
    """What a new stream listens to, worked out (and authorized) before it opens.

    `organization_ids` None: every organization (the support team). `ticket_id` set: that ticket only.
    `pending` is a change the page missed between loading and opening the stream (`since`)."""

    user_id: int
    login_id: int
    organization_ids: tuple[int, ...] | None
    ticket_id: int | None = None
    ticket_organization_id: int | None = None
    pending: Change | None = None

    def hears(self, change: Change) -> bool:
        if self.ticket_id is not None:
            return change.ticket_id == self.ticket_id
        return self.organization_ids is None or change.organization_id in self.organization_ids


def parse_since(value: str | None) -> tuple[dt.datetime, bool] | None:
    """A client's `since` (ISO 8601, as the API writes times) as naive UTC, and whether it has fractions
    of a second (the API writes whole seconds); FilterInvalid (422) for anything else."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) > 40:
            raise ValueError
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        moment + dt.timedelta(seconds=1)  # the comparison needs a next second (not so past 9999)
    except (ValueError, OverflowError):
        raise FilterInvalid("since must be a time like 2026-01-31T09:30:00Z, as the API writes them",
                            field="since") from None
    return moment, moment.microsecond != 0


def _newer_than(since: tuple[dt.datetime, bool], updated_at=Ticket.updated_at):
    """updated_at after `since` (a column condition, or a bool for a value). A time in whole seconds is
    how the API writes it: the page showed that second, so only the following ones are news."""
    moment, precise = since
    return updated_at > moment if precise else updated_at >= moment + dt.timedelta(seconds=1)


def _change(row) -> Change:
    return Change(ticket_id=row.id, key=row.key, organization_id=row.organization_id, updated_at=row.updated_at)


def _audience(user: User) -> tuple[int, ...] | None:
    return None if sees_everything(user) else tuple(user.organization_ids)


def watch_ticket(session: Session, user: User, login_id: int, key: str, since: str | None = None) -> Watch:
    """A stream of one ticket's changes for `user`; TicketNotFound (404) if they may not see it."""
    moment = parse_since(since)
    ticket = get_ticket(session, user, key)
    watch = Watch(user_id=user.id, login_id=login_id, organization_ids=_audience(user), ticket_id=ticket.id,
                  ticket_organization_id=ticket.organization_id)
    if moment is not None and ticket.updated_at is not None and _newer_than(moment, ticket.updated_at):
        watch.pending = Change(ticket.id, ticket.key, ticket.organization_id, ticket.updated_at)
    return watch


def watch_requests(session: Session, user: User, login_id: int, since: str | None = None) -> Watch:
    """A stream of the changes of every ticket `user` may see (their organizations', or all for agents)."""
    moment = parse_since(since)
    watch = Watch(user_id=user.id, login_id=login_id, organization_ids=_audience(user))
    if moment is not None:
        query = select(Ticket.id, Ticket.key, Ticket.organization_id, Ticket.updated_at).where(_newer_than(moment))
        if watch.organization_ids is not None:
            query = query.where(visible_to(user))
        row = session.execute(query.order_by(Ticket.updated_at.desc()).limit(1)).first()
        if row is not None:
            watch.pending = _change(row)
    return watch


def changed_since(session: Session, after: tuple[dt.datetime, int] | None, limit: int = PAGE) -> list[Change]:
    """Tickets whose updated_at is past `after` (a time and a ticket id, the order of the index), oldest first."""
    query = select(Ticket.id, Ticket.key, Ticket.organization_id, Ticket.updated_at)
    if after is not None:
        moment, ticket_id = after
        query = query.where(or_(Ticket.updated_at > moment, and_(Ticket.updated_at == moment, Ticket.id > ticket_id)))
    return [_change(row) for row in session.execute(query.order_by(Ticket.updated_at, Ticket.id).limit(limit))]


def latest_change(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(Ticket.updated_at)))


def still_allowed(session: Session, watches: Iterable[Watch],
                  now: dt.datetime | None = None) -> dict[int, tuple[int, ...] | None]:
    """For the sign-in sessions behind `watches`: login id -> what its user may hear now (organization ids,
    or None for everything); a login that ended (signed out, expired, deactivated) is left out.
    Reads, never writes: an open page does not keep an idle session alive."""
    now = now or utcnow()
    ids = sorted({w.login_id for w in watches})
    allowed: dict[int, tuple[int, ...] | None] = {}
    for start in range(0, len(ids), 500):
        logins = session.scalars(select(LoginSession).where(LoginSession.id.in_(ids[start:start + 500]))
                                 .options(selectinload(LoginSession.user).selectinload(User.memberships))).all()
        for login in logins:
            if not login.expired(now) and login.user.can_sign_in:
                allowed[login.id] = _audience(login.user)
    return allowed


class Listener:
    """One open stream: its Watch and the changes waiting for it. Lives on the event loop's thread."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self.waiting: deque[Change] = deque(maxlen=QUEUE + 1)
        self.ended = False
        self._wake = asyncio.Event()
        if watch.pending is not None:
            self.waiting.append(watch.pending)

    def push(self, change: Change) -> None:
        self.waiting.append(change)
        if len(self.waiting) > QUEUE:  # fell behind: let it go, its browser reconnects and reloads
            self.end()
        self._wake.set()

    def end(self) -> None:
        self.ended = True
        self._wake.set()

    async def next(self) -> Change | None:
        """The next change for this stream, or None once it ended."""
        while True:
            if self.ended:
                return None
            if self.waiting:
                return self.waiting.popleft()
            self._wake.clear()
            await self._wake.wait()


class ChangeFeed:
    """The one change feed of a worker process: polls while anybody listens, fans changes out."""

    def __init__(self, sessionmaker: SessionMaker, *, max_streams: int, max_streams_per_user: int,
                 poll_every: float = POLL_EVERY, session_check: float = SESSION_CHECK) -> None:
        self.sessionmaker = sessionmaker
        self.max_streams, self.max_streams_per_user = max_streams, max_streams_per_user
        self.poll_every, self.session_check = poll_every, session_check
        self.listeners: set[Listener] = set()
        self._per_user: dict[int, int] = {}
        self._task: asyncio.Task | None = None
        self._closed = False
        # Where the last look ended (time, ticket id), and what was delivered within OVERLAP of it.
        self._after: tuple[dt.datetime, int] | None = None
        self._seen: dict[tuple[int, dt.datetime], dt.datetime] = {}
        self.polls = 0  # looks at the database so far (tests and the bench read it)

    # -- listeners (called on the event loop) ---------------------------------------------------

    def subscribe(self, watch: Watch) -> Listener:
        if self._closed:
            raise Busy(503, "The service is restarting; the page reconnects by itself.", 5)
        if self._per_user.get(watch.user_id, 0) >= self.max_streams_per_user:
            raise Busy(429, f"At most {self.max_streams_per_user} pages of one person follow live updates at "
                            "once; close some tabs, or reload this one later.", 30)
        if len(self.listeners) >= self.max_streams:
            raise Busy(503, "This server follows as many pages as it can; live updates resume shortly.",
                       random.randint(10, 30))
        listener = Listener(watch)
        self.listeners.add(listener)
        self._per_user[watch.user_id] = self._per_user.get(watch.user_id, 0) + 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(utcnow() - START_MARGIN),
                                                                name="kbgen-live-feed")
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        listener.end()
        if listener in self.listeners:
            self.listeners.discard(listener)
            left = self._per_user.get(listener.watch.user_id, 1) - 1
            if left > 0:
                self._per_user[listener.watch.user_id] = left
            else:
                self._per_user.pop(listener.watch.user_id, None)

    def deliver(self, changes: Iterable[Change]) -> int:
        """Hand each change to the listeners allowed to hear it; returns how many were handed out."""
        handed = 0
        for change in changes:
            for listener in list(self.listeners):
                if not listener.ended and listener.watch.hears(change):
                    listener.push(change)
                    handed += 1
        return handed

    async def close(self) -> None:
        """Server shutdown: every stream ends now, and the feed stops."""
        self._closed = True
        for listener in list(self.listeners):
            listener.end()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # -- the database (plain functions in a worker thread) ------------------------------------------

    def start_point(self, started: dt.datetime) -> list[Change]:
        """Begin from what is in the database now; returns the changes made since `started` (when the first
        listener came), which are news. Older ones the pages loaded, or learn of from their `since`."""
        with self.sessionmaker() as session:
            latest = latest_change(session)
        self._after = None if latest is None else (latest, 0)
        self._seen.clear()
        return [change for change in self.poll() if change.updated_at >= started]

    def poll(self) -> list[Change]:
        """One look: the tickets that moved since the last look (and late commits within OVERLAP), each once."""
        self.polls += 1
        found: list[Change] = []
        with self.sessionmaker() as session:
            after = None if self._after is None else (self._after[0] - OVERLAP, 0)
            for _ in range(MAX_PAGES):
                page = changed_since(session, after)
                for change in page:
                    mark = (change.ticket_id, change.updated_at)
                    if mark not in self._seen:
                        self._seen[mark] = change.updated_at
                        found.append(change)
                if len(page) < PAGE:
                    break
                after = (page[-1].updated_at, page[-1].ticket_id)
        if found:
            newest = max(found, key=lambda c: (c.updated_at, c.ticket_id))
            if self._after is None or newest.updated_at > self._after[0]:
                self._after = (newest.updated_at, newest.ticket_id)
        if self._after is not None:
            horizon = self._after[0] - OVERLAP
            self._seen = {mark: at for mark, at in self._seen.items() if at >= horizon}
        return found

    def check_sessions(self, watches: list[Watch]) -> dict[int, tuple[int, ...] | None]:
        with self.sessionmaker() as session:
            return still_allowed(session, watches)

    def apply_sessions(self, allowed: dict[int, tuple[int, ...] | None]) -> None:
        """End the streams whose session ended or who may no longer see what they follow."""
        for listener in list(self.listeners):
            watch = listener.watch
            if watch.login_id not in allowed:
                listener.end()
                continue
            orgs = allowed[watch.login_id]
            if watch.ticket_id is not None and orgs is not None and watch.ticket_organization_id not in orgs:
                listener.end()
            else:
                watch.organization_ids = orgs

    # -- the loop ------------------------------------------------------------------------------------

    async def _run(self, started: dt.datetime) -> None:
        """While anybody listens: a look a second, and the listeners' sessions checked once a minute."""
        try:
            self.deliver(await asyncio.to_thread(self.start_point, started))
        except Exception:  # noqa: BLE001 - a database outage: the streams end and the browsers retry
            log.exception("live updates cannot read the database")
            for listener in list(self.listeners):
                listener.end()
            return
        checked = time.monotonic()
        failures = 0
        while self.listeners and not self._closed:
            await asyncio.sleep(self.poll_every if not failures else min(30.0, self.poll_every * 2 ** failures))
            if not self.listeners:
                break
            try:
                self.deliver(await asyncio.to_thread(self.poll))
                if time.monotonic() - checked >= self.session_check:
                    checked = time.monotonic()
                    watches = [listener.watch for listener in self.listeners]
                    self.apply_sessions(await asyncio.to_thread(self.check_sessions, watches))
                failures = 0
            except Exception:  # noqa: BLE001 - keep following once the database answers again
                failures += 1
                log.exception("live updates: reading the changes failed (%s in a row)", failures)


def feed_for(app) -> ChangeFeed:
    """The worker's ChangeFeed (app.state.live_feed), made on first use."""
    feed = getattr(app.state, "live_feed", None)
    if feed is None:
        settings = app.state.settings
        feed = app.state.live_feed = ChangeFeed(app.state.sessionmaker, max_streams=settings.live_max_streams,
                                                max_streams_per_user=settings.live_max_streams_per_user)
    return feed


def sweep(sessionmaker: SessionMaker, settings=None) -> int:
    """One sweep: records the SLA targets missed since the last one, and closes the Resolved requests
    nobody answered within settings.auto_close_days; returns how many changes."""
    with sessionmaker() as session:
        changed = tickets.record_breaches(session, utcnow())
        if settings is not None:
            changed += tickets.auto_close(session, settings, utcnow())
        return changed


async def _sweep_forever(sessionmaker: SessionMaker, every: float, settings=None) -> None:
    while True:
        await asyncio.sleep(every * random.uniform(0.8, 1.2))
        try:
            changed = await asyncio.to_thread(sweep, sessionmaker, settings)
            if changed:
                log.info("the periodic sweep recorded %s missed targets or automatic closings", changed)
        except Exception:  # noqa: BLE001 - the next sweep tries again
            log.exception("the SLA breach sweep failed")


@contextlib.asynccontextmanager
async def lifespan(app):
    """While the service runs: the SLA sweep every minute; at shutdown every stream ends at once."""
    sweeper = asyncio.get_running_loop().create_task(
        _sweep_forever(app.state.sessionmaker, SWEEP_EVERY, app.state.settings), name="kbgen-sweep")
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        feed = getattr(app.state, "live_feed", None)
        if feed is not None:
            await feed.close()
