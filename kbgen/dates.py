"""How the portal writes a moment for people, one format everywhere Python writes one.

Times are stored as naive UTC (kbgen/db.py). Pages the browser fills (kbgen-core.js formatDate) show
the same shape in the viewer's time zone, with UTC on hover; what Python writes (emails, the service's
pages, the CLI, timeline notes) cannot know the reader's zone, so it says UTC:

    when(dt.datetime(2026, 12, 6, 14, 5))  == "6 Dec 2026, 14:05 UTC"
    day(dt.date(2026, 12, 6))              == "6 Dec 2026"
"""
from __future__ import annotations

import datetime as dt


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return f"{day(value)}, {value:%H:%M} UTC"


def clock(value: dt.datetime) -> str:
    """The time of day alone, for a list of updates within one day: "14:05 UTC"."""
    return f"{value:%H:%M} UTC"


def iso(value: dt.datetime | None) -> str:
    """For machines (<time datetime>, the API): "2026-12-06T14:05:00Z"."""
    return "" if value is None else value.replace(microsecond=0).isoformat() + "Z"
