"""Reports and satisfaction in a real Chromium, against the served app over the really built portal:
the requester rates a closed request from its page with the keyboard; an agent sees the rating on the
ticket and reads the reports page, whose charts draw under the Content-Security-Policy with no violation,
and follows a search that found nothing from it.
Both pass axe at 1280 and 390 pixels; screenshots go to /tmp/shots/."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from conftest import LiveServer, axe_problems, project_settings
from kbgen import tickets
from kbgen.accounts import User
from kbgen.tickets import Rating, Ticket
from kbgen.web.app import create_app
from test_tickets_support import ANN, PASSWORD, add_people, SAM

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
RECORD = """
document.addEventListener("securitypolicyviolation", (e) => window.kbgenViolation({
  page: location.pathname, directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def portal(built_project, tmp_path_factory):
    settings = project_settings(built_project, f"sqlite:///{tmp_path_factory.mktemp('db') / 'kbgen.db'}")
    app = create_app(settings)
    Session = app.state.sessionmaker
    with Session.begin() as db:
        add_people(db)

    def closed_request(summary: str, product: str = "xcally", priority: str = "high", close: bool = True) -> str:
        with Session() as db:
            ann = db.scalars(select(User).where(User.email == ANN)).one()
            submission = SimpleNamespace(product=product, request_type="technical-issue", priority=priority,
                                         summary=summary, description="", values={}, consents=())
            ticket, _ = tickets.create_ticket(db, settings, submission, ann)
            if close:
                tickets.transition(db, settings, ticket, None, "Resolved")
                tickets.transition(db, settings, ticket, ann, "Closed")
            return ticket.key

    with LiveServer(app) as server:
        server.Session = Session
        server.closed_request = closed_request
        server.rated = closed_request("Recordings are silent")
        with Session() as db:
            ticket = db.scalars(select(Ticket).where(Ticket.key == server.rated)).one()
            tickets.rate(db, settings, ticket, ticket.requester, 4, "Quick <b>and</b> clear.")
        for summary, product, priority in (("Adherence wrong", "xplany", "medium"), ("Calls drop", "xcally", "low"),
                                           ("Video freezes", "vidaoo", "highest")):
            closed_request(summary, product, priority, close=False)
        yield server
    app.state.engine.dispose()


class Browser:
    """A context that records every CSP violation and script error."""

    def __init__(self, chromium, server, width: int = 1280) -> None:
        self.context = chromium.new_context(viewport={"width": width, "height": 900})
        self.violations: list[dict] = []
        self.errors: list[str] = []
        self.context.expose_function("kbgenViolation", lambda v: self.violations.append(v))
        self.context.add_init_script(RECORD)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.server = server

    def sign_in(self, email: str, then: str) -> None:
        page = self.page
        page.goto(self.server.url + "/login/?next=" + then.replace("?", "%3F").replace("=", "%3D"))
        page.fill("#kbgen-login-email", email)
        page.fill("#kbgen-login-password", PASSWORD)
        page.click("form[data-kbgen-login] button")
        page.wait_for_url(self.server.url + then)

    def clean(self) -> None:
        self.page.wait_for_timeout(300)  # violation reports reach Python asynchronously
        assert self.violations == [] and self.errors == []


@pytest.fixture
def browser(chromium, portal):
    opened = []

    def open_one(width: int = 1280) -> Browser:
        opened.append(Browser(chromium, portal, width))
        return opened[-1]

    yield open_one
    for one in opened:
        one.context.close()


def focused(page) -> str:
    return page.evaluate("document.activeElement.id")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_requester_rates_a_closed_request_by_keyboard(browser, portal, width):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    key = portal.closed_request(f"Queue music stops ({width})")
    ann = browser(width)
    page = ann.page
    ann.sign_in(ANN, f"/requests/{key}/?rate=1")
    form = page.locator("[data-kbgen-rating] form")
    expect(form).to_be_visible()
    expect(page.locator("#kbgen-rating-title")).to_have_text("How did we do?")
    assert focused(page) == "kbgen-rating-score-1"  # the email's link opens the question, ready to answer
    assert axe_problems(page, within="[data-kbgen-rating]") == []
    page.screenshot(path=str(SHOTS / f"rating-form-{width}.png"), full_page=True)

    page.keyboard.press("Tab")  # past the scores: sending without one says what is missing
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("[data-kbgen-rating] [role=alert]")).to_have_text("Choose a score from 1 to 5.")
    assert focused(page) == "kbgen-rating-score-1"

    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.is_checked("#kbgen-rating-score-4") and focused(page) == "kbgen-rating-score-4"
    page.keyboard.press("Tab")
    assert focused(page) == "kbgen-rating-comment"
    page.keyboard.type("Fixed within the day, thank you.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#kbgen-rating-title")).to_have_text("Thank you")
    assert focused(page) == "kbgen-rating-thanks"
    page.screenshot(path=str(SHOTS / f"rating-thanks-{width}.png"), full_page=True)
    with portal.Session() as db:
        rating = db.scalars(select(Rating).join(Ticket).where(Ticket.key == key)).one()
        assert (rating.score, rating.comment) == (4, "Fixed within the day, thank you.")
    page.reload()  # asked once: back on the page, the thanks, not the form
    expect(page.locator("[data-kbgen-rating]")).to_contain_text("You rated this request")
    expect(page.locator("[data-kbgen-rating] form")).to_have_count(0)
    ann.clean()


def test_an_agent_sees_the_rating_and_the_reports_without_a_csp_violation(browser, portal):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    sam = browser()
    page = sam.page
    sam.sign_in(SAM, f"/requests/{portal.rated}/")
    fact = page.locator("[data-kbgen-facts] dd.kbgen-rating-fact")
    expect(fact).to_contain_text("4 of 5 Satisfied")
    expect(fact.locator("q")).to_have_text("Quick <b>and</b> clear.")  # text, never markup
    expect(page.locator("[data-kbgen-rating]")).to_have_count(0)  # no question for the team
    expect(page.locator("[data-kbgen-timeline]")).to_contain_text("Rated 4 of 5: Satisfied")
    page.screenshot(path=str(SHOTS / "rating-agent-ticket.png"), full_page=True)

    assert page.request.get(portal.url + "/api/search?q=qwxzv+plorbt").json()["total"] == 0  # a customer's miss
    answer = page.goto(portal.url + "/team/reports/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    expect(page.locator("h1")).to_have_text("Reports")
    images = page.locator("main img")
    expect(images).to_have_count(6)
    page.evaluate("Promise.all([...document.querySelectorAll('main img')].map(i => i.complete ? 0 : "
                  "new Promise(done => { i.onload = i.onerror = done; })))")
    sizes = page.evaluate("[...document.querySelectorAll('main img')].map(i => [i.naturalWidth, i.clientWidth])")
    assert all(natural == 800 and 0 < shown <= 800 for natural, shown in sizes), sizes  # drawn, and it fits
    fours = page.locator("table[aria-labelledby=kbgen-report-satisfaction] tbody tr").nth(3)
    expect(fours.locator("th")).to_have_text("4 Satisfied")
    assert int(fours.locator("td").inner_text()) >= 1  # the rating made above (and those of other tests)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert axe_problems(page) == [], width
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # nothing overflows sideways
        page.screenshot(path=str(SHOTS / f"reports-{width}.png"), full_page=True)
        for name in ("created_per_week", "sla"):  # a screenful each, to look at
            page.locator(f"#kbgen-report-{name}").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"reports-{width}-{name}.png"))

    miss = page.locator("table[aria-labelledby=kbgen-report-misses] tbody th a", has_text="qwxzv plorbt")
    expect(miss).to_have_count(1)
    miss.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "reports-misses.png"))
    miss.click()  # the agent tries the search as the customer did
    page.wait_for_url(re.compile(r".*/search/\?q=qwxzv%20plorbt$"))
    expect(page.locator("[data-kbgen-status]")).to_contain_text("No results")
    page.goto(portal.url + "/team/reports/")

    page.get_by_label("Period", exact=True).select_option("26")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r".*/team/reports/\?weeks=26$"))
    expect(page.locator("main img").first).to_have_attribute("src", "/team/reports/charts/created_per_week.svg?weeks=26")

    # A chart on its own: its policy lets its own style in (the title is drawn at the style's size), no script.
    chart = page.goto(portal.url + "/team/reports/charts/satisfaction.svg")
    assert chart.headers["content-type"] == "image/svg+xml"
    assert page.evaluate("getComputedStyle(document.querySelector('text.title')).fontSize") == "18px"
    assert page.evaluate("document.title") == "Satisfaction ratings"
    page.screenshot(path=str(SHOTS / "reports-chart-satisfaction.png"))
    sam.clean()


def test_a_customer_is_refused_the_reports(browser, portal):
    ann = browser()
    ann.sign_in(ANN, "/requests/")
    answer = ann.page.goto(portal.url + "/team/reports/")
    assert answer.status == 403
    assert "not on the support team" in ann.page.inner_text("main")
    assert axe_problems(ann.page) == []
    ann.clean()
