"""The form script in a real Chromium: conditional fields, inline errors, article suggestions.

Pages are rendered from the real forms/ and served by a plain static file server, as a
built site would be. Submitting to the real intake is covered by the tickets tests.
"""
from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kbgen.forms import load_catalog
from kbgen.settings import Settings
from kbgen.facts import built_assets
from kbgen.site.pages.support import support_pages

from conftest import free_port

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
PAGE_DIR = "support/xcally/technical-issue"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>XCALLY: Technical issue</title>
<meta name="kbgen-root" content="../../../"><meta name="kbgen-api" content="{api}">
<link rel="stylesheet" href="../../../assets/kbgen-forms.css"></head>
<body><article class="md-typeset">{body}</article>
<script src="../../../assets/kbgen-facts.js" defer></script><script src="../../../assets/kbgen-core.js" defer></script>
<script src="../../../assets/kbgen-forms.js" defer></script></body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A static site folder served on a loopback port; tests add pages to it."""
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(REPO / "kbgen" / "theme" / "assets", root / "assets")
    for path, text in built_assets().items():  # as the build writes them
        (root / path).write_text(text)
    settings = Settings.from_env(root, env={"KBGEN_SECRET_KEY": "test-secret"})  # the service's defaults
    pages = {p.src_uri: p for p in support_pages(load_catalog(REPO / "forms"), settings)}
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(name: str, api: str = "", folder: str = PAGE_DIR) -> str:
        """Write the page of support/.../index.md in `folder` as <name>.html; return its URL."""
        base = "../" * (folder.count("/") + 1)
        html = PAGE.replace("../../../", base).format(api=api, body=pages[f"{folder}/index.md"].render(base))
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{name}.html").write_text(html, encoding="utf-8")
        return f"http://127.0.0.1:{server.server_port}/{folder}/{name}.html"

    publish.root = root
    yield publish
    server.shutdown()
    server.server_close()


def test_conditional_fields_follow_the_answer(site, page):
    from playwright.sync_api import expect

    page.goto(site("conditions"))
    host, consent = page.locator("#kbf-server_host"), page.locator("#kbf-server_access_consent")
    panel = page.get_by_role("heading", name="Server access conditions")
    expect(host).to_be_hidden()
    expect(panel).to_be_hidden()
    assert host.is_disabled()  # hidden answers are not sent

    page.select_option("#kbf-server_access", "yes")
    expect(host).to_be_visible()
    expect(panel).to_be_visible()
    expect(page.get_by_text("Backups are your responsibility")).to_be_visible()
    assert host.evaluate("el => el.required") and consent.evaluate("el => el.required")
    expect(page.get_by_text("Only if the answer to", exact=False).first).to_be_hidden()

    page.select_option("#kbf-server_access", "no")
    expect(host).to_be_hidden()
    assert host.is_disabled() and not host.evaluate("el => el.required")


def test_a_follow_up_of_a_closed_request_keeps_its_key_to_the_form(site, page):
    from playwright.sync_api import expect

    page.goto(site("types", folder="support/xcally") + "?related=XC-42")
    link = page.get_by_role("link", name="Technical issue")
    assert link.evaluate("a => a.href").endswith("/support/xcally/technical-issue/?related=XC-42")

    page.goto(site("related") + "?related=XC-42")
    expect(page.get_by_text("This request follows up XC-42.")).to_be_visible()
    assert page.locator('input[name="related_to"]').input_value() == "XC-42"

    page.goto(site("related") + "?related=%3Cscript%3Ex%3C/script%3E")
    assert page.locator('input[name="related_to"]').input_value() == ""
    expect(page.locator("[data-kbgen-related-note]")).to_be_hidden()


def test_idempotency_key_is_filled_once_per_page(site, page):
    page.goto(site("key"))
    key = page.locator('input[name="idempotency_key"]').input_value()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", key)


def test_missing_answers_are_shown_inline_and_in_a_focused_summary(site, page):
    from playwright.sync_api import expect

    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(site("errors"))
    page.fill("#kbf-description", "Calls drop")  # too short: min_length 20
    send = page.get_by_role("button", name="Send request")
    send.click()

    summary = page.locator("[data-kbgen-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.locator("#kbf-summary")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#kbf-summary-error")).not_to_be_empty()
    expect(page.locator("#kbf-description-error")).not_to_be_empty()
    texts = summary.locator("a").all_inner_texts()
    assert any(t.startswith("Summary: ") for t in texts)
    assert any(t.startswith("Does this request need access to your server?: ") for t in texts)
    assert not any(t.startswith("Server access conditions") for t in texts)  # hidden: not asked

    page.select_option("#kbf-server_access", "yes")
    send.click()
    expect(page.locator("#kbf-server_access_consent-error")).not_to_be_empty()
    texts = summary.locator("a").all_inner_texts()
    assert any(t.startswith("Server access conditions: ") for t in texts)
    assert page.locator("#kbf-description").input_value() == "Calls drop"  # nothing typed is lost

    links = summary.locator("a")

    links.first.click()
    expect(page.locator("#kbf-summary")).to_be_focused()
    page.fill("#kbf-summary", "Calls drop")
    expect(page.locator("#kbf-summary")).not_to_have_attribute("aria-invalid", "true")
    assert posts == []  # nothing was sent while answers were missing


def test_suggestions_show_articles_as_text_and_hide_when_the_service_fails(site, page):
    from playwright.sync_api import expect

    api_dir = site.root / "api"
    api_dir.mkdir(exist_ok=True)
    # A static answer in the search API's shape stands in for the service on this static server.
    (api_dir / "search").write_text(json.dumps({"results": [
        {"url": "kb/xcally/troubleshooting/calls-drop/", "title": "<img src=x onerror=window.pwned=1>Calls drop",
         "section": "Troubleshooting", "product": "xcally", "type": "troubleshooting",
         "snippet": "Inbound calls <mark>drop</mark> after <b>30</b> seconds<img src=x onerror=window.pwned=1>"},
        {"url": "javascript:window.pwned=1", "title": "Not a site page", "snippet": ""},
    ]}))
    page.goto(site("suggest"))
    box = page.locator("[data-kbgen-suggestions]")
    expect(box).to_be_hidden()
    with page.expect_request(lambda r: "/api/search?" in r.url) as asked:
        page.fill("#kbf-summary", "calls drop")
    assert "q=calls+drop" in asked.value.url and "product=xcally" in asked.value.url and "limit=3" in asked.value.url

    expect(box).to_be_visible()
    expect(box.get_by_text("These articles might help")).to_be_visible()
    link = box.locator("a")
    expect(link).to_have_count(1)
    expect(link).to_have_text("<img src=x onerror=window.pwned=1>Calls drop")
    assert link.evaluate("a => a.href").endswith("/kb/xcally/troubleshooting/calls-drop/")
    assert box.locator("mark").inner_text() == "drop"
    assert box.locator("b, img").count() == 0
    assert page.evaluate("window.pwned") is None

    (api_dir / "search").unlink()  # the service goes away: the box must not show stale or broken results
    page.fill("#kbf-summary", "calls drop after thirty seconds")
    expect(box).to_be_hidden()


def test_suggestions_stay_hidden_when_the_api_is_unreachable(site, page):
    from playwright.sync_api import expect

    page.goto(site("unreachable", api=f"http://127.0.0.1:{free_port()}"))
    with page.expect_event("requestfailed", lambda r: "/api/search?" in r.url):
        page.fill("#kbf-summary", "queue not distributing calls")
    expect(page.locator("[data-kbgen-suggestions]")).to_be_hidden()


def test_without_javascript_every_field_shows_and_says_when_it_applies(site, chromium):
    from playwright.sync_api import expect

    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site("nojs"))
        expect(page.locator("#kbf-server_host")).to_be_visible()
        expect(page.locator("#kbf-server_access_consent")).to_be_visible()
        expect(page.get_by_text("Only if the answer to “Does this request need access to your server?” is “Yes”.")
               .first).to_be_visible()
        assert not page.locator("#kbf-server_host").evaluate("el => el.required")  # no answer forced
    finally:
        context.close()


def test_every_pattern_works_in_the_browser(page):
    """Browsers compile pattern attributes with the `v` flag; an invalid one silently checks nothing."""
    catalog = load_catalog(REPO / "forms")
    from kbgen.forms import HOST_PATTERN, URL_PATTERN, VERSION_PATTERN

    patterns = {HOST_PATTERN, URL_PATTERN, VERSION_PATTERN}
    for form in catalog.forms.values():
        for rtype in form.request_types.values():
            patterns.update(f.pattern for f in rtype.fields.values() if f.pattern)
    broken = page.evaluate("""patterns => patterns.filter(p => {
        try { new RegExp("^(?:" + p + ")$", "v"); return false; } catch (e) { return true; } })""",
                           sorted(patterns))
    assert broken == []


# Python accepts all of these; browsers (the `v` flag) accept only the first group.
BROWSER_OK = [r"[0-9]+", r"[A-Z]{2}-[0-9]{4}", r"\+?[0-9][0-9 \(\).\-]{5,28}", r"[a-z\-]+", r"(ab|cd)+", r"x{2,}",
              r"[^\-a]", r"\d+\.\d+", r"[\[\]]", r"a\/b", r"[a-z0-9.]+", r"(?:a|b)?c"]
BROWSER_BAD = [r"[0-9 ().\-]", r"[a-z-]", r"[-a]", r"\-", r"a{", r"a}", r"[a|b]", r"\ ", r"[a!!b]", r"\~",
               r"[{]", r"x\_y", r"[a/b]"]


def test_the_pattern_check_agrees_with_the_browser(page):
    from kbgen.forms import browser_regex_problem

    compiles = page.evaluate("""patterns => patterns.map(p => {
        try { new RegExp("^(?:" + p + ")$", "v"); return true; } catch (e) { return false; } })""",
                             BROWSER_OK + BROWSER_BAD)
    assert compiles == [True] * len(BROWSER_OK) + [False] * len(BROWSER_BAD)
    assert [browser_regex_problem(p) is None for p in BROWSER_OK + BROWSER_BAD] == compiles
