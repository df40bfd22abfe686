"""Opening a request: from the API (JSON), or from the static form page's own post (also without JavaScript).

    POST /api/tickets    JSON validated against the product's form, or the form page's multipart post

A browser's form post (Accept: text/html) is answered with pages and redirects
(kbgen/theme/service/), an API client with JSON.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from kbgen import tickets
from kbgen.facts import page
from kbgen.feedback import journeys
from kbgen.settings import Settings
from kbgen.site.brand import for_settings
from kbgen.web import bodies
from kbgen.web.deps import SIGN_IN_REQUIRED, MaybeUser, SessionDep, SettingsDep, forms_catalog
from kbgen.web.errors import ApiError, ErrorOut, error_response
from kbgen.web.pages import service_page
from kbgen.web.redirects import site_root
from kbgen.web.schemas import CreatedOut

router = APIRouter(tags=["tickets"])

INTAKE_JSON = 'Send a JSON object: {"product", "request_type", "priority", "fields"}.'
# How the error page names the fields every request has (a form's own fields go by their labels).
TOP_LABELS = {"product": "Product", "request_type": "Request type", "priority": "Priority"}

_INTAKE_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},  # each product's schema: kbgen.web.openapi
            "multipart/form-data": {"schema": {
                "type": "object",
                "description": "What the static form page posts (also without JavaScript): `fields.<name>` "
                               "(repeated for a multi-select), `files.<name>` for attachments.",
                "properties": {
                    "product": {"type": "string"}, "request_type": {"type": "string"},
                    "priority": {"type": "string"}, "idempotency_key": {"type": "string"},
                    "related_to": {"type": "string", "description": "The key of a closed request this follows up"},
                },
                "additionalProperties": True,
            }},
        },
    },
}


def _wants_html(request: Request) -> bool:
    """A browser's own form post (no JavaScript): answer with pages and redirects, not JSON."""
    return "text/html" in request.headers.get("accept", "")


@router.post(
    "/api/tickets", status_code=201, response_model=CreatedOut, summary="Open a request",
    description="Validated against the product's form (forms/<product>.yml). The same `idempotency_key` "
                "from the same user returns the first ticket (200) instead of creating another. A browser's "
                "form post (Accept: text/html) is answered with a 303 to the ticket page, or an HTML page "
                "listing the errors.",
    responses={200: {"model": CreatedOut, "description": "Already created with this idempotency_key"},
               303: {"description": "Form post: the new ticket's page"},
               401: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut},
               422: {"model": ErrorOut}},
    openapi_extra=_INTAKE_DOC)
async def create(request: Request, user: MaybeUser, session: SessionDep, settings: SettingsDep,
                 response: Response, background: BackgroundTasks) -> CreatedOut | Response:
    html = _wants_html(request)
    if user is None:
        if html:
            return service_page("sign_in_required.html", SIGN_IN_REQUIRED, 401, brand=for_settings(settings),
                                message=SIGN_IN_REQUIRED,
                                sign_in_url=site_root(request, settings) + page("sign_in"))
        return JSONResponse({"detail": SIGN_IN_REQUIRED}, status_code=401)
    form = None
    try:
        try:
            data, uploads, form = await _read_intake(request, settings)
            tickets.check_upload_limits(settings, uploads)
        except tickets.AttachmentRejected as exc:
            if html:
                return _html_errors(request, settings, [("", exc.message)], exc.status)
            raise
        except ApiError as exc:
            if html:
                return _html_errors(request, settings, exc.errors or [("", exc.detail)], exc.status_code)
            raise
        related = data.pop("related_to", None)
        # What the requester searched and read first (kbgen/feedback/journeys.py): stored with a new request.
        journey = form.get(journeys.FIELD) if form is not None else data.pop(journeys.FIELD, None)
        organization = data.pop("organization", None)
        organization_id = _organization_id(organization)
        if organization_id is False:
            message = "Must be the id of one of your organizations (a whole number)."
            if html:
                return _html_errors(request, settings, [("Organization", message)], 422)
            return error_response(422, "The organization is not one of yours.", [("organization", message)])
        catalog = forms_catalog(request.app)
        from kbgen.forms import SubmissionInvalid

        try:
            submission = catalog.validate(data)
        except SubmissionInvalid as exc:
            if html:
                return _html_errors(request, settings, [(_label(catalog, data, e.field), e.message)
                                                        for e in exc.errors], 422)
            return error_response(422, exc.detail, [(e.field, e.message) for e in exc.errors])
        uploads = [u for u in uploads if u.field in submission.attachment_fields]
        try:
            ticket, created = await run_in_threadpool(
                _create, session, settings, user, submission, data.get("idempotency_key"), uploads,
                related if isinstance(related, str) else None, organization_id)
        except tickets.TicketError as exc:
            if html:
                return _html_errors(request, settings, [("", exc.message)], exc.status)
            raise
    finally:
        if form is not None:
            await form.close()
    if created:
        await run_in_threadpool(journeys.keep, session, ticket.id, journey)
        background.add_task(_automations, request.app, ticket)
    if html:
        return RedirectResponse(f"{site_root(request, settings)}{ticket.url}", status_code=303)
    response.status_code = 201 if created else 200
    return CreatedOut(key=ticket.key, url=ticket.url)


async def _read_intake(request: Request, settings: Settings) -> tuple[dict, list[tickets.Upload], Any]:
    content_type = bodies.media_type(request)
    if content_type == "application/json":
        data = await bodies.read_json(request, expected=INTAKE_JSON)
        if not isinstance(data, dict):
            raise ApiError(422, INTAKE_JSON, [("body", "must be a JSON object")])
        return data, [], None
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiError(415, "Send the request as JSON or as the form page's multipart form post.",
                       [("body", "must be application/json or multipart/form-data")])
    # Unused file inputs send empty parts, hence the room above max_attachments; check_upload_limits counts files.
    form = await bodies.read_form(request, max_files=settings.max_attachments + 10, max_fields=500,
                                  files_allowed=settings.max_attachments)
    from kbgen.forms import body_from_form

    uploads: list[tickets.Upload] = []
    counts: dict[str, int] = {}
    for name, item in form.multi_items():
        if name.startswith("files.") and isinstance(item, UploadFile):
            field = name[len("files."):]
            counts.setdefault(field, 0)
            if item.filename:  # a file input with nothing chosen still sends an empty part
                counts[field] += 1
                uploads.append(tickets.Upload(item.filename, item.file, item.content_type or
                                              "application/octet-stream", field, item.size))
    return body_from_form(form.multi_items(), counts), uploads, form


def _create(session, settings: Settings, user, submission, idempotency_key, uploads, related, organization_id):
    viewer = session.merge(user, load=False)
    return tickets.create_ticket(session, settings, submission, viewer, idempotency_key=idempotency_key,
                                 uploads=uploads, related_key=related, organization_id=organization_id)


def _organization_id(value: Any) -> int | None | bool:
    """The posted organization's id; None when not given (the requester's own); False when it is no id."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value if 1 <= value <= tickets.MAX_ID else False
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        return number if 1 <= number <= tickets.MAX_ID else False
    return False


def _automations(app: FastAPI, ticket: tickets.Ticket) -> None:
    # The ticket as created (detached, attributes loaded): automations only read it.
    with app.state.sessionmaker() as session:
        tickets.run_automations(session, app.state.settings, ticket)


def _label(catalog, data: dict, field: str) -> str:
    name = field.split(".", 1)[1] if "." in field else ""
    rtype = catalog.request_type(data.get("product"), data.get("request_type"))
    if rtype is not None and name in rtype.fields:
        return rtype.fields[name].label or name
    return TOP_LABELS.get(field, name or field)


def _html_errors(request: Request, settings: Settings, errors: list[tuple[str, str]], status: int) -> HTMLResponse:
    back = request.headers.get("referer", "")
    # No script here (the Content-Security-Policy allows none): the browser's Back button keeps the answers.
    back_href = back if urlsplit(back).scheme in ("http", "https") else site_root(request, settings) + page("support")
    return service_page("intake_errors.html", "Please correct your request", status, brand=for_settings(settings),
                        errors=errors,
                        back_href=back_href)
