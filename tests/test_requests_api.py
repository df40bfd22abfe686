"""The requests list and ticket pages' data through the real HTTP app: who sees what, on both databases."""
from __future__ import annotations

import re

import pytest

from test_tickets_support import ALEX, ANN, BOB, GINA, PAT, SAM, Portal, xcally, xplany


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    yield portal
    portal.close()


def keys(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["key"] for item in response.json()["items"]]


def test_the_list_shows_every_request_of_the_users_organization_and_filters_it(portal):
    portal.open(ANN, xcally("Calls drop after 30 seconds", priority="high"))  # XC-1
    portal.open(BOB, xcally("Queue stuck on agent", priority="low"))  # XC-2
    portal.open(PAT, xplany("Adherence wrong", priority="medium"))  # XP-1
    portal.open(GINA, xcally("Globex secret outage"))  # XC-3, another organization
    portal.client(SAM).post("/api/tickets/XC-2/transitions", json={"to": "In progress"})
    ann = portal.client(ANN)

    everything = ann.get("/api/tickets")
    assert keys(everything) == ["XP-1", "XC-2", "XC-1"]  # newest first
    assert everything.json()["organization"]["name"] == "Acme Telecom"
    assert {p["email"] for p in everything.json()["requesters"]} == {ANN, BOB, PAT}
    assert keys(ann.get("/api/tickets", params={"mine": "true"})) == ["XC-1"]
    assert keys(ann.get("/api/tickets", params={"status": "In progress"})) == ["XC-2"]
    assert keys(ann.get("/api/tickets", params={"status": ["in-progress", "waiting-for-support"]})) == \
        ["XP-1", "XC-2", "XC-1"]
    assert keys(ann.get("/api/tickets", params={"product": "xplany"})) == ["XP-1"]
    assert keys(ann.get("/api/tickets", params={"priority": "low"})) == ["XC-2"]
    bob_id = next(p["id"] for p in everything.json()["requesters"] if p["email"] == BOB)
    assert keys(ann.get("/api/tickets", params={"requester": bob_id})) == ["XC-2"]
    assert keys(ann.get("/api/tickets", params={"requester": PAT})) == ["XP-1"]
    assert keys(ann.get("/api/tickets", params={"q": "QUEUE"})) == ["XC-2"]
    assert keys(ann.get("/api/tickets", params={"q": "xc-1"})) == ["XC-1"]
    assert keys(ann.get("/api/tickets", params={"q": "secret"})) == []  # Globex's words find nothing
    assert keys(ann.get("/api/tickets", params={"sort": "created"})) == ["XC-1", "XC-2", "XP-1"]
    assert keys(ann.get("/api/tickets", params={"sort": "key"})) == ["XC-1", "XC-2", "XP-1"]
    assert keys(ann.get("/api/tickets", params={"sort": "-updated"}))[0] == "XC-2"

    bad = ann.get("/api/tickets", params={"status": "Done"})
    assert bad.status_code == 422 and "Waiting for Support" in bad.json()["detail"]
    assert ann.get("/api/tickets", params={"sort": "colour"}).status_code == 422


def test_the_list_pages_through_many_requests(portal):
    for n in range(7):
        portal.open(ANN, xcally(f"Problem {n}"))
    ann = portal.client(ANN)
    first = ann.get("/api/tickets", params={"per_page": 3})
    assert first.json()["total"] == 7 and first.json()["pages"] == 3
    assert keys(first) == ["XC-7", "XC-6", "XC-5"]
    assert keys(ann.get("/api/tickets", params={"per_page": 3, "page": 3})) == ["XC-1"]
    assert keys(ann.get("/api/tickets", params={"per_page": 3, "page": 9})) == []
    assert ann.get("/api/tickets", params={"per_page": 1000}).status_code == 422


def test_agents_see_every_organizations_requests_and_filter_by_organization_and_assignee(portal):
    portal.open(ANN)
    portal.open(GINA)
    sam = portal.client(SAM)
    listed = sam.get("/api/tickets")
    assert keys(listed) == ["XC-2", "XC-1"]
    assert {a["email"] for a in listed.json()["agents"]} == {SAM, ALEX}
    globex = next(i["organization"]["id"] for i in listed.json()["items"] if i["key"] == "XC-2")
    assert keys(sam.get("/api/tickets", params={"organization": globex})) == ["XC-2"]

    assigned = sam.put("/api/tickets/XC-1/assignee", json={"assignee": ALEX})
    assert assigned.status_code == 200 and assigned.json()["assignee"]["email"] == ALEX
    assert keys(sam.get("/api/tickets", params={"assignee": ALEX})) == ["XC-1"]
    assert keys(sam.get("/api/tickets", params={"assignee": "none"})) == ["XC-2"]
    assert sam.put("/api/tickets/XC-1/assignee", json={"assignee": ANN}).status_code == 422  # not an agent
    assert sam.put("/api/tickets/XC-1/assignee", json={"assignee": None}).json()["assignee"] is None


def test_customers_cannot_assign_or_add_internal_notes(portal):
    key = portal.open(ANN)
    ann = portal.client(ANN)
    assert ann.put(f"/api/tickets/{key}/assignee", json={"assignee": SAM}).status_code == 403
    assert ann.post(f"/api/tickets/{key}/comments", json={"text": "psst", "internal": True}).status_code == 403
    assert portal.ticket(key).assignee_id is None and portal.ticket(key).events == []


def test_a_ticket_page_shows_what_was_entered_with_the_forms_labels(portal):
    key = portal.open(ANN, xcally(channels=["voice", "whatsapp"], started_on="2026-01-31"))
    page = portal.client(ANN).get(f"/api/tickets/{key}").json()
    shown = {f["label"]: f["display"] for f in page["fields"]}
    assert shown["Where does XCALLY run?"] == "On our servers (on premise)"
    assert shown["Channels affected"] == "Voice, WhatsApp"
    assert shown["XCALLY Motion version"] == "3.41.2"
    assert shown["When did it start?"] == "2026-01-31"
    assert page["priority"] == {"slug": "high", "name": "High"}
    assert page["request_type"]["name"] == "Technical issue"
    assert page["status"]["meaning"] == "Created, pending on the support team."
    assert page["created_at"].endswith("Z") and page["updated_at"].endswith("Z")


def test_another_organizations_ticket_is_not_found_on_every_endpoint(portal):
    key = portal.open(ANN)
    sam = portal.client(SAM)
    sam.post(f"/api/tickets/{key}/comments", json={"text": "Looking"})
    ann = portal.client(ANN)
    upload = ann.post(f"/api/tickets/{key}/comments", data={"text": "log"},
                      files=[("files", ("trace.log", b"secret trace", "text/plain"))])
    attachment = upload.json()["attachments"][0]["url"]
    gina = portal.client(GINA)

    answers = {
        "detail": gina.get(f"/api/tickets/{key}"),
        "comment": gina.post(f"/api/tickets/{key}/comments", json={"text": "Hi"}),
        "comment form": gina.post(f"/api/tickets/{key}/comments", data={"text": "Hi"}),
        "transition": gina.post(f"/api/tickets/{key}/transitions", json={"to": "Closed"}),
        "assignee": gina.put(f"/api/tickets/{key}/assignee", json={"assignee": SAM}),
        "attachment": gina.get(attachment),
        "missing": gina.get("/api/tickets/XC-999"),
    }
    for name, response in answers.items():
        assert response.status_code == 404, name
        assert response.json() == answers["missing"].json() | {"detail": response.json()["detail"]}, name
        assert "Acme" not in response.text and "Looking" not in response.text, name
    assert keys(gina.get("/api/tickets")) == []
    assert keys(gina.get("/api/tickets", params={"q": key})) == []
    assert portal.ticket(key).status == "Waiting for Support" and len(portal.ticket(key).events) == 2


def test_internal_notes_are_never_shown_to_customers(portal):
    key = portal.open(ANN)
    sam = portal.client(SAM)
    note = sam.post(f"/api/tickets/{key}/comments", data={"text": "Customer is on the cheap plan", "internal": "1"},
                    files=[("files", ("plan.txt", b"cheap plan", "text/plain"))])
    assert note.status_code == 201 and note.json()["internal"] is True
    sam.post(f"/api/tickets/{key}/comments", json={"text": "We are on it."})
    note_file = note.json()["attachments"][0]["url"]

    agent_view = sam.get(f"/api/tickets/{key}").json()
    assert [e["kind"] for e in agent_view["timeline"]] == ["note", "comment"]
    assert sam.get(note_file).status_code == 200

    for email in (ANN, BOB, PAT):
        client = portal.client(email)
        page = client.get(f"/api/tickets/{key}")
        assert "cheap plan" not in page.text and "plan.txt" not in page.text
        assert [e["kind"] for e in page.json()["timeline"]] == ["comment"]
        assert client.get(note_file).status_code == 404
        assert "cheap plan" not in client.get("/api/tickets").text
    emails = portal.outbox()
    assert emails and not any("cheap plan" in m.body_text or "cheap plan" in m.body_html for m in emails)


def test_a_script_in_a_comment_is_rendered_inert(portal):
    key = portal.open(ANN)
    payload = ('<script>alert("x")</script> <img src=x onerror="alert(1)"> '
               '[click](javascript:alert(2)) [also](java&#115;cript:alert(3)) <a href="javascript:alert(4)">a</a> '
               '**bold** [docs](https://example.com/docs)')
    response = portal.client(ANN).post(f"/api/tickets/{key}/comments", json={"text": payload})
    assert response.status_code == 201
    html = portal.client(SAM).get(f"/api/tickets/{key}").json()["timeline"][0]["html"]
    assert "<script" not in html and "<img" not in html
    assert not re.search(r"<[^>]+\son\w+\s*=", html)  # no event handler attribute on any tag
    assert re.findall(r'<a\s[^>]*href="([^"]*)"', html) == ["https://example.com/docs"]
    assert "&lt;script&gt;" in html  # shown as text, as written
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com/docs" rel="nofollow noopener noreferrer">docs</a>' in html


def test_an_empty_or_too_long_comment_is_refused(portal):
    key = portal.open(ANN)
    ann = portal.client(ANN)
    assert ann.post(f"/api/tickets/{key}/comments", json={"text": "   "}).status_code == 422
    assert ann.post(f"/api/tickets/{key}/comments", json={"text": "x" * 20001}).status_code == 422
    assert portal.ticket(key).events == []


def test_signed_out_visitors_get_401_everywhere(portal):
    key = portal.open(ANN)
    stranger = portal.client()
    assert stranger.get("/api/tickets").status_code == 401
    assert stranger.get(f"/api/tickets/{key}").status_code == 401
    assert stranger.post(f"/api/tickets/{key}/comments", json={"text": "hi"}).status_code == 401
    assert stranger.post(f"/api/tickets/{key}/transitions", json={"to": "Closed"}).status_code == 401


def test_a_malformed_comment_gets_a_message_saying_what_to_send(portal):
    key = portal.open(ANN)
    ann = portal.client(ANN)
    for body in ([1, 2], {"text": 5}, {"text": "hi", "internal": "yes"}):
        response = ann.post(f"/api/tickets/{key}/comments", json=body)
        assert response.status_code == 422
        assert response.json()["detail"] == 'Send JSON like {"text": "...", "internal": false}.'
    long = ann.post(f"/api/tickets/{key}/comments", json={"text": "x" * 20001})
    assert "at most 20000 are accepted" in long.json()["detail"]


def test_the_api_documents_statuses_roles_products_priorities_and_sorts_from_their_one_definition(portal):
    from kbgen.accounts import ROLES
    from kbgen.forms import PRIORITIES
    from kbgen.site.catalog import PRODUCTS
    from kbgen.tickets import SORTS, workflow

    document = portal.client(ANN).get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["StatusOut"]["properties"]["slug"]["enum"] == [s.slug for s in workflow.STATUSES]
    assert schemas["MoveOut"]["properties"]["to"]["enum"] == [s.name for s in workflow.STATUSES]
    assert schemas["PersonOut"]["properties"]["role"]["enum"] == list(ROLES)
    assert schemas["ProductOut"]["properties"]["slug"]["enum"] == [p.slug for p in PRODUCTS]
    assert schemas["PriorityOut"]["properties"]["slug"]["enum"] == [p.slug for p in PRIORITIES]
    parameters = {p["name"]: p for p in document["paths"]["/api/tickets"]["get"]["parameters"]}
    assert parameters["sort"]["description"].startswith(", ".join(SORTS) + ";")

    # And what is answered keeps to it: a ticket's status and people are among the documented values.
    key = portal.open(ANN, xcally("Calls drop after 30 seconds"))
    ticket = portal.client(ANN).get(f"/api/tickets/{key}").json()
    assert ticket["status"]["slug"] in schemas["StatusOut"]["properties"]["slug"]["enum"]
    assert ticket["requester"]["role"] in schemas["PersonOut"]["properties"]["role"]["enum"]
