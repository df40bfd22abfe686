"""Requests in a real Chromium against `kbgen serve`'s app over the really built portal.

A customer opens an XCALLY request through its form and lands on the ticket page;
an agent and a customer then talk on the ticket page, and the emails reach a real
SMTP server.
"""
from __future__ import annotations

import re

import pytest

from conftest import LiveServer, SmtpSink, project_settings
from kbgen.web.app import create_app
from test_tickets_support import ANN, GINA, PASSWORD, add_people, SAM

pytestmark = pytest.mark.browser

TEAM = "team@vendor.example"


@pytest.fixture(scope="module")
def portal(built_project, tmp_path_factory):

    smtp = SmtpSink().start()
    database = tmp_path_factory.mktemp("db") / "kbgen.db"
    settings = project_settings(built_project, f"sqlite:///{database}", smtp_url=smtp.url,
                                support_team_email=TEAM, mail_from="portal@vendor.example",
                                notify_burst_seconds=0)  # each email at once: bursts are test_notification_bursts.py's
    app = create_app(settings)
    with app.state.sessionmaker.begin() as db:
        add_people(db)
    with LiveServer(app) as server:
        server.smtp = smtp
        yield server
    smtp.stop()
    app.state.engine.dispose()


def sign_in(page, portal, email: str, start: str = "/requests/") -> None:
    """Through the portal's own pages: the requests page asks to sign in and comes back."""
    page.goto(portal.url + start)
    page.get_by_role("link", name="Sign in", exact=True).last.click()
    page.wait_for_url(re.compile(r".*/login/\?next="))
    page.fill("#kbgen-login-email", email)
    page.fill("#kbgen-login-password", PASSWORD)
    page.click("form[data-kbgen-login] button")
    page.wait_for_url(portal.url + start)


def no_dialogs(page) -> list:
    """Every alert() a script manages to run; a test asserts it stays empty."""
    opened: list = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    return opened


def test_a_customer_fixes_a_field_error_and_lands_on_the_new_ticket_page(page, portal):
    from playwright.sync_api import expect

    sign_in(page, portal, ANN)
    page.get_by_role("link", name="Open a new request").click()
    page.goto(portal.url + "/support/xcally/technical-issue/")
    page.fill("#kbf-summary", "Inbound calls are not distributed")
    page.fill("#kbf-description", "Since 9:00 no call of the Sales queue reaches an agent.")
    page.fill("#kbf-motion_version", "the latest one")  # not a version number
    page.select_option("#kbf-deployment", "on-premise")
    page.check("#kbf-channels-0")
    page.select_option("#kbf-affected_users", "all")
    page.select_option("#kbf-server_access", "no")
    page.select_option("#kbf-priority", "high")
    page.get_by_role("button", name="Send request").click()

    error = page.locator("#kbf-motion_version-error")
    expect(error).to_have_text("Write a version number like 3.41.2.")
    assert page.locator("#kbf-summary").input_value() == "Inbound calls are not distributed"

    page.fill("#kbf-motion_version", "3.41.2")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r".*/requests/XC-\d+/$"))
    key = page.url.rstrip("/").rsplit("/", 1)[-1]

    expect(page.locator("[data-kbgen-key]")).to_have_text(key)
    expect(page.locator("[data-kbgen-summary]")).to_have_text("Inbound calls are not distributed")
    expect(page.locator("[data-kbgen-status]")).to_have_text("Waiting for Support")
    fields = page.locator("[data-kbgen-fields]")
    expect(fields).to_contain_text("XCALLY Motion version")
    expect(fields).to_contain_text("On our servers (on premise)")
    expect(page.locator("[data-kbgen-facts]")).to_contain_text("Ann Acme")

    page.goto(portal.url + "/requests/")
    expect(page.locator(f'[data-kbgen-table] tr[data-key="{key}"]')).to_contain_text("Waiting for Support")


def test_an_agent_asks_the_customer_replies_and_the_ticket_goes_back_to_support(chromium, portal):
    from playwright.sync_api import expect

    smtp = portal.smtp
    agent_context = chromium.new_context()
    customer_context = chromium.new_context()
    try:
        customer = customer_context.new_page()
        alerts = no_dialogs(customer)
        sign_in(customer, portal, ANN)
        csrf = next(c["value"] for c in customer_context.cookies() if c["name"] == "kbgen_csrf")
        created = customer.request.post(portal.url + "/api/tickets", headers={"X-CSRF-Token": csrf}, data={
            "product": "xcally", "request_type": "technical-issue", "priority": "medium",
            "fields": {"summary": "Calls drop after 30 seconds", "description": "Every inbound call drops.",
                       "motion_version": "3.41.2", "deployment": "cloud", "affected_users": "some",
                       "server_access": "no"}})
        key = created.json()["key"]
        smtp.wait_for(2)  # the receipt and the team's notice
        before = len(smtp.messages)

        agent = agent_context.new_page()
        agent_alerts = no_dialogs(agent)
        sign_in(agent, portal, SAM)
        agent.get_by_role("link", name=key, exact=True).click()
        agent.wait_for_url(f"**/requests/{key}/")
        agent.get_by_role("button", name="Move to Waiting for customer").click()
        expect(agent.locator("[data-kbgen-status]")).to_have_text("Waiting for customer")
        agent.fill("#kbgen-comment-text", "Which trunk do the calls use? <script>alert('agent')</script>")
        agent.get_by_role("button", name="Send").click()
        expect(agent.locator("[data-kbgen-timeline]")).to_contain_text("Which trunk do the calls use?")
        agent.check('input[name="internal"]')
        agent.fill("#kbgen-comment-text", "Customer is on the Premium plan.")
        agent.get_by_role("button", name="Send").click()
        expect(agent.locator("[data-kbgen-timeline] .kbgen-entry--note")).to_contain_text("Premium plan")

        customer.goto(f"{portal.url}/requests/{key}/")
        expect(customer.locator("[data-kbgen-status]")).to_have_text("Waiting for customer")
        timeline = customer.locator("[data-kbgen-timeline]")
        expect(timeline).to_contain_text("Which trunk do the calls use? <script>alert('agent')</script>")
        expect(timeline).not_to_contain_text("Premium plan")
        expect(customer.locator('input[name="internal"]')).to_be_hidden()
        customer.fill("#kbgen-comment-text", "Trunk 2, the **SIP** one.")
        customer.get_by_role("button", name="Send").click()
        expect(customer.locator("[data-kbgen-status]")).to_have_text("Waiting for Support")
        expect(timeline.locator("strong", has_text="SIP")).to_be_visible()
        assert alerts == [] and agent_alerts == []

        delivered = smtp.wait_for(before + 3)[before:]
        to_customer = [m for m in delivered if m["X-Rcpt-To"] == ANN]
        to_team = [m for m in delivered if m["X-Rcpt-To"] == TEAM]
        assert any(m["Subject"] == f"[{key}] New reply: Calls drop after 30 seconds" for m in to_customer)
        assert any(m["Subject"] == f"[{key}] Customer comment: Calls drop after 30 seconds" for m in to_team)
        assert "Which trunk do the calls use?" in next(
            m for m in to_customer if "New reply" in m["Subject"]).get_body(("plain",)).get_content()
        assert not any("Premium plan" in m.as_string() for m in smtp.messages)
    finally:
        agent_context.close()
        customer_context.close()


def test_another_organizations_ticket_page_shows_nothing_of_it(chromium, page, portal):
    from playwright.sync_api import expect

    acme = chromium.new_context()
    try:
        acme.request.post(portal.url + "/api/session", data={"email": ANN, "password": PASSWORD},
                          headers={"Origin": portal.url})
        csrf = next(c["value"] for c in acme.cookies() if c["name"] == "kbgen_csrf")
        key = acme.request.post(portal.url + "/api/tickets", headers={"X-CSRF-Token": csrf}, data={
            "product": "xcally", "request_type": "technical-issue", "priority": "low",
            "fields": {"summary": "Acme private matter", "description": "Only Acme may read this request.",
                       "motion_version": "3.41.2", "deployment": "cloud", "affected_users": "one",
                       "server_access": "no"}}).json()["key"]
    finally:
        acme.close()

    sign_in(page, portal, GINA)
    expect(page.locator("[data-kbgen-count]")).to_have_text("No requests yet.")
    page.goto(f"{portal.url}/requests/{key}/")
    expect(page.locator("[data-kbgen-error]")).to_have_text(re.compile(f"No request {key} here"))
    expect(page.locator("[data-kbgen-requests=ticket]")).to_be_hidden()
    assert "Acme private matter" not in page.content()
