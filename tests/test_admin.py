"""The admin pages (/admin/) and `kbgen audit`, through the real app, on SQLite and PostgreSQL.

Every action is a plain form post, as a browser without JavaScript sends it: it must change
what it says and leave an audit event naming who, whom and from where. Every refusal must say
what is wrong on the page and change nothing (all rows of every table compared). Nobody but an
administrator reaches any admin route, whatever it is: the routes are read from the router.
"""
from __future__ import annotations

import html
import importlib.util
import json
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import inspect, select, text
from starlette.testclient import TestClient

from conftest import LiveServer, run_kbgen
from kbgen.accounts import AuditEvent, LoginSession, Membership, Organization, OrganizationDomain, Role, User, audit
from kbgen.accounts.people import DEACTIVATED_MESSAGE
from kbgen.facts import service_page
from kbgen.web.routes.admin import router as admin_router
from test_tickets_support import ANN, BOB, GINA, PASSWORD, PAT, SAM, SITE, Portal, password_hash

ADA = "ada@vendor.example"  # the administrator
ADDRESS = "203.0.113.9"  # where the administrator's browser is
ROUTES = sorted((method, route.path) for route in admin_router.routes for method in route.methods)
POSTS = [path for method, path in ROUTES if method == "POST"]


def add_admin(portal: Portal, email: str = ADA, name: str = "Ada Admin") -> None:
    with portal.Session.begin() as db:
        vendor = db.scalar(select(Organization).where(Organization.name == "Vendor Support"))
        db.add(User(organization=vendor, email=email, name=name, role=str(Role.ADMIN), password_hash=password_hash()))
        acme = db.scalar(select(Organization).where(Organization.name == "Acme Telecom"))
        db.add(OrganizationDomain(organization=acme, domain="acme.example"))


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    add_admin(portal)
    yield portal
    portal.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory, module_database_url):
    """One portal for the tests that must change nothing (refusals, isolation, hostile input)."""
    portal = Portal(tmp_path_factory.mktemp("admin"), module_database_url)
    add_admin(portal)
    yield portal
    portal.close()


def browser(portal: Portal, email: str | None = ADA, *, origin: str | None = SITE, quiet: bool = False) -> TestClient:
    """A browser on the portal's pages at ADDRESS, signed in as `email`."""
    client = TestClient(portal.app, base_url=SITE, headers={"Origin": origin} if origin else {},
                        client=(ADDRESS, 50000), raise_server_exceptions=not quiet, follow_redirects=False)
    if email:
        client.cookies.update(portal.client(email).cookies)
    return client


def ids(portal: Portal) -> dict[str, int]:
    with portal.Session() as db:
        found = {o.name: o.id for o in db.scalars(select(Organization))}
        found.update({u.email: u.id for u in db.scalars(select(User))})
    return found


def person(portal: Portal, email: str) -> User:
    with portal.Session() as db:
        return db.scalars(select(User).where(User.email == email)).one()


def organization(portal: Portal, name: str) -> Organization:
    with portal.Session() as db:
        return db.scalars(select(Organization).where(Organization.name == name)).one()


def newest_event(portal: Portal) -> AuditEvent:
    with portal.Session() as db:
        return db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()


def rows(portal: Portal) -> dict[str, list]:
    """Every row of every table: what 'changes nothing' compares."""
    found = {}
    with portal.app.state.engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            found[table] = sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{table}"'))), key=repr)
    return found


def page_text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))


def done(response, page: str, **parts) -> str:
    """The redirect of a done action: back to `page`, with its message's code."""
    assert response.status_code == 303, (response.status_code, page_text(response)[-600:])
    location = urlsplit(response.headers["location"])
    assert location.path == service_page(page, **parts)
    return parse_qs(location.query)["done"][0]


def assert_audited(portal: Portal, action: str, target: str, **details) -> AuditEvent:
    event = newest_event(portal)
    assert (event.action, event.actor, event.target, event.client) == (action, ADA, target, ADDRESS)
    for key, value in details.items():
        assert event.facts.get(key) == value, (key, event.facts)
    return event


def fill(path: str, portal: Portal) -> str:
    """A route's path with ids that exist: Acme Telecom's and Ann's."""
    known = ids(portal)
    number = known["Acme Telecom"] if "organizations" in path else known[ANN]
    return path.replace("{id}", str(number))


# -- every page -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [path for method, path in ROUTES if method == "GET"])
def test_every_admin_page_shows_for_an_administrator(shared, path):
    response = browser(shared).get(fill(path, shared))
    if path == service_page("admin_home"):
        assert response.status_code == 303 and response.headers["location"] == service_page("admin_organizations")
        return
    assert response.status_code == 200, response.text[-500:]
    assert response.headers["cache-control"] == "no-store"
    shown = page_text(response)
    for tab in ("Organizations", "Users", "Invitations", "Audit log"):
        assert tab in shown
    assert "<script" not in response.text


def test_the_lists_show_organizations_and_people(shared):
    admin = browser(shared)
    shown = page_text(admin.get(service_page("admin_organizations")))
    assert re.search(r"Acme Telecom \d+ acme\.example Active Off", shown), shown
    people = page_text(admin.get(service_page("admin_users")))
    assert "Ann Acme" in people and "Sam Agent" in people
    found = page_text(admin.get(service_page("admin_users") + "?q=ACME&role=partner"))
    assert "Pat Partner" in found and "Ann Acme" not in found and "1 person" in found
    org = admin.get(service_page("admin_users") + f"?organization={ids(shared)['Globex']}&state=active")
    assert "Gina Globex" in page_text(org) and "Ann Acme" not in page_text(org)
    odd = admin.get(service_page("admin_users") + "?organization=abc&role=nobody&state=asleep&page=-4")
    assert odd.status_code == 200
    assert {"organization: choose one from the list", "role: choose one from the list"} <= set(
        m.strip() for m in re.findall(r'role="alert">([^<]+)<', html.unescape(odd.text)))


# -- organizations ----------------------------------------------------------------------------------


def test_organization_actions_change_what_they_say_and_are_audited(portal):
    admin = browser(portal)
    created = admin.post(service_page("admin_organizations"), data={"action": "create", "name": "  Initech "})
    org_id = organization(portal, "Initech").id
    assert done(created, "admin_organization", id=org_id) == "org_created"
    assert_audited(portal, "organization.created", "Initech")
    assert "Organization created." in page_text(admin.get(created.headers["location"]))
    here = service_page("admin_organization", id=org_id)

    assert done(admin.post(here, data={"action": "rename", "name": "Initech Global"}), "admin_organization",
                id=org_id) == "org_renamed"
    assert organization(portal, "Initech Global").id == org_id
    assert_audited(portal, "organization.renamed", "Initech Global", old="Initech", new="Initech Global")

    admin.post(here, data={"action": "add_domain", "domain": " @Initech.EXAMPLE "})
    assert [d.domain for d in organization(portal, "Initech Global").domains] == ["initech.example"]
    assert_audited(portal, "organization.domain_added", "Initech Global", domain="initech.example")

    admin.post(here, data={"action": "sign_up", "enabled": "on", "requires_approval": "on"})
    org = organization(portal, "Initech Global")
    assert (org.signup_enabled, org.signup_requires_approval) == (True, True)
    assert_audited(portal, "organization.signup_changed", "Initech Global", old="off",
                   new="on, with an admin's approval")

    admin.post(here, data={"action": "remove_domain", "domain": "initech.example"})
    assert organization(portal, "Initech Global").domains == []
    assert_audited(portal, "organization.domain_removed", "Initech Global", domain="initech.example")

    # Deactivating Acme signs its people out at once; reactivating lets them back.
    ann = browser(portal, ANN)
    assert ann.get("/api/me").status_code == 200
    acme = ids(portal)["Acme Telecom"]
    assert done(admin.post(service_page("admin_organization", id=acme), data={"action": "deactivate"}),
                "admin_organization", id=acme) == "org_deactivated"
    assert organization(portal, "Acme Telecom").deactivated_at is not None
    assert_audited(portal, "organization.deactivated", "Acme Telecom")
    assert newest_event(portal).facts["sessions_ended"] >= 1
    assert ann.get("/api/me").status_code == 401
    assert ann.post("/api/session", json={"email": ANN, "password": PASSWORD}).status_code == 403
    admin.post(service_page("admin_organization", id=acme), data={"action": "reactivate"})
    assert organization(portal, "Acme Telecom").deactivated_at is None
    assert_audited(portal, "organization.reactivated", "Acme Telecom")
    assert ann.post("/api/session", json={"email": ANN, "password": PASSWORD}).status_code == 200

    members = page_text(admin.get(service_page("admin_organization", id=acme)))
    assert "Ann Acme" in members and "Pat Partner" in members and "Partner" in members


# -- people -----------------------------------------------------------------------------------------


def test_user_actions_change_what_they_say_and_are_audited(portal):
    admin = browser(portal)
    known = ids(portal)
    ann = service_page("admin_user", id=known[ANN])

    assert done(admin.post(ann, data={"action": "role", "role": str(Role.PARTNER)}), "admin_user",
                id=known[ANN]) == "role_changed"
    assert person(portal, ANN).role == Role.PARTNER
    assert_audited(portal, "user.role_changed", ANN, old=Role.CUSTOMER.label, new=Role.PARTNER.label)

    bob = service_page("admin_user", id=known[BOB])
    admin.post(bob, data={"action": "move", "organization": str(known["Globex"])})
    assert person(portal, BOB).organization_id == known["Globex"]
    event = assert_audited(portal, "user.moved", BOB, old="Acme Telecom", new="Globex")
    assert event.organization_id == known["Globex"]

    gina = browser(portal, GINA)
    assert gina.get("/api/me").status_code == 200
    admin.post(service_page("admin_user", id=known[GINA]), data={"action": "end_sessions"})
    assert gina.get("/api/me").status_code == 401
    assert_audited(portal, "user.sessions_ended", GINA, sessions_ended=1)

    # An admin ending their own sessions keeps the browser they do it from.
    other = browser(portal)
    admin.post(service_page("admin_user", id=known[ADA]), data={"action": "end_sessions"})
    assert admin.get(service_page("admin_users")).status_code == 200
    assert other.get(service_page("admin_users")).status_code == 303

    # The audit trail shows on the person's page.
    shown = page_text(admin.get(ann))
    assert "Role changed" in shown and "from Customer to Partner" in shown and ADDRESS in shown
    # A partner's page offers their further organizations.
    assert "Further organizations" in shown


def test_a_deactivated_user_cannot_sign_in_and_keeps_their_requests(portal):
    key = portal.open(ANN)
    ann = browser(portal, ANN)
    assert ann.post(f"/api/tickets/{key}/comments", json={"text": "Still dropping."}).status_code == 201
    assert ann.get("/api/me").status_code == 200
    admin, user_id = browser(portal), ids(portal)[ANN]
    here = service_page("admin_user", id=user_id)

    assert done(admin.post(here, data={"action": "deactivate"}), "admin_user", id=user_id) == "deactivated"
    assert person(portal, ANN).deactivated_at is not None
    assert_audited(portal, "user.deactivated", ANN, sessions_ended=2)  # portal.open's and this browser's
    with portal.Session() as db:
        assert db.scalars(select(LoginSession).where(LoginSession.user_id == user_id)).all() == []

    assert ann.get("/api/me").status_code == 401  # the open session stops working at once
    assert ann.get(f"/api/tickets/{key}").status_code == 401
    refused = browser(portal, None).post("/api/session", json={"email": ANN, "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["detail"] == DEACTIVATED_MESSAGE
    form = browser(portal, None).post("/api/session", data={"email": ANN, "password": PASSWORD})
    assert form.status_code == 303 and "error=deactivated" in form.headers["location"]

    # Their request and comment stay, under their name.
    ticket = browser(portal, SAM).get(f"/api/tickets/{key}").json()
    assert ticket["requester"]["name"] == "Ann Acme"
    assert "Ann Acme" in [e["author"]["name"] for e in ticket["timeline"] if e["author"]]
    assert "Deactivated" in page_text(admin.get(here))

    admin.post(here, data={"action": "reactivate"})
    assert person(portal, ANN).deactivated_at is None
    assert_audited(portal, "user.reactivated", ANN)
    assert browser(portal, None).post("/api/session", json={"email": ANN, "password": PASSWORD}).status_code == 200


@pytest.mark.skipif(importlib.util.find_spec("kbgen.accounts.memberships") is None,
                    reason="kbgen.accounts.memberships (partners in several organizations) is not installed yet")
def test_partner_memberships_are_added_and_removed(portal):
    admin, known = browser(portal), ids(portal)
    here = service_page("admin_user", id=known[PAT])
    assert done(admin.post(here, data={"action": "add_membership", "organization": str(known["Globex"])}),
                "admin_user", id=known[PAT]) == "membership_added"
    with portal.Session() as db:
        assert db.scalars(select(Membership.organization_id).where(Membership.user_id == known[PAT])).all() \
            == [known["Globex"]]
    globex = page_text(admin.get(service_page("admin_organization", id=known["Globex"])))
    assert "Pat Partner" in globex and "also here" in globex
    admin.post(here, data={"action": "remove_membership", "organization": str(known["Globex"])})
    with portal.Session() as db:
        assert db.scalars(select(Membership).where(Membership.user_id == known[PAT])).all() == []


@pytest.mark.skipif(importlib.util.find_spec("kbgen.accounts.signup") is None,
                    reason="kbgen.accounts.signup (sign-up by domain) is not installed yet")
def test_a_sign_up_awaiting_approval_is_approved(portal):
    with portal.Session.begin() as db:
        db.scalars(select(User).where(User.email == BOB)).one().awaiting_approval = True
    admin, bob = browser(portal), ids(portal)[BOB]
    assert "Approve sign-up" in page_text(admin.get(service_page("admin_user", id=bob)))
    assert done(admin.post(service_page("admin_user", id=bob), data={"action": "approve"}), "admin_user",
                id=bob) == "approved"
    assert person(portal, BOB).awaiting_approval is False
    assert newest_event(portal).action == "signup.approved"


@pytest.mark.skipif(importlib.util.find_spec("kbgen.accounts.invitations") is None,
                    reason="kbgen.accounts.invitations is not installed yet")
def test_invitations_are_sent_listed_and_revoked(portal, smtp_server):
    admin, known = browser(portal), ids(portal)
    sent = admin.post(service_page("admin_invitations"),
                      data={"action": "invite", "email": "new@globex.example", "name": "New Person",
                            "organization": str(known["Globex"]), "role": str(Role.CUSTOMER)})
    assert done(sent, "admin_invitations") == "invited"
    listed = page_text(admin.get(service_page("admin_invitations")))
    assert "new@globex.example" in listed and "Globex" in listed and "Valid until" in listed
    assert newest_event(portal).action == "invitation.sent"
    invitation = re.search(r'name="invitation" value="(\d+)"', admin.get(service_page("admin_invitations")).text)
    assert done(admin.post(service_page("admin_invitations"), data={"action": "revoke",
                                                                     "invitation": invitation.group(1)}),
                "admin_invitations") == "revoked"
    assert "new@globex.example" not in page_text(admin.get(service_page("admin_invitations")))
    # Someone already in another organization cannot be invited: a clear message, nothing changes.
    before = rows(portal)
    again = admin.post(service_page("admin_invitations"),
                       data={"action": "invite", "email": GINA, "organization": str(known["Acme Telecom"]),
                             "role": str(Role.CUSTOMER)})
    assert again.status_code == 400 and GINA in page_text(again)
    assert rows(portal) == before


# -- refusals ---------------------------------------------------------------------------------------

# (page, whose id, form, what the message says)
REFUSALS = [
    ("admin_organization", "Globex", {"action": "add_domain", "domain": "ACME.example"},
     "acme.example already belongs to organization Acme Telecom"),
    ("admin_organization", "Globex", {"action": "add_domain", "domain": "not a domain"}, "is not a domain name"),
    ("admin_organization", "Globex", {"action": "add_domain", "domain": ""}, "domain: type the part"),
    ("admin_organization", "Globex", {"action": "add_domain", "domain": "x" * 254 + ".example"},
     "is not a domain name"),
    ("admin_organization", "Globex", {"action": "remove_domain", "domain": "acme.example"},
     "is not a domain of Globex"),
    ("admin_organization", "Globex", {"action": "rename", "name": "acme telecom"},
     "is the name of another organization"),
    ("admin_organization", "Globex", {"action": "rename", "name": "   "}, "organization name: give 1 to 200"),
    ("admin_organization", "Globex", {"action": "rename", "name": "G" * 201}, "organization name: give 1 to 200"),
    ("admin_organization", "Globex", {"action": "sign_up", "enabled": "on"}, "has no domain yet"),
    ("admin_organization", "Vendor Support", {"action": "deactivate"}, "is your own organization"),
    ("admin_organization", "Globex", {"action": "reactivate"}, "is active already"),
    ("admin_organization", "Globex", {"action": "explode"}, "is not something this page does"),
    ("admin_organizations", None, {"action": "create", "name": ""}, "organization name: give 1 to 200"),
    ("admin_organizations", None, {"action": "create", "name": "N" * 201}, "organization name: give 1 to 200"),
    ("admin_organizations", None, {"action": "create", "name": "GLOBEX"}, "already exists"),
    ("admin_user", ANN, {"action": "role", "role": "superuser"}, "role: 'superuser' is not a role"),
    ("admin_user", ANN, {"action": "role", "role": str(Role.CUSTOMER)}, "is already Customer"),
    ("admin_user", ADA, {"action": "role", "role": str(Role.AGENT)}, "you are the last active administrator"),
    ("admin_user", ADA, {"action": "deactivate"}, "You cannot deactivate your own account"),
    ("admin_user", ANN, {"action": "reactivate"}, "is active already"),
    ("admin_user", ANN, {"action": "move", "organization": "99999"}, "organization: choose one from the list"),
    ("admin_user", ANN, {"action": "move", "organization": "Acme"}, "organization: choose one from the list"),
    ("admin_user", ANN, {"action": "approve"}, "is not waiting for approval"),
    ("admin_user", ANN, {"name": "x"}, "action: '' is not something this page does"),
    ("admin_invitations", None, {"action": "invite", "email": "x@y.example", "role": str(Role.CUSTOMER)},
     "organization: choose the organization"),
    ("admin_invitations", None, {"action": "invite", "email": "x@y.example", "organization": "1", "role": "boss"},
     "role: 'boss' is not a role"),
]


@pytest.mark.parametrize("page, whose, form, message", REFUSALS, ids=[f"{r[0]}-{r[3][:30]}" for r in REFUSALS])
def test_a_refused_action_says_why_and_changes_nothing(shared, page, whose, form, message):
    admin = browser(shared)
    path = service_page(page, id=ids(shared)[whose]) if whose else service_page(page)
    before = rows(shared)
    response = admin.post(path, data=form)
    assert response.status_code == 400, (response.status_code, page_text(response)[-400:])
    errors = [html.unescape(m) for m in re.findall(r'role="alert">([^<]+)<', response.text)]
    assert any(message in e for e in errors), (message, errors)
    assert rows(shared) == before


def test_the_last_administrator_cannot_be_demoted_or_deactivated_by_anyone(shared):
    with shared.Session.begin() as db:
        db.add(User(organization=db.scalars(select(Organization).where(Organization.name == "Vendor Support")).one(),
                    email="former@vendor.example", role=str(Role.ADMIN), password_hash=password_hash(),
                    deactivated_at=db.scalar(select(Organization.created_at).limit(1))))
    from kbgen.accounts import AccountError, admin as accounts_admin

    with shared.Session() as db:
        ada = db.scalars(select(User).where(User.email == ADA)).one()
        with pytest.raises(AccountError, match="last active administrator"):
            accounts_admin.change_role(db, ada, str(Role.AGENT))
        with pytest.raises(AccountError, match="last active administrator"):
            accounts_admin.deactivate_user(db, ada)
        db.rollback()


def test_unknown_ids_are_404_pages_and_huge_ids_are_refused(shared):
    admin = browser(shared, quiet=True)
    before = rows(shared)
    for page in ("admin_organization", "admin_user"):
        for method in ("GET", "POST"):
            missing = admin.request(method, service_page(page, id=987654), data={"action": "deactivate"}
                                    if method == "POST" else None)
            assert missing.status_code == 404 and "There is no such" in page_text(missing)
            huge = admin.request(method, service_page(page, id=2 ** 70), data={"action": "deactivate"}
                                 if method == "POST" else None)
            assert huge.status_code == 422, huge.text
    assert rows(shared) == before


# -- who may -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", ROUTES)
def test_only_administrators_reach_an_admin_route(shared, method, path):
    url = fill(path, shared)
    form = {"action": "deactivate", "name": "Hacked", "role": str(Role.ADMIN), "domain": "evil.example"}
    clients = {who: browser(shared, who) for who in (ANN, PAT, SAM)}
    before = rows(shared)
    for who, client in clients.items():
        response = client.request(method, url, data=form if method == "POST" else None)
        assert response.status_code == 403, (who, response.status_code)
        assert "Only administrators can" in page_text(response)
    signed_out = browser(shared, None).request(method, url, data=form if method == "POST" else None)
    assert signed_out.status_code == 303
    location = signed_out.headers["location"]
    assert urlsplit(location).path == "/login/"
    if method == "GET":
        assert parse_qs(urlsplit(location).query)["next"] == [url]
    as_json = clients[SAM].request(method, url, headers={"Accept": "application/json"},
                                           data=form if method == "POST" else None)
    assert as_json.status_code == 403 and as_json.json()["detail"].startswith("Only administrators")
    assert rows(shared) == before


def test_a_cross_site_post_is_refused(shared):
    evil = browser(shared, origin="https://evil.example")
    bare = browser(shared, origin=None)  # neither Origin nor Referer, and no X-CSRF-Token
    before = rows(shared)
    response = evil.post(service_page("admin_organizations"), data={"action": "create", "name": "Forged"})
    assert response.status_code == 403 and "Cross-site request refused" in response.json()["detail"]
    assert bare.post(service_page("admin_user", id=ids(shared)[ANN]), data={"action": "deactivate"}).status_code == 403
    assert rows(shared) == before


# -- hostile input ---------------------------------------------------------------------------------


def _hostile_bodies():
    yield "NUL in a value", {"content": b"action=create&name=A%00B"}
    yield "NUL in a name", {"content": b"action=create&na%00me=A"}
    yield "lone surrogate bytes", {"content": b"action=create&name=%ED%A0%80"}
    yield "lone surrogate, multipart", {"files": {"name": (None, "\ud800".encode("utf-8", "surrogatepass"))},
                                        "data": {"action": "rename"}}
    yield "100 KB field", {"data": {"action": "rename", "name": "x" * 100_000, "domain": "y" * 100_000}}
    yield "repeated fields", {"content": b"action=deactivate&action=reactivate&name=A&name=B"}
    yield "huge id in a field", {"data": {"action": "move", "organization": str(2 ** 80), "invitation": "9" * 40}}
    yield "a file", {"files": {"name": ("x.txt", b"hello", "text/plain")}, "data": {"action": "rename"}}
    yield "JSON", {"json": {"action": "create", "name": "Json Org"}}
    yield "many fields", {"data": {f"f{i}": "1" for i in range(50)}}


HOSTILE = list(_hostile_bodies())


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("name, options", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_input_to_an_admin_form_is_refused_and_changes_nothing(shared, path, name, options):
    admin = browser(shared, quiet=True)
    before = rows(shared)
    options = dict(options)
    if "content" in options:
        options["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    response = admin.post(fill(path, shared), **options)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert rows(shared) == before


def test_a_burst_of_hostile_and_refused_posts_never_fails(shared):
    globex = service_page("admin_organization", id=ids(shared)["Globex"])
    cookies = dict(browser(shared).cookies)
    before = rows(shared)
    bodies = [{"action": "add_domain", "domain": "acme.example"}, {"action": "rename", "name": "a\x00b"},
              {"action": "rename", "name": "x" * 100_000}, {"action": "explode"}]
    with LiveServer(shared.app) as server, httpx.Client(base_url=server.url, cookies=cookies,
                                                        headers={"Origin": server.url}) as http:
        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(lambda i: http.post(globex, data=bodies[i % len(bodies)]).status_code,
                                     range(30)))
    assert all(400 <= s < 500 for s in statuses), statuses
    assert rows(shared) == before


# -- the audit log ---------------------------------------------------------------------------------


def test_the_audit_page_shows_filters_and_pages_the_log(portal):
    admin, known = browser(portal), ids(portal)
    admin.post(service_page("admin_user", id=known[BOB]), data={"action": "deactivate"})
    # A wrong password for an existing account shows up summarized.
    for _ in range(2):
        assert browser(portal, None).post("/api/session", json={"email": GINA, "password": "wrong password!"}
                                          ).status_code == 401
    shown = page_text(admin.get(service_page("admin_audit")))
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC " + re.escape(ADA) + r" User deactivated sessions ended: 0 "
                     + re.escape(BOB) + " Acme Telecom " + ADDRESS, shown), shown
    assert re.search(r"Failed sign-ins 2 failed sign-ins from \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC to \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC from " + ADDRESS + " " + GINA + " Globex",
                     shown), shown

    only = page_text(admin.get(service_page("admin_audit") + "?action=sign_in.failed"))
    assert GINA in only and BOB not in only
    by_email = page_text(admin.get(service_page("admin_audit") + f"?email={BOB}"))
    assert "User deactivated" in by_email and "Failed sign-ins 2" not in by_email
    by_org = page_text(admin.get(service_page("admin_audit") + f"?organization={known['Globex']}"))
    assert GINA in by_org and BOB not in by_org

    with portal.Session.begin() as db:
        for n in range(60):
            audit.record(db, "organization.renamed", target=f"Org {n}", old=f"Org {n - 1}", new=f"Org {n}")
    first = admin.get(service_page("admin_audit"))
    assert "to Org 59" in page_text(first) and "to Org 9 " not in page_text(first)
    older = re.search(r'href="([^"]*before=\d+[^"]*)">Older events', first.text)
    second = page_text(admin.get(html.unescape(older.group(1))))
    assert "to Org 9 " in second and "to Org 59" not in second and "User deactivated" in second
    bad = admin.get(service_page("admin_audit") + "?action=nope&before=x&organization=-1")
    assert bad.status_code == 200 and "action: choose one from the list" in page_text(bad)


def test_kbgen_audit_prints_the_log(portal, tmp_path):
    admin, known = browser(portal), ids(portal)
    admin.post(service_page("admin_user", id=known[ANN]), data={"action": "role", "role": str(Role.PARTNER)})
    admin.post(service_page("admin_organizations"), data={"action": "create", "name": "Initech"})
    env = {"KBGEN_DATABASE_URL": portal.settings.database_url, "KBGEN_DATA_DIR": str(tmp_path / "cli-data"),
           "KBGEN_SECRET_KEY": "test-secret"}

    shown = run_kbgen("audit", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert re.fullmatch(r"\S+Z  ada@vendor\.example  Organization created  Initech  Initech  " + ADDRESS, lines[0])
    assert re.fullmatch(r"\S+Z  ada@vendor\.example  Role changed  ann@acme\.example  Acme Telecom  " + ADDRESS
                        + "  from Customer to Partner", lines[1])

    only = run_kbgen("audit", "--action", "user.role_changed", "--org", "acme telecom", "--email", ANN, "--json",
                     "--limit", "5", cwd=tmp_path, env=env)
    assert only.returncode == 0, only.stderr
    [event] = [json.loads(line) for line in only.stdout.splitlines()]
    assert {k: event[k] for k in ("actor", "action", "target", "organization", "client")} == {
        "actor": ADA, "action": "user.role_changed", "target": ANN, "organization": "Acme Telecom", "client": ADDRESS}
    assert event["details"] == {"old": "Customer", "new": "Partner"}

    wrong = run_kbgen("audit", "--action", "nope", cwd=tmp_path, env=env)
    assert wrong.returncode == 2 and "kbgen audit --help-actions" in wrong.stderr
    nobody = run_kbgen("audit", "--org", "Nowhere", cwd=tmp_path, env=env)
    assert nobody.returncode == 1 and "organization 'Nowhere' does not exist" in nobody.stderr
