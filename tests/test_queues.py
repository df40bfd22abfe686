"""The support team's queues and service levels through the real HTTP app and CLI, on both databases:
views with counts, due times and breaches in the API (agents only), the customer's promise, priority changes."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from kbgen.tickets import Ticket, TicketEvent
from test_tickets_support import ALEX, ANN, GINA, PASSWORD, SAM, Portal, xcally, xplany


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    yield portal
    portal.close()


def view(client, slug, **params):
    answer = client.get("/api/tickets", params={"view": slug, **params})
    assert answer.status_code == 200, answer.text
    return [item["key"] for item in answer.json()["items"]]


def counts(client) -> dict[str, int]:
    answer = client.get("/api/views")
    assert answer.status_code == 200, answer.text
    return {v["slug"]: v["count"] for v in answer.json()}


def test_an_agent_works_the_queues_and_the_counts_follow(portal):
    sam = portal.client(SAM)
    a = portal.open(ANN, xcally("Calls drop", priority="high"))
    b = portal.open(GINA, xplany("Adherence wrong", priority="medium"))
    c = portal.open(ANN, xcally("Queue silent", priority="highest"))
    before = counts(sam)
    assert before["open"] == 3 and before["unassigned"] == 3 and before["mine"] == 0
    assert before["product-xcally"] == 2 and before["product-xplany"] == 1
    # The queue opens on the earliest due time first: highest runs around the clock, 1 hour to reply.
    assert view(sam, "unassigned")[0] == c
    assert sam.put(f"/api/tickets/{a}/assignee", json={"assignee": SAM}).status_code == 200
    assert view(sam, "mine") == [a] and a not in view(sam, "unassigned")
    assert view(portal.client(ALEX), "mine") == []  # "mine" is the viewer's own
    assert sam.post(f"/api/tickets/{b}/transitions", json={"to": "Waiting for customer"}).status_code == 200
    assert view(sam, "waiting-for-customer") == [b]
    after = counts(sam)
    assert after["mine"] == 1 and after["unassigned"] == 2 and after["waiting-for-support"] == 2
    # The views' narrowing adds to the list's own filters.
    assert view(sam, "open", product="xcally", sort="key") == sorted([a, c])


def test_views_are_the_support_teams_and_unknown_ones_are_named(portal):
    ann = portal.client(ANN)
    assert ann.get("/api/views").status_code == 403
    refused = ann.get("/api/tickets", params={"view": "breached"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "view"
    unknown = portal.client(SAM).get("/api/tickets", params={"view": "urgent"})
    assert unknown.status_code == 422 and "unknown view 'urgent'; use one of: open, unassigned" in unknown.text


def test_due_soon_and_breached_follow_the_clock_and_a_breach_is_recorded_once(portal):
    from kbgen import tickets

    sam = portal.client(SAM)
    late, soon, fine = (portal.open(ANN, xcally(s, priority="highest")) for s in ("late", "soon", "fine"))
    now = tickets.utcnow()
    with portal.Session.begin() as db:  # as if they had been waiting: due an hour ago, in 30 minutes, in a day
        for key, due in ((late, now - dt.timedelta(hours=1)), (soon, now + dt.timedelta(minutes=30)),
                         (fine, now + dt.timedelta(days=1))):
            db.execute(update(Ticket).where(Ticket.key == key).values(response_due_at=due, sla_due_at=due,
                                                                      resolution_due_at=None))
    assert view(sam, "breached") == [late] and view(sam, "due-soon") == [soon]
    item = {i["key"]: i for i in sam.get("/api/tickets").json()["items"]}
    assert item[late]["sla"]["breached"] == ["first_response"] and item[soon]["sla"]["due_soon"]
    with portal.Session() as db:
        assert tickets.record_breaches(db) == 1
        assert tickets.record_breaches(db) == 0  # once
    breach = [e for e in portal.ticket(late).events if e.kind == "sla_breach"]
    assert len(breach) == 1 and breach[0].internal and breach[0].title == "First response target missed"
    # Customers see neither the clocks nor the breach, only the promise.
    mine = portal.client(ANN).get(f"/api/tickets/{late}").json()
    assert mine["sla"] is None and "sla_breach" not in {e["kind"] for e in mine["timeline"]}
    assert mine["promise"] == "We aim to reply within 1 hour and to resolve it within 8 hours."
    # Answering stops the response clock: no longer due soon.
    assert sam.post(f"/api/tickets/{soon}/comments", json={"text": "Looking into it"}).status_code == 201
    assert view(sam, "due-soon") == []


def test_an_agent_changes_the_priority_and_the_customer_sees_it(portal):
    key = portal.open(ANN, xcally(priority="low"))
    sam = portal.client(SAM)
    changed = sam.put(f"/api/tickets/{key}/priority", json={"priority": "high"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["priority"] == {"slug": "high", "name": "High"}
    ann_view = portal.client(ANN).get(f"/api/tickets/{key}").json()
    assert [e["title"] for e in ann_view["timeline"] if e["kind"] == "priority"] == ["Priority changed from Low to High"]
    assert ann_view["promise"].startswith("We aim to reply within 4 business hours")
    mails = [m for m in portal.outbox() if m.event == "priority_changed"]
    assert [m.to_email for m in mails] == [ANN] and "Priority changed to High" in mails[0].subject
    # Refusals say what to send and change nothing.
    assert portal.client(ANN).put(f"/api/tickets/{key}/priority", json={"priority": "highest"}).status_code == 403
    for body in ({"priority": "urgent"}, {"priority": "high"}, {"priority": 3}, {}, {"priority": "x" * 100}):
        answer = sam.put(f"/api/tickets/{key}/priority", json=body)
        assert answer.status_code == 422, (body, answer.text)
    assert portal.ticket(key).priority == "high"


def test_a_customers_reopen_is_flagged_until_an_agent_acts(portal):
    key = portal.open(ANN)
    sam, ann = portal.client(SAM), portal.client(ANN)
    assert sam.post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"}).status_code == 200
    assert ann.post(f"/api/tickets/{key}/transitions", json={"to": "Waiting for Support"}).status_code == 200
    assert view(sam, "reopened") == [key]
    assert sam.get(f"/api/tickets/{key}").json()["sla"]["reopened"] is True
    assert sam.post(f"/api/tickets/{key}/comments", json={"text": "Checking again"}).status_code == 201
    assert view(sam, "reopened") == []


def test_kbgen_tickets_list_takes_a_view(portal, tmp_path):
    from conftest import run_kbgen

    key = portal.open(ANN)
    env = {"KBGEN_DATABASE_URL": portal.settings.database_url, "KBGEN_DATA_DIR": str(tmp_path / "data"),
           "KBGEN_FORMS_DIR": str(portal.settings.forms_dir)}
    listed = run_kbgen("tickets", "list", "--view", "unassigned", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert key in listed.stdout and "DUE" in listed.stdout
    mine = run_kbgen("tickets", "list", "--view", "mine", cwd=tmp_path, env=env)
    assert mine.returncode != 0 and "--as EMAIL" in mine.stderr
    wrong = run_kbgen("tickets", "list", "--view", "urgent", cwd=tmp_path, env=env)
    assert wrong.returncode != 0 and "unknown view 'urgent'" in wrong.stderr
