"""The Content-Security-Policy in a real Chromium: every kind of page of the built demo, served by
the real app, works under it with no violation, and loads nothing from another host.

A `securitypolicyviolation` listener is installed in every document before the page's own
scripts run; each page is then used for what it is for (search, sign in, send a form, read a
ticket as customer and as agent), so a script the policy blocked would show as a broken page
and as a recorded violation.
"""
from __future__ import annotations

import re

import pytest

from conftest import project_settings, serve_with_customer
from kbgen import accounts
from kbgen.web.app import create_app

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
CUSTOMER = "ann@acme.example"
AGENT = "sam@vendor.example"
RECORD = """
document.addEventListener("securitypolicyviolation", (e) => window.kbgenViolation({
  page: location.pathname, directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
  line: e.lineNumber}));
"""


@pytest.fixture(scope="module")
def portal(built_project, tmp_path_factory):
    settings = project_settings(built_project, f"sqlite:///{tmp_path_factory.mktemp('db') / 'kbgen.db'}")
    app = create_app(settings)
    with app.state.sessionmaker.begin() as db:
        accounts.add_organization(db, "Vendor")
        accounts.add_user(db, organization="Vendor", email=AGENT, role="agent", password=PASSWORD, name="Sam Agent")
    with serve_with_customer(app, "Acme Telecom", CUSTOMER, PASSWORD, "Ann Acme") as server:
        yield server


class Watched:
    """A browser context that records every policy violation, script error and request host."""

    def __init__(self, chromium, base_url: str) -> None:
        self.context = chromium.new_context(viewport={"width": 1280, "height": 900})
        self.violations: list[dict] = []
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.context.expose_function("kbgenViolation", lambda violation: self.violations.append(violation))
        self.context.add_init_script(RECORD)
        self.context.on("request", lambda request: self.hosts.add(request.url.split("/")[2]))
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.base_url = base_url

    def go(self, path: str):
        response = self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("load")
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path  # the page works under it
        assert self.page.evaluate("typeof __md_get") == "function", path  # the theme's inline script ran
        return response

    def sign_in(self, email: str, then: str) -> None:
        self.go(f"/login/?next={then}")
        self.page.fill("#kbgen-login-email", email)
        self.page.fill("#kbgen-login-password", PASSWORD)
        self.page.click("form[data-kbgen-login] button")
        self.page.wait_for_url(self.base_url + then)

    def settle(self) -> None:
        self.page.wait_for_timeout(300)  # violation reports reach Python asynchronously


@pytest.fixture
def watched(chromium, portal):
    opened = []

    def open_one() -> Watched:
        opened.append(Watched(chromium, portal.url))
        return opened[-1]

    yield open_one
    for one in opened:
        one.context.close()


def test_the_browser_enforces_the_policy_and_the_listener_hears_it(watched):
    customer = watched()
    response = customer.go("/")
    assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
    ran = customer.page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.head.appendChild(script);
        return window.injected === true;
    }""")
    customer.settle()
    assert ran is False
    assert [(v["page"], v["directive"]) for v in customer.violations] == [("/", "script-src-elem")]


def test_every_kind_of_page_works_with_no_violation(watched, portal):
    from playwright.sync_api import expect

    customer = watched()
    page = customer.page

    customer.go("/")
    page.fill("#kbgen-hero-q", "music on hold")
    expect(page.locator(".kbgen-search--hero .kbgen-hit").first).to_be_visible()

    for listing in ("/kb/", "/kb/xcally/", "/wiki/", "/license/"):
        customer.go(listing)
        expect(page.locator(".kbgen-articles li, .kbgen-cards .kbgen-card").first).to_be_visible()

    customer.go("/wiki/technical/logs/")
    expect(page.locator("html")).to_have_class(re.compile(r"\bjs\b"))  # Material's bundle ran
    expect(page.locator(".kbgen-contact a")).to_be_visible()

    customer.go("/search/?q=music+on+hold")
    expect(page.locator("[data-kbgen-list] .kbgen-hit").first).to_be_visible()
    page.fill("#kbgen-header-q", "one-way audio")
    expect(page.locator(".kbgen-search--header .kbgen-hit").first).to_be_visible()

    customer.sign_in(CUSTOMER, "/support/")
    expect(page.locator("[data-kbgen-account] .kbgen-account__name")).to_have_text("Ann Acme")
    expect(page.locator(".kbgen-support-products .kbgen-card")).to_have_count(5)
    page.locator(".kbgen-support-products .kbgen-card", has_text="XCALLY").click()
    expect(page.locator("[data-kbgen-request-types] .kbgen-card").first).to_be_visible()

    customer.go("/support/xcally/technical-issue/")
    page.fill("#kbf-summary", "Calls drop after the CSP rollout")
    page.fill("#kbf-description", "Every inbound call of the Sales queue drops after a minute.")
    page.fill("#kbf-motion_version", "3.41.2")
    page.select_option("#kbf-deployment", "on-premise")
    page.check("#kbf-channels-0")
    page.select_option("#kbf-affected_users", "all")
    page.select_option("#kbf-server_access", "no")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r".*/requests/XC-\d+/$"))
    key = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.wait_for_load_state("load")
    expect(page.locator("[data-kbgen-summary]")).to_have_text("Calls drop after the CSP rollout")
    expect(page.locator("[data-kbgen-timeline] li").first).to_be_visible()

    customer.go("/requests/")
    expect(page.locator(f'[data-kbgen-table] tr[data-key="{key}"]')).to_be_visible()

    customer.go(f"/requests/{key}/")
    page.fill("#kbgen-comment-text", "It also happens on the **Support** queue.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-kbgen-timeline] strong", has_text="Support")).to_be_visible()

    missing = customer.go("/no/such/page/")
    assert missing.status == 404
    expect(page.locator("h1")).to_have_text("We could not find that page")  # the theme's 404.html

    agent = watched()
    agent.sign_in(AGENT, "/requests/")
    expect(agent.page.locator(f'[data-kbgen-table] tr[data-key="{key}"]')).to_be_visible()
    agent.go(f"/requests/{key}/")
    expect(agent.page.locator("[data-kbgen-timeline]")).to_contain_text("It also happens on the")
    expect(agent.page.locator("form[data-kbgen-assign]")).to_be_visible()

    customer.settle()
    agent.settle()
    assert customer.violations == [] and agent.violations == []
    assert customer.errors == [] and agent.errors == []
    own = portal.url.split("/")[2]
    assert customer.hosts == {own} and agent.hosts == {own}  # no CDN, no web font service
