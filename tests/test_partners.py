"""Partners in several organizations: they see the requests of each (and nothing else), open requests
for the one they pick, and another organization's requests stay "not found" on every endpoint.
Through the real HTTP app, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kbgen import accounts
from kbgen.accounts import AccountError, AuditEvent, Organization, User
from test_tickets_support import ANN, GINA, SAM, Portal, xcally, xplany

NORA = "nora@northwind.example"  # a partner of Northwind, working for Acme and Globex (not Initech)
IVY = "ivy@initech.example"  # a customer of Initech, an organization Nora has nothing to do with


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    with portal.Session.begin() as db:
        for name in ("Northwind Integrators", "Initech"):
            db.add(Organization(name=name))
        db.flush()
        accounts.add_user(db, organization="Northwind Integrators", email=NORA, role="partner",
                          password="correct horse battery", name="Nora Lind")
        accounts.add_user(db, organization="Initech", email=IVY, role="customer",
                          password="correct horse battery", name="Ivy Initech")
        nora = db.scalar(select(User).where(User.email == NORA))
        for name in ("Acme Telecom", "Globex"):
            accounts.add_membership(db, nora, accounts.find_organization(db, name))
    yield portal
    portal.close()


def org_id(portal, name: str) -> int:
    with portal.Session() as db:
        return db.scalar(select(Organization.id).where(Organization.name == name))


def keys(response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(item["key"] for item in response.json()["items"])


def test_a_partner_opens_a_request_for_each_of_their_organizations_and_sees_both(portal):
    nora = portal.client(NORA)
    me = nora.get("/api/me").json()
    assert [o["name"] for o in me["organizations"]] == ["Northwind Integrators", "Acme Telecom", "Globex"]
    acme, globex = org_id(portal, "Acme Telecom"), org_id(portal, "Globex")

    for_acme = nora.post("/api/tickets", json=xcally("Acme's queue is silent") | {"organization": acme})
    for_globex = nora.post("/api/tickets", json=xplany("Globex's adherence") | {"organization": str(globex)})
    assert for_acme.status_code == 201 and for_globex.status_code == 201, (for_acme.text, for_globex.text)
    assert portal.ticket(for_acme.json()["key"]).organization_id == acme
    assert portal.ticket(for_globex.json()["key"]).organization_id == globex

    ann_key, gina_key, ivy_key = portal.open(ANN), portal.open(GINA), portal.open(IVY)
    listed = nora.get("/api/tickets")
    assert keys(listed) == sorted([for_acme.json()["key"], for_globex.json()["key"], ann_key, gina_key])
    assert ivy_key not in listed.text and "Initech" not in listed.text
    assert {o["name"] for o in listed.json()["organizations"]} == {"Northwind Integrators", "Acme Telecom", "Globex"}
    # Narrowing to one of theirs works; to another's organization it finds nothing.
    assert keys(nora.get("/api/tickets", params={"organization": globex})) == sorted([for_globex.json()["key"],
                                                                                     gina_key])
    assert keys(nora.get("/api/tickets", params={"organization": org_id(portal, "Initech")})) == []
    # Ann, a customer of Acme, sees Acme's requests, including the partner's for Acme, and not Globex's.
    assert keys(portal.client(ANN).get("/api/tickets")) == sorted([for_acme.json()["key"], ann_key])
    # The requester filter offers the people of their organizations, never Initech's.
    requesters = {p["name"] for p in listed.json()["requesters"]}
    assert {"Ann Acme", "Gina Globex", "Nora Lind"} <= requesters and "Ivy Initech" not in requesters


def test_a_request_for_an_organization_that_is_not_theirs_is_refused_and_stores_nothing(portal):
    nora = portal.client(NORA)
    before = portal.count()
    for value in (org_id(portal, "Initech"), 999999, "abc", -1, 0, True, 1e30, "1" * 40, [1], {"id": 1}, "1\x00"):
        answer = nora.post("/api/tickets", json=xcally() | {"organization": value})
        assert answer.status_code == 422, (value, answer.text)
        assert answer.json()["errors"][0]["field"] == "organization", value
        assert "Initech" not in answer.text
    body = xcally()
    posted = {"product": body["product"], "request_type": body["request_type"], "priority": body["priority"],
              "organization": str(org_id(portal, "Initech")),
              **{f"fields.{name}": value for name, value in body["fields"].items()}}
    form = nora.post("/api/tickets", data=posted, headers={"Accept": "text/html"})
    assert form.status_code == 422 and "Choose one of your organizations" in form.text and "Initech" not in form.text
    assert portal.count() == before
    # A customer picks no other organization either.
    assert portal.client(ANN).post("/api/tickets", json=xcally() | {"organization": org_id(portal, "Globex")}
                                   ).status_code == 422
    assert portal.count() == before


def test_without_a_choice_the_request_is_for_the_partners_own_organization(portal):
    key = portal.client(NORA).post("/api/tickets", json=xcally()).json()["key"]
    assert portal.ticket(key).organization_id == org_id(portal, "Northwind Integrators")


def test_another_organizations_request_is_not_found_for_a_partner_on_every_endpoint(portal):
    key = portal.open(IVY)
    sam = portal.client(SAM)
    assert sam.post(f"/api/tickets/{key}/comments", json={"text": "Looking"}).status_code == 201
    ivy = portal.client(IVY)
    upload = ivy.post(f"/api/tickets/{key}/comments", data={"text": "log"},
                      files=[("files", ("trace.log", b"secret trace", "text/plain"))])
    attachment = upload.json()["attachments"][0]["url"]
    nora = portal.client(NORA)
    answers = {
        "detail": nora.get(f"/api/tickets/{key}"),
        "comment": nora.post(f"/api/tickets/{key}/comments", json={"text": "Hi"}),
        "comment form": nora.post(f"/api/tickets/{key}/comments", data={"text": "Hi"}),
        "transition": nora.post(f"/api/tickets/{key}/transitions", json={"to": "Closed"}),
        "assignee": nora.put(f"/api/tickets/{key}/assignee", json={"assignee": SAM}),
        "attachment": nora.get(attachment),
        "missing": nora.get("/api/tickets/XC-999"),
    }
    for name, response in answers.items():
        assert response.status_code == 404, (name, response.text)
        assert "Initech" not in response.text and "Looking" not in response.text, name
    assert keys(nora.get("/api/tickets", params={"q": key})) == []
    # A follow-up "related to" another organization's request links nothing.
    follow = nora.post("/api/tickets", json=xcally() | {"related_to": key})
    assert follow.status_code == 201 and portal.ticket(follow.json()["key"]).related_key is None
    assert len(portal.ticket(key).events) == 2


def test_removing_a_membership_takes_that_organizations_requests_away_at_once(portal):
    acme_key = portal.open(ANN)
    nora = portal.client(NORA)
    assert nora.get(f"/api/tickets/{acme_key}").status_code == 200
    with portal.Session.begin() as db:
        user = db.scalar(select(User).where(User.email == NORA))
        assert accounts.remove_membership(db, user, accounts.find_organization(db, "Acme Telecom"))
    assert nora.get(f"/api/tickets/{acme_key}").status_code == 404
    assert acme_key not in nora.get("/api/tickets").text
    with portal.Session() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("user.membership_added") == 2 and actions[-1] == "user.membership_removed"


def test_only_partners_join_further_organizations(portal):
    with portal.Session.begin() as db:
        ann = db.scalar(select(User).where(User.email == ANN))
        with pytest.raises(AccountError, match="only a partner can belong to several organizations"):
            accounts.add_membership(db, ann, accounts.find_organization(db, "Globex"))
        nora = db.scalar(select(User).where(User.email == NORA))
        with pytest.raises(AccountError, match="already nora@northwind.example's own organization"):
            accounts.add_membership(db, nora, accounts.find_organization(db, "Northwind Integrators"))
        again = accounts.add_membership(db, nora, accounts.find_organization(db, "Acme Telecom"))
        assert again.organization.name == "Acme Telecom" and len(nora.memberships) == 2
