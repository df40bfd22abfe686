"""Saved replies and article links in a real Chromium, on the really built demo portal.

An agent on a ticket page inserts a saved reply and a link to a Knowledge Base article into the
comment box with the keyboard only, around what they had typed, and sends it; a customer's ticket
page has no reply tools.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import LiveServer, axe_problems, project_settings
from kbgen import accounts
from kbgen.accounts import User
from kbgen.tickets.keys import page_url
from kbgen.web.app import create_app
from test_tickets_support import ANN, add_people, SAM, xcally

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def portal(built_project, tmp_path_factory):
    database = tmp_path_factory.mktemp("db") / "kbgen.db"
    app = create_app(project_settings(built_project, f"sqlite:///{database}"), send_mail=False)
    with app.state.sessionmaker.begin() as db:
        add_people(db)
    with LiveServer(app) as server:
        server.app = app
        client = TestClient(app, base_url=server.url, headers={"Origin": server.url})
        cookies = signed_in(server, ANN)
        client.cookies.set(accounts.SESSION_COOKIE, cookies[accounts.SESSION_COOKIE])
        client.cookies.set(accounts.CSRF_COOKIE, cookies[accounts.CSRF_COOKIE])
        opened = client.post("/api/tickets", json=xcally("Queue calls drop after the IVR"))
        assert opened.status_code == 201, opened.text
        server.key = opened.json()["key"]
        yield server
    app.state.engine.dispose()


def signed_in(server, email: str) -> dict[str, str]:
    with server.app.state.sessionmaker.begin() as db:
        user = db.query(User).filter(User.email == email).one()
        token, login = accounts.open_session(db, user)
    return {accounts.SESSION_COOKIE: token, accounts.CSRF_COOKIE: login.csrf_token}


def open_ticket(page, server, email: str) -> None:
    page.context.add_cookies([{"name": name, "value": value, "url": server.url}
                              for name, value in signed_in(server, email).items()])
    page.goto(f"{server.url}/{page_url(server.key)}")
    page.locator("[data-kbgen-key]").filter(has_text=server.key).wait_for()


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName + ':' + "
                         "(document.activeElement.textContent || '').trim()")


def tab_to(page, wanted: str, key: str = "Tab", most: int = 12) -> None:
    """Press Tab (or Shift+Tab) until the element `wanted` (an id, or 'BUTTON:Send') has the focus."""
    for _ in range(most):
        if focused(page) == wanted:
            return
        page.keyboard.press(key)
    assert focused(page) == wanted


def value(page) -> str:
    return page.locator("#kbgen-comment-text").input_value()


def test_an_agent_inserts_a_saved_reply_and_an_article_link_by_keyboard_and_sends_them(page, portal):
    from playwright.sync_api import expect

    SHOTS.mkdir(exist_ok=True)
    opened: list = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    open_ticket(page, portal, SAM)
    tools = page.locator("[data-kbgen-reply-tools]")
    expect(tools).to_have_count(1)
    replies = page.get_by_label("Insert a saved reply")
    expect(replies).to_be_enabled()
    # The request's product first: the XCALLY replies, then those for every product.
    groups = replies.locator("optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups[0] == "For XCALLY" and groups[1] == "For every product"

    page.focus("#kbgen-comment-text")
    page.keyboard.type("Thanks for the details.")
    tab_to(page, "kbgen-reply-select", "Shift+Tab")
    page.keyboard.press("ArrowDown")  # the first reply: the product's own
    expect(replies).not_to_have_value("")
    tab_to(page, "BUTTON:Insert reply")
    page.keyboard.press("Enter")
    assert focused(page) == "kbgen-comment-text"
    text = value(page)
    assert text.startswith("Thanks for the details.\n\nHello Ann Acme,\n")
    assert f"attach the `xcally-support-*.tar.gz` file to {portal.key} with:" in text and text.endswith("Sam Agent")
    assert "{" not in text.replace("${", "")

    page.keyboard.press("Control+Home")
    page.keyboard.press("End")  # the cursor after the first sentence, before the reply
    page.keyboard.type(" This may help:")
    tab_to(page, "kbgen-article-search", "Shift+Tab")
    page.keyboard.type("music on hold")
    listbox = page.get_by_role("listbox", name="Articles")
    expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    expect(options.first).to_have_attribute("aria-selected", "true")
    page.set_viewport_size({"width": 1280, "height": 900})
    tools.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "replies-1280.png"))
    assert axe_problems(page, within="[data-kbgen-comment]") == []
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    page.keyboard.press("ArrowDown")  # opens the list again
    expect(options.first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    title = options.first.locator(".kbgen-article-list__title").text_content()
    page.keyboard.press("Enter")
    assert focused(page) == "kbgen-comment-text"
    expect(listbox).to_be_hidden()
    link = f"[{title}]({portal.url}/kb/xcally/how-to/configure-music-on-hold/"
    text = value(page)
    assert text.startswith(f"Thanks for the details. This may help: {link}")
    assert "\n\nHello Ann Acme,\n" in text and opened == []

    page.set_viewport_size({"width": 390, "height": 844})
    tools.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "replies-390.png"))
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('[data-kbgen-comment] *'))
        .filter(n => n.getBoundingClientRect().right > document.documentElement.clientWidth)
        .map(n => n.tagName + '.' + n.className)""")
    assert wide == []  # nothing of the comment form reaches past the screen's edge

    page.focus("#kbgen-comment-text")
    tab_to(page, "BUTTON:Send")
    page.keyboard.press("Enter")
    timeline = page.locator("[data-kbgen-timeline]")
    expect(timeline).to_contain_text("Hello Ann Acme,")
    sent = timeline.get_by_role("link", name=title)
    expect(sent).to_have_attribute("href", re.compile(re.escape(f"{portal.url}/kb/xcally/how-to/configure-music-on-hold/")))
    expect(page.locator("#kbgen-comment-text")).to_have_value("")
    expect(tools).to_have_count(1)  # the page rendered again: the tools are not added twice
    assert opened == []


def test_a_customers_ticket_page_has_no_reply_tools(page, portal):
    from playwright.sync_api import expect

    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    open_ticket(page, portal, ANN)
    expect(page.locator("[data-kbgen-comment]")).to_be_visible()
    expect(page.locator("[data-kbgen-reply-tools]")).to_have_count(0)
    expect(page.get_by_label("Insert a saved reply")).to_have_count(0)
    assert not [url for url in asked if "/api/replies" in url]
    assert axe_problems(page, within="[data-kbgen-comment]") == []
