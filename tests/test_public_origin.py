"""The service's own origin, for the CSRF check, comes from KBGEN_PUBLIC_URL, not from the Host header."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from kbgen.settings import Settings
from test_tickets_support import ANN, SITE, Portal, settings_for, xcally

PUBLIC = SITE  # the portal's public URL in every tickets test
REFUSED = "Cross-site request refused"


@pytest.fixture
def configured(tmp_path, database_url):
    # What Settings.from_env makes of KBGEN_PUBLIC_URL (the last test): the origin, and that it was set.
    portal = Portal(tmp_path, database_url, public_url_configured=True)
    yield portal
    portal.close()


def forged(portal: Portal, host: str) -> TestClient:
    """Ann's session cookie, in a browser on a page of `host` that also forges the Host header."""
    signed_in = portal.client(ANN)
    client = TestClient(portal.app, base_url=f"http://{host}", headers={"Origin": f"http://{host}"})
    client.cookies.update(signed_in.cookies)
    return client


def test_a_forged_host_and_origin_are_refused_when_the_public_url_is_configured(configured):
    evil = forged(configured, "evil.example")
    assert evil.headers["Origin"] == "http://evil.example"
    response = evil.post("/api/tickets", json=xcally(), headers={"Host": "evil.example"})
    assert response.status_code == 403 and response.json()["detail"].startswith(REFUSED)
    assert evil.delete("/api/session", headers={"Host": "evil.example"}).status_code == 403
    assert configured.count() == 0
    assert evil.get("/api/me").status_code == 200  # still signed in: the sign-out was refused too


def test_the_configured_public_origin_is_the_one_accepted(configured):
    ann = configured.client(ANN)
    response = ann.post("/api/tickets", json=xcally(), headers={"Origin": PUBLIC, "Host": "10.0.0.7:8000"})
    assert response.status_code == 201, response.text


def test_without_a_public_url_local_development_trusts_the_host(tmp_path, database_url):
    local = Portal(tmp_path, database_url)
    try:
        on_laptop = forged(local, "127.0.0.1:8000")
        assert on_laptop.post("/api/tickets", json=xcally()).status_code == 201
    finally:
        local.close()


def test_settings_record_whether_the_public_url_was_configured(tmp_path):
    configured = Settings.from_env(tmp_path, env={"KBGEN_PUBLIC_URL": "https://support.example.com/"})
    assert configured.public_url == "https://support.example.com" and configured.public_url_configured
    assert not Settings.from_env(tmp_path, env={}).public_url_configured
    assert not settings_for(tmp_path, "sqlite://").public_url_configured
