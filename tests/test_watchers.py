"""Watching a request: colleagues (and agents) follow it and get the requester's emails; nobody else can.

Over HTTP with the real app, database, sender and SMTP server.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from kbgen.accounts import Organization, User
from kbgen.db import utcnow
from kbgen.mail.sender import OutboxSender
from kbgen.tickets import Watcher
from test_tickets_support import ALEX, ANN, BOB, GINA, PAT, SAM, SITE, Portal

WINDOW = 1


@pytest.fixture
def portal(tmp_path, database_url, smtp_server):
    portal = Portal(tmp_path, database_url, smtp_url=smtp_server.url, notify_burst_seconds=WINDOW)
    sender = OutboxSender(portal.Session, portal.settings)

    def deliver() -> dict[str, list]:
        """{recipient: [messages]} of what the sender delivers once every burst window has passed."""
        before = len(smtp_server.messages)
        sender.send_due(utcnow() + dt.timedelta(seconds=WINDOW + 1))
        found: dict[str, list] = {}
        for message in smtp_server.messages[before:]:
            found.setdefault(message["X-Rcpt-To"], []).append(message)
        return found

    portal.deliver = deliver
    yield portal
    portal.close()


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def watchers(portal, key: str) -> int:
    with portal.Session() as db:
        return db.scalar(select(func.count()).select_from(Watcher))


def test_a_colleague_watches_and_gets_what_the_requester_gets(portal):
    key = portal.open(ANN)
    portal.deliver()
    bob = portal.client(BOB)
    assert bob.get(f"/api/tickets/{key}").json()["watching"] is False
    answer = bob.post(f"/api/tickets/{key}/watch")
    assert answer.status_code == 200, answer.text
    assert answer.json()["watching"] is True and [w["name"] for w in answer.json()["watchers"]] == ["Bob Acme"]
    shown = portal.client(ANN).get(f"/api/tickets/{key}").json()
    assert shown["watching"] is True  # the requester follows it without watching
    assert [w["name"] for w in shown["watchers"]] == ["Bob Acme"]

    sam = portal.client(SAM)
    assert sam.post(f"/api/tickets/{key}/transitions", json={"to": "In progress"}).status_code == 200
    assert sam.post(f"/api/tickets/{key}/comments", json={"text": "Which trunk?"}).status_code == 201
    mail = portal.deliver()
    assert set(mail) == {ANN, BOB}
    [to_ann], [to_bob] = mail[ANN], mail[BOB]
    assert to_ann["Subject"] == to_bob["Subject"] == f"[{key}] 2 updates: Calls drop after 30 seconds"
    assert "updates on request" in text_of(to_bob) and "> Which trunk?" in text_of(to_bob)
    assert "because you watch this request" in text_of(to_bob)
    assert "because you opened this request" in text_of(to_ann)

    # Bob's own comment is the team's, and never comes back to him; he stops watching, and hears nothing more.
    assert bob.post(f"/api/tickets/{key}/comments", json={"text": "Trunk 2."}).status_code == 201
    assert set(portal.deliver()) == {"team@vendor.example"}
    stopped = bob.delete(f"/api/tickets/{key}/watch")
    assert stopped.status_code == 200 and stopped.json() == {"key": key, "watching": False, "watchers": []}
    assert sam.post(f"/api/tickets/{key}/comments", json={"text": "Fixed."}).status_code == 201
    assert set(portal.deliver()) == {ANN}


def test_partners_and_agents_may_watch_and_agents_hear_nothing_of_their_own_updates(portal):
    key = portal.open(ANN)
    portal.deliver()
    for email in (PAT, ALEX, SAM):
        assert portal.client(email).post(f"/api/tickets/{key}/watch").status_code == 200
    assert portal.client(SAM).post(f"/api/tickets/{key}/comments", json={"text": "On it."}).status_code == 201
    assert set(portal.deliver()) == {ANN, PAT, ALEX}  # not Sam, who wrote it


def test_another_organizations_person_cannot_watch_or_learn_the_request_exists(portal):
    key = portal.open(ANN)
    gina = portal.client(GINA)
    for method in ("post", "delete"):
        answer = getattr(gina, method)(f"/api/tickets/{key}/watch")
        assert answer.status_code == 404 and "No request" in answer.json()["detail"]
    assert gina.post("/api/tickets/XC-99999/watch").status_code == 404
    assert watchers(portal, key) == 0
    assert portal.client().post(f"/api/tickets/{key}/watch").status_code == 401


def test_a_watcher_who_moves_to_another_organization_is_told_nothing_more(portal):
    key = portal.open(ANN)
    portal.deliver()
    assert portal.client(BOB).post(f"/api/tickets/{key}/watch").status_code == 200
    with portal.Session.begin() as db:
        globex = db.scalars(select(Organization.id).where(Organization.name == "Globex")).one()
        db.execute(update(User).where(User.email == BOB).values(organization_id=globex))
    assert portal.client(SAM).post(f"/api/tickets/{key}/comments", json={"text": "Private answer"}).status_code == 201
    assert set(portal.deliver()) == {ANN}
    assert portal.client(ANN).get(f"/api/tickets/{key}").json()["watchers"] == []


def test_the_requester_follows_by_default_and_watching_twice_is_one_watch(portal):
    key = portal.open(ANN)
    ann = portal.client(ANN)
    assert ann.post(f"/api/tickets/{key}/watch").json()["watching"] is True
    refused = ann.delete(f"/api/tickets/{key}/watch")
    assert refused.status_code == 409 and "notification settings" in refused.json()["detail"]
    bob = portal.client(BOB)
    answers = [bob.post(f"/api/tickets/{key}/watch") for _ in range(30)]  # a burst of clicks
    assert {a.status_code for a in answers} == {200}
    assert watchers(portal, key) == 1


@pytest.mark.parametrize("path", ["/api/tickets/XC-1%00/watch", "/api/tickets/%ED%A0%80/watch",
                                  "/api/tickets/" + "X" * 5000 + "/watch",
                                  "/api/tickets/99999999999999999999999999/watch"])
def test_hostile_addresses_are_refused_never_a_server_error(portal, path):
    bob = portal.client(BOB)
    for method in ("post", "delete"):
        answer = getattr(bob, method)(path)
        assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:200])


def test_hostile_bodies_change_nothing_and_cross_site_posts_are_refused(portal):
    key = portal.open(ANN)
    bob = portal.client(BOB)
    for body in ('{"a":' * 5000 + "1" + "}" * 5000, '"\\ud800"', "\x00", '{"watching": 1e999999}'):
        answer = bob.post(f"/api/tickets/{key}/watch", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code < 500, answer.text[:200]
    from starlette.testclient import TestClient

    elsewhere = TestClient(portal.app, base_url=SITE, headers={"Origin": "https://evil.example"})
    elsewhere.cookies = bob.cookies
    assert elsewhere.post(f"/api/tickets/{key}/watch").status_code == 403
