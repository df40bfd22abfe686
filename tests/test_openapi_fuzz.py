"""A bounded property-based run of schemathesis against the app's own /openapi.json, on SQLite and PostgreSQL.

Every documented operation gets EXAMPLES generated requests (any strings the schema allows,
NUL and lone surrogates included), sent in-process over ASGI and signed in with the session
cookie and its X-CSRF-Token, so the routes behind sign-in are reached: once as a customer,
once as an agent (who reaches assignment and the agents' filters; an id past 32 bits there
was a 500 on PostgreSQL). Each answer must not be a 5xx, must have a documented status code
and media type, and must match the documented schema: the error shape for every 4xx.
A failure prints the seed that reproduces it.
"""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from kbgen import accounts
from kbgen.accounts import User
from kbgen.search.indexer import IndexBuilder, PageRecord
from test_tickets_support import ANN, SAM, Portal, xcally

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 30
OPERATIONS_AT_LEAST = 10


@pytest.fixture(scope="module")
def portal(tmp_path_factory, module_database_url):
    portal = Portal(tmp_path_factory.mktemp("fuzz"), module_database_url)
    portal.key = portal.open(ANN, xcally("A request the run can read, comment on and move"))
    index = IndexBuilder(portal.settings.index_dir)
    index.add(PageRecord(url="kb/xcally/how-to/hold-music/", path="kb/xcally/how-to/hold-music.md",
                         title="Music on hold", html="<p>Configure music on hold for a queue.</p>",
                         product="xcally", type="how-to", tags=["audio"], summary="Hold music"))
    index.finish()
    yield portal
    portal.close()


def api(portal: Portal):
    schema = schemathesis.openapi.from_asgi("/openapi.json", portal.app)
    # Sign-out would end the run's own session; every other operation is fair game.
    return schema.exclude(path="/api/session", method="DELETE").exclude(path="/api/session/logout")


def signed_in(portal: Portal, email: str) -> dict[str, str]:
    with portal.Session.begin() as db:
        token, login = accounts.open_session(db, db.query(User).filter(User.email == email).one())
    # No Origin header: a script, which the CSRF check lets through with the session's token.
    return {"Cookie": f"{accounts.SESSION_COOKIE}={token}", "X-CSRF-Token": login.csrf_token}


def fuzz(operation, portal: Portal, headers: dict[str, str], statuses: Counter) -> None:
    """EXAMPLES generated requests to one operation; the first failing one (shrunk) is raised."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate, Phase.shrink])
    def run(case):
        parameters = case.path_parameters or {}
        if len(str(parameters.get("key", ""))) % 2 == 0:  # half the time a real ticket, so its routes do work
            parameters["key"] = portal.key
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


@pytest.mark.parametrize("who", [ANN, SAM])
def test_every_documented_operation_answers_as_documented(portal, who):
    # One test looping over the operations: schemathesis' own pytest loader (from_fixture) fails on pytest 9.
    headers = signed_in(portal, who)
    operations = [result.ok() for result in api(portal).get_all_operations()]
    assert len(operations) >= OPERATIONS_AT_LEAST
    failures, answered = {}, {}
    for operation in operations:
        answered[operation.label] = Counter()
        try:
            fuzz(operation, portal, headers, answered[operation.label])
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all failures are reported together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
    # Signed in for real: the routes behind sign-in did their work, not only refuse (these succeed
    # for a good share of generated requests; the others mostly refuse random values, as they should).
    for label in ("GET /api/me", "GET /api/tickets", "GET /api/tickets/{key}", "POST /api/tickets"):
        assert any(200 <= status < 300 for status in answered[label]), (label, answered[label])
