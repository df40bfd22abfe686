"""The account flows in a real Chromium against the real service, emails delivered over SMTP to a real server:
an invitation, a forgotten password, sign-up by email domain (with and without approval). Every page is
checked with axe-core at 1280 and 390 pixels wide, with no sideways scrolling on the phone; screenshots go
to /tmp/shots/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import LiveServer, axe_problems
from kbgen import accounts
from kbgen.accounts import OrganizationDomain, invitations
from kbgen.facts import page as site_page, service_page
from kbgen.settings import Settings
from kbgen.web.app import create_app
from test_accounts_browser import write_site

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
NEW_PASSWORD = "violet otter canoe"
SHOTS = Path("/tmp/shots")


@pytest.fixture
def portal(tmp_path, database_url, smtp_server):
    settings = Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                        data_dir=tmp_path / "data", forms_dir=tmp_path / "forms", content_dir=tmp_path / "content",
                        database_url=database_url, secret_key="test-secret", smtp_url=smtp_server.url)
    write_site(settings.site_dir)
    app = create_app(settings)
    with app.state.sessionmaker.begin() as db:
        acme = accounts.add_organization(db, "Acme Telecom")
        acme.domains.append(OrganizationDomain(domain="acme.example"))
        acme.signup_enabled = True
        accounts.add_organization(db, "Vendor Support")
        accounts.add_user(db, organization="Acme Telecom", email="ann@acme.example", role="customer",
                          password=PASSWORD, name="Ann Example")
        accounts.add_user(db, organization="Vendor Support", email="sam@vendor.example", role="admin",
                          password=PASSWORD, name="Sam Agent")
    server = LiveServer(app)
    settings.public_url = server.url  # the links in the emails lead to this server
    with server:
        server.app, server.smtp = app, smtp_server
        yield server
    app.state.engine.dispose()


def email_link(portal, to: str, count: int) -> str:
    """The link in the newest of `count` emails, once the service's outbox sender delivered them over SMTP."""
    messages = portal.smtp.wait_for(count)
    mine = [m for m in messages if m["X-Rcpt-To"] == to]
    assert len(messages) >= count and mine, [m["Subject"] for m in messages]
    found = re.search(re.escape(portal.url) + r"/account/\S+", mine[-1].get_body(("plain",)).get_content())
    assert found, mine[-1].get_body(("plain",)).get_content()
    return found.group(0)


def check_page(page, name: str) -> None:
    """axe-core finds nothing critical or serious at 1280 and 390 pixels, nothing scrolls sideways on a phone;
    a screenshot of each width goes to /tmp/shots/."""
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert axe_problems(page) == [], (name, width)
        if width == 390:
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 390, name
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def signed_in_name(page) -> str:
    menu = page.locator("[data-kbgen-account] .kbgen-account__name")
    menu.wait_for()
    return menu.inner_text()


def test_an_invitation_from_email_to_signed_in(portal, page):
    with portal.app.state.sessionmaker.begin() as db:
        acme = accounts.find_organization(db, "Acme Telecom")
        invitations.invite(db, portal.app.state.settings, email="bob@acme.example", organization_id=acme.id,
                           role="partner", invited_by=accounts.find_user(db, "sam@vendor.example"))
    link = email_link(portal, "bob@acme.example", 1)

    page.goto(link)
    assert "Sam Agent at Vendor Support invited you to the Acme Telecom support portal" in " ".join(
        page.locator("main").inner_text().split())
    check_page(page, "invitation")

    # By keyboard: the skip link comes first, then the form in order.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.locator("#kbgen-account-name").focus()
    page.keyboard.type("Bob Builder")
    page.keyboard.press("Tab")
    page.keyboard.type("password123")  # among the most common: refused
    page.keyboard.press("Tab")
    page.keyboard.type("password123")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    error = page.locator("#kbgen-account-password-error")
    assert "among those leaked and guessed most often" in error.inner_text()
    assert page.locator("#kbgen-account-password").get_attribute("aria-invalid") == "true"
    assert page.locator("#kbgen-account-name").input_value() == "Bob Builder"
    check_page(page, "invitation-error")

    page.fill("#kbgen-account-password", NEW_PASSWORD)
    page.fill("#kbgen-account-confirm", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{portal.url}/")
    assert signed_in_name(page) == "Bob Builder"
    assert page.request.get(f"{portal.url}/api/me").json()["user"]["role"] == "partner"

    page.goto(link)  # used now
    assert "This invitation was already used: sign in, or reset your password." in page.locator("main").inner_text()
    check_page(page, "invitation-used")


def test_forgot_password_signs_out_the_other_browsers(portal, page, chromium):
    other = chromium.new_context()
    try:
        assert other.request.post(f"{portal.url}/api/session", data={"email": "ann@acme.example",
                                                                     "password": PASSWORD}).ok
        assert other.request.get(f"{portal.url}/api/me").status == 200

        page.goto(f"{portal.url}/{site_page('sign_in')}")
        page.click("text=Forgot your password?")
        page.wait_for_url(f"{portal.url}{service_page('forgot_password')}")
        check_page(page, "forgot")
        page.fill("#kbgen-account-email", "ann@acme.example")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert "If an account exists for that address, we sent it a link" in page.locator("main").inner_text()
        check_page(page, "forgot-sent")

        page.goto(email_link(portal, "ann@acme.example", 1))
        check_page(page, "reset")
        page.fill("#kbgen-account-password", NEW_PASSWORD)
        page.fill("#kbgen-account-confirm", NEW_PASSWORD + "!")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert "The two passwords differ" in page.locator("#kbgen-account-confirm-error").inner_text()
        check_page(page, "reset-error")
        page.fill("#kbgen-account-password", NEW_PASSWORD)
        page.fill("#kbgen-account-confirm", NEW_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert "Your new password is set, and you are signed in here." in page.locator("main").inner_text()
        assert "Ann Example" in page.locator("header").inner_text()
        check_page(page, "reset-done")

        assert page.request.get(f"{portal.url}/api/me").status == 200
        assert other.request.get(f"{portal.url}/api/me").status == 401  # the old session is gone
    finally:
        other.close()


def test_sign_up_by_domain_with_its_confirmation(portal, page):
    page.goto(f"{portal.url}/{site_page('sign_in')}")
    page.click("text=Sign up with your work email")
    page.wait_for_url(f"{portal.url}{service_page('sign_up')}")
    check_page(page, "signup")
    page.fill("#kbgen-account-email", "dana@acme.example")
    page.fill("#kbgen-account-name", "Dana Doe")
    page.fill("#kbgen-account-password", NEW_PASSWORD)
    page.fill("#kbgen-account-confirm", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "If sign-up is open for your address, we sent you a link" in page.locator("main").inner_text()
    check_page(page, "signup-sent")

    page.goto(email_link(portal, "dana@acme.example", 1))
    check_page(page, "signup-verify")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{portal.url}/")
    assert signed_in_name(page) == "Dana Doe"


def test_a_sign_up_awaiting_approval_cannot_sign_in_until_approved(portal, page):
    with portal.app.state.sessionmaker.begin() as db:
        accounts.find_organization(db, "Acme Telecom").signup_requires_approval = True
    page.goto(f"{portal.url}{service_page('sign_up')}")
    page.fill("#kbgen-account-email", "dana@acme.example")
    page.fill("#kbgen-account-name", "Dana Doe")
    page.fill("#kbgen-account-password", NEW_PASSWORD)
    page.fill("#kbgen-account-confirm", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    page.goto(email_link(portal, "dana@acme.example", 1))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "has an administrator approve each new account first" in page.locator("main").inner_text()
    check_page(page, "signup-awaiting")

    page.goto(f"{portal.url}/{site_page('sign_in')}")
    page.fill("#kbgen-login-email", "dana@acme.example")
    page.fill("#kbgen-login-password", NEW_PASSWORD)
    page.click("form[data-kbgen-login] button")
    error = page.locator("[data-kbgen-login-error]")
    error.wait_for(state="visible")
    assert "waiting for an administrator's approval" in error.inner_text()

    # The admin is told by email, follows its link, signs in and approves.
    [to_admin] = [m for m in portal.smtp.wait_for(3) if m["X-Rcpt-To"] == "sam@vendor.example"]
    assert to_admin["Subject"] == "A new account for Acme Telecom waits for your approval: Dana Doe"
    review = re.search(re.escape(portal.url) + r"/admin/users/\d+/", to_admin.get_body(("plain",)).get_content())
    admin = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        admin.request.post(f"{portal.url}/api/session", data={"email": "sam@vendor.example", "password": PASSWORD})
        admin_page = admin.new_page()
        admin_page.goto(review.group(0))
        assert admin_page.locator("h1").inner_text() == "Dana Doe"
        admin_page.get_by_role("button", name="Approve sign-up").click()
        admin_page.wait_for_url("**/admin/users/*/?done=approved")
    finally:
        admin.close()
    approved = [m for m in portal.smtp.wait_for(4) if m["X-Rcpt-To"] == "dana@acme.example"][-1]
    assert approved["Subject"] == "Your account for the Acme Telecom support portal is approved"
    page.fill("#kbgen-login-email", "dana@acme.example")
    page.fill("#kbgen-login-password", NEW_PASSWORD)
    page.click("form[data-kbgen-login] button")
    page.wait_for_url(f"{portal.url}/")
    assert signed_in_name(page) == "Dana Doe"


def test_a_form_on_another_site_cannot_post_to_the_account_pages(portal, page):
    evil = ('<form method="post" action="%s%s"><input name="email" value="ann@acme.example">'
            '<button>Go</button></form>' % (portal.url, service_page("forgot_password")))
    page.route("http://evil.example/", lambda route: route.fulfill(body=evil, content_type="text/html"))
    page.goto("http://evil.example/")
    with page.expect_response(lambda r: r.url.endswith(service_page("forgot_password"))) as posted:
        page.click("button")
    assert posted.value.status == 403
    assert portal.smtp.messages == []


def test_a_link_that_cannot_be_used_and_the_plain_pages_are_accessible(portal, page):
    for name, path in (("invitation-unknown", service_page("invitation", token="nope")),
                       ("reset-unknown", service_page("reset_password", token="nope")),
                       ("verify-unknown", service_page("verify_sign_up", token="nope"))):
        response = page.goto(portal.url + path)
        assert response.status == 404
        check_page(page, name)
    page.goto(f"{portal.url}{service_page('sign_up')}")
    page.fill("#kbgen-account-email", "not-an-address")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#kbgen-account-email").get_attribute("aria-invalid") == "true"
    check_page(page, "signup-error")
