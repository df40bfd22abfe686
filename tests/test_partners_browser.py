"""A partner of two customer organizations in a real Chromium, over the really built portal: opens a
request for each through the form (picking the organization) and sees both on the requests page,
on SQLite and PostgreSQL. Without JavaScript the form has no choice to make and the request goes to
the partner's own organization (tested in test_partners.py)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from conftest import LiveServer, axe_problems, project_settings
from kbgen import accounts
from kbgen.accounts import Organization, User
from kbgen.tickets import Ticket
from kbgen.web.app import create_app
from test_tickets_support import PASSWORD

pytestmark = pytest.mark.browser

NORA = "nora@northwind.example"


@pytest.fixture
def portal(built_project, database_url):
    app = create_app(project_settings(built_project, database_url))
    with app.state.sessionmaker.begin() as db:
        for name in ("Northwind Integrators", "Acme Telecom", "Globex", "Initech"):
            db.add(Organization(name=name))
        db.flush()
        nora = accounts.add_user(db, organization="Northwind Integrators", email=NORA, role="partner",
                                 password=PASSWORD, name="Nora Lind")
        for name in ("Acme Telecom", "Globex"):
            accounts.add_membership(db, nora, accounts.find_organization(db, name))
    with LiveServer(app) as server:
        server.app = app
        yield server
    app.state.engine.dispose()


def open_request(page, portal, organization: str, summary: str) -> str:
    page.goto(portal.url + "/support/xplany/technical-issue/")
    choice = page.get_by_label("Organization")
    choice.wait_for()
    assert [o.strip() for o in choice.locator("option").all_inner_texts()] == \
        ["Choose…", "Northwind Integrators", "Acme Telecom", "Globex"]
    choice.select_option(label=organization)
    page.fill("#kbf-summary", summary)
    page.fill("#kbf-description", "Every agent shows as out of schedule since the upgrade.")
    page.fill("#kbf-xplany_version", "2.8.1")
    page.select_option("#kbf-module", "scheduling")
    page.select_option("#kbf-deployment", "cloud")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r".*/requests/XP-\d+/$"))
    return page.url.rstrip("/").rsplit("/", 1)[1]


def test_a_partner_opens_a_request_for_each_organization_and_sees_both(page, portal):
    from playwright.sync_api import expect

    page.goto(portal.url + "/login/")
    page.fill("#kbgen-login-email", NORA)
    page.fill("#kbgen-login-password", PASSWORD)
    page.click("form[data-kbgen-login] button")
    page.wait_for_url(portal.url + "/")

    # The form with its organization choice passes axe (the site's header is issue 12's).
    page.goto(portal.url + "/support/xplany/technical-issue/")
    page.get_by_label("Organization").wait_for()
    assert axe_problems(page, within="form[data-kbgen-form]") == []

    acme = open_request(page, portal, "Acme Telecom", "Acme's adherence report is empty")
    globex = open_request(page, portal, "Globex", "Globex's schedule does not load")
    with portal.app.state.sessionmaker() as db:
        owners = dict(db.execute(select(Ticket.key, Organization.name).join(Organization)).all())
    assert owners == {acme: "Acme Telecom", globex: "Globex"}

    page.goto(portal.url + "/requests/")
    rows = page.locator("[data-kbgen-table] tbody tr")
    expect(rows).to_have_count(2)
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.key)")) == {acme, globex}
    expect(page.locator("[data-kbgen-table]")).to_contain_text("Acme Telecom")
    expect(page.locator("[data-kbgen-table]")).to_contain_text("Globex")
    expect(page.locator("[data-kbgen-org]")).to_have_text("Northwind Integrators, Acme Telecom, Globex")
