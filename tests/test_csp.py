"""The Content-Security-Policy: what `kbgen build` writes beside the pages, and what the service sends.

The expected hashes are computed here from the really built pages (html.parser + hashlib), not
with kbgen's own code; the service is the real app over the real build.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from conftest import copy_project, project_settings, run_kbgen
from kbgen import accounts
from kbgen.web.app import create_app

SITE = "http://portal.test"
PASSWORD = "correct horse battery"
JS_TYPES = {"", "text/javascript", "module", "application/javascript"}


class Resources(HTMLParser):
    """A page's inline scripts and styles, style attributes, handler attributes and the URLs it loads."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.style_attrs: list[str] = []
        self.handlers: list[str] = []
        self.loads: list[str] = []
        self._open: str | None = None
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]
        if "style" in attrs:
            self.style_attrs.append(attrs["style"])
        if tag == "script" and "src" not in attrs and (attrs.get("type") or "").lower() in JS_TYPES:
            self._open, self.scripts = "script", [*self.scripts, ""]
        elif tag == "style":
            self._open, self.styles = "style", [*self.styles, ""]
        loaded = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src", "audio": "src",
                  "embed": "src", "object": "data"}.get(tag)
        if tag == "link" and set((attrs.get("rel") or "").split()) & {"stylesheet", "preload", "preconnect",
                                                                       "modulepreload", "icon", "manifest"}:
            loaded = "href"
        if loaded and attrs.get(loaded):
            self.loads.append(attrs[loaded])

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None

    def handle_data(self, data):
        if self._open == "script":
            self.scripts[-1] += data
        elif self._open == "style":
            self.styles[-1] += data


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def directives(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def site_resources(site: Path) -> dict[str, Resources]:
    return {p.relative_to(site).as_posix(): Resources(p.read_text(encoding="utf-8")) for p in site.rglob("*.html")}


def test_the_build_writes_the_policy_with_the_hashes_of_the_sites_inline_scripts(built_project):
    site = built_project / "site"
    pages = site_resources(site)
    inline = {sha256(s) for page in pages.values() for s in page.scripts}
    assert inline  # Material's theme has a few; they must be trusted, or its pages break

    policy = json.loads((site / ".kbgen" / "csp.json").read_text())
    assert set(policy["script_hashes"]) == inline
    header = policy["header"]
    assert directives(header) == {
        "default-src": ["'self'"],
        "script-src": ["'self'", *sorted(inline)],
        "style-src": directives(header)["style-src"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
    assert directives(header)["style-src"][0] == "'self'" and "'unsafe-inline'" not in header
    # Static hosts get the very same header.
    assert f'add_header Content-Security-Policy "{header}" always;' in (site / ".kbgen" / "csp.nginx.conf").read_text()
    assert f'header Content-Security-Policy "{header}"' in (site / ".kbgen" / "csp.caddy").read_text()

    # Nothing the pages need may come from a CDN, nor run from an attribute or style one.
    assert {path: p.loads for path, p in pages.items() if any(re.match(r"(https?:)?//", u) for u in p.loads)} == {}
    assert {path: p.handlers for path, p in pages.items() if p.handlers} == {}
    assert {path: (p.styles, p.style_attrs) for path, p in pages.items() if p.styles or p.style_attrs} == {}


@pytest.fixture(scope="module")
def service(built_project, tmp_path_factory):
    settings = project_settings(built_project, f"sqlite:///{tmp_path_factory.mktemp('db') / 'kbgen.db'}",
                                public_url=SITE)
    app = create_app(settings)
    with app.state.sessionmaker.begin() as db:
        accounts.add_organization(db, "Acme Telecom")
        accounts.add_user(db, organization="Acme Telecom", email="ann@acme.example", role="customer",
                          password=PASSWORD, name="Ann Acme")
    yield app
    app.state.engine.dispose()


def signed_in(app) -> TestClient:
    client = TestClient(app, base_url=SITE)
    assert client.post("/api/session", json={"email": "ann@acme.example", "password": PASSWORD},
                       headers={"Origin": SITE}).status_code == 200
    return client


def test_every_kind_of_answer_of_the_service_carries_the_sites_policy(service, built_project):
    built = json.loads((built_project / "site" / ".kbgen" / "csp.json").read_text())["header"]
    client = signed_in(service)
    ticket = client.post("/api/tickets", headers={"Origin": SITE}, json={
        "product": "xcally", "request_type": "technical-issue", "priority": "low",
        "fields": {"summary": "Calls drop", "description": "Every inbound call drops after a minute.",
                   "motion_version": "3.41.2", "deployment": "cloud", "affected_users": "one",
                   "server_access": "no"}})
    assert ticket.status_code == 201
    key = ticket.json()["key"]
    form_post = client.post("/api/tickets", headers={"Origin": SITE, "Accept": "text/html",
                                                      "Referer": f"{SITE}/support/xcally/technical-issue/"},
                            data={"product": "xcally", "request_type": "technical-issue", "priority": "low"})
    answers = {
        "home": client.get("/"),
        "article": client.get("/kb/xcally/how-to/configure-music-on-hold/"),
        "search API": client.get("/api/search", params={"q": "music on hold"}),
        "signed out API": TestClient(service, base_url=SITE).get("/api/me"),
        "ticket page": client.get(f"/requests/{key}/"),
        "ticket API": client.get(f"/api/tickets/{key}"),
        "404": client.get("/no/such/page/"),
        "form post errors": form_post,
    }
    assert {name: a.status_code for name, a in answers.items()} == {
        "home": 200, "article": 200, "search API": 200, "signed out API": 401, "ticket page": 200,
        "ticket API": 200, "404": 404, "form post errors": 422}
    assert {name: a.headers.get("content-security-policy") for name, a in answers.items()} == \
        {name: built for name in answers}
    assert "We could not find that page" in answers["404"].text  # the theme's 404.html

    # The service's own HTML page runs no script and uses only the style the policy trusts.
    errors = Resources(form_post.text)
    assert errors.scripts == [] and errors.handlers == [] and errors.style_attrs == []
    assert "javascript:" not in form_post.text
    assert {sha256(s) for s in errors.styles} <= set(directives(built)["style-src"])
    assert errors.styles

    # An attachment keeps its stricter policy: it is a download, never a page of the portal.
    comment = client.post(f"/api/tickets/{key}/comments", headers={"Origin": SITE}, data={"text": "The log."},
                          files={"files": ("calls.log", b"SIP/2.0 408 Request Timeout", "text/plain")})
    assert comment.status_code == 201
    download = client.get(comment.json()["attachments"][0]["url"])
    assert download.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_a_rebuild_brings_its_policy_to_the_running_service_and_never_trusts_a_writers_script(tmp_path):
    project = copy_project(tmp_path / "portal")
    assert run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": ""}).returncode == 0
    settings = project_settings(project, f"sqlite:///{tmp_path / 'kbgen.db'}", public_url=SITE,
                                allowed_origins=("https://intranet.example:8443",))
    app = create_app(settings)
    try:
        client = TestClient(app, base_url=SITE)
        before = directives(client.get("/").headers["content-security-policy"])
        assert before["connect-src"] == ["'self'"]
        assert before["form-action"] == ["'self'", "https://intranet.example:8443"]

        config = yaml.safe_load((project / "mkdocs.yml").read_text())
        config["extra"]["kbgen"]["api_url"] = "https://api.example.com/portal"
        (project / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        writer_script = 'alert("written in an article")'
        article = project / "content" / "kb" / "xcally" / "how-to" / "configure-music-on-hold.md"
        article.write_text(article.read_text() + f"\n<script>{writer_script}</script>\n")
        rebuilt = run_kbgen("build", cwd=project, env={"KBGEN_INDEX_DIR": ""})
        assert rebuilt.returncode == 0 and "raw <script> in the article" in rebuilt.stderr
        page = client.get("/kb/xcally/how-to/configure-music-on-hold/")
        assert f"<script>{writer_script}</script>" in page.text  # built (not strict), but never trusted:

        after = directives(page.headers["content-security-policy"])
        assert sha256(writer_script) not in after["script-src"]
        assert after["script-src"] == before["script-src"]
        assert after["connect-src"] == ["'self'", "https://api.example.com"]
        assert after["form-action"] == ["'self'", "https://api.example.com", "https://intranet.example:8443"]
        snippet = (project / "site" / ".kbgen" / "csp.nginx.conf").read_text()
        assert "connect-src 'self' https://api.example.com;" in snippet and writer_script not in snippet
    finally:
        app.state.engine.dispose()
