"""The admin pages in a real Chromium against the real service, on SQLite and PostgreSQL: deactivating a
person by keyboard alone signs them out in their own browser, and every admin page is accessible
(axe-core) and fits a phone's width without sideways scrolling. Screenshots land in /tmp/shots/."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import LiveServer, axe_problems
from kbgen.accounts import Organization, Role, User, invitations
from kbgen.accounts.people import DEACTIVATED_MESSAGE
from kbgen.facts import service_page
from test_admin import ADA, add_admin
from test_tickets_support import ANN, PASSWORD, Portal

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


@pytest.fixture
def served(tmp_path, database_url):
    portal = Portal(tmp_path, database_url)
    add_admin(portal)
    with portal.Session.begin() as db:
        globex = db.scalar(select(Organization).where(Organization.name == "Globex"))
        ada = db.scalar(select(User).where(User.email == ADA))
        invitations.invite(db, portal.settings, email="newcomer.with.a.rather.long.address@globex.example",
                           organization_id=globex.id, role=str(Role.CUSTOMER), name="New Comer", invited_by=ada,
                           client="192.0.2.1")
    with LiveServer(portal.app) as server:
        server.portal = portal
        yield server
    portal.close()


def sign_in(context, server, email: str) -> None:
    answer = context.request.post(f"{server.url}/api/session", data={"email": email, "password": PASSWORD})
    assert answer.status == 200, answer.text()


def tab_to(page, matches: str, limit: int = 120) -> None:
    """Press Tab until the focused element satisfies the JS predicate `matches` (given `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!el && ({matches}); }})()"):
            return
    raise AssertionError(f"never reached by Tab: {matches}")


def test_an_admin_deactivates_a_person_by_keyboard_and_they_are_signed_out(chromium, served):
    admin = chromium.new_context(viewport={"width": 1280, "height": 900})
    ann = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        sign_in(admin, served, ADA)
        sign_in(ann, served, ANN)
        ann_page = ann.new_page()
        assert ann_page.goto(f"{served.url}/api/me").status == 200

        page = admin.new_page()
        page.goto(f"{served.url}{service_page('admin_users')}")
        tab_to(page, "el.tagName === 'A' && el.textContent.trim() === 'Ann Acme'")
        page.keyboard.press("Enter")
        page.wait_for_url("**/admin/users/*/")
        assert page.locator("h1").inner_text() == "Ann Acme"
        tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim().startsWith('Deactivate')")
        page.keyboard.press("Enter")
        page.wait_for_url("**/admin/users/*/?done=deactivated")
        assert "cannot sign in until reactivated" in page.locator("[role=status]").inner_text()
        assert page.get_by_role("button", name="Reactivate").is_visible()

        # In Ann's own browser: signed out at once, and kept out.
        assert ann_page.goto(f"{served.url}/api/me").status == 401
        again = ann.request.post(f"{served.url}/api/session", data={"email": ANN, "password": PASSWORD})
        assert again.status == 403 and again.json()["detail"] == DEACTIVATED_MESSAGE
    finally:
        admin.close()
        ann.close()


def _pages(served) -> dict[str, str]:
    with served.portal.Session() as db:
        acme = db.scalar(select(Organization.id).where(Organization.name == "Acme Telecom"))
        ann = db.scalar(select(User.id).where(User.email == ANN))
    return {"organizations": service_page("admin_organizations"),
            "organization": service_page("admin_organization", id=acme),
            "users": service_page("admin_users"), "user": service_page("admin_user", id=ann),
            "invitations": service_page("admin_invitations"), "audit": service_page("admin_audit")}


@pytest.mark.parametrize("width", [1280, 390])
def test_every_admin_page_is_accessible_and_fits_the_screen(chromium, served, width, database_url):
    context = chromium.new_context(viewport={"width": width, "height": 900})
    try:
        sign_in(context, served, ADA)
        page = context.new_page()
        # Something in every list, and a refusal's message on a page, as an admin sees them.
        page.goto(f"{served.url}{_pages(served)['organization']}")
        page.fill("#kbgen-org-domain", "not a domain")
        page.get_by_role("button", name="Add domain").click()
        page.wait_for_load_state()
        assert "is not a domain name" in page.locator("[role=alert]").inner_text()
        SHOTS.mkdir(exist_ok=True)
        kind = "pg" if database_url.startswith("postgresql") else "sqlite"
        for name, path in _pages(served).items():
            page.goto(f"{served.url}{path}")
            problems = axe_problems(page)
            assert problems == [], (name, problems)
            page.screenshot(path=str(SHOTS / f"{name}-{width}-{kind}.png"), full_page=True)
            if width <= 390:
                scroll = page.evaluate("document.scrollingElement.scrollWidth")
                assert scroll <= width, (name, scroll)
    finally:
        context.close()
