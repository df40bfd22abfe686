"""Closing a request: any colleague confirms the fix (and the page says who), a Resolved request nobody answers
closes by itself on the date the page shows, and the status line says what actually happened."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from kbgen import tickets
from kbgen.tickets import Ticket
from test_tickets_support import ANN, BOB, GINA, SAM, Portal


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    yield portal
    portal.close()


def test_a_colleague_confirms_the_fix_and_the_page_says_who(portal):
    key = portal.open(ANN)
    assert portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"}).status_code == 200
    shown = portal.client(ANN).get(f"/api/tickets/{key}").json()
    assert shown["closes_on"] is not None and "Confirm the fix" in [m["action"] for m in shown["transitions"]]
    bob = portal.client(BOB)  # Ann opened it; Bob, of the same organization, confirms
    closed = bob.post(f"/api/tickets/{key}/transitions", json={"to": "Closed"})
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["closed"]["by"] == "Bob Acme" and body["closed"]["at"]
    assert body["status"]["meaning"] == "Bob Acme confirmed the fix; no more action."
    assert body["closes_on"] is None and body["transitions"] == []
    # Another organization cannot, and learns nothing.
    assert portal.client(GINA).post(f"/api/tickets/{key}/transitions", json={"to": "Closed"}).status_code == 404


def test_the_status_line_says_what_happened_after_a_reply_and_a_reopen(portal):
    key = portal.open(ANN)
    ann, sam = portal.client(ANN), portal.client(SAM)
    assert ann.get(f"/api/tickets/{key}").json()["status"]["meaning"] == "Created, pending on the support team."
    sam.post(f"/api/tickets/{key}/transitions", json={"to": "Waiting for customer"})
    ann.post(f"/api/tickets/{key}/comments", json={"text": "Here are the logs you asked for."})
    assert ann.get(f"/api/tickets/{key}").json()["status"]["meaning"] == \
        "The customer answered; pending on the support team."
    sam.post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"})
    ann.post(f"/api/tickets/{key}/transitions", json={"to": "Waiting for Support"})
    assert ann.get(f"/api/tickets/{key}").json()["status"]["meaning"] == \
        "Reopened, pending on the support team again."


def test_a_resolved_request_nobody_answers_closes_by_itself_on_the_date_shown(portal):
    old, fresh, open_one = portal.open(ANN), portal.open(ANN), portal.open(ANN)
    sam = portal.client(SAM)
    for key in (old, fresh):
        sam.post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"})
    now = tickets.utcnow()
    with portal.Session.begin() as db:
        db.execute(update(Ticket).where(Ticket.key == old).values(resolved_at=now - dt.timedelta(days=15)))
    shown = portal.client(ANN).get(f"/api/tickets/{fresh}").json()["closes_on"]
    assert shown.startswith((now + dt.timedelta(days=portal.settings.auto_close_days)).date().isoformat())
    with portal.Session() as db:
        assert tickets.auto_close(db, portal.settings, now) == 1
        assert tickets.auto_close(db, portal.settings, now) == 0
    assert [portal.ticket(k).status for k in (old, fresh, open_one)] == ["Closed", "Resolved", "Waiting for Support"]
    closed = portal.client(ANN).get(f"/api/tickets/{old}").json()
    assert closed["closed"]["by"] is None
    assert closed["status"]["meaning"] == "Closed automatically: nobody answered while it was resolved; no more action."
    portal.settings.auto_close_days = 0  # turned off: nothing closes
    with portal.Session() as db:
        db.execute(update(Ticket).where(Ticket.key == fresh).values(resolved_at=now - dt.timedelta(days=400)))
        db.commit()
        assert tickets.auto_close(db, portal.settings, now) == 0
    assert portal.client(ANN).get(f"/api/tickets/{fresh}").json()["closes_on"] is None
