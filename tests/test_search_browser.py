"""The search bar in a real Chromium, on the demo portal built with `kbgen build` and served
by the real service: results as you type, keyboard use, the results page, and a site
published without the service."""
from __future__ import annotations

import functools
import http.server
import re
import threading

import pytest

from conftest import LiveServer, axe_problems, free_port, project_settings
from kbgen.web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def portal(built_project, tmp_path_factory):
    database = tmp_path_factory.mktemp("search-browser") / "kbgen.db"
    with LiveServer(create_app(project_settings(built_project, f"sqlite:///{database}"))) as server:
        yield server


def type_into(page, selector: str, text: str) -> None:
    page.locator(selector).click()
    page.locator(selector).press_sequentially(text, delay=15)


def test_typing_in_the_header_bar_shows_results_and_enter_opens_the_one_picked(page, portal):
    page.goto(portal.url + "/kb/")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "kbgen-header-q"
    page.keyboard.type("music on hold", delay=15)
    options = page.locator("form.kbgen-search--header [role=option]")
    options.first.wait_for()
    bar = page.locator("#kbgen-header-q")
    assert bar.get_attribute("aria-expanded") == "true"
    assert "Configure music on hold" in options.first.inner_text()
    assert page.locator("form.kbgen-search--header [role=option] mark").count() > 0  # highlighted words
    assert options.first.locator(".kbgen-hit__place").inner_text() == "Knowledge Base \u203a XCALLY \u203a How-To"
    assert axe_problems(page) == []
    page.keyboard.press("ArrowDown")
    assert bar.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/kb/xcally/how-to/configure-music-on-hold/"))
    assert page.locator("h1").first.inner_text().startswith("Configure music on hold")


def test_escape_closes_and_chips_filter_by_product(page, portal):
    page.goto(portal.url + "/")
    type_into(page, "#kbgen-hero-q", "agents")
    panel = page.locator("form.kbgen-search--hero .kbgen-search__panel")
    chip = page.locator("form.kbgen-search--hero .kbgen-search__chip[data-kind=product][data-value=xplany]")
    chip.wait_for()
    chip.click()
    page.locator("form.kbgen-search--hero .kbgen-search__chip--on[data-value=xplany]").wait_for()
    page.wait_for_function("""() => {
        const items = [...document.querySelectorAll('form.kbgen-search--hero .kbgen-hit:not(.kbgen-hit--all)')];
        return items.length > 0 && items.every(o => o.getAttribute('data-href').includes('/kb/xplany/'));
    }""")
    page.keyboard.press("Escape")
    assert panel.is_hidden()


def test_a_typo_offers_did_you_mean_and_no_result_offers_contact(page, portal):
    page.goto(portal.url + "/")
    type_into(page, "#kbgen-hero-q", "recieve emials")
    suggestion = page.locator("form.kbgen-search--hero .kbgen-search__suggestion")
    suggestion.wait_for()
    assert suggestion.inner_text() == "receive emails"

    page.locator("#kbgen-hero-q").fill("")
    type_into(page, "#kbgen-hero-q", "qwxzv plorbt")
    contact = page.locator("form.kbgen-search--hero .kbgen-search__contact a")
    contact.wait_for()
    assert "Need to raise a request?" in page.locator("form.kbgen-search--hero .kbgen-search__contact").inner_text()
    assert contact.get_attribute("href").endswith("support/")


def test_the_results_page_lists_pages_filters_and_deep_links(page, portal):
    page.goto(portal.url + "/search/?q=one-way+audio+rtp+range")
    first = page.locator("[data-kbgen-list] .kbgen-hit").first
    first.wait_for()
    link = first.locator("a.kbgen-hit__title")
    assert link.inner_text() == "One-way audio or no audio on calls"
    assert link.get_attribute("href").endswith("/kb/xcally/troubleshooting/one-way-audio/#2-open-the-rtp-range")
    assert page.locator("#kbgen-page-q").input_value() == "one-way audio rtp range"
    assert re.match(r"Results 1–\d+ of \d+", page.locator("[data-kbgen-status]").inner_text())
    assert axe_problems(page) == []
    page.locator("[data-kbgen-filters] a.kbgen-chip", has_text="Installation").click()
    page.wait_for_url(re.compile(r"type=installation"))
    page.locator("[data-kbgen-list] .kbgen-hit").first.wait_for()
    hrefs = page.locator("[data-kbgen-list] a.kbgen-hit__title").evaluate_all("links => links.map(a => a.href)")
    assert hrefs and all("/wiki/installation/" in href for href in hrefs)
    link = page.locator("[data-kbgen-list] a.kbgen-hit__title").first
    link.click()
    page.wait_for_url(re.compile(r"/wiki/installation/"))


def test_without_the_service_the_bar_says_search_is_unavailable(page, built_project):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_project / "site"))
    static = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=static.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{static.server_address[1]}/")
        type_into(page, "#kbgen-header-q", "audio")
        status = page.locator("form.kbgen-search--header .kbgen-search__status")
        status.wait_for()
        assert "Search is not available right now" in status.inner_text()
        assert page.locator("form.kbgen-search--header .kbgen-search__contact a").is_visible()
    finally:
        static.shutdown()
        thread.join()


def test_weak_matches_say_so_and_offer_contact_and_filters_say_what_they_filter(page, portal):
    page.goto(portal.url + "/")
    type_into(page, "#kbgen-hero-q", "license kubernetes terraform ansible helm")
    weak = page.locator("form.kbgen-search--hero .kbgen-search__weak")
    weak.wait_for()
    assert "Only weak matches" in weak.inner_text()
    assert page.locator("form.kbgen-search--hero .kbgen-hit:not(.kbgen-hit--all)").count() > 0  # still shown
    assert page.locator("form.kbgen-search--hero .kbgen-search__contact a").is_visible()

    page.goto(portal.url + "/search/?q=license")
    page.locator("[data-kbgen-list] .kbgen-hit").first.wait_for()
    groups = page.locator("[data-kbgen-filters] .kbgen-search__facet-label").all_inner_texts()
    assert groups[0].lower() == "product"  # shown in capitals
    chips = page.locator("[data-kbgen-filters] a.kbgen-chip").all_inner_texts()
    assert sum(1 for chip in chips if chip.startswith("License ")) == 1
    assert page.locator(".kbgen-search__weak").count() == 0
