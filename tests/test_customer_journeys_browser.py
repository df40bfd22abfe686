"""Customers' journeys in a real Chromium over the really built portal (issue 12): a signed-out visitor is
told before typing that sending needs an account and finds what they typed after signing in; a colleague
confirms a fix after being asked, and the page keeps the focus where the action was."""
from __future__ import annotations

import re

import pytest

from conftest import LiveServer, axe_problems, project_settings
from kbgen.web.app import create_app
from test_tickets_support import ANN, BOB, PASSWORD, add_people, SAM

pytestmark = pytest.mark.browser

FORM = "/support/xplany/technical-issue/"


@pytest.fixture
def portal(built_project, database_url):
    app = create_app(project_settings(built_project, database_url))
    with app.state.sessionmaker.begin() as db:
        add_people(db)
    with LiveServer(app) as server:
        yield server
    app.state.engine.dispose()


def sign_in(page, email: str) -> None:
    page.fill("#kbgen-login-email", email)
    page.fill("#kbgen-login-password", PASSWORD)
    page.click("form[data-kbgen-login] button")


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_signed_out_visitor_is_told_first_and_keeps_what_they_typed(page, portal, size):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(portal.url + FORM)
    note = page.locator("[data-kbgen-signin-note]")
    expect(note).to_be_visible()
    expect(note).to_contain_text("You need to sign in to send a request")
    assert axe_problems(page, within="form[data-kbgen-form]") == []
    page.fill("#kbf-summary", "Adherence shows everyone offline")
    page.fill("#kbf-description", "Since the upgrade every agent shows as offline in adherence.")
    page.fill("#kbf-xplany_version", "2.8.1")
    page.select_option("#kbf-module", "scheduling")
    page.select_option("#kbf-deployment", "cloud")
    page.get_by_role("button", name="Send request").click()
    page.get_by_role("link", name="Please sign in").click()
    page.wait_for_url(re.compile(r".*/login/\?next="))
    sign_in(page, ANN)
    page.wait_for_url(portal.url + FORM)
    # Back on the form, signed in: what was typed is there, and the note is gone.
    expect(page.locator("#kbf-summary")).to_have_value("Adherence shows everyone offline")
    expect(page.locator("#kbf-module")).to_have_value("scheduling")
    expect(note).to_be_hidden()
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r".*/requests/XP-\d+/$"))
    expect(page.locator("[data-kbgen-summary]")).to_have_text("Adherence shows everyone offline")
    # Sent: the draft is gone, the next form starts empty.
    page.goto(portal.url + FORM)
    expect(page.locator("#kbf-summary")).to_have_value("")


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_colleague_confirms_the_fix_after_being_asked_and_focus_stays_put(page, portal, chromium, size):
    import httpx
    from playwright.sync_api import expect

    with httpx.Client(base_url=portal.url) as api:
        assert api.post("/api/session", json={"email": ANN, "password": PASSWORD}).status_code == 200
        key = api.post("/api/tickets", json={
            "product": "xplany", "request_type": "technical-issue", "priority": "medium",
            "fields": {"summary": "Schedule does not load", "description": "The weekly schedule never finishes loading.",
                       "xplany_version": "2.8.1", "module": "scheduling", "deployment": "cloud"}},
            headers={"X-CSRF-Token": api.cookies.get("kbgen_csrf"), "Origin": portal.url}).json()["key"]
    with httpx.Client(base_url=portal.url) as agent:
        agent.post("/api/session", json={"email": SAM, "password": PASSWORD})
        moved = agent.post(f"/api/tickets/{key}/transitions", json={"to": "Resolved"},
                           headers={"X-CSRF-Token": agent.cookies.get("kbgen_csrf"), "Origin": portal.url})
        assert moved.status_code == 200, moved.text

    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(portal.url + "/login/")
    sign_in(page, BOB)
    page.wait_for_url(portal.url + "/")
    page.goto(f"{portal.url}/requests/{key}/")
    confirm = page.get_by_role("button", name="Confirm the fix")
    expect(page.get_by_text("Closes by itself on")).to_be_visible()
    # The main action is on the first screen, above the conversation, at either size.
    box = confirm.bounding_box()
    assert box is not None and box["y"] + box["height"] <= size[1] * 1.5, box
    confirm.focus()
    page.keyboard.press("Enter")
    yes = page.get_by_role("button", name="Yes, close it for good")
    expect(yes).to_be_focused()  # asked in the page, focus on the answer
    page.keyboard.press("Enter")
    expect(page.locator("[data-kbgen-status]").first).to_have_text("Closed")
    expect(page.locator("[data-kbgen-facts]")).to_contain_text("Confirmed by Bob Acme")
    expect(page.locator("[data-kbgen-status-meaning]")).to_have_text("Bob Acme confirmed the fix; no more action.")
    focused = page.evaluate("document.activeElement && document.activeElement.hasAttribute('data-kbgen-status')")
    assert focused, "focus went back to the top of the page"
