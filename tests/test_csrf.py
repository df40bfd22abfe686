"""Cross-site requests, oversized bodies and security headers, through the real HTTP app."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from test_accounts_http import PASSWORD, SITE, browser, make_service, make_settings, password_hash, sign_in  # noqa: F401

REFUSED = "Cross-site request refused: this action must come from a page of this portal."


@pytest.fixture
def service(tmp_path, database_url, password_hash):  # noqa: F811
    settings = make_settings(tmp_path, database_url, allowed_origins=("https://intranet.example:8443",),
                             max_body_bytes=4096)
    (settings.site_dir / "kb").mkdir(parents=True)
    (settings.site_dir / "kb" / "index.html").write_text("<h1>Knowledge base</h1>")
    app = make_service(settings, password_hash)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def signed_in(service) -> TestClient:
    client = browser(service)
    assert sign_in(client).status_code == 200
    return client


def as_script(client: TestClient) -> TestClient:
    """The same cookies from a client that sends no Origin or Referer (curl, a script)."""
    script = TestClient(client.app, base_url=SITE)
    script.cookies.update(client.cookies)
    return script


@pytest.mark.parametrize("origin", [SITE, "https://support.example.com", "https://intranet.example:8443"])
def test_requests_from_the_portal_itself_or_allowed_origins_pass(signed_in, origin):
    response = signed_in.post("/api/probe/mine", headers={"Origin": origin})
    assert response.status_code == 200 and response.json()["email"] == "ann@acme.example"


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},  # sandboxed frames and some redirects
    {"Origin": "http://portal.test.evil.example"},
    {"Origin": "https://support.example.com.evil.example"},
    {"Origin": "http://portal.test:8080"},
    {"Referer": "https://evil.example/post.html"},
])
def test_cross_site_requests_with_the_session_cookie_are_refused(signed_in, headers):
    script = as_script(signed_in)
    refused = script.delete("/api/session", headers=headers)
    assert refused.status_code == 403 and refused.json()["detail"].startswith(REFUSED)
    assert script.post("/api/probe/mine", headers=headers).status_code == 403
    assert signed_in.get("/api/me").status_code == 200  # still signed in: the sign-out was refused


def test_a_script_without_origin_needs_the_sessions_csrf_token(signed_in):
    script = as_script(signed_in)
    assert script.post("/api/probe/mine").status_code == 403
    assert script.post("/api/probe/mine", headers={"X-CSRF-Token": "guessed"}).status_code == 403
    token = signed_in.get("/api/me").json()["csrf_token"]
    assert script.post("/api/probe/mine", headers={"X-CSRF-Token": token}).status_code == 200
    assert script.delete("/api/session", headers={"X-CSRF-Token": signed_in.cookies["kbgen_csrf"]}).status_code == 204
    assert signed_in.get("/api/me").status_code == 401


def test_another_site_cannot_sign_a_visitor_in(service):
    client = TestClient(service, base_url=SITE)
    credentials = {"email": "ann@acme.example", "password": PASSWORD}
    refused = client.post("/api/session", json=credentials, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "kbgen_session" not in client.cookies
    assert client.post("/api/session", json=credentials).status_code == 200  # a script: no Origin, no cookie yet


def test_a_signed_out_post_is_refused_by_the_route_not_let_through(service):
    client = TestClient(service, base_url=SITE)
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": SITE}):
        response = client.post("/api/probe/mine", headers=headers)
        assert response.status_code == 401 and response.json() == {"detail": "Sign in to open or follow requests"}


def test_a_body_over_the_limit_is_refused_with_413(signed_in):
    big = {"email": "ann@acme.example", "password": "x" * 5000}
    response = signed_in.post("/api/session", json=big)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request is larger than the 4096 bytes this service accepts.")

    # Without Content-Length (chunked), the count stops the read and the answer is still 413.
    chunked = signed_in.post("/api/session", content=(b" " * 1024 for _ in range(8)),
                             headers={"Content-Type": "application/json"})
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413 and chunked.json()["detail"].startswith("The request is larger")
    assert signed_in.post("/api/probe/mine", content=b"x" * 1024).status_code == 200


def test_every_answer_carries_the_security_headers(signed_in):
    answers = [signed_in.get("/api/me"), signed_in.get("/kb/"), signed_in.get("/nowhere/"),
               signed_in.post("/api/probe/mine", headers={"Origin": "https://evil.example"})]
    assert [a.status_code for a in answers] == [200, 200, 404, 403]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_a_static_site_on_an_allowed_origin_signs_in_with_cors_and_comes_back(signed_in):
    other = "https://intranet.example:8443"
    preflight = signed_in.options("/api/session", headers={
        "Origin": other, "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "content-type,x-csrf-token"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == other
    assert preflight.headers["access-control-allow-credentials"] == "true"
    me = signed_in.get("/api/me", headers={"Origin": other})
    assert me.headers["access-control-allow-origin"] == other
    assert "access-control-allow-origin" not in signed_in.get("/api/me", headers={"Origin": "https://evil.example"}).headers

    # The no-JavaScript form on that site is sent back there, not to the service's own host.
    form = {"email": "ann@acme.example", "password": PASSWORD, "next": "/kb/"}
    came_back = signed_in.post("/api/session", data=form, follow_redirects=False,
                               headers={"Origin": other, "Referer": f"{other}/help/login/"})
    assert came_back.headers["location"] == f"{other}/kb/"
    failed = signed_in.post("/api/session", data=form | {"password": "wrong"}, follow_redirects=False,
                            headers={"Origin": other, "Referer": f"{other}/"})  # browsers send only the origin
    assert failed.headers["location"] == f"{other}/login/?error=1&next=/kb/#kbgen-login-failed"
