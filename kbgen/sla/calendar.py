"""Business calendars: when the support team works, and sums of working time between two moments.

Times in and out are naive UTC (as kbgen stores them); a calendar works in its own time zone, so a
day's hours follow daylight saving time and a holiday is a local date. Working time is counted in
seconds. The sums walk day by day, so they cost a few hundred steps at most for any target a team
would set; a calendar without any working time is refused when it is defined (definitions.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
MAX_DAYS = 3 * 366  # how far the sums look: a target further than three years of working time is no target
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    time_zone: str
    working_days: frozenset[int]  # 0 = Monday
    hours: tuple[tuple[int, int], ...]  # (start, end) minutes after local midnight, sorted, not overlapping
    holidays: frozenset[dt.date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def always_open(self) -> bool:
        return len(self.working_days) == 7 and self.hours == ((0, 24 * 60),) and not self.holidays

    def _periods(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The working periods of a local date, as naive UTC (start, end)."""
        if day.weekday() not in self.working_days or day in self.holidays:
            return []
        zone = self.zone
        midnight = dt.datetime(day.year, day.month, day.day)
        periods = []
        for start, end in self.hours:
            a = (midnight + dt.timedelta(minutes=start)).replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
            b = (midnight + dt.timedelta(minutes=end)).replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
            if b > a:
                periods.append((a, b))
        return periods

    def _local_date(self, moment: dt.datetime) -> dt.date:
        return moment.replace(tzinfo=UTC).astimezone(self.zone).date()

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The moment `seconds` of working time after `start` (naive UTC); `start` itself if seconds <= 0."""
        if seconds <= 0:
            return start
        left = float(seconds)
        day = self._local_date(start) - dt.timedelta(days=1)  # a period of the day before may still run (UTC)
        for _ in range(MAX_DAYS + 2):
            for a, b in self._periods(day):
                if b <= start:
                    continue
                a = max(a, start)
                span = (b - a).total_seconds()
                if left <= span:
                    return a + dt.timedelta(seconds=left)
                left -= span
            day += dt.timedelta(days=1)
        raise ValueError(f"calendar {self.name!r}: no {seconds} s of working time within {MAX_DAYS} days")

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working seconds from `start` to `end` (naive UTC); negative when `end` is before `start`."""
        if end < start:
            return -self.between(end, start)
        total = 0.0
        day, last = self._local_date(start) - dt.timedelta(days=1), self._local_date(end)
        for _ in range(MAX_DAYS + 2):
            if day > last:
                break
            for a, b in self._periods(day):
                a, b = max(a, start), min(b, end)
                if b > a:
                    total += (b - a).total_seconds()
            day += dt.timedelta(days=1)
        return total

    def describe_hours(self) -> str:
        """'Monday to Friday, 09:00-13:00 and 14:00-18:00 (Europe/Rome)', for the promise customers read."""
        if self.always_open:
            return "around the clock"
        names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        days = sorted(self.working_days)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            when = f"{names[days[0]]} to {names[days[-1]]}"
        else:
            when = ", ".join(names[d] for d in days)
        spans = " and ".join(f"{_clock(a)}-{_clock(b)}" for a, b in self.hours)
        return f"{when}, {spans} ({self.time_zone})"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
