"""The statuses and who may move a ticket where, as plain functions (kbgen.workflow)."""
from __future__ import annotations

import datetime as dt

import pytest

from kbgen.tickets import workflow

NAMES = ["Waiting for Support", "In progress", "Waiting for customer", "Escalated", "Under Investigation",
         "Under Development", "Resolved", "Closed"]
OPEN = NAMES[:7]
NOW = dt.datetime(2026, 3, 1, 12, 0)


def targets(status: str, role: str, **window) -> list[str]:
    return [m.target.name for m in workflow.allowed(status, role, now=NOW, **window)]


def test_the_eight_statuses_in_order_each_with_its_meaning():
    assert [s.name for s in workflow.STATUSES] == NAMES
    assert all(s.meaning for s in workflow.STATUSES)
    assert workflow.INITIAL.name == "Waiting for Support"


@pytest.mark.parametrize("status", OPEN)
def test_agents_move_a_ticket_among_the_first_seven_statuses_but_never_close_it(status):
    assert targets(status, "agent") == [s for s in OPEN if s != status]


def test_nobody_moves_a_closed_ticket():
    for role in ("agent", "customer", "partner"):
        assert targets("Closed", role) == []
    with pytest.raises(workflow.TransitionRefused, match="'Closed' is final; open a new request"):
        workflow.check("Closed", "In progress", "agent")


@pytest.mark.parametrize("role", ["customer", "partner"])
def test_customers_only_confirm_or_reopen_a_resolved_ticket(role):
    resolved = NOW - dt.timedelta(days=1)
    for status in NAMES:
        expected = ["Closed", "Waiting for Support"] if status == "Resolved" else []
        assert targets(status, role, resolved_at=resolved, reopen_days=14) == expected, status


def test_the_reopen_window_ends_after_reopen_days_but_confirming_stays_possible():
    inside = NOW - dt.timedelta(days=14)
    outside = NOW - dt.timedelta(days=14, seconds=1)
    assert targets("Resolved", "customer", resolved_at=inside, reopen_days=14) == ["Closed", "Waiting for Support"]
    assert targets("Resolved", "customer", resolved_at=outside, reopen_days=14) == ["Closed"]
    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.check("Resolved", "Waiting for Support", "customer", resolved_at=outside, reopen_days=14, now=NOW)
    assert "reopen period of 14 days" in refused.value.message
    assert [s.name for s in refused.value.allowed] == ["Closed"]


def test_a_refusal_names_the_allowed_statuses():
    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.check("In progress", "Closed", "agent")
    assert "cannot move a request from 'In progress' to 'Closed'" in refused.value.message
    assert "'Waiting for Support', 'Waiting for customer'" in refused.value.message
    with pytest.raises(workflow.TransitionRefused, match="Allowed from 'In progress': none"):
        workflow.check("In progress", "Resolved", "customer")


def test_a_customer_reply_hands_a_ticket_waiting_for_them_back_to_support_only():
    assert workflow.on_customer_comment("Waiting for customer").name == "Waiting for Support"
    for status in NAMES:
        if status != "Waiting for customer":
            assert workflow.on_customer_comment(status) is None, status


def test_statuses_are_found_by_name_or_slug_in_any_case():
    assert workflow.find_status("waiting-for-customer").name == "Waiting for customer"
    assert workflow.find_status("  UNDER investigation ").name == "Under Investigation"
    with pytest.raises(workflow.UnknownStatus, match="use one of: Waiting for Support, In progress"):
        workflow.find_status("Done")


def test_the_help_table_explains_every_status_and_what_happens_next():
    rows = workflow.help_rows(reopen_days=10)
    assert [r[0] for r in rows] == NAMES
    by_name = {name: (meaning, nxt) for name, meaning, nxt in rows}
    assert by_name["Escalated"][0] == "Escalated to 3rd level support, e.g. bug fixing."
    assert "within 10 days" in by_name["Resolved"][1] and "Closed" in by_name["Resolved"][1]
    assert "reply from the customer moves it to Waiting for Support" in by_name["Waiting for customer"][1]
    assert by_name["Closed"][1].startswith("Final")
