"""HTTP adapter of search: GET /api/search, answered from the live index.

    GET /api/search?q=&product=&type=&limit=&page=[&partial=1][&version=]
    200 {"query", "total", "page", "limit",
         "results": [{url, title, section, snippet, product, type, version, versions: [{label, url}],
                      place: [the nav sections the page is in, outermost first]}],
         "suggestion", "facets": {"product": [{value, label, count}], "type": [...]}, "weak"}
    400 {"detail": "<which parameter is wrong and what to send>", "errors": [{"field", "message"}]}
    503 {"detail": "..."} before the first `kbgen build`

Errors have the shape of every other answer of the service (kbgen.web.errors).

A page kept in several versions (kbgen/search/versions.py) is one result, in the reader's
`version` when it has a copy there, with the other versions as links. `weak` is true when
even the best result has fewer than half of the searched words (the bar then offers to
contact us).

`partial=1` marks results-as-you-type: the last word may be unfinished, and a miss is
not recorded (half-typed words are not what customers could not find).
"""
from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kbgen.search import missed
from kbgen.search.live import INDEXES
from kbgen.search.query import InvalidSearch, SearchRequest, search
from kbgen.site.catalog import ARTICLE_TYPES, PRODUCTS
from kbgen.web.errors import ErrorOut, error_response

router = APIRouter(tags=["search"])
log = logging.getLogger("kbgen.search")


# Parameters are declared as plain text for the API docs and checked by SearchRequest.parse,
# so a bad value gets a 400 that says what to send (FastAPI's own check would answer 422).
@router.get("/api/search", summary="Search the knowledge base, the wiki and the license pages",
            responses={400: {"model": ErrorOut, "description": "A parameter is wrong; the message says which"},
                       503: {"model": ErrorOut, "description": "The search index is not built yet"}})
def api_search(
    request: Request,
    q: str | None = Query(None, description="the words to search for (at most 1,000 characters)"),
    product: str | None = Query(None, description="only this product: " + ", ".join(p.slug for p in PRODUCTS)),
    type: str | None = Query(None, description="only this article type: " + ", ".join(t.slug for t in ARTICLE_TYPES)),
    limit: str | None = Query(None, description="results per page, 1 to 50 (default 10)"),
    page: str | None = Query(None, description="page of results, 1 to 100 (default 1)"),
    partial: str | None = Query(None, description="1 while the customer is typing: the last word may be unfinished"),
    version: str | None = Query(None, description="the reader's version (a label of the site's versions): "
                                                  "its copy of a versioned page is the one shown"),
) -> Response:
    # Junk in q is answered like any query (a miss is recorded without control characters: kbgen.search.missed).
    for name, value in (("limit", limit), ("page", page)):
        if value and not value.strip().isascii():  # int() takes '١٢' (Arabic-Indic digits); the documented form is 0-9
            message = f"must be a whole number written with the digits 0-9, not {value[:20]!r}"
            return error_response(400, f"{name} {message}", [(name, message)])
    try:
        wanted = SearchRequest.parse(q, product, type, limit, page, partial, version)
    except InvalidSearch as exc:
        field = _parameter(str(exc))
        return error_response(400, str(exc), [(field, str(exc))] if field else ())
    index = INDEXES.get(request.app.state.settings.index_dir)
    if index is None:
        return error_response(503, "The search index is not built yet: run 'kbgen build'.")
    found = search(index, wanted)
    if (found.total == 0 and found.terms and wanted.page == 1 and not wanted.partial
            and wanted.product is None and wanted.type is None):
        try:
            with request.app.state.sessionmaker() as session:
                missed.record(session, wanted.q)
        except Exception:  # noqa: BLE001 - the customer still gets their (empty) answer
            log.exception("could not record a missed search")
    return Response(found.to_json(), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=60"})


def _parameter(message: str) -> str | None:
    """The parameter an InvalidSearch message is about ("limit must be...", "unknown product ..."), if it says."""
    return next((w for w in message.split()[:2]
                 if w in ("q", "product", "type", "limit", "page", "partial", "version")), None)
