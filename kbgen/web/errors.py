"""One error shape for every refusal of the service, the handlers that keep to it, and its documentation.

    {"detail": "<what is wrong and what to do>", "errors": [{"field": "...", "message": "..."}]}

`errors` is present when the refusal is about named fields (a query parameter, a JSON
path such as `fields.summary`, a form field); a few answers add keys of their own
beside these two (a closed request's `new_request_url`, a refused move's `allowed`).
FastAPI's own validation errors, HTTPException, a refusal of kbgen.tickets (TicketError), the
middleware refusals (403, 413) and an unexpected failure (500) all answer in this shape, and /openapi.json documents it for
every operation.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from kbgen.tickets.errors import TicketError

log = logging.getLogger("kbgen.web")

UNEXPECTED = ("The service failed to answer this request. The failure is logged for the support team; "
              "try again in a moment, and tell the support team if it keeps happening.")
_NO_BODY = frozenset({204, 304})
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class FieldErrorOut(BaseModel):
    field: str = Field(description="What the message is about: a query parameter, a JSON path such as "
                                   "`fields.summary`, or a form field")
    message: str


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer of the service."""

    detail: str = Field(description="What is wrong and what to do, for people")
    errors: list[FieldErrorOut] = Field(default_factory=list,
                                        description="One entry per field at fault, when the refusal is about fields")


class ApiError(HTTPException):
    """A refusal in the shared shape; `errors` are (field, message) pairs."""

    def __init__(self, status_code: int, detail: str, errors: Iterable[tuple[str, str]] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, detail, headers)
        self.errors = list(errors)

    @classmethod
    def on_field(cls, status_code: int, field: str, message: str) -> "ApiError":
        """A refusal about one field: the detail names it, so it reads well on its own."""
        return cls(status_code, f"{field}: {message}", [(field, message)])


def printable(text: object) -> str:
    """Text that can always be encoded into the answer: a lone surrogate a client sent becomes `\\udXXX`."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(detail: str, errors: Iterable[tuple[str, str]] = (), **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": printable(detail)}
    listed = [{"field": printable(field), "message": printable(message)} for field, message in errors]
    if listed:
        body["errors"] = listed
    body.update(extra)
    return body


def error_response(status: int, detail: str, errors: Iterable[tuple[str, str]] = (), *,
                   headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(detail, errors, **extra), status_code=status, headers=headers)


# -- handlers ----------------------------------------------------------------------------------


async def http_error(request: Request, exc: HTTPException) -> Response:
    shown = getattr(exc, "response", None)  # a refusal shown as a page for people (kbgen.web.pages.PageAnswer)
    if isinstance(shown, Response):
        return shown
    if exc.status_code in _NO_BODY:
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail = exc.detail if isinstance(exc.detail, str) else "The request was refused."
    return error_response(exc.status_code, detail, getattr(exc, "errors", ()), headers=exc.headers)


_WHERE = {"query": "Query parameter", "path": "Path parameter", "header": "Header", "cookie": "Cookie"}


def _message(error: dict) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number written with the digits 0-9"
    if kind == "less_than_equal" and ctx:
        return f"must be at most {ctx.get('le')}"
    if kind == "greater_than_equal" and ctx:
        return f"must be at least {ctx.get('ge')}"
    if kind == "string_too_long" and ctx:
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_too_short" and ctx:
        return f"must be at least {ctx.get('min_length')} characters"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return "must be a JSON object"
    message = str(error.get("msg") or "is not valid")
    return message.replace("Input should be", "must be").replace("Value error, ", "")


def field_errors(errors: Sequence[dict]) -> list[tuple[str, str, str]]:
    """(where, field, message) per field of pydantic's errors; a union's several errors count once."""
    found: dict[str, tuple[str, str, str]] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        where = loc[0] if loc else "body"
        # The top-level name: deeper parts are a union's member tags, not what the client sent.
        field = loc[1] if len(loc) > 1 else "body"
        found.setdefault(field, (where, field, _message(error)))
    return list(found.values())


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = field_errors(exc.errors())
    sentences = [f"{_WHERE.get(where, 'Field')} {field!r} {message}." if field != "body"
                 else f"The body {message}." for where, field, message in problems]
    return error_response(422, " ".join(sentences) or "The request is not valid.",
                          [(field, message) for _, field, message in problems])


async def ticket_refused(request: Request, exc: TicketError) -> JSONResponse:
    """A refusal of kbgen.tickets: its status, its message, and the field it names (then as errors)."""
    extra = dict(exc.extra)
    field = extra.pop("field", None)
    return error_response(exc.status, exc.message, [(field, exc.message)] if field else (), **extra)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The last resort: the goal is that nothing reaches it, so it always leaves a traceback behind.
    log.error("unexpected %s answering %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    from kbgen.web.limits import SECURITY_HEADERS

    # Sent from outside every middleware, so the security headers are added here; a JSON answer needs no policy
    # beyond none at all.
    headers = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
    headers.setdefault("content-security-policy", "default-src 'none'; frame-ancestors 'none'")
    return error_response(500, UNEXPECTED, headers=headers)


# -- OpenAPI -----------------------------------------------------------------------------------

_REF = "#/components/schemas/"
_GENERIC = {
    "403": "Refused: not allowed for this account, or a cross-site request (see X-CSRF-Token)",
    "413": "The body is larger than the service accepts, or has too many files or fields",
    "415": "The body is not in one of the documented media types",
    "4XX": "Any other refusal, in the same shape",
}


def _error_schema(existing: dict | None) -> dict:
    shared = {"$ref": _REF + "ErrorOut"}
    if not existing or existing == shared or existing.get("$ref") in (None, _REF + "HTTPValidationError"):
        return shared
    if shared in existing.get("allOf", []):
        return existing
    return {"allOf": [shared, existing]}  # the shared shape plus this answer's own keys


def document(schema: dict) -> None:
    """Every operation's 4xx answers reference ErrorOut, including FastAPI's own 422."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorOut" not in components:
        shared = ErrorOut.model_json_schema(ref_template=_REF + "{model}")
        components.update(shared.pop("$defs", {}))
        components["ErrorOut"] = shared
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            codes = ["4XX"]
            if method in ("post", "put", "patch", "delete"):
                codes.append("403")  # the CSRF check refuses any unsafe request from another site
            if method in ("post", "put", "patch"):
                codes += ["413", "415"]
            for code in codes:
                responses.setdefault(code, {"description": _GENERIC[code]})
            for code, response in responses.items():
                if not str(code).startswith("4"):
                    continue
                content = response.setdefault("content", {})
                media = content.setdefault("application/json", {})
                media["schema"] = _error_schema(media.get("schema"))
    text = str(schema.get("paths"))
    for unused in ("HTTPValidationError", "ValidationError"):
        if _REF + unused not in text and _REF + unused not in str(components):
            components.pop(unused, None)


def install(app: FastAPI) -> None:
    """The handlers, and the shared error shape in /openapi.json."""
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(TicketError, ticket_refused)
    app.add_exception_handler(Exception, unexpected_error)
    previous = app.openapi

    def openapi() -> dict[str, Any]:
        schema = previous()
        if getattr(app.state, "errors_documented_in", None) is not schema:  # once per generated schema
            document(schema)
            app.state.errors_documented_in = schema
        return schema

    app.openapi = openapi
