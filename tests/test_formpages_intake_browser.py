"""A form page in a real Chromium against the real service: sign-in prompt, server errors inline, a ticket.

The page is the real XCALLY technical-issue body and kbgen-forms.js/.css in the page
shell the theme provides; the service is create_app over the real forms/ folder.
"""
from __future__ import annotations

import shutil

import pytest

from conftest import REPO, serve_with_customer
from kbgen.facts import built_assets
from kbgen.web.app import create_app
from kbgen.site.pages.support import support_pages
from kbgen.forms import load_catalog
from kbgen.settings import Settings

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
FORM = "support/xcally/technical-issue/"
SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>XCALLY: Technical issue</title>
<meta name="kbgen-root" content="../../../"><meta name="kbgen-api" content="">
<link rel="stylesheet" href="../../../assets/kbgen-forms.css"></head>
<body><main class="md-typeset">{body}</main>
<script src="../../../assets/kbgen-facts.js" defer></script><script src="../../../assets/kbgen-core.js" defer></script>
<script src="../../../assets/kbgen-forms.js" defer></script></body></html>
"""


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    root = tmp_path_factory.mktemp("portal")
    settings = Settings(project_dir=root, site_dir=root / "site", index_dir=root / "index", data_dir=root / "data",
                        forms_dir=REPO / "forms", content_dir=root / "content",
                        database_url=f"sqlite:///{root / 'kbgen.db'}", secret_key="test-secret")
    [page] = [p for p in support_pages(load_catalog(settings.forms_dir), settings) if p.src_uri == FORM + "index.md"]
    (settings.site_dir / FORM).mkdir(parents=True)
    (settings.site_dir / FORM / "index.html").write_text(SHELL.format(body=page.render("../../../")))
    shutil.copytree(REPO / "kbgen" / "theme" / "assets", settings.site_dir / "assets")
    for path, text in built_assets().items():  # as the build writes them
        (settings.site_dir / path).write_text(text)
    with serve_with_customer(create_app(settings), "Acme Telecom", "ann@acme.example", PASSWORD, "Ann Example") as server:
        yield server


def fill_in(page, host: str) -> None:
    page.fill("#kbf-summary", "Inbound calls are not distributed")
    page.fill("#kbf-description", "Since 9:00 no call of the Sales queue reaches an agent.")
    page.fill("#kbf-motion_version", "3.41.2")
    page.select_option("#kbf-deployment", "on-premise")
    page.check("#kbf-channels-0")
    page.select_option("#kbf-affected_users", "all")
    page.select_option("#kbf-server_access", "yes")
    page.fill("#kbf-server_host", host)
    page.select_option("#kbf-remote_method", "ssh")
    page.check("#kbf-server_access_consent")
    page.select_option("#kbf-priority", "high")


def test_signed_out_customers_are_asked_to_sign_in_and_keep_their_answers(page, portal):
    from playwright.sync_api import expect

    page.goto(f"{portal.url}/{FORM}")
    fill_in(page, "pbx.example.com")
    page.get_by_role("button", name="Send request").click()
    link = page.get_by_role("link", name="Please sign in")
    expect(link).to_be_visible()
    assert link.get_attribute("href").endswith("/login/?next=%2Fsupport%2Fxcally%2Ftechnical-issue%2F")
    assert page.locator("#kbf-server_host").input_value() == "pbx.example.com"


def test_server_errors_show_inline_then_the_ticket_opens(page, portal, tmp_path):
    from playwright.sync_api import expect

    signed_in = page.request.post(f"{portal.url}/api/session",
                                  data={"email": "ann@acme.example", "password": PASSWORD})
    assert signed_in.ok
    page.goto(f"{portal.url}/{FORM}")
    key = page.locator('input[name="idempotency_key"]').input_value()
    # The browser's loose host pattern lets this through; the server knows 999 is no IPv4 octet.
    fill_in(page, "10.0.0.999")
    log = tmp_path / "asterisk.log"
    log.write_text("[Mar  1 09:00:01] WARNING[123]: chan_sip.c: no agents available\n")
    page.set_input_files("#kbf-logs", str(log))
    page.get_by_role("button", name="Send request").click()

    summary = page.locator("[data-kbgen-error-summary]")
    expect(summary).to_be_focused()
    expect(page.locator("#kbf-server_host-error")).to_have_text(
        "Write a host name like pbx.example.com or an IP address like 192.0.2.10.")
    expect(page.locator("#kbf-server_host")).to_have_attribute("aria-invalid", "true")
    assert summary.locator("a").all_inner_texts() == [
        "Server host name or IP address: Write a host name like pbx.example.com or an IP address like 192.0.2.10."]
    assert page.locator("#kbf-description").input_value().startswith("Since 9:00")

    page.fill("#kbf-server_host", "10.0.0.99")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(f"{portal.url}/requests/XC-*/")
    ticket_key = page.url.rstrip("/").rsplit("/", 1)[-1]

    ticket = page.request.get(f"{portal.url}/api/tickets/{ticket_key}").json()
    assert ticket["summary"] == "Inbound calls are not distributed"
    assert ticket["priority"]["slug"] == "high"
    fields = {f["name"]: f["value"] for f in ticket["fields"]}
    assert fields["server_host"] == "10.0.0.99" and fields["channels"] == ["voice"]
    [consent] = ticket["consents"]
    assert (consent["name"], consent["version"], consent["accepted_by"]) == ("server-access", "2026-01",
                                                                            "Ann Example")
    assert [a["filename"] for a in ticket["attachments"]] == ["asterisk.log"]

    # The page's idempotency key was sent: repeating the same submission returns the same ticket.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "kbgen_csrf")
    again = page.request.post(
        f"{portal.url}/api/tickets", headers={"Accept": "application/json", "X-CSRF-Token": csrf},
        data={"product": "xcally", "request_type": "technical-issue", "priority": "high", "idempotency_key": key,
              "fields": {"summary": "Inbound calls are not distributed", "description": "Sent again after a network error.",
                         "motion_version": "3.41.2", "deployment": "on-premise", "affected_users": "all",
                         "server_access": "no"}})
    assert again.status == 200 and again.json()["key"] == ticket_key
