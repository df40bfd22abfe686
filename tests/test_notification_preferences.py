"""Each person chooses which emails they get: all, only replies, or none but security.

Over HTTP (the JSON API and the page that works without JavaScript), with the real sender
and SMTP server; the support team's address is not a person and always gets its alerts.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from kbgen.accounts import User
from kbgen.db import utcnow
from kbgen.mail.sender import OutboxSender
from test_tickets_support import ALEX, ANN, BOB, SAM, SITE, Portal

TEAM = "team@vendor.example"
WINDOW = 1


@pytest.fixture
def portal(tmp_path, database_url, smtp_server):
    portal = Portal(tmp_path, database_url, smtp_url=smtp_server.url, notify_burst_seconds=WINDOW)
    sender = OutboxSender(portal.Session, portal.settings)

    def deliver() -> dict[str, list[str]]:
        """{recipient: [subjects]} of what the sender delivers once every burst window has passed."""
        before = len(smtp_server.messages)
        sender.send_due(utcnow() + dt.timedelta(seconds=WINDOW + 1))
        found: dict[str, list[str]] = {}
        for message in smtp_server.messages[before:]:
            found.setdefault(message["X-Rcpt-To"], []).append(message["Subject"])
        return found

    portal.deliver = deliver
    portal.smtp = smtp_server
    yield portal
    portal.close()


def choose(portal, email: str, preference: str) -> None:
    answer = portal.client(email).put("/api/me/notifications", json={"preference": preference})
    assert answer.status_code == 200, answer.text
    assert answer.json()["preference"] == preference


def stored(portal, email: str) -> str:
    with portal.Session() as db:
        return db.scalars(select(User.notify).where(User.email == email)).one()


def checked(html: str) -> list[str]:
    """The values of the page's checked radio buttons."""
    return re.findall(r'<input type="radio"[^>]*value="([a-z]+)"[^>]*\schecked>', html)


def agent_burst(portal, key: str) -> None:
    """A status change, a reply and a priority change, within one window."""
    sam = portal.client(SAM)
    assert sam.post(f"/api/tickets/{key}/transitions", json={"to": "In progress"}).status_code == 200
    assert sam.post(f"/api/tickets/{key}/comments", json={"text": "Which trunk?"}).status_code == 201
    assert sam.put(f"/api/tickets/{key}/priority", json={"priority": "medium"}).status_code == 200


def test_everyone_starts_with_all_and_the_api_names_the_choices(portal):
    answer = portal.client(ANN).get("/api/me/notifications")
    assert answer.status_code == 200
    assert answer.json()["preference"] == "all"
    assert [c["slug"] for c in answer.json()["choices"]] == ["all", "replies", "none"]
    none = answer.json()["choices"][2]
    assert none["label"] == "None except security" and none["kinds"] == ["account"]
    assert portal.client().get("/api/me/notifications").status_code == 401


def test_only_replies_leaves_out_status_and_priority_changes_even_inside_a_burst(portal):
    key = portal.open(ANN)
    assert portal.client(BOB).post(f"/api/tickets/{key}/watch").status_code == 200
    portal.deliver()
    choose(portal, ANN, "replies")
    agent_burst(portal, key)
    mail = portal.deliver()
    assert mail[ANN] == [f"[{key}] New reply: Calls drop after 30 seconds"]
    assert mail[BOB] == [f"[{key}] 3 updates: Calls drop after 30 seconds"]  # Bob kept "all"
    assert portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"}).status_code == 200
    assert ANN not in portal.deliver()


def test_none_stops_every_request_email_but_not_account_security_emails(portal):
    choose(portal, ANN, "none")
    key = portal.open(ANN)
    assert portal.deliver() == {TEAM: [f"[{key}] New XCALLY request from Acme Telecom: Calls drop after 30 seconds"]}
    agent_burst(portal, key)
    assert portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"}).status_code == 200
    assert portal.client(ANN).post(f"/api/tickets/{key}/transitions", json={"to": "Closed"}).status_code == 200
    mail = portal.deliver()
    assert ANN not in mail  # no update, no rating request
    assert mail[TEAM] == [f"[{key}] Fix confirmed, request closed: Calls drop after 30 seconds"]
    forgot = portal.client().post("/account/password/forgot/", data={"email": ANN})
    assert forgot.status_code == 200, forgot.text
    assert portal.deliver()[ANN] == ["Reset your support portal password"]


def test_an_assignee_chooses_too_and_the_support_address_takes_what_they_turn_down(portal):
    key = portal.open(ANN)
    with portal.Session() as db:
        alex_id = db.scalars(select(User.id).where(User.email == ALEX)).one()
    assert portal.client(SAM).put(f"/api/tickets/{key}/assignee", json={"assignee": alex_id}).status_code == 200
    assert portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"}).status_code == 200
    portal.deliver()
    choose(portal, ALEX, "replies")
    ann = portal.client(ANN)
    assert ann.post(f"/api/tickets/{key}/transitions", json={"to": "Waiting for Support"}).status_code == 200
    assert portal.deliver() == {TEAM: [f"[{key}] Reopened by the customer: Calls drop after 30 seconds"]}
    assert ann.post(f"/api/tickets/{key}/comments", json={"text": "Still broken."}).status_code == 201
    assert portal.deliver() == {ALEX: [f"[{key}] Customer comment: Calls drop after 30 seconds"]}
    choose(portal, ALEX, "none")
    assert ann.post(f"/api/tickets/{key}/comments", json={"text": "Hello?"}).status_code == 201
    assert portal.deliver() == {TEAM: [f"[{key}] Customer comment: Calls drop after 30 seconds"]}


def test_the_page_works_without_javascript(portal):
    signed_out = portal.client().get("/account/notifications/", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].endswith("/login/?next=/account/notifications/")

    ann = portal.client(ANN)
    page = ann.get("/account/notifications/")
    assert page.status_code == 200 and "Email me about the requests I follow" in page.text
    assert checked(page.text) == ["all"]
    saved = ann.post("/account/notifications/", data={"preference": "replies"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/account/notifications/?saved=1"
    page = ann.get(saved.headers["location"])
    assert "Saved. From now on you get: Only replies." in page.text
    assert checked(page.text) == ["replies"]
    assert stored(portal, ANN) == "replies"

    refused = ann.post("/account/notifications/", data={"preference": "everything"})
    assert refused.status_code == 422 and "Choose one of: all (All updates)" in refused.text
    assert stored(portal, ANN) == "replies"


def test_a_cross_site_form_post_changes_nothing(portal):
    from starlette.testclient import TestClient

    elsewhere = TestClient(portal.app, base_url=SITE, headers={"Origin": "https://evil.example"})
    elsewhere.cookies = portal.client(ANN).cookies
    assert elsewhere.post("/account/notifications/", data={"preference": "none"}).status_code == 403
    assert elsewhere.put("/api/me/notifications", json={"preference": "none"}).status_code == 403
    assert stored(portal, ANN) == "all"


HOSTILE_JSON = ['{"preference": "all\\u0000"}', '{"preference": "\\ud800"}', '{"preference": 1e999999}',
                '{"preference": 123456789012345678901234567890}', '{"preference": ["all"]}', '[]', '"all"',
                '{"preference": {"a": 1}}', '{"a":' * 5000 + "1" + "}" * 5000, "not json", "",
                '{"preference": "' + "x" * 100_000 + '"}', '{"preference": null}']


@pytest.mark.parametrize("body", HOSTILE_JSON, ids=range(len(HOSTILE_JSON)))
def test_hostile_json_is_refused_never_a_server_error(portal, body):
    answer = portal.client(ANN).put("/api/me/notifications", content=body.encode("utf-8", "surrogatepass"),
                                    headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert stored(portal, ANN) == "all"


def test_hostile_form_posts_are_refused_never_a_server_error(portal):
    ann = portal.client(ANN)
    for content in (b"preference=all%00", b"preference=%ED%A0%80", b"preference=" + b"x" * 5000,
                    b"preference=all&preference=none", b"&".join(b"f%d=1" % i for i in range(50)), b"\xff\xfe",
                    b"preference=99999999999999999999999999"):
        answer = ann.post("/account/notifications/", content=content,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert 400 <= answer.status_code < 500, (content[:40], answer.status_code, answer.text[:300])
    answers = [ann.post("/account/notifications/", data={"preference": "none"}, follow_redirects=False)
               for _ in range(30)]
    assert {a.status_code for a in answers} == {303}
    assert stored(portal, ANN) == "none"
    assert ann.get("/account/notifications/?saved=%00").status_code == 422
