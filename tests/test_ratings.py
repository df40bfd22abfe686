"""Satisfaction, on SQLite and PostgreSQL: when a request is closed its requester is emailed once (through a
real SMTP server) and may rate it once, 1 to 5 with an optional comment; the support team sees the rating.
Every other attempt is refused with a 4xx that says why, whatever the body holds."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kbgen.mail.sender import OutboxSender
from kbgen.tickets import Rating, TicketEvent
from test_tickets_support import ALEX, ANN, BOB, GINA, PAT, SAM, SITE, Portal, xcally

TEAM = "team@vendor.example"


@pytest.fixture
def portal(tmp_path, database_url, smtp_server):
    portal = Portal(tmp_path, database_url, smtp_url=smtp_server.url, mail_from="portal@vendor.example")
    portal.smtp = smtp_server
    portal.sender = OutboxSender(portal.Session, portal.settings)
    yield portal
    portal.close()


def closed(portal: Portal, requester: str = ANN) -> str:
    """A request opened by `requester`, resolved by an agent and closed by the requester."""
    key = portal.open(requester)
    assert portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"}).status_code == 200
    answer = portal.client(requester).post(f"/api/tickets/{key}/transitions", json={"to": "Closed"})
    assert answer.status_code == 200, answer.text
    return key


def delivered(portal: Portal) -> list:
    before = len(portal.smtp.messages)
    portal.sender.send_due()
    return portal.smtp.messages[before:]


def test_closing_asks_the_requester_once_by_email_with_a_link_to_rate(portal):
    key = portal.open(ANN)
    portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"})
    delivered(portal)
    assert portal.client(ANN).post(f"/api/tickets/{key}/transitions", json={"to": "Closed"}).status_code == 200
    # Ann closed it herself: no status email to her, the question only.
    [email] = [m for m in delivered(portal) if m["X-Rcpt-To"] == ANN]
    assert email["Subject"] == f"[{key}] How did we do? Calls drop after 30 seconds"
    text = email.get_body(("plain",)).get_content()
    assert "Hello Ann Acme," in text
    assert f"Your request {key} (“Calls drop after 30 seconds”) is now closed." in text  # why they got it
    assert f"{SITE}/requests/{key}/?rate=1" in text
    html = email.get_body(("html",)).get_content()
    assert f'href="{SITE}/requests/{key}/?rate=1"' in html
    assert email["References"] and key in email["References"]  # in the request's thread
    # Asked once: rating, or anything else, sends nothing more.
    assert portal.client(ANN).post(f"/api/tickets/{key}/rating", json={"score": 5}).status_code == 201
    assert [m for m in delivered(portal) if m["X-Rcpt-To"] == ANN] == []
    assert sum(1 for row in portal.outbox() if row.event == "satisfaction") == 1


def test_the_requester_rates_a_closed_request_once_and_agents_see_it(portal):
    key = portal.open(ANN)
    ann = portal.client(ANN)
    early = ann.post(f"/api/tickets/{key}/rating", json={"score": 5})
    assert early.status_code == 409 and "once it is closed" in early.json()["detail"]
    assert ann.get(f"/api/tickets/{key}").json()["can_rate"] is False
    portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"})
    ann.post(f"/api/tickets/{key}/transitions", json={"to": "Closed"})
    shown = ann.get(f"/api/tickets/{key}").json()
    assert (shown["can_rate"], shown["rated"], shown["rating"]) == (True, False, None)
    assert [c["label"] for c in shown["rating_scale"]][::4] == ["Very dissatisfied", "Very satisfied"]

    sent = ann.post(f"/api/tickets/{key}/rating", json={"score": 4, "comment": "  Quick <b>and</b> clear.  "})
    assert sent.status_code == 201, sent.text
    assert {k: sent.json()[k] for k in ("score", "label", "comment")} == {
        "score": 4, "label": "Satisfied", "comment": "Quick <b>and</b> clear."}
    again = ann.post(f"/api/tickets/{key}/rating", json={"score": 1})
    assert again.status_code == 409 and "already rated" in again.json()["detail"]

    mine = ann.get(f"/api/tickets/{key}").json()
    assert (mine["can_rate"], mine["rated"], mine["rating"]) == (False, True, None)
    assert "rating" not in [e["kind"] for e in mine["timeline"]]  # the timeline entry is the team's
    for agent in (SAM, ALEX):
        seen = portal.client(agent).get(f"/api/tickets/{key}").json()
        assert seen["rating"]["score"] == 4 and seen["rating"]["comment"] == "Quick <b>and</b> clear."
        assert seen["rating"]["by"]["name"] == "Ann Acme" and seen["rated"] is True and seen["can_rate"] is False
        [entry] = [e for e in seen["timeline"] if e["kind"] == "rating"]
        assert entry["internal"] and entry["title"] == "Rated 4 of 5: Satisfied"
        assert entry["html"] == "<p>Quick &lt;b&gt;and&lt;/b&gt; clear.</p>"  # text, never markup
    with portal.Session() as db:
        assert db.scalar(select(func.count()).select_from(Rating)) == 1
        assert db.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "rating")) == 1


def test_only_the_requester_rates_and_other_organizations_see_nothing(portal):
    key = closed(portal)
    for email, status in ((BOB, 403), (PAT, 403), (SAM, 403), (GINA, 404)):
        answer = portal.client(email).post(f"/api/tickets/{key}/rating", json={"score": 5})
        assert answer.status_code == status, (email, answer.text)
        if status == 403:
            assert answer.json()["detail"] == f"Only the person who opened request {key} can rate it."
    assert portal.client(BOB).get(f"/api/tickets/{key}").json()["can_rate"] is False  # a colleague is not asked
    assert portal.client(GINA).get(f"/api/tickets/{key}").status_code == 404
    assert portal.client().post(f"/api/tickets/{key}/rating", json={"score": 5}).status_code == 401
    assert portal.client(ANN).post(f"/api/tickets/{key}/rating", json={"score": 5}).status_code == 201


@pytest.mark.parametrize("body, field", [
    ({"score": 0}, "score"), ({"score": 6}, "score"), ({"score": "5"}, "score"), ({"score": 4.5}, "score"),
    ({"score": True}, "score"), ({"score": None}, "score"), ({}, "score"), ({"score": [5]}, "score"),
    ({"score": 5, "comment": "x" * 2001}, "comment"), ({"score": 5, "comment": 5}, "comment"),
])
def test_a_wrong_rating_is_refused_naming_the_field(portal, body, field):
    key = closed(portal)
    answer = portal.client(ANN).post(f"/api/tickets/{key}/rating", json=body)
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert portal.client(ANN).get(f"/api/tickets/{key}").json()["can_rate"] is True  # nothing was recorded


def test_the_longest_comment_is_taken(portal):
    key = closed(portal)
    answer = portal.client(ANN).post(f"/api/tickets/{key}/rating", json={"score": 3, "comment": "é" * 2000})
    assert answer.status_code == 201 and len(answer.json()["comment"]) == 2000


HOSTILE = [
    ("json", b'{"score": 5, "comment": "a\\u0000b"}'),
    ("json", b'{"score": 5, "comment": "\\ud800"}'),
    ("json", b'{"score": 5, "comment": "\xed\xa0\x80"}'),
    ("json", b'{"score": 99999999999999999999999999999999999999}'),
    ("json", b'{"score": -99999999999999999999}'),
    ("json", b'{"score": 1e999}'),
    ("json", b'{"score": NaN}'),
    ("json", b'{"score": 5, "comment": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("json", b"[" * 100_000),
    ("json", b'{"score": 5, "\\u0000": 1}'),
    ("json", b"not json"),
    ("json", b'"a string"'),
    ("json", b"\xff\xfe"),
    ("json", b'{"score": 5, "comment": "' + b"x" * 70_000 + b'"}'),
    ("form", b"score=5&comment=hi"),
    ("text", b"score=5"),
]


@pytest.mark.parametrize("kind, body", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bodies_get_a_4xx_never_a_failure(portal, kind, body):
    key = closed(portal)
    content_type = {"json": "application/json", "form": "application/x-www-form-urlencoded",
                    "text": "text/plain"}[kind]
    answer = portal.client(ANN).post(f"/api/tickets/{key}/rating", content=body,
                                     headers={"Content-Type": content_type})
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["detail"]
    assert portal.client(ANN).get(f"/api/tickets/{key}").json()["can_rate"] is True


def test_odd_keys_are_not_found(portal):
    ann = portal.client(ANN)
    for key in ("XC-999999", "NOPE", "XC-1%00", "x" * 300):
        answer = ann.post(f"/api/tickets/{key}/rating", json={"score": 5})
        assert answer.status_code in (404, 422), (key, answer.text)
