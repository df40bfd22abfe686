"""Service levels: business calendars, sla.yml's targets and their errors, and a ticket's clocks across
a weekend, a holiday, a wait for the customer, a reopen and a priority change."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from kbgen.sla import SlaDefinitionError, clock, load_service_levels, parse_duration
from kbgen.sla.calendar import BusinessCalendar

REPO = Path(__file__).resolve().parent.parent
ROME_HOURS = BusinessCalendar("business-hours", "Europe/Rome", frozenset(range(5)), ((540, 780), (840, 1080)),
                              frozenset({dt.date(2026, 12, 8), dt.date(2026, 12, 25)}))
H = 3600


def utc(*args) -> dt.datetime:
    return dt.datetime(*args)


# -- calendars ------------------------------------------------------------------------------------


def test_a_friday_afternoon_target_lands_on_monday_morning():
    # Friday 4 Dec 2026, 17:00 in Rome (16:00 UTC): one hour left that day, three on Monday from 09:00.
    assert ROME_HOURS.add(utc(2026, 12, 4, 16, 0), 4 * H) == utc(2026, 12, 7, 11, 0)  # Monday 12:00 Rome
    assert ROME_HOURS.between(utc(2026, 12, 4, 16, 0), utc(2026, 12, 7, 11, 0)) == 4 * H


def test_a_holiday_and_the_lunch_break_do_not_count():
    # Monday 7 Dec, 12:00 Rome: one hour to 13:00, lunch, four to 18:00; Tuesday the 8th is a holiday.
    due = ROME_HOURS.add(utc(2026, 12, 7, 11, 0), 8 * H)
    assert due == utc(2026, 12, 9, 11, 0)  # Wednesday 12:00 Rome
    assert ROME_HOURS.between(utc(2026, 12, 7, 11, 0), due) == 8 * H


def test_outside_working_hours_the_clock_starts_at_the_next_opening():
    # Saturday night: the first working second is Monday 09:00 Rome (08:00 UTC).
    assert ROME_HOURS.add(utc(2026, 12, 5, 22, 0), 60) == utc(2026, 12, 7, 8, 1)
    assert ROME_HOURS.between(utc(2026, 12, 5, 8, 0), utc(2026, 12, 6, 20, 0)) == 0


def test_daylight_saving_time_moves_the_hours_in_utc():
    # In summer Rome is UTC+2: 09:00 local is 07:00 UTC.
    assert ROME_HOURS.add(utc(2027, 7, 5, 6, 0), 60) == utc(2027, 7, 5, 7, 1)


# -- sla.yml --------------------------------------------------------------------------------------


def test_the_projects_sla_file_promises_each_priority_in_plain_words():
    levels = load_service_levels(REPO / "sla.yml")
    assert levels.target("high").promise() == ("We aim to reply within 4 business hours and to resolve it "
                                              "within 16 business hours.")
    assert levels.target("highest").promise() == "We aim to reply within 1 hour and to resolve it within 8 hours."
    assert levels.due_soon == 2 * H


@pytest.mark.parametrize("value, seconds", [("4h", 4 * H), ("30m", 1800), ("1h30m", 5400), ("90m", 5400),
                                            ("four hours", None), ("4", None), ("-1h", None), ("0h", None),
                                            (4, None), (True, None), ("", None)])
def test_durations_are_hours_and_minutes(value, seconds):
    assert parse_duration(value) == seconds


def test_every_mistake_in_sla_yml_names_its_line_and_what_to_do(tmp_path):
    path = tmp_path / "sla.yml"
    path.write_text(
        "calendars:\n"                                      # 1
        "  office:\n"                                       # 2
        "    time_zone: Mars/Olympus\n"                     # 3
        "    working_days: [mon, funday]\n"                 # 4
        '    hours: ["09:00-13:00", "12:00-18:00"]\n'       # 5
        "targets:\n"                                        # 6
        "  urgent: {calendar: office, first_response: 1h}\n"  # 7
        "  high: {calendar: office, first_response: soon}\n"  # 8
        "  low: {calendar: nights, resolution: 8h}\n")      # 9
    with pytest.raises(SlaDefinitionError) as raised:
        load_service_levels(path)
    problems = "\n".join(raised.value.problems)
    assert "sla.yml:3: calendars.office.time_zone: unknown time zone 'Mars/Olympus'; use a name like" in problems
    assert "sla.yml:4: calendars.office.working_days: 'funday' is not a day" in problems
    assert "sla.yml:5: calendars.office.hours: 09:00-13:00 and 12:00-18:00 overlap" in problems
    assert "sla.yml:7: targets.urgent: is not a priority; use one of: highest, high, medium, low, lowest" in problems
    assert "sla.yml:8: targets.high.first_response: must be a duration like 4h or 30m, not 'soon'" in problems
    assert "sla.yml:9: targets.low.calendar: unknown calendar 'nights'" in problems


def test_without_an_sla_file_nothing_is_promised(tmp_path):
    levels = load_service_levels(tmp_path / "sla.yml")
    assert levels.target("high") is None


# -- a ticket's clocks ------------------------------------------------------------------------------


def ticket(priority="high", status="Waiting for Support", created=utc(2026, 12, 4, 14, 0)):
    return SimpleNamespace(priority=priority, status=status, created_at=created, first_response_at=None,
                           response_due_at=None, resolution_due_at=None, resolution_remaining=None,
                           response_breached_at=None, resolution_breached_at=None, sla_due_at=None)


@pytest.fixture(scope="module")
def levels():
    return load_service_levels(REPO / "sla.yml")


def test_a_wait_for_the_customer_pauses_the_resolution_clock_over_a_weekend(levels):
    t = ticket()  # Friday 15:00 Rome; high: reply within 4 business hours, resolve within 16
    clock.start(t, levels, t.created_at)
    assert t.response_due_at == utc(2026, 12, 7, 9, 0)  # 3 h on Friday, 1 h Monday: Monday 10:00 Rome
    assert t.sla_due_at == t.response_due_at
    # Friday 16:00 UTC (17:00 Rome): the agent asks the customer something: first response given, clock paused.
    clock.responded(t, utc(2026, 12, 4, 16, 0))
    clock.status_changed(t, levels, "Waiting for Support", "Waiting for customer", utc(2026, 12, 4, 16, 0))
    assert t.first_response_at == utc(2026, 12, 4, 16, 0) and t.response_due_at is None
    assert t.resolution_due_at is None and t.resolution_remaining == 14 * H  # 2 of 16 used
    assert clock.due_at(t) is None and t.sla_due_at == clock.NO_DUE  # nothing runs: not due soon, not breached
    # The customer answers on Monday 7 Dec at 10:00 Rome: 14 h left from there, Tuesday the 8th is a holiday.
    clock.status_changed(t, levels, "Waiting for customer", "Waiting for Support", utc(2026, 12, 7, 9, 0))
    assert t.resolution_remaining is None
    assert t.resolution_due_at == utc(2026, 12, 9, 16, 0)  # Mon 10-18 (7 h), Wed 09-17 (7 h): 17:00 Rome
    assert levels.target("high").calendar.between(utc(2026, 12, 7, 9, 0), t.resolution_due_at) == 14 * H


def test_resolved_pauses_and_a_reopen_starts_a_new_full_target(levels):
    t = ticket()
    clock.start(t, levels, t.created_at)
    clock.responded(t, utc(2026, 12, 4, 15, 0))  # resolving answers the customer (kbgen/tickets/service.py)
    clock.status_changed(t, levels, "Waiting for Support", "Resolved", utc(2026, 12, 4, 15, 0))
    assert t.resolution_due_at is None and clock.due_at(t) is None
    clock.status_changed(t, levels, "Resolved", "Waiting for Support", utc(2026, 12, 10, 8, 0), reopened=True)
    assert levels.target("high").calendar.between(utc(2026, 12, 10, 8, 0), t.resolution_due_at) == 16 * H


def test_a_missed_target_is_a_breach_once(levels):
    t = ticket()
    clock.start(t, levels, t.created_at)
    assert clock.breaches(t, utc(2026, 12, 7, 8, 59)) == []
    found = clock.breaches(t, utc(2026, 12, 7, 9, 30))
    assert [b.title for b in found] == ["First response target missed"]
    assert t.response_breached_at == utc(2026, 12, 7, 9, 0)
    assert clock.breaches(t, utc(2026, 12, 7, 11, 0)) == []  # recorded once


def test_a_higher_priority_counts_the_time_already_used(levels):
    t = ticket(priority="medium")  # medium: 8 h reply, 40 h resolve, business hours
    clock.start(t, levels, t.created_at)
    t.priority = "highest"  # around the clock: 1 h reply from creation, 8 h resolve minus what was used
    now = utc(2026, 12, 4, 14, 30)
    clock.priority_changed(t, levels, "medium", now)
    assert t.response_due_at == utc(2026, 12, 4, 15, 0)
    assert t.resolution_due_at == now + dt.timedelta(hours=7, minutes=30)
