"""What a requester searched for and read before opening a request: what failed to deflect it.

Privacy first: the service keeps no trail of anyone's browsing. The browser does, for itself:
kbgen-feedback.js keeps this tab's last MAX_STEPS searches and article views of the last
MAX_AGE in sessionStorage (gone when the tab closes; nothing leaves the browser), and adds them
to a request's form when it is sent. Only then are they stored, with the request, as steps:
searches as the missed-search log keeps them (lowercase, email addresses and long numbers
replaced: kbgen.search.missed.normalize), articles by their address. Each step's time is
the browser's "so many seconds before sending", so a wrong clock on the customer's computer
does not matter.

A journey is an aid, never a condition: a malformed one is dropped, and a request is created
whatever happens here.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kbgen.db import utcnow
from kbgen.feedback.articles import clean_path
from kbgen.feedback.models import MAX_STEP_TEXT, JourneyStep
from kbgen.search.missed import normalize

log = logging.getLogger("kbgen.feedback")

__all__ = ["FIELD", "KINDS", "MAX_AGE", "MAX_STEPS", "Step", "keep", "parse"]

FIELD = "journey"  # the name of the form field (and JSON key) of a ticket post that carries it
KINDS = ("search", "article")
MAX_STEPS = 20
MAX_AGE = dt.timedelta(hours=1)
MAX_JSON = 16 * 1024


@dataclass(frozen=True)
class Step:
    kind: str
    text: str
    seen_at: dt.datetime


def parse(value: object, now: dt.datetime | None = None) -> list[Step]:
    """The steps in a posted journey: JSON text or a list of {"kind", "text", "ago" (seconds)}.
    Whatever is not a well-formed step is left out; at most MAX_STEPS, oldest first."""
    now = now or utcnow()
    if isinstance(value, str):
        if len(value) > MAX_JSON:
            return []
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return []
    if not isinstance(value, list):
        return []
    steps: list[Step] = []
    for item in value[-MAX_STEPS:]:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            continue
        ago = item.get("ago")
        if isinstance(ago, bool) or not isinstance(ago, (int, float)) or not 0 <= ago <= MAX_AGE.total_seconds():
            continue
        raw = item.get("text")
        if not isinstance(raw, str) or "\x00" in raw:
            continue
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: not text
            continue
        text = normalize(raw) if item["kind"] == "search" else clean_path(raw)
        if text:
            steps.append(Step(item["kind"], text[:MAX_STEP_TEXT], now - dt.timedelta(seconds=int(ago))))
    return sorted(steps, key=lambda step: step.seen_at)


def keep(session: Session, ticket_id: int, value: object, now: dt.datetime | None = None) -> int:
    """Store the journey posted with a new request (commits); the number of steps kept. Never raises
    for the journey's sake: the request is created already."""
    steps = parse(value, now)
    if not steps:
        return 0
    try:
        session.add_all(JourneyStep(ticket_id=ticket_id, position=index, kind=step.kind, text=step.text,
                                    seen_at=step.seen_at) for index, step in enumerate(steps))
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("kbgen: the journey of ticket id %s was not stored", ticket_id, exc_info=True)
        return 0
    return len(steps)


def steps_of(session: Session, ticket_ids: list[int]) -> dict[int, list[Step]]:
    """The stored steps of these tickets, oldest first."""
    found: dict[int, list[Step]] = {}
    for chunk in (ticket_ids[i:i + 500] for i in range(0, len(ticket_ids), 500)):
        rows = session.scalars(select(JourneyStep).where(JourneyStep.ticket_id.in_(chunk))
                               .order_by(JourneyStep.ticket_id, JourneyStep.position))
        for row in rows:
            found.setdefault(row.ticket_id, []).append(Step(row.kind, row.text, row.seen_at))
    return found
