"""One error shape for every refusal, as answered and as /openapi.json documents it, on SQLite and PostgreSQL.

    {"detail": "<message>", "errors": [{"field": "...", "message": "..."}]}    (errors optional)
"""
from __future__ import annotations

import logging

import jsonschema_rs  # comes with schemathesis (the test extras)
import pytest
from fastapi import APIRouter
from starlette.testclient import TestClient

from test_tickets_support import ANN, SAM, SITE, Portal, xcally

UNSAFE = ("post", "put", "patch", "delete")


@pytest.fixture
def portal(tmp_path, database_url):
    portal = Portal(tmp_path, database_url, max_body_bytes=200_000)
    yield portal
    portal.close()


def error_validator(spec: dict):
    """ErrorOut from the service's own /openapi.json, as a JSON Schema validator."""
    return jsonschema_rs.validator_for({"$ref": "#/components/schemas/ErrorOut", "components": spec["components"]})


def refusals(portal: Portal) -> dict[str, object]:
    key = portal.open(ANN)
    ann, sam, stranger = portal.client(ANN), portal.client(SAM), portal.client()
    return {
        "FastAPI's own query check": ann.get("/api/tickets", params={"page": 0}),
        "FastAPI's own path check": ann.get(f"/api/tickets/{key}/attachments/x"),
        "signed out (HTTPException)": stranger.get("/api/tickets"),
        "unknown route": ann.get("/api/nowhere"),
        "method not allowed": ann.delete("/api/tickets"),
        "unknown ticket": ann.get("/api/tickets/XC-999"),
        "invalid ticket": ann.post("/api/tickets", json=xcally(deployment="mars")),
        "not an agent to assign": sam.put(f"/api/tickets/{key}/assignee", json={"assignee": ANN}),
        "refused move": ann.post(f"/api/tickets/{key}/transitions", json={"to": "In progress"}),
        "unknown status": ann.post(f"/api/tickets/{key}/transitions", json={"to": "Sleeping"}),
        "transition body missing a field": ann.post(f"/api/tickets/{key}/transitions", json={"state": "Closed"}),
        "comment of the wrong type": ann.post(f"/api/tickets/{key}/comments", json={"text": 5}),
        "comment media type": ann.post(f"/api/tickets/{key}/comments", content=b"hi",
                                       headers={"Content-Type": "text/plain"}),
        "search parameter": stranger.get("/api/search", params={"q": "x", "limit": "lots"}),
        "search index missing": stranger.get("/api/search", params={"q": "x"}),
        "cross-site": ann.post("/api/tickets", json=xcally(), headers={"Origin": "https://evil.example"}),
        "body over the limit": ann.post("/api/tickets", content=b"x" * 200_001,
                                        headers={"Content-Type": "application/json"}),
        "bad sign-in": stranger.post("/api/session", json={"email": ANN, "password": "wrong"}),
    }


def test_every_refusal_has_the_documented_shape(portal):
    answers = refusals(portal)
    documented = error_validator(portal.client().get("/openapi.json").json())
    for case, response in answers.items():
        assert 400 <= response.status_code < 600, (case, response.status_code)
        assert response.headers["content-type"].startswith("application/json"), case
        body = response.json()
        documented.validate(body)  # detail a string, errors a list of {field, message}
        assert body["detail"].strip(), case


def test_fastapis_own_validation_errors_name_the_field_in_the_shared_shape(portal):
    ann = portal.client(ANN)
    response = ann.get("/api/tickets", params={"page": 0, "per_page": "many"})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == ("Query parameter 'page' must be at least 1. "
                              "Query parameter 'per_page' must be a whole number written with the digits 0-9.")
    assert body["errors"] == [{"field": "page", "message": "must be at least 1"},
                              {"field": "per_page", "message": "must be a whole number written with the digits 0-9"}]

    key = portal.open(ANN)
    missing = ann.post(f"/api/tickets/{key}/transitions", json={"state": "Closed"})
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "to", "message": "is required"}]


def test_a_refusal_about_a_field_lists_it_in_errors(portal):
    key = portal.open(ANN)
    response = portal.client(SAM).put(f"/api/tickets/{key}/assignee", json={"assignee": ANN})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [{"field": "assignee", "message": body["detail"]}] and "field" not in body
    sort = portal.client(ANN).get("/api/tickets", params={"sort": "colour"})
    assert sort.json()["errors"][0]["field"] == "sort"
    search = portal.client().get("/api/search", params={"q": "x", "limit": "lots"})
    assert search.status_code == 400 and search.json()["errors"][0]["field"] == "limit"
    # Answers with keys of their own keep them beside the shared ones.
    refused = portal.client(ANN).post(f"/api/tickets/{key}/transitions", json={"to": "In progress"})
    assert refused.status_code == 409 and set(refused.json()) == {"detail", "allowed"}


def test_an_unexpected_failure_is_a_logged_500_in_the_same_shape(portal, caplog):
    broken = APIRouter()

    @broken.get("/api/probe/broken")
    def fail():
        raise RuntimeError("the disk is on fire")

    portal.app.router.routes[0:0] = broken.routes
    client = TestClient(portal.app, base_url=SITE, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="kbgen.web"):
        response = client.get("/api/probe/broken")
    assert response.status_code == 500
    assert response.json()["detail"].startswith("The service failed to answer this request.")
    assert "fire" not in response.text  # nothing about the inside goes out
    assert response.headers["x-content-type-options"] == "nosniff"
    [record] = [r for r in caplog.records if r.name == "kbgen.web"]
    assert "GET /api/probe/broken" in record.getMessage() and record.exc_info[1].args == ("the disk is on fire",)


# -- the documentation ---------------------------------------------------------------------------


def refs(schema: dict) -> list[str]:
    return [schema["$ref"]] if "$ref" in schema else [s["$ref"] for s in schema.get("allOf", []) if "$ref" in s]


def test_openapi_documents_the_shared_error_for_every_4xx_of_every_operation(portal):
    spec = portal.client().get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    assert len(operations) >= 10
    for path, method, operation in operations:
        responses = operation["responses"]
        assert "4XX" in responses, (path, method)
        if method in UNSAFE:
            assert "403" in responses, (path, method)
        for code, response in responses.items():
            if code.startswith("4"):
                schema = response["content"]["application/json"]["schema"]
                assert "#/components/schemas/ErrorOut" in refs(schema), (path, method, code, schema)


def test_openapi_documents_what_the_routes_answer(portal):
    spec = portal.client().get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [("/api/tickets", "post"), ("/api/tickets/{key}/comments", "post"),
                         ("/api/tickets/{key}/transitions", "post"), ("/api/tickets/{key}/assignee", "put"),
                         ("/api/session", "post")]:
        assert {"413", "415"} <= set(paths[path][method]["responses"]), (path, method)
    assert {"400", "503"} <= set(paths["/api/search"]["get"]["responses"])
    assert "requestBody" in paths["/api/tickets/{key}/transitions"]["post"]
    assert "requestBody" in paths["/api/tickets/{key}/assignee"]["put"]
    attachment = paths["/api/tickets/{key}/attachments/{attachment_id}"]["get"]["parameters"]
    assert next(p for p in attachment if p["name"] == "attachment_id")["schema"]["maximum"] == 2 ** 31 - 1

    # A required consent must be given: false is refused (422), so the schema does not offer it.
    xcally_body = spec["components"]["schemas"]["TicketBody_xcally"]
    consent = next(v for v in xcally_body["oneOf"] if v["title"] == "Technical issue")[
        "properties"]["fields"]["properties"]["server_access_consent"]
    assert consent["anyOf"] == [{"const": True}, {"enum": ["true", "on", "yes", "1"]}]
