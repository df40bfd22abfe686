"""An agent works the queue in a real Chromium while the customer's request page is open in another
browser (issue 11): the agent opens the request from the Unassigned queue, assigns it to themselves,
raises its priority, answers with a saved reply and resolves it; the customer's open page shows each
change without a reload, and the queues' counts follow. SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest

from conftest import LiveServer, project_settings
from kbgen.web.app import create_app
from test_browser_tickets import sign_in
from test_tickets_support import ANN, PASSWORD, add_people, SAM, xcally

pytestmark = pytest.mark.browser
WAIT_MS = 10_000


@pytest.fixture
def portal(built_project, database_url):
    app = create_app(project_settings(built_project, database_url), send_mail=False)
    with app.state.sessionmaker.begin() as db:
        add_people(db)
    with LiveServer(app) as server:
        yield server
    app.state.engine.dispose()


def test_an_agent_works_the_queue_while_the_customer_watches(portal, chromium):
    import httpx
    from playwright.sync_api import expect

    with httpx.Client(base_url=portal.url) as client:
        client.post("/api/session", json={"email": ANN, "password": PASSWORD}).raise_for_status()
        key = client.post("/api/tickets", json=xcally("Calls drop when transferred", priority="low"), headers={
            "X-CSRF-Token": client.cookies.get("kbgen_csrf"), "Origin": portal.url}).json()["key"]

    customer_context, agent_context = chromium.new_context(), chromium.new_context()
    try:
        customer = customer_context.new_page()
        sign_in(customer, portal, ANN, start=f"/requests/{key}/")
        expect(customer.locator("[data-kbgen-key]")).to_have_text(key)
        customer.evaluate("window.kbgenSamePage = true")  # a reload would forget it
        expect(customer.locator("[data-kbgen-promise]")).to_contain_text("We aim to reply within 16 business hours")

        agent = agent_context.new_page()
        sign_in(agent, portal, SAM, start="/requests/")
        unassigned = agent.locator('[data-kbgen-views] a[data-view="unassigned"]')
        expect(unassigned.locator("[data-kbgen-view-count]")).to_have_text("(1)", timeout=WAIT_MS)
        unassigned.click()
        agent.wait_for_url(re.compile(r".*\?view=unassigned"))
        expect(unassigned).to_have_attribute("aria-current", "page")
        agent.get_by_role("link", name=key).click()
        agent.wait_for_url(f"**/requests/{key}/")

        # Assign to self, then raise the priority: the customer's page shows the new priority live.
        agent.locator("[data-kbgen-assign] select").select_option(label="Sam Agent <sam@vendor.example>")
        agent.get_by_role("button", name="Assign").click()
        expect(agent.locator("[data-kbgen-facts]")).to_contain_text("Sam Agent")
        agent.locator("[data-kbgen-priority] select").select_option("high")
        agent.get_by_role("button", name="Change priority").click()
        expect(customer.locator("[data-kbgen-facts]")).to_contain_text("High", timeout=WAIT_MS)
        expect(customer.locator("[data-kbgen-promise]")).to_contain_text("We aim to reply within 4 business hours")

        # Answer with a saved reply.
        agent.get_by_label("Insert a saved reply").select_option(index=1)
        agent.get_by_role("button", name="Insert reply").click()
        reply = agent.locator("#kbgen-comment-text")
        expect(reply).not_to_have_value("")
        sent = reply.input_value()
        agent.locator("[data-kbgen-comment] button[type=submit]").click()
        first_line = next(line for line in sent.splitlines() if line.strip()).strip("*_ ")[:30]
        expect(customer.locator("[data-kbgen-timeline]")).to_contain_text(first_line, timeout=WAIT_MS)

        # Resolve: the customer sees it and may confirm or reopen; the agent's queues count nothing open.
        agent.get_by_role("button", name="Move to Resolved").click()
        expect(customer.locator("[data-kbgen-status]").first).to_have_text("Resolved", timeout=WAIT_MS)
        expect(customer.get_by_role("button", name="Confirm the fix")).to_be_visible()
        assert customer.evaluate("window.kbgenSamePage") is True  # all of it without a reload
        agent.goto(portal.url + "/requests/?view=open")
        expect(agent.locator('[data-kbgen-views] a[data-view="open"] [data-kbgen-view-count]')).to_have_text(
            "(0)", timeout=WAIT_MS)
    finally:
        customer_context.close()
        agent_context.close()
