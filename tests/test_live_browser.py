"""Live updates in a real Chromium: a customer's open ticket page and requests list follow what the
support team does elsewhere, without a reload and without losing the reply being typed."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from conftest import LiveServer, project_settings
from kbgen import accounts
from kbgen.accounts import User
from kbgen.web.app import create_app
from test_browser_tickets import sign_in
from test_tickets_support import ANN, BOB, add_people, SAM, xcally

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("KBGEN_SHOTS", "/tmp/shots"))
WAIT_MS = 10_000  # a change reaches the page within about a second; this is the test's patience


@pytest.fixture(scope="module")
def portal(built_project, tmp_path_factory):
    database = tmp_path_factory.mktemp("db") / "kbgen.db"
    app = create_app(project_settings(built_project, f"sqlite:///{database}"), send_mail=False)
    with app.state.sessionmaker.begin() as db:
        add_people(db)
    with LiveServer(app) as server:
        server.app = app
        yield server
    app.state.engine.dispose()


def api(portal, email: str) -> TestClient:
    """Another client of the service (the support team's browser, a script): the API, signed in as `email`."""
    with portal.app.state.sessionmaker.begin() as db:
        token, login = accounts.open_session(db, db.scalars(select(User).where(User.email == email)).one())
    client = TestClient(portal.app, base_url=portal.url,
                        headers={"Origin": portal.url, "X-CSRF-Token": login.csrf_token})
    client.cookies.set(accounts.SESSION_COOKIE, token)
    return client


def test_the_ticket_page_shows_the_agents_reply_and_move_without_a_reload(page, portal):
    from playwright.sync_api import expect

    key = api(portal, ANN).post("/api/tickets", json=xcally("Calls drop when transferred to a queue")).json()["key"]
    sign_in(page, portal, ANN, start=f"/requests/{key}/")
    expect(page.locator("[data-kbgen-key]")).to_have_text(key)
    page.evaluate("window.kbgenSamePage = true")  # a reload would forget it
    reply = page.locator("#kbgen-comment-text")
    reply.fill("The drops happen on trunk 2, and")  # half written when the agent answers

    sam = api(portal, SAM)
    answer = sam.post(f"/api/tickets/{key}/comments", json={"text": "Which **trunk** drops the calls?"})
    assert answer.status_code == 201
    assert sam.post(f"/api/tickets/{key}/transitions", json={"to": "Waiting for customer"}).status_code == 200

    expect(page.locator("[data-kbgen-timeline]")).to_contain_text("Which trunk drops the calls?", timeout=WAIT_MS)
    expect(page.locator("[data-kbgen-status]")).to_have_text("Waiting for customer", timeout=WAIT_MS)
    expect(page.locator("[data-kbgen-live-status]")).to_have_text("Updated just now.", timeout=WAIT_MS)
    assert page.locator("[data-kbgen-live-status]").get_attribute("role") == "status"
    # The same page, not a reload, and the reply being typed is still there, still being typed.
    assert page.evaluate("window.kbgenSamePage") is True
    assert reply.input_value() == "The drops happen on trunk 2, and"
    assert page.evaluate("document.activeElement.id") == "kbgen-comment-text"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "live-ticket-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "live-ticket-390.png"), full_page=True)

    # The customer's own reply goes out and the page shows it once, as before.
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("[data-kbgen-timeline] .kbgen-entry--comment")).to_have_count(2, timeout=WAIT_MS)
    page.goto("about:blank")  # pagehide closes the stream


def test_the_requests_list_follows_new_and_changed_requests(page, portal):
    from playwright.sync_api import expect

    ann = api(portal, ANN)
    key = ann.post("/api/tickets", json=xcally("The wallboard freezes")).json()["key"]
    sign_in(page, portal, ANN, start="/requests/")
    row = page.locator(f'tr[data-key="{key}"]')
    expect(row).to_contain_text("Waiting for Support")

    assert api(portal, SAM).post(f"/api/tickets/{key}/transitions", json={"to": "In progress"}).status_code == 200
    expect(row).to_contain_text("In progress", timeout=WAIT_MS)
    colleague = api(portal, BOB).post("/api/tickets", json=xcally("Recordings are silent")).json()["key"]
    expect(page.locator(f'tr[data-key="{colleague}"]')).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("[data-kbgen-live-status]")).to_have_text("The list was updated just now.")
    page.goto("about:blank")
