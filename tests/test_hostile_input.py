"""Hostile input against every endpoint, through the real app, on SQLite and PostgreSQL.

Each case is something a client can send today (JSON nested thousands deep, NUL bytes,
lone surrogates as JSON escapes and as raw bytes, numbers past 64 bits, digits that are
not ASCII, too many files, wrong media types, empty and cut-off bodies). Every one must
be a 4xx in the shared error shape whose message names the field at fault, and must
leave the database (and the attachments folder) exactly as it was.
"""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
import pytest
from sqlalchemy import inspect, text
from starlette.testclient import TestClient

from conftest import LiveServer
from kbgen import accounts
from kbgen.accounts import User
from kbgen.forms import SubmissionInvalid, load_catalog
from kbgen.mail.sender import OutboxSender
from kbgen.search.indexer import IndexBuilder, PageRecord
from kbgen.search.missed import MissedSearch
from test_tickets_support import ANN, PASSWORD, REPO, SAM, SITE, Portal, xcally

DEEP = 5000
BAD_TEXT = {
    "NUL": "\x00",
    "lone surrogate": "\ud800",
}


# -- the portal and what it holds --------------------------------------------------------------


@pytest.fixture(scope="module")
def portal(tmp_path_factory, module_database_url):
    portal = Portal(tmp_path_factory.mktemp("hostile"), module_database_url, max_attachments=3)
    portal.key = portal.open(ANN)
    index = IndexBuilder(portal.settings.index_dir)
    index.add(PageRecord(url="kb/xcally/how-to/hold-music/", path="kb/xcally/how-to/hold-music.md",
                         title="Music on hold", html="<p>Configure music on hold for a queue.</p>",
                         product="xcally", type="how-to", tags=[], summary="Hold music"))
    index.finish()
    # One attachment, so attachment paths exist and a burst can download it.
    files = {"files": ("notes.txt", b"hello", "text/plain")}
    sent = portal.client(ANN).post(f"/api/tickets/{portal.key}/comments", data={"text": "with a file"}, files=files)
    assert sent.status_code == 201, sent.text
    portal.attachment_id = sent.json()["attachments"][0]["id"]
    yield portal
    portal.close()


def snapshot(portal: Portal) -> dict[str, int]:
    """Rows in every table, and files in the attachments folder."""
    engine = portal.app.state.engine
    counts = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            counts[table] = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
    folder = portal.settings.attachments_dir
    counts["attachment files"] = len(list(folder.iterdir())) if folder.is_dir() else 0
    return counts


def client(portal: Portal, email: str | None) -> TestClient:
    signed_in = portal.client(email)
    # A 500 must show up as a status here, not as an exception from the test client.
    quiet = TestClient(portal.app, base_url=SITE, headers={"Origin": SITE}, raise_server_exceptions=False)
    quiet.cookies.update(signed_in.cookies)
    return quiet


def assert_refused(response: httpx.Response, field: str, statuses: tuple[int, ...] = ()) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:500])
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    named = [e["field"] for e in body.get("errors", [])]
    assert field in named or field in body["detail"], (field, body)


# -- the cases ---------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    who: str | None
    method: str
    path: str  # {key} and {attachment} are filled in from the portal
    field: str  # what the answer must name
    options: dict[str, Any] = field(default_factory=dict)
    statuses: tuple[int, ...] = ()

    def send(self, portal: Portal, http: TestClient) -> httpx.Response:
        path = self.path.format(key=portal.key, attachment=portal.attachment_id)
        return http.request(self.method, path, **self.options)


def json_bytes(payload: Any, *, raw: bool = False) -> dict:
    """Options sending `payload` as JSON; raw puts lone surrogates in as their UTF-8 bytes, not as escapes."""
    body = (json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass") if raw
            else json.dumps(payload).encode())
    return {"content": body, "headers": {"Content-Type": "application/json"}}


def get(body: dict, path: str) -> Any:
    for part in path.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


def spoil(value: str, bad: str) -> str:
    """`value` with `bad` inside it, so that only `bad` makes it wrong."""
    return value[:2] + bad + value[2:]


def put(body: dict, path: str, value: Any) -> dict:
    """A copy of `body` with `value` at a dotted path ("fields.summary", "fields.channels.0")."""
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    target = copy
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return copy


JSON_ENDPOINTS = {  # name: (who, method, path, a valid body, the fields to spoil)
    "intake": (ANN, "POST", "/api/tickets", xcally(channels=["voice", "chat"], idempotency_key=None) | {
        "idempotency_key": "hostile-0001", "related_to": "XC-1"},
        ["product", "request_type", "priority", "idempotency_key", "related_to", "fields.summary",
         "fields.description", "fields.motion_version", "fields.deployment", "fields.channels.1"]),
    "comment": (ANN, "POST", "/api/tickets/{key}/comments", {"text": "A reply", "internal": False}, ["text"]),
    "transition": (ANN, "POST", "/api/tickets/{key}/transitions", {"to": "Closed"}, ["to"]),
    "assignee": (SAM, "PUT", "/api/tickets/{key}/assignee", {"assignee": SAM}, ["assignee"]),
    "sign-in": (None, "POST", "/api/session", {"email": ANN, "password": PASSWORD}, ["email", "password"]),
}


def json_cases() -> list[Case]:
    cases = []
    for endpoint, (who, method, path, body, spoiled) in JSON_ENDPOINTS.items():
        for shape, deep in (("arrays", "[" * DEEP + "]" * DEEP), ("objects", '{"a":' * DEEP + "1" + "}" * DEEP),
                            ("inside a field", json.dumps(body)[:-1] + ', "x": ' + "[" * DEEP + "]" * DEEP + "}")):
            cases.append(Case(f"{endpoint}: JSON {DEEP} deep ({shape})", who, method, path, "body",
                              {"content": deep.encode(), "headers": {"Content-Type": "application/json"}}))
        for name in spoiled:
            shown = name.replace(".1", "[1]")
            for bad_name, bad in BAD_TEXT.items():
                cases.append(Case(f"{endpoint}: {bad_name} in {shown}", who, method, path, shown,
                                  json_bytes(put(body, name, spoil(get(body, name), bad))), (422,)))
            cases.append(Case(f"{endpoint}: lone surrogate bytes in {shown}", who, method, path, shown,
                              json_bytes(put(body, name, spoil(get(body, name), "\ud800")), raw=True), (422,)))
        for bad_name, bad in BAD_TEXT.items():
            renamed = dict(body)
            renamed["na" + bad + "me"] = "x"
            cases.append(Case(f"{endpoint}: {bad_name} in a key", who, method, path, "na", json_bytes(renamed), (422,)))
        cases.append(Case(f"{endpoint}: empty body", who, method, path, "JSON",
                          {"content": b"", "headers": {"Content-Type": "application/json"}}, (400,)))
        cases.append(Case(f"{endpoint}: truncated body", who, method, path, "JSON",
                          {"content": json.dumps(body).encode()[:12], "headers": {"Content-Type": "application/json"}},
                          (400,)))
        cases.append(Case(f"{endpoint}: text/plain", who, method, path, "JSON",
                          {"content": json.dumps(body).encode(), "headers": {"Content-Type": "text/plain"}}, (415,)))
    return cases


NUMBERS = {"beyond 64 bits": str(2 ** 70), "beyond 32 bits": str(2 ** 31), "superscript two": "²",
           "Arabic-Indic digits": "١٢", "negative": "-5"}


def with_number(payload: dict, digits: str) -> dict:
    """JSON options with the number literal `digits` where the payload says "#" (json.dumps refuses to
    write an int of more than 4,300 digits)."""
    options = json_bytes(payload)
    options["content"] = options["content"].replace(b'"#"', digits.encode())
    return options


def number_cases() -> list[Case]:
    cases = []
    intake = JSON_ENDPOINTS["intake"][3]
    for name, digits in (("beyond 64 bits", str(2 ** 70)), ("thousands of digits", "9" * 5000)):
        if name == "beyond 64 bits":  # ids are 32-bit columns on PostgreSQL
            cases.append(Case("assignee: id beyond 32 bits", SAM, "PUT", "/api/tickets/{key}/assignee", "assignee",
                              with_number({"assignee": "#"}, str(2 ** 31)), (422,)))
        cases.append(Case(f"intake: attachment count {name}", ANN, "POST", "/api/tickets", "attachments.logs",
                          with_number(put(intake, "attachments", {"logs": "#"}), digits), (422,)))
        cases.append(Case(f"assignee: id {name}", SAM, "PUT", "/api/tickets/{key}/assignee", "assignee",
                          with_number({"assignee": "#"}, digits), (422,)))
    for name, value in NUMBERS.items():
        cases.append(Case(f"assignee: id as text, {name}", SAM, "PUT", "/api/tickets/{key}/assignee", "assignee",
                          json_bytes({"assignee": value}), (422,)))
        for param, who in (("page", ANN), ("per_page", ANN), ("requester", ANN), ("assignee", SAM),
                           ("organization", SAM)):
            cases.append(Case(f"list: {param}={name}", who, "GET", "/api/tickets", param,
                              {"params": {param: value}}, (422,)))
        if name != "negative":
            cases.append(Case(f"attachment id {name}", ANN, "GET", "/api/tickets/{key}/attachments/" + value,
                              "attachment_id", statuses=(422,)))
        for param in ("limit", "page"):
            cases.append(Case(f"search: {param}={name}", None, "GET", "/api/search", param,
                              {"params": {"q": "music", param: value}}, (400,)))
    return cases


def url_cases() -> list[Case]:
    cases = [Case("ticket key with NUL", ANN, "GET", "/api/tickets/XC-1%00", "key", statuses=(422,)),
             Case("comment on a key with NUL", ANN, "POST", "/api/tickets/XC-1%00/comments", "key",
                  json_bytes({"text": "hi"}), (422,)),
             Case("search product with NUL", None, "GET", "/api/search", "product",
                  {"params": {"q": "music", "product": "x\x00"}}, (400,))]
    for param, who in (("q", ANN), ("status", ANN), ("product", ANN), ("priority", ANN), ("sort", ANN),
                       ("requester", ANN), ("assignee", SAM)):
        cases.append(Case(f"list: NUL in {param}", who, "GET", "/api/tickets", param,
                          {"params": {param: "a\x00b"}}, (422,)))
    return cases


def multipart(parts: list[tuple[bytes, bytes, bytes | None, bytes]]) -> dict:
    """A multipart body built by hand, byte for byte (HTTP clients escape what these tests must send):
    parts are (name, value, filename or None, content type)."""
    boundary = uuid.uuid4().hex.encode()
    body = b""
    for name, value, filename, content_type in parts:
        disposition = b'form-data; name="' + name + b'"' + (b'; filename="' + filename + b'"' if filename is not None
                                                             else b"")
        body += (b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n"
                 + (b"Content-Type: " + content_type + b"\r\n" if filename is not None else b"") + b"\r\n"
                 + value + b"\r\n")
    body += b"--" + boundary + b"--\r\n"
    return {"content": body, "headers": {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}}


INTAKE_FORM = {"product": b"xcally", "request_type": b"technical-issue", "priority": b"high",
              "fields.summary": b"Calls drop", "fields.description": b"Every inbound call drops after thirty seconds.",
              "fields.motion_version": b"3.41.2", "fields.deployment": b"on-premise", "fields.affected_users": b"all",
              "fields.server_access": b"no"}


def intake_parts(**changes: bytes) -> list[tuple[bytes, bytes, bytes | None, bytes]]:
    values = INTAKE_FORM | changes
    return [(name.encode(), value, None, b"") for name, value in values.items()]


BAD_BYTES = {"NUL": b"\x00", "lone surrogate bytes": b"\xed\xa0\x80"}


def form_cases() -> list[Case]:
    cases = []
    for bad_name, bad in BAD_BYTES.items():
        for name in ("product", "priority", "fields.summary", "fields.description", "fields.deployment"):
            value = INTAKE_FORM[name]
            cases.append(Case(f"intake form: {bad_name} in {name}", ANN, "POST", "/api/tickets", name,
                              multipart(intake_parts(**{name: value[:2] + bad + value[2:]})), (422,)))
        cases.append(Case(f"intake form: {bad_name} in a file name", ANN, "POST", "/api/tickets", "files.logs",
                          multipart(intake_parts() + [(b"files.logs", b"log", b"a" + bad + b".log", b"text/plain")]),
                          (422,)))
        cases.append(Case(f"comment form: {bad_name} in text", ANN, "POST", "/api/tickets/{key}/comments", "text",
                          multipart([(b"text", b"ok" + bad + b"ok", None, b"")]), (422,)))
        cases.append(Case(f"comment form: {bad_name} in a file name", ANN, "POST", "/api/tickets/{key}/comments",
                          "files", multipart([(b"text", b"hi", None, b""),
                                              (b"files", b"x", b"a" + bad + b".txt", b"text/plain")]), (422,)))
        cases.append(Case(f"comment form: {bad_name} in a field name", ANN, "POST", "/api/tickets/{key}/comments",
                          "te", multipart([(b"te" + bad + b"xt", b"hi", None, b"")]), (422,)))
        for name in ("email", "password"):
            cases.append(Case(f"sign-in form: {bad_name} in {name}", None, "POST", "/api/session", name,
                              multipart([(b"email", ANN.encode(), None, b""),
                                         (b"password", PASSWORD.encode(), None, b""),
                                         (name.encode(), b"ok" + bad + b"ok", None, b"")]), (422,)))
    cases.append(Case("comment form: NUL in a file's Content-Type", ANN, "POST", "/api/tickets/{key}/comments",
                      "files", multipart([(b"text", b"hi", None, b""), (b"files", b"x", b"a.txt", b"text/pl\x00ain")]),
                      (422,)))
    cases.append(Case("urlencoded comment: NUL in text", ANN, "POST", "/api/tickets/{key}/comments", "text",
                      {"content": b"text=ok%00ok", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
                      (422,)))
    cases.append(Case("urlencoded comment: lone surrogate bytes in text", ANN, "POST", "/api/tickets/{key}/comments",
                      "text", {"content": b"text=ok%ED%A0%80ok",
                               "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, (422,)))
    cases.append(Case("urlencoded sign-in: NUL in email", None, "POST", "/api/session", "email",
                      {"content": b"email=a%00b%40acme.example&password=x",
                       "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, (422,)))
    many = [(b"files.logs", b"log", f"{i}.log".encode(), b"text/plain") for i in range(16)]
    cases.append(Case("intake form: 16 files", ANN, "POST", "/api/tickets", "files",
                      multipart(intake_parts() + many), (413,)))
    cases.append(Case("comment form: 16 files", ANN, "POST", "/api/tickets/{key}/comments", "files",
                      multipart([(b"text", b"hi", None, b"")] + [(b"files", b"x", f"{i}.txt".encode(), b"text/plain")
                                                                  for i in range(16)]), (413,)))
    cases.append(Case("intake: a body of another type", ANN, "POST", "/api/tickets", "JSON",
                      {"content": b"<ticket/>", "headers": {"Content-Type": "application/xml"}}, (415,)))
    cases.append(Case("comment: a body of another type", ANN, "POST", "/api/tickets/{key}/comments", "JSON",
                      {"content": b"hi", "headers": {"Content-Type": "text/plain"}}, (415,)))
    cases.append(Case("intake form: cut off mid-part", ANN, "POST", "/api/tickets", "body",
                      {**multipart(intake_parts()), "content": multipart(intake_parts())["content"][:80]}, (400, 422)))
    return cases


CASES = json_cases() + number_cases() + url_cases() + form_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_a_4xx_naming_the_field_and_stores_nothing(portal, case):
    http = client(portal, case.who)  # signing in adds a session row: before the count
    before = snapshot(portal)
    response = case.send(portal, http)
    assert_refused(response, case.field, case.statuses)
    assert snapshot(portal) == before


def test_the_service_still_takes_a_valid_request_after_all_that(portal):
    ann = client(portal, ANN)
    assert ann.post("/api/tickets", json=xcally("After the storm")).status_code == 201
    assert ann.post(f"/api/tickets/{portal.key}/comments", json={"text": "still here"}).status_code == 201


def test_the_ticket_forms_refuse_text_no_database_can_hold_whoever_calls_them():
    # The HTTP readers refuse these first; the forms' own entry point holds for every other caller.
    catalog = load_catalog(REPO / "forms")
    body = xcally(description="Every inbound call\x00 drops after thirty seconds.", channels=["voice", "ch\ud800at"])
    with pytest.raises(SubmissionInvalid) as refused:
        catalog.validate(body)
    assert {e.field for e in refused.value.errors} == {"fields.description", "fields.channels[1]"}
    catalog.validate(xcally(channels=["voice", "chat"]))  # the same without them is fine


def test_control_characters_in_a_summary_never_reach_an_email_header(tmp_path, database_url, smtp_server):
    portal = Portal(tmp_path, database_url, smtp_url=smtp_server.url)
    try:
        with portal.Session.begin() as db:  # a name as an administrator might paste it
            db.query(User).filter(User.email == ANN).one().name = "Ann\x1b]0;owned\x07 Acme\u2028"
        summary = "Calls drop\r\nBcc: victim@evil.example\x1b[31m\x07\x0b\x85 now"
        response = portal.client(ANN).post("/api/tickets", json=xcally(summary))
        assert response.status_code == 201, response.text
        OutboxSender(portal.Session, portal.settings).send_due()
        messages = smtp_server.wait_for(2)
        assert sorted(m["X-Rcpt-To"] for m in messages) == [ANN, "team@vendor.example"]
        for message in messages:
            assert message["Bcc"] is None
            for name, value in message.items():
                assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in str(value)), \
                    (name, value)
            assert "Calls drop Bcc: victim@evil.example [31m now" in message["Subject"]
        to_ann = next(m for m in messages if m["X-Rcpt-To"] == ANN)
        assert to_ann["To"].addresses[0].display_name == "Ann ]0;owned Acme"
    finally:
        portal.close()


def test_junk_in_a_search_is_answered_and_kept_without_control_characters(portal):
    # Searches are not refused for junk (tests/test_search_api.py): what they keep must still be storable.
    response = client(portal, None).get("/api/search", params={"q": "zzqx\x00\x1b nothing"})
    assert response.status_code == 200 and response.json()["results"] == []
    with portal.Session() as db:
        kept = [m.query for m in db.query(MissedSearch).all()]
    assert kept and all("\x00" not in q and "\x1b" not in q for q in kept), kept


# -- bursts ------------------------------------------------------------------------------------


def _login(portal: Portal, email: str) -> dict[str, str]:
    with portal.Session.begin() as db:
        user = db.query(User).filter(User.email == email).one()
        token, login = accounts.open_session(db, user)
    return {"Cookie": f"{accounts.SESSION_COOKIE}={token}", "X-CSRF-Token": login.csrf_token}


BURSTS: dict[str, tuple[str | None, str, str, Callable[[int], dict]]] = {
    "requests list": (ANN, "GET", "/api/tickets", lambda i: {"params": {"page": str(i % 3 + 1), "requester": "²",
                                                                        "q": "x" if i % 2 else "\x00"}}),
    "one request": (ANN, "GET", "/api/tickets/{key}", lambda i: {}),
    "attachment": (ANN, "GET", "/api/tickets/{key}/attachments/{attachment}", lambda i: {}),
    "intake": (ANN, "POST", "/api/tickets", lambda i: {"content": ("[" * (DEEP + i)).encode(),
                                                       "headers": {"Content-Type": "application/json"}}),
    "comment": (ANN, "POST", "/api/tickets/{key}/comments", lambda i: json_bytes({"text": f"{i}\x00"})),
    "transition": (ANN, "POST", "/api/tickets/{key}/transitions", lambda i: json_bytes({"to": "\ud800"})),
    "assignee": (SAM, "PUT", "/api/tickets/{key}/assignee", lambda i: json_bytes({"assignee": 2 ** 64 + i})),
    "sign-in": (None, "POST", "/api/session", lambda i: json_bytes({"email": f"a{i}\x00@acme.example",
                                                                     "password": "x"})),
    "search": (None, "GET", "/api/search", lambda i: {"params": {"q": "hold\x00music", "page": str(2 ** 70)}}),
    "me": (ANN, "GET", "/api/me", lambda i: {}),
}


@pytest.mark.parametrize("endpoint", list(BURSTS))
def test_a_burst_of_hostile_requests_gets_no_5xx_and_the_service_still_answers(portal, endpoint):
    who, method, path, options = BURSTS[endpoint]
    path = path.format(key=portal.key, attachment=portal.attachment_id)
    headers = _login(portal, who) if who else {}
    before = snapshot(portal)
    with LiveServer(portal.app) as server, httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        def send(i: int) -> int:
            return http.request(method, path, **options(i)).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(send, range(300)))
        assert all(status < 500 for status in statuses), sorted(set(statuses))
        assert http.get("/api/me").status_code == (200 if who else 401)  # still answering
    assert snapshot(portal) == before
