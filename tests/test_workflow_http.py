"""Status changes through the real HTTP app, for every role, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from kbgen.tickets import utcnow
from test_tickets_support import ANN, PAT, SAM, Portal, xcally

STATUSES = ["Waiting for Support", "In progress", "Waiting for customer", "Escalated", "Under Investigation",
            "Under Development", "Resolved", "Closed"]


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url, reopen_days=14)
    yield portal
    portal.close()


def expected_allowed(role: str, source: str) -> list[str]:
    """The rules as the issue states them, written out independently of kbgen.workflow."""
    if role == "agent":
        return [] if source == "Closed" else [s for s in STATUSES[:7] if s != source]
    return ["Closed", "Waiting for Support"] if source == "Resolved" else []


@pytest.mark.parametrize("email, role", [(SAM, "agent"), (ANN, "customer"), (PAT, "partner")])
def test_every_allowed_and_refused_transition_for_each_role(portal, email, role):
    key = portal.open(ANN)
    client = portal.client(email)
    recently = utcnow() - dt.timedelta(days=1)
    for source in STATUSES:
        allowed = expected_allowed(role, source)
        portal.set_status(key, source, resolved_at=recently)
        offered = client.get(f"/api/tickets/{key}").json()["transitions"]
        assert [m["to"] for m in offered] == allowed, (role, source)
        for target in STATUSES:
            portal.set_status(key, source, resolved_at=recently)
            response = client.post(f"/api/tickets/{key}/transitions", json={"to": target})
            if target in allowed:
                assert response.status_code == 200, (role, source, target, response.text)
                assert response.json()["status"]["name"] == target
                last = response.json()["timeline"][-1]
                assert (last["kind"], last["old_status"], last["new_status"]) == ("status", source, target)
                assert last["author"]["name"] and last["created_at"]
            else:
                assert response.status_code == 409, (role, source, target, response.text)
                assert response.json()["allowed"] == allowed
                names = ", ".join(f"'{s}'" for s in allowed) or "none"
                assert f"Allowed from '{source}': {names}" in response.json()["detail"]
                assert portal.ticket(key).status == source


def test_an_unknown_status_is_a_422_naming_the_statuses(portal):
    key = portal.open(ANN)
    response = portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Done"})
    assert response.status_code == 422
    assert "Waiting for Support, In progress" in response.json()["detail"]


def test_every_change_is_kept_in_the_history_with_who_and_when(portal):
    key = portal.open(ANN)
    sam, ann = portal.client(SAM), portal.client(ANN)
    sam.post(f"/api/tickets/{key}/transitions", json={"to": "In progress"})
    sam.post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"})
    ann.post(f"/api/tickets/{key}/transitions", json={"to": "Closed"})

    history = [(e["author"]["name"], e["old_status"], e["new_status"])
               for e in ann.get(f"/api/tickets/{key}").json()["timeline"] if e["kind"] == "status"]
    assert history == [("Sam Agent", "Waiting for Support", "In progress"),
                       ("Sam Agent", "In progress", "Resolved"),
                       ("Ann Acme", "Resolved", "Closed")]
    assert all(e.created_at for e in portal.ticket(key).events)


def test_a_customer_reply_moves_a_ticket_waiting_for_them_back_to_waiting_for_support(portal):
    key = portal.open(ANN)
    sam, ann = portal.client(SAM), portal.client(ANN)
    sam.post(f"/api/tickets/{key}/transitions", json={"to": "Waiting for customer"})
    sam.post(f"/api/tickets/{key}/comments", json={"text": "Which trunk?"})
    assert portal.ticket(key).status == "Waiting for customer"  # an agent's comment changes nothing

    assert ann.post(f"/api/tickets/{key}/comments", json={"text": "Trunk 2."}).status_code == 201
    page = ann.get(f"/api/tickets/{key}").json()
    assert page["status"]["name"] == "Waiting for Support"
    last = page["timeline"][-1]
    assert (last["kind"], last["old_status"], last["new_status"], last["author"]["name"]) == \
        ("status", "Waiting for customer", "Waiting for Support", "Ann Acme")

    ann.post(f"/api/tickets/{key}/comments", json={"text": "Also trunk 3."})
    assert portal.ticket(key).status == "Waiting for Support"  # other statuses stay as they are


def test_a_resolved_ticket_can_be_reopened_only_within_the_reopen_window(portal):
    key = portal.open(ANN)
    ann = portal.client(ANN)
    portal.set_status(key, "Resolved", resolved_at=utcnow() - dt.timedelta(days=13, hours=23))
    page = ann.get(f"/api/tickets/{key}").json()
    assert page["reopen_until"] is not None
    assert ann.post(f"/api/tickets/{key}/transitions", json={"to": "Waiting for Support"}).status_code == 200

    portal.set_status(key, "Resolved", resolved_at=utcnow() - dt.timedelta(days=14, minutes=1))
    page = ann.get(f"/api/tickets/{key}").json()
    assert [m["to"] for m in page["transitions"]] == ["Closed"] and page["reopen_until"] is None
    late = ann.post(f"/api/tickets/{key}/transitions", json={"to": "Waiting for Support"})
    assert late.status_code == 409
    assert "reopen period of 14 days" in late.json()["detail"]
    assert ann.post(f"/api/tickets/{key}/transitions", json={"to": "Closed"}).status_code == 200


def test_the_reopen_window_starts_when_the_agent_resolves(portal):
    key = portal.open(ANN)
    portal.client(SAM).post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"})
    resolved_at = portal.ticket(key).resolved_at
    assert resolved_at is not None and abs(utcnow() - resolved_at) < dt.timedelta(minutes=5)


def test_a_comment_on_a_closed_ticket_is_refused_with_an_offer_of_a_linked_new_request(portal):
    key = portal.open(ANN)
    portal.set_status(key, "Closed")
    for email in (ANN, SAM):
        response = portal.client(email).post(f"/api/tickets/{key}/comments", json={"text": "One more thing"})
        assert response.status_code == 409
        assert "closed" in response.json()["detail"] and "new request" in response.json()["detail"]
        assert response.json()["new_request_url"] == f"support/xcally/?related={key}"
    page = portal.client(ANN).get(f"/api/tickets/{key}").json()
    assert page["can_comment"] is False and page["closed"]["new_request_url"].endswith(key)

    follow_up = portal.client(ANN).post("/api/tickets", json={
        **xcally("It happened again"), "related_to": key})
    assert follow_up.status_code == 201
    assert portal.client(ANN).get(f"/api/tickets/{follow_up.json()['key']}").json()["related_key"] == key
