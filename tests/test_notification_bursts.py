"""Quieter email and team alerts, over HTTP, delivered by the real sender to a real SMTP server.

A burst of an agent's updates reaches the customer as one email listing every update, once the
burst window (2 seconds here) has passed; the customer's reopen and confirmation reach the
ticket's assignee, else the support team's address. Nothing is ever lost to a sender that
takes an email in the middle of a burst.
"""
from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select, update

from kbgen.accounts import User
from kbgen.db import utcnow
from kbgen.mail import bursts, kinds
from kbgen.mail.notifications import SENDING, Outbox
from kbgen.mail.sender import OutboxSender
from test_tickets_support import ALEX, ANN, BOB, SAM, Portal, xcally

TEAM = "team@vendor.example"
WINDOW = 2  # seconds: room for three requests on a busy machine


@pytest.fixture
def portal(tmp_path, database_url, smtp_server):
    portal = Portal(tmp_path, database_url, smtp_url=smtp_server.url, notify_burst_seconds=WINDOW)
    portal.smtp = smtp_server
    sender = OutboxSender(portal.Session, portal.settings)

    def deliver(after_the_window: bool = False) -> list:
        """The messages the sender delivers now (or once the window has passed), as the SMTP server got them."""
        before = len(smtp_server.messages)
        sender.send_due(utcnow() + dt.timedelta(seconds=WINDOW + 1) if after_the_window else None)
        return smtp_server.messages[before:]

    portal.deliver = deliver
    yield portal
    portal.close()


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def to(messages, email: str) -> list:
    return [m for m in messages if m["X-Rcpt-To"] == email]


def opened(portal, **fields) -> str:
    key = portal.open(ANN, xcally(**fields))
    portal.deliver()  # the receipt and the team's notice
    return key


def move(client, key: str, status: str) -> None:
    answer = client.post(f"/api/tickets/{key}/transitions", json={"to": status})
    assert answer.status_code == 200, answer.text


def comment(client, key: str, text: str) -> None:
    answer = client.post(f"/api/tickets/{key}/comments", json={"text": text})
    assert answer.status_code == 201, answer.text


def test_a_burst_of_agent_updates_is_one_email_listing_every_update_in_order(portal):
    key = opened(portal)
    sam = portal.client(SAM)
    move(sam, key, "In progress")
    comment(sam, key, "Which trunk do the calls use?\n\nA **SIP** one?")
    move(sam, key, "Waiting for customer")
    assert portal.deliver() == []  # the window has not passed: the burst may still grow

    time.sleep(WINDOW + 0.2)
    [message] = portal.deliver()
    assert message["X-Rcpt-To"] == ANN  # the agent hears nothing of their own updates
    assert message["Subject"] == f"[{key}] 3 updates: Calls drop after 30 seconds"
    body = text_of(message)
    first = body.index("Status: Waiting for Support → In progress")
    reply = body.index("Sam Agent replied:")
    quoted = body.index("> Which trunk do the calls use?\n>\n> A **SIP** one?")
    last = body.index("Status: In progress → Waiting for customer")
    assert first < reply < quoted < last
    assert "3 updates on your request" in body and "Priority: High" in body
    assert "You get this email because you opened this request." in body
    assert "https://" not in body or "/account/notifications/" in body
    assert "http://portal.test/account/notifications/" in body
    html = message.get_body(("html",)).get_content()
    assert html.count("<li>") == 3 and "<strong>" not in html  # the reply's Markdown stays text
    assert portal.deliver(after_the_window=True) == []  # and never again


def test_updates_further_apart_than_the_window_are_separate_emails(portal):
    key = opened(portal)
    sam = portal.client(SAM)
    move(sam, key, "In progress")
    time.sleep(WINDOW + 0.2)
    comment(sam, key, "Found it: trunk 2.")
    delivered = portal.deliver()
    assert [m["Subject"] for m in delivered] == [f"[{key}] Status changed to In progress: Calls drop after 30 seconds"]
    time.sleep(WINDOW + 0.2)
    [reply] = portal.deliver()
    assert reply["Subject"] == f"[{key}] New reply: Calls drop after 30 seconds"
    assert "> Found it: trunk 2." in text_of(reply)


def test_a_sender_taking_the_email_mid_burst_loses_nothing(portal):
    key = opened(portal)
    sam = portal.client(SAM)
    move(sam, key, "In progress")
    # A sender (on another replica, its clock a little ahead) takes the burst's email now.
    [first] = portal.deliver(after_the_window=True)
    assert first["Subject"] == f"[{key}] Status changed to In progress: Calls drop after 30 seconds"
    comment(sam, key, "Second update")
    # One is claimed but not sent yet: the next update cannot join it and starts another email.
    with portal.Session.begin() as db:
        db.execute(update(Outbox).where(Outbox.ticket_key == key, Outbox.event == kinds.REPLY.slug)
                   .values(status=SENDING, claimed_by="sender-elsewhere", claimed_until=utcnow()))
    move(sam, key, "Waiting for customer")
    with portal.Session() as db:
        rows = db.scalars(select(Outbox).where(Outbox.ticket_key == key, Outbox.to_email == ANN,
                                              Outbox.burst.is_not(None)).order_by(Outbox.id)).all()
        assert [[u["kind"] for u in bursts.updates_of(r)] for r in rows] == [
            ["status_changed"], ["comment_added"], ["status_changed"]]
        assert "Waiting for customer" not in rows[1].body_text  # the claimed email was left as it was
    with portal.Session.begin() as db:  # that sender dies; its lease runs out and the next one sends it
        db.execute(update(Outbox).where(Outbox.claimed_by == "sender-elsewhere")
                   .values(claimed_until=utcnow() - dt.timedelta(seconds=1)))
    delivered = portal.deliver(after_the_window=True)
    assert sorted(m["Subject"] for m in delivered) == [
        f"[{key}] New reply: Calls drop after 30 seconds",
        f"[{key}] Status changed to Waiting for customer: Calls drop after 30 seconds"]
    assert all(m["X-Rcpt-To"] == ANN for m in delivered)


@pytest.mark.parametrize("assigned", [True, False], ids=["assignee", "support-address"])
def test_reopen_confirm_and_comments_reach_the_assignee_else_the_support_address(portal, assigned):
    key = opened(portal)
    sam, ann = portal.client(SAM), portal.client(ANN)
    team = ALEX if assigned else TEAM
    if assigned:
        with portal.Session() as db:
            alex_id = db.scalars(select(User.id).where(User.email == ALEX)).one()
        assert sam.put(f"/api/tickets/{key}/assignee", json={"assignee": alex_id}).status_code == 200

    move(sam, key, "Resolved")
    move(ann, key, "Waiting for Support")  # she reopens it
    [alert] = to(portal.deliver(), team)  # at once: an alert does not wait for a burst
    assert alert["Subject"] == f"[{key}] Reopened by the customer: Calls drop after 30 seconds"
    body = text_of(alert)
    assert "Ann Acme of Acme Telecom reopened request" in body and "from Resolved to Waiting for Support" in body
    assert ("this request is assigned to you" if assigned else "the support team's address") in body

    comment(ann, key, "Still dropping on trunk 2.")
    [alert] = portal.deliver()
    assert (alert["X-Rcpt-To"], alert["Subject"]) == (team, f"[{key}] Customer comment: Calls drop after 30 seconds")

    move(sam, key, "Resolved")
    move(ann, key, "Closed")  # she confirms the fix
    delivered = portal.deliver()
    [alert] = to(delivered, team)
    assert alert["Subject"] == f"[{key}] Fix confirmed, request closed: Calls drop after 30 seconds"
    assert "Ann Acme of Acme Telecom confirmed the fix" in text_of(alert)
    assert not to(delivered, SAM)  # agents never hear of their own updates
    later = portal.deliver(after_the_window=True)
    assert not to(later, team) and not to(later, SAM)
    # Ann heard of Sam's two resolutions (one email, or two on a slow machine), never of her own moves or comment.
    told = [text_of(m) for m in to(portal.smtp.messages, ANN) if "updates:" in m["Subject"]
            or "Status changed" in m["Subject"]]
    assert sum(t.count("→ Resolved") + t.count("to Resolved.") for t in told) == 2
    assert not any("Still dropping" in t or "Waiting for Support." in t or "Closed" in t for t in told)


def test_a_colleagues_confirmation_is_told_to_the_requester_and_the_team(portal):
    key = opened(portal)
    move(portal.client(SAM), key, "Resolved")
    portal.deliver(after_the_window=True)
    move(portal.client(BOB), key, "Closed")
    delivered = portal.deliver(after_the_window=True)
    assert [m["Subject"] for m in to(delivered, TEAM)] == [
        f"[{key}] Fix confirmed, request closed: Calls drop after 30 seconds"]
    assert f"[{key}] Status changed to Closed: Calls drop after 30 seconds" in [m["Subject"] for m in to(delivered, ANN)]
    assert not to(delivered, BOB)


def test_priorities_and_statuses_are_named_as_defined(portal):
    key = portal.open(ANN, xcally(priority="low"))
    receipt = to(portal.deliver(), ANN)[0]
    assert "Priority: Low" in text_of(receipt) and "Priority: low" not in text_of(receipt)
    sam = portal.client(SAM)
    assert sam.put(f"/api/tickets/{key}/priority", json={"priority": "high"}).status_code == 200
    move(sam, key, "In progress")
    [message] = portal.deliver(after_the_window=True)
    body = text_of(message)
    assert "Priority: Low → High" in body and "Status: Waiting for Support → In progress" in body
    assert message["Subject"] == f"[{key}] 2 updates: Calls drop after 30 seconds"


def test_a_window_of_zero_sends_each_update_at_once(tmp_path, database_url, smtp_server):
    portal = Portal(tmp_path, database_url, smtp_url=smtp_server.url, notify_burst_seconds=0)
    try:
        key = portal.open(ANN)
        sam = portal.client(SAM)
        move(sam, key, "In progress")
        comment(sam, key, "On it.")
        OutboxSender(portal.Session, portal.settings).send_due()
        assert sorted(m["Subject"] for m in smtp_server.messages if m["X-Rcpt-To"] == ANN) == [
            f"[{key}] New reply: Calls drop after 30 seconds",
            f"[{key}] Request received: Calls drop after 30 seconds",
            f"[{key}] Status changed to In progress: Calls drop after 30 seconds"]
    finally:
        portal.close()


def test_every_kind_is_defined_once_and_the_rating_request_is_one():
    from kbgen.tickets import ratings

    slugs = [k.slug for k in kinds.KINDS]
    assert len(slugs) == len(set(slugs))
    assert kinds.find_kind(ratings.EMAIL_EVENT) is kinds.SATISFACTION
    assert kinds.find_kind("account.password_reset").security
    assert {k.slug for k in kinds.KINDS if k.burst} == {"comment_added", "status_changed", "priority_changed"}
