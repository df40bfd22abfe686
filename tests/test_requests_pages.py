"""The requests pages as built: their filters and status help come from the definitions, and the
service answers every /requests/<KEY>/ with the one ticket page."""
from __future__ import annotations

import re

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from conftest import project_settings
from kbgen.tickets import workflow
from kbgen.web.app import create_app
from kbgen.site.catalog import PRODUCTS
from kbgen.forms import PRIORITIES
from kbgen.site.pages.requests import request_pages


def test_the_list_page_offers_every_status_product_and_priority_as_a_filter():
    [listing, ticket] = request_pages()
    assert (listing.src_uri, ticket.src_uri) == ("requests/index.md", "requests/ticket/index.md")
    html = listing.render("../")
    for status in workflow.STATUSES:
        assert f'<option value="{status.name}">{status.name}</option>' in html
    for product in PRODUCTS:
        assert f'<option value="{product.slug}">{product.name}</option>' in html
    for priority in PRIORITIES:
        assert f'<option value="{priority.slug}">{priority.name}</option>' in html
    assert 'href="../support/"' in html and 'href="../login/"' in html


def test_both_pages_explain_every_status_and_the_ticket_page_stays_out_of_the_menus():
    for page in request_pages():
        html = page.render("../../")
        table = html[html.index("<table class=\"kbgen-status-table\""):]
        for status in workflow.STATUSES:
            assert status.name in table and str(escape(status.meaning)) in table
    assert request_pages()[1].in_nav is False


@pytest.fixture(scope="module")
def service(built_project, tmp_path_factory):
    database = tmp_path_factory.mktemp("db") / "kbgen.db"
    app = create_app(project_settings(built_project, f"sqlite:///{database}"))
    yield TestClient(app)
    app.state.engine.dispose()


def test_the_built_site_has_both_pages(built_project):
    site = built_project / "site"
    listing = (site / "requests" / "index.html").read_text()
    ticket = (site / "requests" / "ticket" / "index.html").read_text()
    assert 'data-kbgen-requests="list"' in listing and 'data-kbgen-requests="ticket"' in ticket
    assert "assets/kbgen-requests.js" in ticket and (site / "assets" / "kbgen-requests.js").is_file()


def test_every_ticket_address_is_answered_with_the_ticket_page(service, built_project):
    shell = (built_project / "site" / "requests" / "ticket" / "index.html").read_text()
    for key in ("XC-1", "LIC-20931", "xp-7"):
        response = service.get(f"/requests/{key}/")
        assert response.status_code == 200, key
        assert response.headers["content-type"].startswith("text/html")
        assert response.text == shell  # the same page for everyone: the data comes from the API
    assert service.get("/requests/").status_code == 200
    assert service.get("/requests/index.html").status_code == 200  # still the static site
    assert service.get("/requests/<script>/").status_code == 404
    redirect = service.get("/requests/XC-1", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (308, "XC-1/")


def test_the_ticket_page_links_relative_to_the_site_root_from_any_key(built_project):
    ticket = (built_project / "site" / "requests" / "ticket" / "index.html").read_text()
    # /requests/XC-1/ sits as deep as /requests/ticket/, so the page's relative links hold.
    assert re.search(r'<meta name="kbgen-root" content="\.\./\.\./?"', ticket)
