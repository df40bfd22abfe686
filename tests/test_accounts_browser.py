"""Signing in and out in a real Chromium, with and without JavaScript, against the real service.

The pages are the real sign-in/sign-out bodies and the real kbgen-account.js/.css in a
minimal page shell (the meta tags and header slot the portal theme provides), so this
runs without a full `kbgen build`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import REPO, serve_with_customer
from kbgen.facts import built_assets
from kbgen.site.pages.account import account_pages
from kbgen.web.app import create_app
from kbgen.settings import Settings

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHELL = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<meta name="kbgen-root" content="{root}"><meta name="kbgen-api" content="">
<link rel="stylesheet" href="{root}assets/kbgen-account.css"></head>
<body><header><div class="kbgen-account" data-kbgen-account></div></header>
<main><h1>{title}</h1>{body}</main>
<script src="{root}assets/kbgen-facts.js" defer></script><script src="{root}assets/kbgen-core.js" defer></script>
<script src="{root}assets/kbgen-account.js" defer></script></body></html>
"""


def write_site(site: Path) -> None:
    pages = {"index.html": ("Support portal", "./", "<p>Welcome</p>"),
             "kb/xcally/index.html": ("XCALLY", "../../", "<p>Articles</p>"),
             "requests/index.html": ("Requests", "../", "<p>Your requests</p>")}
    for page in account_pages():
        path = page.src_uri.replace("index.md", "index.html")
        pages[path] = (page.title, "../", page.render("../"))
    for path, (title, root, body) in pages.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(SHELL.format(title=title, root=root, body=body))
    (site / "assets").mkdir()
    for name in ("kbgen-core.js", "kbgen-account.js", "kbgen-account.css"):
        shutil.copy(REPO / "kbgen" / "theme" / "assets" / name, site / "assets" / name)
    for path, text in built_assets().items():  # as the build writes them
        (site / path).write_text(text)


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    root = tmp_path_factory.mktemp("portal")
    settings = Settings(project_dir=root, site_dir=root / "site", index_dir=root / "index", data_dir=root / "data",
                        forms_dir=root / "forms", content_dir=root / "content",
                        database_url=f"sqlite:///{root / 'kbgen.db'}", secret_key="test-secret")
    write_site(settings.site_dir)
    with serve_with_customer(create_app(settings), "Acme <Telecom>", "ann@acme.example", PASSWORD, "Ann <b>Example</b>") as server:
        yield server


def test_sign_in_from_an_article_and_out_again(page, portal):
    page.goto(f"{portal.url}/kb/xcally/")
    sign_in = page.locator("[data-kbgen-account] a", has_text="Sign in")
    assert sign_in.get_attribute("href") == "../../login/?next=%2Fkb%2Fxcally%2F"
    sign_in.click()
    page.wait_for_url("**/login/?next=%2Fkb%2Fxcally%2F")

    page.fill("#kbgen-login-email", "ann@acme.example")
    page.fill("#kbgen-login-password", "not the password")
    page.click("form[data-kbgen-login] button")
    error = page.locator("[data-kbgen-login-error]")
    error.wait_for(state="visible")
    assert error.inner_text() == "The email or password is incorrect."
    assert page.url.endswith("/login/?next=%2Fkb%2Fxcally%2F")  # shown in place, no reload

    page.fill("#kbgen-login-password", PASSWORD)
    page.click("form[data-kbgen-login] button")
    page.wait_for_url(f"{portal.url}/kb/xcally/")
    menu = page.locator("[data-kbgen-account]")
    menu.locator(".kbgen-account__name").wait_for()
    # Names are text, never markup.
    assert menu.locator(".kbgen-account__name").inner_text() == "Ann <b>Example</b>"
    assert menu.locator(".kbgen-account__org").inner_text() == "Acme <Telecom>"
    assert menu.locator("b").count() == 0
    assert menu.locator("a", has_text="Requests").get_attribute("href") == "../../requests/"
    session = next(c for c in page.context.cookies() if c["name"] == "kbgen_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"

    menu.locator("button", has_text="Sign out").click()
    menu.locator("a", has_text="Sign in").wait_for()
    assert page.request.get(f"{portal.url}/api/me").status == 401


def test_sign_in_and_out_without_javascript(chromium, portal):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{portal.url}/login/")
        assert not page.locator("#kbgen-login-failed").is_visible()
        page.fill("#kbgen-login-email", "ann@acme.example")
        page.fill("#kbgen-login-password", "not the password")
        page.click("form[data-kbgen-login] button")
        page.wait_for_url("**/login/?error=1#kbgen-login-failed")
        assert page.locator("#kbgen-login-failed").is_visible()
        assert not page.locator("#kbgen-login-throttled").is_visible()

        page.fill("#kbgen-login-email", "ann@acme.example")
        page.fill("#kbgen-login-password", PASSWORD)
        page.click("form[data-kbgen-login] button")
        page.wait_for_url(f"{portal.url}/")
        assert "kbgen_session" in {c["name"] for c in context.cookies()}

        page.goto(f"{portal.url}/logout/")
        page.click("form[data-kbgen-logout] button")
        page.wait_for_url(f"{portal.url}/")
        assert "kbgen_session" not in {c["name"] for c in context.cookies()}
    finally:
        context.close()
