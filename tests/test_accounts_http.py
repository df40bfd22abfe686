"""Signing in and out through the real HTTP app, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import update
from starlette.testclient import TestClient

from kbgen import accounts
from kbgen.accounts import LoginSession, Organization, User
from kbgen.web.app import create_app
from kbgen.settings import Settings
from kbgen.web.deps import require_agent, require_user
from kbgen.web.redirects import safe_next

PASSWORD = "correct horse battery"
SITE = "http://portal.test"  # where the browser thinks it is (the Host header)


@pytest.fixture(scope="session")
def password_hash() -> str:
    return accounts.hash_password(PASSWORD)  # argon2 is slow on purpose: hash once for every test


probes = APIRouter()


@probes.post("/api/probe/mine")
def mine(user: User = Depends(require_user)):
    return {"email": user.email, "organization": user.organization.name}


@probes.post("/api/probe/agents")
def agents(user: User = Depends(require_agent)):
    return {"email": user.email}


def make_settings(tmp_path, database_url, **overrides) -> Settings:
    return Settings(project_dir=tmp_path, site_dir=tmp_path / "site", index_dir=tmp_path / "index",
                    data_dir=tmp_path / "data", forms_dir=tmp_path / "forms", content_dir=tmp_path / "content",
                    database_url=database_url, public_url="https://support.example.com",
                    secret_key="test-secret", **overrides)


def make_service(settings: Settings, password_hash: str, *, seed: bool = True):
    app = create_app(settings)
    # Stand-ins for the routers other engineers write, using the dependencies as they will;
    # ahead of the built site's catch-all mount, like the real routers.
    app.router.routes[0:0] = probes.routes

    if seed:
        with app.state.sessionmaker.begin() as db:
            acme, vendor = Organization(name="Acme Telecom"), Organization(name="Vendor Support")
            db.add_all([
                User(organization=acme, email="ann@acme.example", name="Ann Example", role="customer",
                     password_hash=password_hash),
                User(organization=vendor, email="sam@vendor.example", name="Sam Agent", role="agent",
                     password_hash=password_hash),
            ])
    return app


def browser(app, address: str = "198.51.100.7") -> TestClient:
    """A client that, like a browser on the portal's pages, sends its Origin."""
    return TestClient(app, base_url=SITE, headers={"Origin": SITE}, client=(address, 50000))


@pytest.fixture
def service(tmp_path, database_url, password_hash):
    app = make_service(make_settings(tmp_path, database_url, login_attempts_per_window=3), password_hash)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(service) -> TestClient:
    return browser(service)


def sign_in(client: TestClient, email: str = "ann@acme.example", password: str = PASSWORD):
    return client.post("/api/session", json={"email": email, "password": password})


ANN = {"user": {"email": "ann@acme.example", "name": "Ann Example", "role": "customer"},
       "organization": {"name": "Acme Telecom"}}


def without_ids(body: dict) -> dict:
    return {"user": {k: v for k, v in body["user"].items() if k != "id"},
            "organization": {"name": body["organization"]["name"]}}


def test_the_service_starts_without_a_built_site(client):
    assert client.get("/api/me").status_code == 401
    assert client.get("/").status_code == 404


def test_signing_in_returns_who_you_are_and_sets_the_session_cookies(client):
    assert client.get("/api/me").json() == {"detail": "Not signed in"}

    response = sign_in(client)
    assert response.status_code == 200
    body = response.json()
    assert without_ids(body) == ANN
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    assert "HttpOnly" in cookies["kbgen_session"] and "samesite=lax" in cookies["kbgen_session"].lower()
    assert "HttpOnly" not in cookies["kbgen_csrf"]  # the page's script reads it
    assert "Secure" not in cookies["kbgen_session"]  # local http:// portal; see cookie_secure below
    assert client.cookies["kbgen_csrf"] == body["csrf_token"]

    me = client.get("/api/me")
    assert me.status_code == 200 and me.json() == body
    assert me.headers["cache-control"] == "no-store"
    assert client.post("/api/probe/mine").json() == {"email": "ann@acme.example", "organization": "Acme Telecom"}


def test_cookies_are_secure_when_the_portal_is_served_over_https(tmp_path, database_url, password_hash):
    app = make_service(make_settings(tmp_path, database_url, cookie_secure=True), password_hash)
    response = sign_in(browser(app))
    assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client):
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, email="nobody@acme.example")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "The email or password is incorrect."}
    assert "kbgen_session" not in client.cookies
    assert client.get("/api/me").status_code == 401


def test_signed_out_requests_are_refused_with_a_sign_in_message(client):
    assert client.post("/api/probe/mine").status_code == 401
    assert client.post("/api/probe/mine").json() == {"detail": "Sign in to open or follow requests"}
    client.cookies.set("kbgen_session", "made-up-token", domain="portal.test")
    assert client.post("/api/probe/mine").status_code == 401


def test_only_agents_pass_require_agent(client):
    sign_in(client)
    refused = client.post("/api/probe/agents")
    assert refused.status_code == 403 and refused.json() == {"detail": "Only the support team can do this"}
    sign_in(client, email="SAM@vendor.example")
    assert client.post("/api/probe/agents").json() == {"email": "sam@vendor.example"}


def test_signing_out_ends_the_session_on_the_server_too(client):
    sign_in(client)
    stolen = client.cookies["kbgen_session"]
    response = client.delete("/api/session")
    assert response.status_code == 204
    assert "kbgen_session" not in client.cookies and "kbgen_csrf" not in client.cookies
    assert client.get("/api/me").status_code == 401
    client.cookies.set("kbgen_session", stolen, domain="portal.test")  # a copy of the old cookie is worthless
    assert client.get("/api/me").status_code == 401


def test_an_idle_session_expires(service, client):
    sign_in(client)
    with service.state.sessionmaker.begin() as db:
        db.execute(update(LoginSession).values(last_seen_at=accounts.utcnow() - dt.timedelta(days=15)))
    response = client.get("/api/me")
    assert response.status_code == 401
    assert "kbgen_session" not in client.cookies  # the stale cookie is cleared


def test_the_login_form_works_without_javascript(client):
    response = client.post("/api/session", follow_redirects=False,
                           headers={"Referer": f"{SITE}/login/?next=%2Fkb%2Fxcally%2F"},
                           data={"email": "ann@acme.example", "password": PASSWORD, "next": "/kb/xcally/?q=sip"})
    assert response.status_code == 303 and response.headers["location"] == "/kb/xcally/?q=sip"
    assert client.get("/api/me").status_code == 200

    response = client.post("/api/session/logout", follow_redirects=False, headers={"Referer": f"{SITE}/logout/"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.get("/api/me").status_code == 401


def test_a_failed_form_sign_in_goes_back_to_the_login_page_with_the_message(client):
    response = client.post("/api/session", follow_redirects=False,
                           headers={"Referer": f"{SITE}/help/login/"},  # a site published under /help/
                           data={"email": "ann@acme.example", "password": "wrong", "next": "/help/kb/"})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/help/login/" and location.fragment == "kbgen-login-failed"
    assert parse_qs(location.query) == {"error": ["1"], "next": ["/help/kb/"]}


@pytest.mark.parametrize("next_value", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                        "javascript:alert(1)", "kb/", "/x\r\nSet-Cookie: a=b", ""])
def test_next_must_be_a_path_on_this_site(next_value):
    assert safe_next(next_value) is None
    assert safe_next("/kb/xcally/?q=sip#top") == "/kb/xcally/?q=sip#top"


def test_the_form_never_redirects_off_the_site(client):
    response = client.post("/api/session", follow_redirects=False, headers={"Referer": f"{SITE}/login/"},
                           data={"email": "ann@acme.example", "password": PASSWORD, "next": "//evil.example/"})
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_repeated_failures_are_throttled_with_retry_after_whatever_the_email(service, client):
    for _ in range(3):
        assert sign_in(client, password="guess").status_code == 401
    throttled = sign_in(client)  # even the right password waits now
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["retry-after"]) <= 300
    assert throttled.json()["detail"].startswith("Too many sign-in attempts. Try again in ")

    # An unknown email is throttled the same way (nobody learns which emails exist), from any address.
    elsewhere = browser(service, address="203.0.113.9")
    for _ in range(3):
        assert sign_in(elsewhere, email="ghost@acme.example").json() == {
            "detail": "The email or password is incorrect."}
    assert sign_in(elsewhere, email="ghost@acme.example").status_code == 429
    # The address has its own, higher limit (login_attempts_per_address): Sam there still signs in.
    assert sign_in(elsewhere, email="sam@vendor.example").status_code == 200
    assert sign_in(browser(service, address="192.0.2.1"), email="sam@vendor.example").status_code == 200


def test_replicas_on_one_database_share_sessions_and_the_rate_limit(tmp_path, database_url, password_hash):
    settings = make_settings(tmp_path, database_url, login_attempts_per_window=2)
    first = make_service(settings, password_hash)
    second = make_service(settings, password_hash, seed=False)
    on_first, on_second = browser(first), browser(second)

    sign_in(on_first)
    on_second.cookies.update(on_first.cookies)
    assert without_ids(on_second.get("/api/me").json()) == ANN
    assert on_second.delete("/api/session").status_code == 204
    assert on_first.get("/api/me").status_code == 401

    assert sign_in(on_first, password="guess").status_code == 401
    assert sign_in(on_second, password="guess").status_code == 401
    assert sign_in(on_first).status_code == 429


def test_sign_in_explains_a_malformed_request(client):
    assert client.post("/api/session", content=b"{", headers={"Content-Type": "application/json"}).json() == {
        "detail": 'Send JSON like {"email": "...", "password": "..."}'}
    assert client.post("/api/session", json={"email": "ann@acme.example"}).json() == {
        "detail": "Enter your email and password."}
    response = client.post("/api/session", content=b"ann", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
