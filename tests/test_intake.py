"""Opening requests through the real HTTP app (POST /api/tickets), on SQLite and PostgreSQL."""
from __future__ import annotations

import re
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from kbgen import tickets
from kbgen.accounts import User
from kbgen.tickets import Attachment, TicketConsent
from test_tickets_support import ANN, BOB, GINA, SAM, SITE, Portal, xcally, xplany

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Referer": f"{SITE}/support/xcally/"}


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url, max_attachments=2, max_attachment_bytes=2000)
    yield portal
    portal.close()


def test_a_new_request_gets_a_product_key_the_requester_organization_and_waiting_for_support(portal):
    ann = portal.client(ANN)
    first = ann.post("/api/tickets", json=xcally())
    second = ann.post("/api/tickets", json=xcally("Queue stuck"))
    other_product = ann.post("/api/tickets", json=xplany())
    assert first.status_code == second.status_code == other_product.status_code == 201
    assert first.json() == {"key": "XC-1", "url": "requests/XC-1/"}
    assert second.json()["key"] == "XC-2"
    assert other_product.json() == {"key": "XP-1", "url": "requests/XP-1/"}

    page = ann.get("/api/tickets/XC-1").json()
    assert page["status"]["name"] == "Waiting for Support"
    assert page["requester"]["email"] == ANN
    assert page["organization"]["name"] == "Acme Telecom"
    assert page["summary"] == "Calls drop after 30 seconds"


def test_a_signed_out_post_is_refused_and_stores_nothing(portal):
    stranger = portal.client()
    response = stranger.post("/api/tickets", json=xcally())
    assert response.status_code == 401
    assert "Sign in" in response.json()["detail"]

    form = stranger.post("/api/tickets", data={"product": "xcally"}, headers=HTML)
    assert form.status_code == 401
    assert "Sign in" in form.text and 'href="/login/"' in form.text
    assert portal.count() == 0


INVALID = {
    "unknown product": ({"product": "xcallyy"}, ["product"]),
    "unknown request type": ({"request_type": "wish"}, ["request_type"]),
    "unknown field": ({"fields": {"colour": "blue"}}, ["fields.colour"]),
    "missing required field": ({"fields": {"motion_version": None}}, ["fields.motion_version"]),
    "value outside the options": ({"fields": {"deployment": "mars"}}, ["fields.deployment"]),
    "pattern mismatch": ({"fields": {"motion_version": "the latest"}}, ["fields.motion_version"]),
    "missing consent": ({"fields": {"server_access": "yes", "server_host": "pbx.acme.example",
                                    "remote_method": "ssh"}}, ["fields.server_access_consent"]),
    "too long text": ({"fields": {"summary": "x" * 201}}, ["fields.summary"]),
    "every error at once": ({"fields": {"summary": "x" * 201, "deployment": "mars", "motion_version": None,
                                        "colour": "blue"}},
                            ["fields.summary", "fields.deployment", "fields.motion_version", "fields.colour"]),
}


def test_each_invalid_submission_is_a_422_listing_every_field_and_stores_nothing(portal):
    ann = portal.client(ANN)
    for case, (change, fields) in INVALID.items():
        body = xcally()
        for key, value in change.items():
            if key == "fields":
                body["fields"].update(value)
                body["fields"] = {k: v for k, v in body["fields"].items() if v is not None}
            else:
                body[key] = value
        response = ann.post("/api/tickets", json=body)

        assert response.status_code == 422, (case, response.text)
        errors = response.json()["errors"]
        assert sorted(e["field"] for e in errors) == sorted(fields), case
        assert all(e["message"] for e in errors) and response.json()["detail"], case
    assert portal.count() == 0
    assert portal.outbox() == []


def test_the_same_idempotency_key_twice_creates_one_ticket_per_user(portal):
    ann, bob = portal.client(ANN), portal.client(BOB)
    first = ann.post("/api/tickets", json=xcally(idempotency_key="retry-0001"))
    again = ann.post("/api/tickets", json=xcally(idempotency_key="retry-0001"))
    bobs = bob.post("/api/tickets", json=xcally(idempotency_key="retry-0001"))

    assert (first.status_code, again.status_code, bobs.status_code) == (201, 200, 201)
    assert again.json() == first.json() == {"key": "XC-1", "url": "requests/XC-1/"}
    assert bobs.json()["key"] == "XC-2"
    assert portal.count() == 2
    # One receipt for Ann, not two.
    assert [m.to_email for m in portal.outbox()].count(ANN) == 1


def test_racing_retries_with_one_idempotency_key_create_one_ticket(portal):
    results: list[int] = []

    def submit():
        results.append(portal.client(ANN).post("/api/tickets", json=xcally(idempotency_key="race-0001")).status_code)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] * 5 + [201]
    assert portal.count() == 1


def test_ticket_numbers_stay_unique_and_gapless_under_concurrent_intake(portal):
    """Plain create_ticket from many threads at once: the key counter is the only arbiter."""
    submission = SimpleNamespace(product="xcally", request_type="technical-issue", priority="high",
                                 summary="Concurrent", description="", values={}, consents=())
    keys: list[str] = []
    errors: list[BaseException] = []

    def worker():
        try:
            with portal.Session() as db:
                ann = db.scalars(select(User).where(User.email == ANN)).one()
                for _ in range(5):
                    keys.append(tickets.create_ticket(db, portal.settings, submission, ann)[0].key)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(keys, key=lambda k: int(k.split("-")[1])) == [f"XC-{n}" for n in range(1, 41)]


def test_the_server_access_consent_is_stored_with_its_version_who_and_when(portal):
    body = xcally(server_access="yes", server_host="pbx.acme.example", remote_method="ssh",
                  server_access_consent=True)
    key = portal.client(ANN).post("/api/tickets", json=body).json()["key"]

    with portal.Session() as db:
        [consent] = db.scalars(select(TicketConsent)).all()
        assert (consent.field, consent.name) == ("server_access_consent", "server-access")
        assert consent.version and len(consent.text_sha256) == 64
        assert consent.user.email == ANN and consent.accepted_at is not None
    page = portal.client(ANN).get(f"/api/tickets/{key}").json()
    assert page["consents"][0]["version"] == consent.version
    assert page["consents"][0]["accepted_by"] == "Ann Acme"
    shown = {f["name"]: f["display"] for f in page["fields"]}
    assert f"version {consent.version}" in shown["server_access_consent"]


# -- the form page's own post, without JavaScript -------------------------------------------------


def _form(body: dict) -> dict:
    """The body as the form page posts it: fields.<name>, repeated for a multi-select."""
    data = {k: body[k] for k in ("product", "request_type", "priority")}
    for name, value in body["fields"].items():
        data[f"fields.{name}"] = "on" if value is True else value
    return data


def test_a_form_post_without_javascript_lands_on_the_new_ticket_page(portal):
    body = xcally(channels=["voice", "chat"])
    response = portal.client(ANN).post("/api/tickets", data=_form(body), headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/requests/XC-1/"
    page = portal.client(ANN).get("/api/tickets/XC-1").json()
    assert {f["name"]: f["value"] for f in page["fields"]}["channels"] == ["voice", "chat"]


def test_a_form_post_with_errors_gets_a_page_listing_them_with_a_way_back(portal):
    body = xcally(deployment="mars", motion_version=None)
    response = portal.client(ANN).post("/api/tickets", data=_form(body), headers=HTML)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "<strong>Where does XCALLY run?</strong>" in response.text
    assert "<strong>XCALLY Motion version</strong>: This field is required." in response.text
    assert 'href="http://portal.test/support/xcally/"' in response.text and "Back" in response.text
    assert portal.count() == 0


def test_a_form_post_with_scripted_values_is_escaped_on_the_error_page(portal):
    body = xcally(deployment="<script>alert(1)</script>")
    response = portal.client(ANN).post("/api/tickets", data=_form(body), headers=HTML)
    assert response.status_code == 422
    assert "<script>alert(1)" not in response.text


# -- attachments ---------------------------------------------------------------------------------


def _files(*files: tuple[str, bytes]) -> list:
    return [("files.logs", (name, content, "text/plain")) for name, content in files]


def test_attachments_are_stored_outside_the_site_and_served_only_as_downloads(portal):
    ann = portal.client(ANN)
    response = ann.post("/api/tickets", data=_form(xcally()),
                        files=_files(("asterisk.log", b"WARNING: trunk down"), ("<img src=x onerror=alert(1)>.log", b"GET /?q=<script> 404")))
    assert response.status_code == 201, response.text
    key = response.json()["key"]

    with portal.Session() as db:
        stored = db.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert [a.filename for a in stored] == ["asterisk.log", "<img src=x onerror=alert(1)>.log"]
    for attachment in stored:
        path = portal.settings.attachments_dir / attachment.stored_name
        assert path.is_file() and re.fullmatch(r"[0-9a-f]{40}", attachment.stored_name)
        assert portal.settings.site_dir not in path.parents

    page = ann.get(f"/api/tickets/{key}").json()
    assert [a["filename"] for a in page["attachments"]] == ["asterisk.log", "<img src=x onerror=alert(1)>.log"]
    download = ann.get(page["attachments"][1]["url"])
    assert download.status_code == 200 and download.content == b"GET /?q=<script> 404"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-type"] == "application/octet-stream"

    assert portal.client(GINA).get(page["attachments"][0]["url"]).status_code == 404
    assert portal.client().get(page["attachments"][0]["url"]).status_code == 401
    assert portal.client(SAM).get(page["attachments"][0]["url"]).content == b"WARNING: trunk down"


def test_too_many_attachments_are_refused_with_413_and_nothing_is_kept(portal):
    response = portal.client(ANN).post("/api/tickets", data=_form(xcally()),
                                       files=_files(("a.log", b"a"), ("b.log", b"b"), ("c.log", b"c")))
    assert response.status_code == 413
    assert "at most 2" in response.json()["detail"]
    assert portal.count() == portal.count(Attachment) == 0
    assert not portal.settings.attachments_dir.exists() or not any(portal.settings.attachments_dir.iterdir())


def test_a_too_large_attachment_is_refused_with_413_naming_it_and_nothing_is_kept(portal):
    response = portal.client(ANN).post("/api/tickets", data=_form(xcally()),
                                       files=_files(("small.log", b"ok"), ("huge.log", b"x" * 2001)))
    assert response.status_code == 413
    assert "'huge.log' is larger than" in response.json()["detail"]
    assert portal.count() == portal.count(Attachment) == 0
    assert not portal.settings.attachments_dir.exists() or not any(portal.settings.attachments_dir.iterdir())


def test_a_too_large_attachment_in_a_form_post_gets_an_html_page(portal):
    response = portal.client(ANN).post("/api/tickets", data=_form(xcally()), headers=HTML,
                                       files=_files(("huge.log", b"x" * 2001)))
    assert response.status_code == 413
    assert "huge.log" in response.text and "Back to the form" in response.text


# -- the API description -------------------------------------------------------------------------


def test_openapi_describes_each_products_ticket_body_and_every_endpoint(portal):
    spec = portal.client().get("/openapi.json").json()
    body = spec["paths"]["/api/tickets"]["post"]["requestBody"]["content"]
    refs = [v["$ref"] for v in body["application/json"]["schema"]["oneOf"]]
    assert refs == [f"#/components/schemas/TicketBody_{slug}"
                    for slug in ("xcally", "xplany", "witiop", "vidaoo", "license")]
    xcally_body = spec["components"]["schemas"]["TicketBody_xcally"]
    assert xcally_body["properties"]["product"] == {"const": "xcally"}
    assert "multipart/form-data" in body
    for path, method in [("/api/tickets", "get"), ("/api/tickets/{key}", "get"),
                         ("/api/tickets/{key}/comments", "post"), ("/api/tickets/{key}/transitions", "post"),
                         ("/api/tickets/{key}/assignee", "put"),
                         ("/api/tickets/{key}/attachments/{attachment_id}", "get")]:
        assert method in spec["paths"][path], path


def test_a_signed_out_form_post_gets_a_page_linking_to_the_sites_sign_in_page(portal):
    referer = {**HTML, "Referer": "http://portal.test/help/support/xcally/"}  # a site published under /help/
    response = portal.client().post("/api/tickets", data=_form(xcally()), headers=referer)
    assert response.status_code == 401 and response.headers["content-type"].startswith("text/html")
    assert '<a href="/help/login/">Sign in</a>' in response.text and "then send the form again" in response.text
    assert "<script" not in response.text and portal.count() == 0
