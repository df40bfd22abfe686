"""`kbgen report articles`: how helpful each article is, and what failed to deflect new requests.

Helpfulness: per article voted on in the period, its yes and no votes, the share of yes, and its
latest comments; least helpful first (the articles worth rewriting). Deflection: per request
opened in the period, the searches and articles its requester saw in the minutes before
(kbgen/feedback/journeys.py), nearest first: the questions the knowledge base did not answer.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kbgen.feedback.journeys import Step, steps_of
from kbgen.feedback.models import ArticleVote

__all__ = ["ArticlesReport", "Helpfulness", "Undeflected", "articles_report", "to_csv", "to_text"]

LATEST_COMMENTS = 3
CSV_COLUMNS = ("kind", "article", "title", "yes", "no", "helpful_share", "ticket", "opened_at", "minutes_before",
               "text")


@dataclass(frozen=True)
class Helpfulness:
    path: str
    title: str
    yes: int
    no: int
    comments: tuple[tuple[dt.datetime, bool, str], ...] = ()

    @property
    def share(self) -> float:
        return self.yes / (self.yes + self.no) if self.yes + self.no else 0.0


@dataclass(frozen=True)
class Undeflected:
    key: str
    opened_at: dt.datetime
    steps: tuple[Step, ...]

    def minutes_before(self, step: Step) -> int:
        return max(0, int((self.opened_at - step.seen_at).total_seconds() // 60))


@dataclass(frozen=True)
class ArticlesReport:
    since: dt.datetime
    minutes: int
    articles: list[Helpfulness] = field(default_factory=list)
    tickets: list[Undeflected] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # article address -> title, from the built site

    def title(self, path: str) -> str:
        return self.titles.get(path, "")


def articles_report(session: Session, since: dt.datetime, minutes: int,
                    titles: dict[str, str] | None = None) -> ArticlesReport:
    from kbgen.tickets import Ticket

    titles = titles or {}
    yes = func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0))
    no = func.sum(case((ArticleVote.helpful.is_(False), 1), else_=0))
    counted = session.execute(select(ArticleVote.path, yes, no).where(ArticleVote.created_at >= since)
                              .group_by(ArticleVote.path)).all()
    comments: dict[str, list[tuple[dt.datetime, bool, str]]] = {}
    for row in session.execute(select(ArticleVote.path, ArticleVote.created_at, ArticleVote.helpful,
                                      ArticleVote.comment)
                               .where(ArticleVote.created_at >= since, ArticleVote.comment != "")
                               .order_by(ArticleVote.created_at.desc(), ArticleVote.id.desc())):
        listed = comments.setdefault(row.path, [])
        if len(listed) < LATEST_COMMENTS:
            listed.append((row.created_at, row.helpful, row.comment))
    articles = [Helpfulness(path, titles.get(path, ""), int(y or 0), int(n or 0), tuple(comments.get(path, ())))
                for path, y, n in counted]
    articles.sort(key=lambda a: (a.share, -(a.yes + a.no), a.path))

    opened = session.execute(select(Ticket.id, Ticket.key, Ticket.created_at).where(Ticket.created_at >= since)
                             .order_by(Ticket.created_at.desc(), Ticket.id.desc())).all()
    journeys = steps_of(session, [row.id for row in opened])
    window = dt.timedelta(minutes=minutes)
    tickets = []
    for row in opened:
        steps = [s for s in journeys.get(row.id, ()) if row.created_at - window <= s.seen_at <= row.created_at]
        tickets.append(Undeflected(row.key, row.created_at, tuple(reversed(steps))))
    return ArticlesReport(since, minutes, articles, tickets, dict(titles))


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def to_text(report: ArticlesReport) -> str:
    out = [f"Articles voted on since {report.since:%Y-%m-%d} (least helpful first):"]
    if not report.articles:
        out.append("  No votes yet.")
    for item in report.articles:
        name = f"{item.title} ({item.path})" if item.title else item.path
        out.append(f"  {_percent(item.share):>4} helpful  {item.yes:>4} yes {item.no:>4} no  {name}")
        for when, helpful, comment in item.comments:
            out.append(f"        {when:%Y-%m-%d} {'yes' if helpful else 'no '}: {_one_line(comment)}")
    out.append("")
    out.append(f"Requests opened since {report.since:%Y-%m-%d}, with what their requester saw in the "
               f"{report.minutes} minutes before:")
    if not report.tickets:
        out.append("  No requests opened.")
    for ticket in report.tickets:
        out.append(f"  {ticket.key}  opened {ticket.opened_at:%Y-%m-%d %H:%M} UTC")
        if not ticket.steps:
            out.append("        nothing recorded (no search or article in this browser tab)")
        for step in ticket.steps:
            what = (f'searched "{_one_line(step.text)}"' if step.kind == "search" else
                    f"read {report.title(step.text) or step.text} ({step.text})" if report.title(step.text) else
                    f"read {step.text}")
            out.append(f"        {ticket.minutes_before(step):>3} min before: {what}")
    return "\n".join(out) + "\n"


def to_csv(report: ArticlesReport) -> str:
    """One table, a row per article voted on (kind "helpfulness") and per step before a request
    (kind "search" or "article"); comments joined with " | "."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in report.articles:
        writer.writerow(_safe(("helpfulness", item.path, item.title, item.yes, item.no, f"{item.share:.2f}", "", "",
                               "", " | ".join(_one_line(c, 1000) for _, _, c in item.comments))))
    for ticket in report.tickets:
        for step in ticket.steps:
            article = step.text if step.kind == "article" else ""
            writer.writerow(_safe((step.kind, article, report.title(article) if article else "", "", "", "",
                                   ticket.key, f"{ticket.opened_at:%Y-%m-%dT%H:%M:%S}", ticket.minutes_before(step),
                                   step.text)))
    return buffer.getvalue()


def _safe(row: tuple) -> list:
    """No cell a spreadsheet would run as a formula (a comment or a search starting with =, +, -, @)."""
    return ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in row]
