"""sla.yml: the business calendars and the response and resolution targets per priority.

The file lives beside forms/ (forms_dir/../sla.yml). Every mistake is reported as
'file:line: where: what is wrong; what to do', all at once, by `kbgen check` and at the
service's start (the forms' line-numbered YAML reader, kbgen/forms/loader.py). Without the
file there are no targets: no clocks run and customers are promised nothing.

    due_soon: 2h                       # a running target this close to its due time is "due soon"
    calendars:
      business-hours:
        label: business hours          # customers read "within 4 business hours"
        time_zone: Europe/Rome
        working_days: [mon, tue, wed, thu, fri]
        hours: ["09:00-13:00", "14:00-18:00"]
        holidays: [2026-12-25, 2027-01-01]
    targets:                           # per priority (kbgen/forms/priorities.py); a target may be left out
      high: {calendar: business-hours, first_response: 4h, resolution: 16h}
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kbgen.forms.loader import FormDefinitionError, YamlFile, YamlMap, join
from kbgen.forms.priorities import PRIORITIES
from kbgen.sla.calendar import DAY_NAMES, BusinessCalendar

DEFAULT_FILE = "sla.yml"
_DURATION = re.compile(r"^(?:(\d{1,5})h)?\s*(?:(\d{1,6})m)?$")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
DEFAULT_DUE_SOON = 2 * 3600


class SlaDefinitionError(FormDefinitionError):
    """Every problem of sla.yml, each as 'file:line: where: what is wrong; what to do'."""


@dataclass(frozen=True)
class Target:
    priority: str
    calendar: BusinessCalendar
    calendar_label: str  # "business hours": what the customer's promise counts in
    first_response: int | None  # seconds of the calendar's working time
    resolution: int | None

    def promise(self) -> str:
        """What customers read: 'We aim to reply within 4 business hours and to resolve ...'."""
        parts = []
        if self.first_response:
            parts.append(f"to reply within {describe_duration(self.first_response, self.calendar_label)}")
        if self.resolution:
            parts.append(f"to resolve it within {describe_duration(self.resolution, self.calendar_label)}")
        return ("We aim " + " and ".join(parts) + ".") if parts else ""


@dataclass(frozen=True)
class ServiceLevels:
    targets: dict[str, Target] = field(default_factory=dict)  # by priority slug
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)
    due_soon: int = DEFAULT_DUE_SOON  # seconds (wall clock) before a due time that count as "due soon"

    def target(self, priority: str | None) -> Target | None:
        return self.targets.get(str(priority or "").lower())


NONE = ServiceLevels()


def parse_duration(value: object) -> int | None:
    """Seconds of '4h', '30m', '1h30m' (working time); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    match = _DURATION.fullmatch(value.strip().lower())
    if not match or not any(match.groups()):
        return None
    hours, minutes = (int(g) if g else 0 for g in match.groups())
    seconds = hours * 3600 + minutes * 60
    return seconds or None


def describe_duration(seconds: int, unit_label: str = "hours") -> str:
    """'4 business hours', '30 business minutes', '1 business hour 30 minutes'."""
    hours, minutes = divmod(seconds // 60, 60)
    words = unit_label.rsplit(" ", 1)
    prefix = (words[0] + " ") if len(words) == 2 else ""
    if hours and minutes:
        return f"{hours} {prefix}hour{'s' if hours != 1 else ''} {minutes} minutes"
    if hours:
        return f"{hours} {prefix}hour{'s' if hours != 1 else ''}"
    return f"{minutes} {prefix}minute{'s' if minutes != 1 else ''}"


def sla_file(forms_dir: Path) -> Path:
    """Where the service levels of a project are: beside its forms/ folder."""
    return Path(forms_dir).resolve().parent / DEFAULT_FILE


_cache: dict[Path, tuple[float, ServiceLevels]] = {}


def for_forms(forms_dir: Path) -> ServiceLevels:
    """The project's service levels (sla.yml beside forms_dir), read again only when the file changes."""
    path = sla_file(forms_dir)
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return NONE
    cached = _cache.get(path)
    if cached is None or cached[0] != stamp:
        cached = _cache[path] = (stamp, load_service_levels(path))
    return cached[1]


def load_service_levels(path: Path) -> ServiceLevels:
    """The service levels of `path`; no targets when the file does not exist; SlaDefinitionError listing
    every problem otherwise."""
    path = Path(path)
    if not path.is_file():
        return NONE
    problems: list[str] = []
    source = YamlFile(path, problems)
    data = source.load()
    if problems:
        raise SlaDefinitionError(problems)
    if data is None:
        return NONE
    root = source.mapping(data, 1, "", "a mapping with 'calendars:' and 'targets:'")
    if root is None:
        raise SlaDefinitionError(problems)
    source.keys(root, "", {"due_soon", "calendars", "targets"}, required=("targets",))
    due_soon = DEFAULT_DUE_SOON
    if root.get("due_soon") is not None:
        due_soon = parse_duration(root["due_soon"]) or 0
        if not due_soon:
            source.add(root.key_lines.get("due_soon"), "due_soon", f"must be a duration like 2h or 30m, not "
                                                                  f"{root['due_soon']!r}")
    calendars: dict[str, tuple[BusinessCalendar, str]] = {}
    given = root.get("calendars") or YamlMap()
    cal_map = source.mapping(given, root.key_lines.get("calendars", 1), "calendars", "a mapping of calendar names")
    for name, spec in (cal_map or {}).items():
        where = join("calendars", name)
        line = cal_map.key_lines.get(name, cal_map.line)
        read = _calendar(source, str(name), spec, line, where)
        if read is not None:
            calendars[str(name)] = read
    targets: dict[str, Target] = {}
    target_map = source.mapping(root.get("targets"), root.key_lines.get("targets", 1), "targets",
                                "a mapping of priorities to their targets")
    slugs = [p.slug for p in PRIORITIES]
    for priority, spec in (target_map or {}).items():
        where = join("targets", priority)
        line = target_map.key_lines.get(priority, target_map.line)
        if priority not in slugs:
            source.add(line, where, "is not a priority", "use one of: " + ", ".join(slugs))
            continue
        target = _target(source, str(priority), spec, line, where, calendars)
        if target is not None:
            targets[str(priority)] = target
    if problems:
        raise SlaDefinitionError(problems)
    return ServiceLevels(targets=targets, calendars={k: c for k, (c, _) in calendars.items()}, due_soon=due_soon)


def _calendar(source: YamlFile, name: str, spec: object, line: int,
              where: str) -> tuple[BusinessCalendar, str] | None:
    m = source.mapping(spec, line, where, "a mapping with time_zone, working_days and hours")
    if m is None:
        return None
    source.keys(m, where, {"label", "time_zone", "working_days", "hours", "holidays"},
                required=("time_zone", "working_days", "hours"))
    before = len(source.problems)
    zone = source.text(m, "time_zone", where)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        source.add(m.key_lines.get("time_zone", m.line), join(where, "time_zone"),
                   f"unknown time zone {zone!r}", "use a name like Europe/Rome or UTC")
    days: set[int] = set()
    raw_days = m.get("working_days")
    if not isinstance(raw_days, list) or not raw_days:
        source.add(m.key_lines.get("working_days", m.line), join(where, "working_days"),
                   "must be a list of days", "e.g. [mon, tue, wed, thu, fri]")
    else:
        for day in raw_days:
            if str(day).strip().lower()[:3] in DAY_NAMES:
                days.add(DAY_NAMES.index(str(day).strip().lower()[:3]))
            else:
                source.add(m.key_lines.get("working_days"), join(where, "working_days"),
                           f"{day!r} is not a day", "use mon, tue, wed, thu, fri, sat, sun")
    hours = _hours(source, m, where)
    holidays: set[dt.date] = set()
    raw_holidays = m.get("holidays") or []
    if not isinstance(raw_holidays, list):
        source.add(m.key_lines.get("holidays", m.line), join(where, "holidays"), "must be a list of dates",
                   "e.g. [2026-12-25, 2027-01-01]")
        raw_holidays = []
    for value in raw_holidays:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            holidays.add(value)
        else:
            source.add(m.key_lines.get("holidays"), join(where, "holidays"), f"{value!r} is not a date",
                       "write dates as YYYY-MM-DD")
    if len(source.problems) > before:
        return None
    label = source.text(m, "label", where) or ("hours" if len(days) == 7 and hours == ((0, 1440),)
                                               else "business hours")
    return BusinessCalendar(name, zone, frozenset(days), hours, frozenset(holidays)), label


def _hours(source: YamlFile, m: YamlMap, where: str) -> tuple[tuple[int, int], ...]:
    raw = m.get("hours")
    line = m.key_lines.get("hours", m.line)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        source.add(line, join(where, "hours"), "must be a list of opening hours", 'e.g. ["09:00-13:00", "14:00-18:00"]')
        return ()
    spans = []
    for value in raw:
        match = _HOURS.fullmatch(str(value).strip()) if isinstance(value, str) else None
        if not match:
            source.add(line, join(where, "hours"), f"{value!r} is not a span of hours",
                       'write "HH:MM-HH:MM" in quotes, e.g. "09:00-18:00"')
            continue
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start >= 1440 or end > 1440 or end <= start:
            source.add(line, join(where, "hours"), f"{value!r} does not end after it starts within one day",
                       'use 00:00 to 24:00, e.g. "09:00-18:00"')
            continue
        spans.append((start, end))
    spans.sort()
    for (a1, b1), (a2, b2) in zip(spans, spans[1:]):
        if a2 < b1:
            source.add(line, join(where, "hours"), f"{_hm(a1)}-{_hm(b1)} and {_hm(a2)}-{_hm(b2)} overlap",
                       "make each span end before the next starts")
    return tuple(spans)


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _target(source: YamlFile, priority: str, spec: object, line: int, where: str,
            calendars: dict[str, tuple[BusinessCalendar, str]]) -> Target | None:
    m = source.mapping(spec, line, where, "a mapping with calendar, first_response and resolution")
    if m is None:
        return None
    source.keys(m, where, {"calendar", "first_response", "resolution"}, required=("calendar",))
    name = source.text(m, "calendar", where)
    calendar = calendars.get(name)
    if calendar is None and name:
        source.add(m.key_lines.get("calendar", m.line), join(where, "calendar"), f"unknown calendar {name!r}",
                   "use one defined under calendars: " + (", ".join(calendars) or "(none defined yet)"))
    durations: dict[str, int | None] = {}
    for key in ("first_response", "resolution"):
        value = m.get(key)
        durations[key] = parse_duration(value) if value is not None else None
        if value is not None and durations[key] is None:
            source.add(m.key_lines.get(key, m.line), join(where, key), f"must be a duration like 4h or 30m, "
                                                                      f"not {value!r}", "write hours and minutes of working time")
    if calendar is None or (m.get("first_response") is not None and durations["first_response"] is None) or \
            (m.get("resolution") is not None and durations["resolution"] is None):
        return None
    return Target(priority, calendar[0], calendar[1], durations["first_response"], durations["resolution"])
