"""The support team's numbers over the last N ISO weeks, counted by the database.

Every count is one aggregate query (GROUP BY) that SQLite and PostgreSQL both run, so
100,000 tickets cost a few scans and come back as a few hundred rows at most. Times are naive UTC, as stored; weeks are ISO weeks (Monday 00:00 UTC).

- created per week and product: tickets by their creation time;
- resolved per week and product: tickets that are Resolved or Closed now, in the week of their
  latest resolution (a reopened ticket counts again only once resolved again);
- backlog: the open tickets now (kbgen.tickets.views.OPEN), by status;
- median first response and resolution times, in wall-clock hours from creation (not working
  hours): first responses of tickets created in the period, resolutions in the period (the database
  computes and sorts the durations; the middle one is picked from that one narrow column);
- SLA compliance per priority with a target (sla.yml), for tickets created in the period:
  met, breached, and still pending (neither yet); compliance = met / (met + breached);
- satisfaction: the ratings given in the period (kbgen.tickets.ratings).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, and_, case, cast, extract, func, or_, select
from sqlalchemy.orm import Session

from kbgen.forms.priorities import PRIORITIES
from kbgen.site.catalog import PRODUCTS
from kbgen.sla.definitions import ServiceLevels
from kbgen.tickets.models import Rating, Ticket, utcnow
from kbgen.tickets.ratings import SCALE
from kbgen.tickets.views import DONE, OPEN

DEFAULT_WEEKS = 12
MAX_WEEKS = 104
WEEK_CHOICES = (4, 8, 12, 26, 52, 104)  # what the page offers; any 1..MAX_WEEKS is accepted
ALL = "All priorities"
RECENT_RATINGS = 10


@dataclass(frozen=True)
class Period:
    """The last `weeks` ISO weeks, this one included: from a Monday 00:00 UTC until `now`."""

    weeks: int
    start: dt.datetime
    now: dt.datetime

    @property
    def labels(self) -> list[str]:
        """'2026-W49' per week, oldest first."""
        return [week_label(self.start + dt.timedelta(weeks=i)) for i in range(self.weeks)]


def week_label(moment: dt.datetime | dt.date) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def period(weeks: int = DEFAULT_WEEKS, now: dt.datetime | None = None) -> Period:
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be from 1 to {MAX_WEEKS}, not {weeks}")
    now = now or utcnow()
    monday = dt.datetime.combine(now.date() - dt.timedelta(days=now.weekday()), dt.time())
    return Period(weeks, monday - dt.timedelta(weeks=weeks - 1), now)


@dataclass(frozen=True)
class Median:
    """One row of the times table: a priority (or ALL) and its medians in wall-clock hours."""

    label: str
    first_response_hours: float | None
    first_responses: int
    resolution_hours: float | None
    resolutions: int


@dataclass(frozen=True)
class Compliance:
    met: int
    breached: int
    pending: int

    @property
    def percent(self) -> float | None:
        decided = self.met + self.breached
        return 100.0 * self.met / decided if decided else None


@dataclass(frozen=True)
class SlaRow:
    priority: str  # the priority's name
    tickets: int
    first_response: Compliance | None  # None: this priority has no such target
    resolution: Compliance | None


@dataclass(frozen=True)
class RecentRating:
    key: str
    score: int
    comment: str
    rated_at: dt.datetime


@dataclass(frozen=True)
class Satisfaction:
    distribution: dict[int, int]  # score: ratings, every score of the scale
    recent: list[RecentRating] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.distribution.values())

    @property
    def average(self) -> float | None:
        return sum(s * n for s, n in self.distribution.items()) / self.count if self.count else None


@dataclass(frozen=True)
class TicketReport:
    period: Period
    products: list[tuple[str, str]]  # (slug, name), the catalog's order
    created: dict[str, list[int]]  # product slug: tickets per week, oldest first
    resolved: dict[str, list[int]]
    backlog: list[tuple[str, int]]  # (status name, tickets), the workflow's order
    medians: list[Median]  # per priority, then ALL
    sla: list[SlaRow]  # per priority with a target
    satisfaction: Satisfaction


# -- SQL that SQLite and PostgreSQL both run ---------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _hours(session: Session, later: Any, earlier: Any) -> Any:
    """later - earlier in hours, as a number the database computes."""
    if _dialect(session) == "postgresql":
        return extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _week(session: Session, column: Any, start: dt.datetime) -> Any:
    """The 0-based week of `column` since `start` (a Monday): whole weeks, floored."""
    if _dialect(session) == "postgresql":
        return cast(func.floor(_hours(session, column, start) / 168.0), Integer)
    return cast(_hours(session, column, start) / 168.0, Integer)  # never negative here: truncation floors


def _per_week(session: Session, when: Any, where: Any, p: Period) -> dict[str, list[int]]:
    inner = select(Ticket.product.label("product"), _week(session, when, p.start).label("week")).where(
        when >= p.start, when <= p.now, where).subquery()
    rows = session.execute(select(inner.c.product, inner.c.week, func.count()).group_by(inner.c.product,
                                                                                         inner.c.week))
    counts = {product.slug: [0] * p.weeks for product in PRODUCTS}
    for product, week, n in rows:
        if 0 <= week < p.weeks:
            counts.setdefault(product, [0] * p.weeks)[week] += n
    return counts


def created_per_week(session: Session, p: Period) -> dict[str, list[int]]:
    return _per_week(session, Ticket.created_at, Ticket.created_at.is_not(None), p)


def resolved_per_week(session: Session, p: Period) -> dict[str, list[int]]:
    return _per_week(session, Ticket.resolved_at, Ticket.status.in_(DONE), p)


def backlog(session: Session) -> list[tuple[str, int]]:
    found = dict(session.execute(select(Ticket.status, func.count()).where(Ticket.status.in_(OPEN))
                                 .group_by(Ticket.status)).all())
    return [(name, found.get(name, 0)) for name in OPEN]


def _medians(session: Session, hours: Any, where: Any) -> dict[str, tuple[float, int]]:
    """{priority slug, and ALL: (median hours, how many)}. The database computes each duration and sorts
    them; one narrow column comes back, and the middle is picked here (SQLite has no median function)."""
    by_priority: dict[str, list[float]] = {}
    everything: list[float] = []
    for priority, value in session.execute(select(Ticket.priority, hours).where(where).order_by(hours)):
        value = float(value)
        by_priority.setdefault(priority, []).append(value)
        everything.append(value)
    found = {priority: (_middle(values), len(values)) for priority, values in by_priority.items()}
    if everything:
        found[ALL] = (_middle(everything), len(everything))
    return found


def _middle(ordered: list[float]) -> float:
    half = len(ordered) // 2
    return round(ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2, 4)


def medians(session: Session, p: Period) -> list[Median]:
    response = _hours(session, Ticket.first_response_at, Ticket.created_at)
    responded = and_(Ticket.created_at >= p.start, Ticket.created_at <= p.now, Ticket.first_response_at.is_not(None))
    resolution = _hours(session, Ticket.resolved_at, Ticket.created_at)
    resolved = and_(Ticket.resolved_at >= p.start, Ticket.resolved_at <= p.now, Ticket.status.in_(DONE))
    first, done = _medians(session, response, responded), _medians(session, resolution, resolved)
    rows = []
    for slug, name in [(priority.slug, priority.name) for priority in PRIORITIES] + [(ALL, ALL)]:
        f, r = first.get(slug), done.get(slug)
        if f or r or slug == ALL:
            rows.append(Median(name, f[0] if f else None, f[1] if f else 0, r[0] if r else None, r[1] if r else 0))
    return rows


def sla_compliance(session: Session, levels: ServiceLevels, p: Period) -> list[SlaRow]:
    now = p.now
    response_breached = or_(Ticket.response_breached_at.is_not(None),
                            and_(Ticket.response_due_at.is_not(None), Ticket.response_due_at <= now))
    resolution_breached = or_(Ticket.resolution_breached_at.is_not(None),
                              and_(Ticket.resolution_due_at.is_not(None), Ticket.resolution_due_at <= now))

    def total(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    query = select(Ticket.priority, func.count(),
                   total(response_breached),
                   total(and_(Ticket.first_response_at.is_not(None), ~response_breached)),
                   total(resolution_breached),
                   total(and_(Ticket.status.in_(DONE), ~resolution_breached))
                   ).where(Ticket.created_at >= p.start, Ticket.created_at <= p.now).group_by(Ticket.priority)
    found = {row[0]: [int(v or 0) for v in row[1:]] for row in session.execute(query)}
    rows = []
    for priority in PRIORITIES:
        target = levels.target(priority.slug)
        if target is None or not (target.first_response or target.resolution):
            continue
        n, r_breached, r_met, s_breached, s_met = found.get(priority.slug, [0, 0, 0, 0, 0])
        rows.append(SlaRow(
            priority.name, n,
            Compliance(r_met, r_breached, n - r_met - r_breached) if target.first_response else None,
            Compliance(s_met, s_breached, n - s_met - s_breached) if target.resolution else None))
    return rows


def satisfaction(session: Session, p: Period) -> Satisfaction:
    in_period = and_(Rating.created_at >= p.start, Rating.created_at <= p.now)
    found = dict(session.execute(select(Rating.score, func.count()).where(in_period).group_by(Rating.score)).all())
    recent = [RecentRating(key, score, comment or "", at) for key, score, comment, at in session.execute(
        select(Ticket.key, Rating.score, Rating.comment, Rating.created_at).join(Ticket, Ticket.id == Rating.ticket_id)
        .where(in_period).order_by(Rating.created_at.desc(), Rating.id.desc()).limit(RECENT_RATINGS))]
    return Satisfaction({score: int(found.get(score, 0)) for score, _ in SCALE}, recent)


PARTS = ("created_per_week", "resolved_per_week", "backlog", "medians", "sla", "satisfaction")


def ticket_report(session: Session, levels: ServiceLevels, weeks: int = DEFAULT_WEEKS,
                  now: dt.datetime | None = None, only: frozenset[str] | set[str] | None = None) -> TicketReport:
    """Every number of the reports page, the CSV and `kbgen report tickets`; `only` some PARTS (a chart's),
    the others left empty."""
    p = period(weeks, now)
    wanted = set(PARTS if only is None else only)
    empty: dict[str, list[int]] = {}
    created = created_per_week(session, p) if "created_per_week" in wanted else empty
    resolved = resolved_per_week(session, p) if "resolved_per_week" in wanted else empty
    names = {product.slug: product.name for product in PRODUCTS}
    names.update({slug: slug for slug in [*created, *resolved] if slug not in names})  # a product since removed
    return TicketReport(
        period=p, products=list(names.items()), created=created, resolved=resolved,
        backlog=backlog(session) if "backlog" in wanted else [],
        medians=medians(session, p) if "medians" in wanted else [],
        sla=sla_compliance(session, levels, p) if "sla" in wanted else [],
        satisfaction=satisfaction(session, p) if "satisfaction" in wanted else Satisfaction({}))
