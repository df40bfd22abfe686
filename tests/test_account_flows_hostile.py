"""Hostile input against every account page's form post (invitation, forgot password, reset, sign-up, its
confirmation), through the real app on SQLite and PostgreSQL: NUL bytes, lone surrogates, 100 KB fields,
nested and array field names, huge numbers, repeated fields, other media types, and a burst of requests.
Every answer is a 4xx or the form again, never a 5xx, and nothing is stored or emailed."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import inspect, text
from starlette.testclient import TestClient

from conftest import LiveServer
from kbgen import accounts
from kbgen.accounts import tokens
from kbgen.facts import service_page
from test_accounts_http import SITE, make_service, make_settings, password_hash  # noqa: F401

STRONG = "violet otter canoe"


@pytest.fixture(scope="module")
def portal(tmp_path_factory, module_database_url):
    hashed = accounts.hash_password("correct horse battery")
    app = make_service(make_settings(tmp_path_factory.mktemp("hostile"), module_database_url), hashed)
    links = {}
    with app.state.sessionmaker.begin() as db:
        acme = accounts.find_organization(db, "Acme Telecom")
        acme.domains.append(accounts.OrganizationDomain(domain="acme.example"))
        acme.signup_enabled = True
        ann = accounts.find_user(db, "ann@acme.example")
        week = dt.timedelta(days=7)
        links["invitation"], _ = tokens.issue(db, tokens.INVITATION, email="bob@acme.example", lifetime=week,
                                              role="customer", organization_id=acme.id)
        links["reset_password"], _ = tokens.issue(db, tokens.RESET, email=ann.email, user_id=ann.id, lifetime=week)
        links["verify_sign_up"], _ = tokens.issue(db, tokens.VERIFICATION, email="dana@acme.example", lifetime=week,
                                                  role="customer", organization_id=acme.id, name="Dana",
                                                  password_hash=hashed)
    app.state.paths = {name: service_page(name, token=links.get(name, "")) for name in
                       ("invitation", "forgot_password", "reset_password", "sign_up")}
    yield app
    app.state.engine.dispose()


def snapshot(app) -> dict[str, int]:
    with app.state.engine.connect() as conn:
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                  for t in inspect(conn).get_table_names()}
        counts["used links"] = conn.execute(text("SELECT count(*) FROM account_tokens WHERE used_at IS NOT NULL "
                                                 "OR revoked_at IS NOT NULL")).scalar_one()
        counts["passwords"] = hash(tuple(conn.execute(text("SELECT password_hash FROM users ORDER BY id")).scalars()))
    return counts


VALID = {"email": "dana@acme.example", "name": "Dana Doe", "password": STRONG, "confirm": STRONG}
FORMS = ("invitation", "forgot_password", "reset_password", "sign_up")
URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}


def urlencoded(pairs: list[tuple[str, str]], raw: dict[str, bytes] | None = None) -> dict:
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs).encode()
    for name, value in (raw or {}).items():
        body += b"&" + name.encode() + b"=" + value
    return {"content": body, "headers": URLENCODED}


def multipart(pairs: list[tuple[bytes, bytes]]) -> dict:
    boundary = b"kbgenhostile0123456789"
    body = b"".join(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value
                    + b"\r\n" for name, value in pairs) + b"--" + boundary + b"--\r\n"
    return {"content": body, "headers": {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}}


def weak(field: str) -> list[tuple[str, str]]:
    """The valid fields, but for one that makes the whole post wrong (so nothing may be stored)."""
    return [(k, v) for k, v in VALID.items()] + [("confirm", "not the same password")]


CASES: list[tuple[str, dict, tuple[int, ...]]] = []
for field in VALID:
    CASES += [
        (f"NUL in {field}", urlencoded(weak(field), {field: b"ab%00cd"}), (422,)),
        (f"lone surrogate bytes in {field}", urlencoded(weak(field), {field: b"ab%ED%A0%80cd"}), (422,)),
        (f"lone surrogate bytes in {field} (multipart)",
         multipart([(k.encode(), v.encode()) for k, v in VALID.items() if k != field]
                   + [(field.encode(), b"ab\xed\xa0\x80cd")]), (422,)),
        (f"NUL in {field} (multipart)", multipart([(field.encode(), b"a\x00b")]), (422,)),
        (f"100 KB {field}", urlencoded(weak(field) + [(field, "x" * 100_000)]), (413,)),
        (f"{field} as an array", urlencoded(weak(field) + [(field + "[]", "a"), (field + "[]", "b")]), ()),
        (f"{field} nested", urlencoded(weak(field) + [(field + "[a][b][c][d]", "x")]), ()),
        (f"{field} repeated, the last one wrong", urlencoded(weak(field) + [(field, "")]), ()),
        (f"a huge number as {field}", urlencoded(weak(field) + [(field, "9" * 5000)]), ()),
    ]
CASES += [
    ("NUL in a field name", urlencoded(weak("x"), {"na%00me": b"x"}), (422,)),
    ("200 fields", urlencoded([(f"f{i}", "x") for i in range(200)]), (413,)),
    ("JSON instead of a form", {"content": b'{"email": "dana@acme.example"}',
                                "headers": {"Content-Type": "application/json"}}, (415,)),
    ("JSON nested 5000 deep", {"content": b"[" * 5000 + b"]" * 5000,
                               "headers": {"Content-Type": "application/json"}}, (415,)),
    ("a file instead of a password", {**multipart([]), "files": {"password": ("p.txt", b"x", "text/plain")}}, (413,)),
    ("an empty body", {"content": b"", "headers": URLENCODED}, ()),
    ("cut-off multipart", {**multipart([(b"email", b"x")]), "content": multipart([(b"email", b"x")])["content"][:30]},
     ()),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_posts_are_refused_and_store_nothing(portal, form, case):
    name, options, statuses = case
    client = TestClient(portal, base_url=SITE, headers={"Origin": SITE}, raise_server_exceptions=False)
    before = snapshot(portal)
    if "files" in options:  # httpx builds the multipart body itself
        response = client.post(portal.state.paths[form], files=options["files"], data={"email": "dana@acme.example"})
    else:
        response = client.post(portal.state.paths[form], **options)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:300])
    # A 4xx, or the neutral answer of the forgot-password page (nothing is sent for an address without account)
    assert response.status_code >= 400 or form == "forgot_password", (response.status_code, response.text[:300])
    assert snapshot(portal) == before


@pytest.mark.parametrize("token", ["\x00", "x" * 8000, "9" * 5000, "../../etc/passwd", "%ED%A0%80"])
@pytest.mark.parametrize("form", ["invitation", "reset_password", "verify_sign_up"])
def test_hostile_tokens_are_refused(portal, form, token):
    client = TestClient(portal, base_url=SITE, headers={"Origin": SITE}, raise_server_exceptions=False)
    before = snapshot(portal)
    path = service_page(form, token="") + quote(token, safe="%")
    for response in (client.get(path), client.post(path, data=VALID)):
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert snapshot(portal) == before


@pytest.mark.parametrize("form", FORMS + ("verify_sign_up",))
def test_a_burst_of_hostile_posts_gets_no_5xx_and_the_pages_still_answer(portal, form):
    path = portal.state.paths.get(form) or service_page(form, token="not-a-token")
    before = snapshot(portal)
    with LiveServer(portal) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        origin = {"Origin": server.url}
        bodies = [urlencoded(weak("x"), {"name": b"a%00b"}), urlencoded(weak("x")),
                  urlencoded([("email", "x" * 20_000)]), {"content": b"[" * 5000, "headers": {
                      "Content-Type": "application/json"}}, urlencoded([("confirm", "1e99999"), ("password", "")])]

        def send(i: int) -> int:
            options = bodies[i % len(bodies)]
            return http.post(path, content=options["content"], headers={**options["headers"], **origin}).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(send, range(30)))
        assert all(status < 500 for status in statuses), sorted(set(statuses))
        assert http.get(path.split("?")[0] if form in ("forgot_password", "sign_up") else path).status_code < 500
    assert snapshot(portal) == before
