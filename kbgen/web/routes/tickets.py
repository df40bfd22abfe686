"""HTTP adapter of kbgen.tickets: intake, the requests list, one ticket, comments, moves, files.

    POST /api/tickets                          JSON, or the form page's own multipart post (no JavaScript)
    GET  /api/tickets                          the requests list (filters as query parameters)
    GET  /api/tickets/{key}                    one ticket with its timeline and the moves the viewer may make
    POST /api/tickets/{key}/comments           a comment or (agents) an internal note, with files
    POST /api/tickets/{key}/transitions        {"to": status}
    PUT  /api/tickets/{key}/assignee           {"assignee": email | id | null} (agents)
    GET  /api/tickets/{key}/attachments/{id}   a file, as a download
    GET  /requests/{key}/                      the ticket page (the static shell page)

A ticket of another organization is a 404 everywhere, exactly like a missing one.
"""
from __future__ import annotations

import threading
from html import escape
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, StrictInt
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import UploadFile

from kbgen.site import csp

from kbgen import tickets

from kbgen.tickets import workflow
from kbgen.accounts import User
from kbgen.site.catalog import PRODUCTS, find_product
from kbgen.settings import Settings
from kbgen.web import bodies
from kbgen.web.auth import SIGN_IN_REQUIRED, current_user, require_user
from kbgen.web.errors import ApiError, ErrorOut, error_response

# Every path and query parameter is checked for what no database holds (NUL), before any route reads it.
router = APIRouter(tags=["tickets"], dependencies=[Depends(bodies.check_url)])

KEY_PATTERN = r"[A-Za-z]{1,10}-[0-9]{1,10}"
INTAKE_JSON = 'Send a JSON object: {"product", "request_type", "priority", "fields"}.'
COMMENT_JSON = 'Send JSON like {"text": "...", "internal": false}.'
TRANSITION_JSON = 'Send JSON like {"to": "Closed"}.'
ASSIGNEE_JSON = 'Send JSON like {"assignee": "sam@vendor.example"}, or {"assignee": null} to unassign.'
_forms_lock = threading.Lock()


def install(app: FastAPI) -> None:
    """Add the routes, and each product's ticket body (from forms/) to /openapi.json."""
    app.include_router(router)
    previous = app.openapi

    def openapi() -> dict[str, Any]:
        schema = previous()
        if getattr(app.state, "ticket_bodies_in", None) is not schema:  # once per generated schema
            _describe_ticket_bodies(app, schema)
            app.state.ticket_bodies_in = schema
        return schema

    app.openapi = openapi


# -- API models (for /openapi.json and the JS) -------------------------------------------------


class PersonOut(BaseModel):
    id: int
    name: str
    email: str
    role: str


class StatusOut(BaseModel):
    name: str
    slug: str
    meaning: str


class ChoiceOut(BaseModel):
    slug: str
    name: str


class OrganizationOut(BaseModel):
    id: int
    name: str


class TicketSummaryOut(BaseModel):
    key: str
    url: str = Field(description="The ticket page, relative to the site root")
    product: ChoiceOut
    request_type: ChoiceOut
    summary: str
    status: StatusOut
    priority: ChoiceOut
    requester: PersonOut
    organization: OrganizationOut
    assignee: PersonOut | None = None
    created_at: str
    updated_at: str


class TicketListOut(BaseModel):
    items: list[TicketSummaryOut]
    total: int
    page: int
    per_page: int
    pages: int
    requesters: list[PersonOut] = Field(description="Who the requester filter can choose")
    agents: list[PersonOut] = Field(description="The support team (agents only; empty for customers)")
    organization: OrganizationOut | None = Field(description="The viewer's organization")
    viewer: PersonOut


class FieldOut(BaseModel):
    name: str
    label: str
    type: str
    value: Any
    display: str


class AttachmentOut(BaseModel):
    id: int
    filename: str
    size: int
    field: str | None
    url: str = Field(description="Download URL, relative to the service")
    created_at: str


class EventOut(BaseModel):
    id: int
    kind: str = Field(description="comment, note (internal), status, assigned, automation, automation_failed")
    internal: bool
    author: PersonOut | None
    title: str
    html: str = Field(description="The body as safe HTML")
    old_status: str | None
    new_status: str | None
    created_at: str
    attachments: list[AttachmentOut]


class MoveOut(BaseModel):
    to: str
    slug: str
    action: str


class ConsentOut(BaseModel):
    field: str
    name: str
    version: str
    text_sha256: str
    accepted_by: str
    accepted_at: str


class ClosedOut(BaseModel):
    detail: str
    new_request_url: str


class TicketOut(TicketSummaryOut):
    description: str
    fields: list[FieldOut]
    attachments: list[AttachmentOut]
    timeline: list[EventOut]
    transitions: list[MoveOut]
    can_comment: bool
    can_add_internal_note: bool
    closed: ClosedOut | None
    reopen_until: str | None
    related_key: str | None
    consents: list[ConsentOut]
    agents: list[PersonOut]
    viewer: PersonOut


class CreatedOut(BaseModel):
    key: str
    url: str


class RefusedMoveOut(BaseModel):
    detail: str
    allowed: list[str]


class CommentIn(BaseModel):
    text: str = Field(description=f"Markdown, at most {tickets.MAX_COMMENT_CHARS} characters; raw HTML is shown "
                                  "as text")
    internal: bool = Field(False, description="An internal note: agents only, never shown to customers")


class TransitionIn(BaseModel):
    to: str = Field(max_length=100,
                    description="A status name or slug: " + ", ".join(s.name for s in workflow.STATUSES))


class AssigneeIn(BaseModel):
    assignee: Annotated[StrictInt, Field(ge=1, le=tickets.MAX_ID)] | Annotated[str, Field(max_length=320)] | None \
        = Field(description="An agent's email or id; null to unassign")


# -- helpers -----------------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def forms_catalog(app: FastAPI):
    """The ticket forms, read once per service from Settings.forms_dir."""
    catalog = getattr(app.state, "ticket_forms", None)
    if catalog is None:
        from kbgen.forms import load_catalog

        with _forms_lock:
            catalog = getattr(app.state, "ticket_forms", None)
            if catalog is None:
                catalog = app.state.ticket_forms = load_catalog(app.state.settings.forms_dir)
    return catalog


def _error(exc: tickets.TicketError) -> JSONResponse:
    extra = dict(exc.extra)
    field = extra.pop("field", None)
    return error_response(exc.status, exc.message, [(field, exc.message)] if field else (), **extra)


def _wants_html(request: Request) -> bool:
    """A browser's own form post (no JavaScript): answer with pages and redirects, not JSON."""
    return "text/html" in request.headers.get("accept", "")


def _site_root(request: Request, settings: Settings) -> str:
    """Where the site lives, from the form page that posted (it may be published under a sub-path)."""
    path = urlsplit(request.headers.get("referer", "")).path
    if "/support/" in path and not path.startswith("//"):
        return path[: path.index("/support/") + 1]
    return urlsplit(settings.public_url).path.rstrip("/") + "/"


def _person(user: User | None, viewer: User | None = None) -> dict | None:
    data = tickets.person(user)
    if data is not None and user.role == workflow.AGENT and not tickets.is_agent(viewer):
        data["email"] = ""  # customers talk to the team through the portal, not to personal addresses
    return data


def _choice(slug: str, name: str | None) -> dict:
    return {"slug": slug, "name": name or slug}


def _priority_name(slug: str) -> str:
    from kbgen.forms import PRIORITIES

    return next((p.name for p in PRIORITIES if p.slug == slug), slug)


def _summary_json(ticket: tickets.Ticket, viewer: User, catalog: Any = None) -> dict:
    product = find_product(ticket.product)
    rtype = catalog.request_type(ticket.product, ticket.request_type) if catalog is not None else None
    status = workflow.find_status(ticket.status)
    return {
        "key": ticket.key, "url": ticket.url,
        "product": _choice(ticket.product, product.name if product else None),
        "request_type": _choice(ticket.request_type, rtype.title if rtype else None),
        "summary": ticket.summary,
        "status": {"name": status.name, "slug": status.slug, "meaning": status.meaning},
        "priority": _choice(ticket.priority, _priority_name(ticket.priority)),
        "requester": _person(ticket.requester, viewer),
        "organization": {"id": ticket.organization.id, "name": ticket.organization.name},
        "assignee": _person(ticket.assignee, viewer),
        "created_at": tickets.iso(ticket.created_at), "updated_at": tickets.iso(ticket.updated_at),
    }


def _attachment_json(ticket: tickets.Ticket, attachment: tickets.Attachment) -> dict:
    return {"id": attachment.id, "filename": attachment.filename, "size": attachment.size,
            "field": attachment.field, "url": f"/api/tickets/{ticket.key}/attachments/{attachment.id}",
            "created_at": tickets.iso(attachment.created_at)}


def _detail_json(session, settings: Settings, ticket: tickets.Ticket, viewer: User, catalog: Any) -> dict:
    now = tickets.utcnow()
    moves = workflow.allowed(ticket.status, viewer.role, resolved_at=ticket.resolved_at,
                             reopen_days=settings.reopen_days, now=now)
    closed = ticket.status == workflow.FINAL.name
    deadline = workflow.reopen_deadline(ticket.resolved_at, settings.reopen_days) \
        if ticket.status == workflow.RESOLVED.name else None
    data = _summary_json(ticket, viewer, catalog)
    attachments = tickets.visible_attachments(ticket, viewer)
    data.update(
        description=ticket.description,
        fields=[{"name": f.name, "label": f.label, "type": f.type, "value": f.value, "display": f.display}
                for f in tickets.entered_fields(ticket, catalog)],
        attachments=[_attachment_json(ticket, a) for a in attachments if a.event_id is None],
        timeline=[{
            "id": e.id, "kind": e.kind, "internal": e.internal, "author": _person(e.author, viewer),
            "title": e.title, "html": e.html, "old_status": e.old_status, "new_status": e.new_status,
            "created_at": tickets.iso(e.created_at),
            "attachments": [_attachment_json(ticket, a) for a in e.attachments],
        } for e in tickets.visible_events(ticket, viewer)],
        transitions=[{"to": m.target.name, "slug": m.target.slug, "action": m.action} for m in moves],
        can_comment=not closed,
        can_add_internal_note=tickets.is_agent(viewer) and not closed,
        closed={"detail": f"Request {ticket.key} is closed, so it takes no more comments. "
                          "Open a new request that refers to it instead.",
                "new_request_url": tickets.new_request_url(ticket)} if closed else None,
        reopen_until=tickets.iso(deadline) if deadline and deadline > now else None,
        related_key=ticket.related_key,
        consents=[{"field": c.field, "name": c.name, "version": c.version, "text_sha256": c.text_sha256,
                   "accepted_by": c.user.display_name, "accepted_at": tickets.iso(c.accepted_at)}
                  for c in ticket.consents],
        agents=[_person(a, viewer) for a in tickets.agents(session)] if tickets.is_agent(viewer) else [],
        viewer=_person(viewer, viewer),
    )
    return data


class _Db:
    """A session for one request, with the signed-in user attached to it."""

    def __init__(self, request: Request, user: User):
        self.session = request.app.state.sessionmaker()
        self.viewer = self.session.merge(user, load=False)

    def __enter__(self):
        return self.session, self.viewer

    def __exit__(self, *exc):
        self.session.close()


# -- intake --------------------------------------------------------------------------------------

_INTAKE_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},  # each product's schema: see install()
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
async def create(request: Request) -> Response:
    settings = _settings(request)
    html = _wants_html(request)
    user = await run_in_threadpool(current_user, request)
    if user is None:
        if html:
            return _html_page(SIGN_IN_REQUIRED, f"<p>{escape(SIGN_IN_REQUIRED)}, then send the form again.</p>"
                              f'<p><a href="{escape(_site_root(request, settings))}login/">Sign in</a></p>', 401)
        return JSONResponse({"detail": SIGN_IN_REQUIRED}, status_code=401)
    form = None
    try:
        try:
            data, uploads, form = await _read_intake(request, settings)
            tickets.check_upload_limits(settings, uploads)
        except tickets.AttachmentRejected as exc:
            return _html_errors(request, [("", exc.message)], 413) if html else _error(exc)
        except ApiError as exc:
            if html:
                return _html_errors(request, exc.errors or [("", exc.detail)], exc.status_code)
            raise
        related = data.pop("related_to", None)
        catalog = forms_catalog(request.app)
        from kbgen.forms import SubmissionInvalid

        try:
            submission = catalog.validate(data)
        except SubmissionInvalid as exc:
            if html:
                return _html_errors(request, [(_label(catalog, data, e.field), e.message) for e in exc.errors], 422)
            return error_response(422, exc.detail, [(e.field, e.message) for e in exc.errors])
        uploads = [u for u in uploads if u.field in submission.attachment_fields]
        try:
            key, url, created, ticket = await run_in_threadpool(
                _create, request, user, submission, data.get("idempotency_key"), uploads,
                related if isinstance(related, str) else None)
        except tickets.TicketError as exc:
            return _html_errors(request, [("", exc.message)], exc.status) if html else _error(exc)
    finally:
        if form is not None:
            await form.close()
    task = BackgroundTask(_automations, request.app, ticket) if created else None
    if html:
        return RedirectResponse(f"{_site_root(request, settings)}{url}", status_code=303, background=task)
    return JSONResponse({"key": key, "url": url}, status_code=201 if created else 200, background=task)


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


def _create(request: Request, user: User, submission, idempotency_key, uploads, related):
    with _Db(request, user) as (session, viewer):
        ticket, created = tickets.create_ticket(session, _settings(request), submission, viewer,
                                                idempotency_key=idempotency_key, uploads=uploads,
                                                related_key=related)
        return ticket.key, ticket.url, created, ticket


def _automations(app: FastAPI, ticket: tickets.Ticket) -> None:
    # The ticket as created (detached, attributes loaded): automations only read it.
    with app.state.sessionmaker() as session:
        tickets.run_automations(session, app.state.settings, ticket)


def _label(catalog, data: dict, field: str) -> str:
    name = field.split(".", 1)[1] if "." in field else ""
    rtype = catalog.request_type(data.get("product"), data.get("request_type"))
    if rtype is not None and name in rtype.fields:
        return rtype.fields[name].label or name
    return {"product": "Product", "request_type": "Request type", "priority": "Priority"}.get(field, name or field)


def _html_errors(request: Request, errors: list[tuple[str, str]], status: int) -> HTMLResponse:
    items = "".join(f"<li>{f'<strong>{escape(label)}</strong>: ' if label else ''}{escape(message)}</li>"
                    for label, message in errors)
    back = request.headers.get("referer", "")
    # No script here (the Content-Security-Policy allows none): the browser's Back button keeps the answers.
    back_href = (back if urlsplit(back).scheme in ("http", "https")
                 else f"{_site_root(request, _settings(request))}support/")
    body = (f"<p>Your request was not sent. Please correct:</p><ul>{items}</ul>"
            f'<p><a href="{escape(back_href)}">Back to the form</a> '
            "(your browser's Back button keeps what you typed).</p>")
    return _html_page("Please correct your request", body, status)


def _html_page(title: str, body: str, status: int) -> HTMLResponse:
    return HTMLResponse(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{csp.SERVICE_PAGE_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>", status_code=status,
        headers={"Cache-Control": "no-store"})


# -- reading ---------------------------------------------------------------------------------------


@router.get("/api/tickets", response_model=TicketListOut, summary="The requests list",
            description="Customers and partners see their organization's requests; agents see all.",
            responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def list_requests(
    request: Request,
    user: User = Depends(require_user),
    status: list[str] = Query([], description="Status names or slugs (repeat for several)"),
    product: list[str] = Query([], description="Product slugs or names"),
    priority: list[str] = Query([], description="Priority slugs"),
    requester: list[str] = Query([], description="Requester user ids or emails"),
    mine: bool = Query(False, description="Only the requests the signed-in user created"),
    assignee: str | None = Query(None, description="Agents: an agent's id or email, or 'none'"),
    organization: int | None = Query(None, ge=1, le=tickets.MAX_ID, description="Agents: one organization's id"),
    q: str = Query("", max_length=200, description="Text in the key or the summary"),
    sort: str = Query("-created", description="created, updated, key, status, priority, summary; '-' descending"),
    page: int = Query(1, ge=1, le=tickets.MAX_PAGE),
    per_page: int = Query(25, ge=1, le=tickets.MAX_PER_PAGE),
) -> Response:
    filters = tickets.TicketFilter(status=[s for s in status if s], product=[p for p in product if p],
                                   priority=[p for p in priority if p], requester=[r for r in requester if r],
                                   mine=mine, assignee=assignee or None, organization=organization, q=q,
                                   sort=sort, page=page, per_page=per_page)
    catalog = forms_catalog(request.app)
    with _Db(request, user) as (session, viewer):
        try:
            found = tickets.list_tickets(session, viewer, filters)
        except tickets.TicketError as exc:
            return _error(exc)
        agent = tickets.is_agent(viewer)
        body = {
            "items": [_summary_json(t, viewer, catalog) for t in found.items],
            "total": found.total, "page": found.page, "per_page": found.per_page, "pages": found.pages,
            "requesters": [_person(u, viewer) for u in tickets.requesters_of(session, viewer)],
            "agents": [_person(a, viewer) for a in tickets.agents(session)] if agent else [],
            "organization": None if agent else {"id": viewer.organization.id, "name": viewer.organization.name},
            "viewer": _person(viewer, viewer),
        }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/api/tickets/{key}", response_model=TicketOut, summary="One request, with its timeline",
            responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def show(key: str, request: Request, user: User = Depends(require_user)) -> Response:
    catalog = forms_catalog(request.app)
    with _Db(request, user) as (session, viewer):
        try:
            ticket = tickets.get_ticket(session, viewer, key)
        except tickets.TicketError as exc:
            return _error(exc)
        body = _detail_json(session, _settings(request), ticket, viewer, catalog)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/api/tickets/{key}/attachments/{attachment_id}", summary="Download an attachment",
            response_class=FileResponse, responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut},
                                                    422: {"model": ErrorOut}})
def download(key: str, request: Request, attachment_id: int = Path(ge=1, le=tickets.MAX_ID),
             user: User = Depends(require_user)) -> Response:
    settings = _settings(request)
    with _Db(request, user) as (session, viewer):
        try:
            attachment = tickets.get_attachment(session, viewer, key, attachment_id)
        except tickets.TicketError as exc:
            return _error(exc)
    path = tickets.attachment_path(settings, attachment)
    if not path.is_file():
        return error_response(404, f"The file of attachment {attachment_id} is missing from the server's "
                                   "storage; ask the support team to restore it from backup.")
    # A download, never a page of ours: an uploaded HTML or SVG file must not run in the portal's origin.
    return FileResponse(path, media_type="application/octet-stream", filename=attachment.filename,
                        content_disposition_type="attachment",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


# -- changing ------------------------------------------------------------------------------------


@router.post("/api/tickets/{key}/comments", status_code=201, response_model=EventOut,
             summary="Comment on a request (agents: or add an internal note)",
             description="JSON {text, internal}, or multipart with `text`, `internal` and `files` (repeated).",
             responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                        409: {"model": ClosedOut, "description": "The request is closed"},
                        413: {"model": ErrorOut}, 415: {"model": ErrorOut}, 422: {"model": ErrorOut}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": CommentIn.model_json_schema()},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "text": {"type": "string"}, "internal": {"type": "boolean"},
                     "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}})
async def comment(key: str, request: Request) -> Response:
    settings = _settings(request)
    user = await run_in_threadpool(require_user, request)
    content_type = bodies.media_type(request)
    form = None
    try:
        if content_type == "application/json":
            body = await bodies.read_json(request, expected=COMMENT_JSON, max_bytes=256 * 1024)  # 20,000 characters
            wrong = [(name, message) for name, message, ok in (
                ("body", "must be a JSON object", isinstance(body, dict)),
                ("text", "must be text", not isinstance(body, dict) or isinstance(body.get("text", ""), str)),
                ("internal", "must be true or false",
                 not isinstance(body, dict) or isinstance(body.get("internal", False), bool))) if not ok]
            if wrong:
                return error_response(422, COMMENT_JSON, wrong)
            text, internal, uploads = body.get("text", ""), body.get("internal", False), []
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await bodies.read_form(request, max_files=settings.max_attachments + 10, max_fields=20,
                                          max_part_size=tickets.MAX_COMMENT_CHARS * 4,
                                          files_allowed=settings.max_attachments)
            text = str(form.get("text") or "")
            internal = str(form.get("internal") or "").lower() in ("1", "true", "on", "yes")
            uploads = [tickets.Upload(f.filename, f.file, f.content_type or "application/octet-stream", None, f.size)
                       for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        else:
            return error_response(415, "Send the comment as JSON or as a multipart form post.",
                                  [("body", "must be application/json or multipart/form-data")])
        return await run_in_threadpool(_comment, request, user, key, text, internal, uploads)
    finally:
        if form is not None:
            await form.close()


def _comment(request: Request, user: User, key: str, text: str, internal: bool, uploads) -> Response:
    with _Db(request, user) as (session, viewer):
        try:
            ticket = tickets.get_ticket(session, viewer, key)
            event = tickets.add_comment(session, _settings(request), ticket, viewer, text, internal=internal,
                                        uploads=uploads)
        except tickets.TicketError as exc:
            return _error(exc)
        return JSONResponse({
            "id": event.id, "kind": event.kind, "internal": event.internal, "author": _person(viewer, viewer),
            "title": event.title, "html": event.html, "old_status": None, "new_status": None,
            "created_at": tickets.iso(event.created_at),
            "attachments": [_attachment_json(ticket, a) for a in event.attachments]}, status_code=201)


@router.post("/api/tickets/{key}/transitions", response_model=TicketOut, summary="Change a request's status",
             description="Refused with 409 (naming the allowed statuses) when the signed-in user may not make "
                         "this move from the current status.",
             responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": RefusedMoveOut},
                        415: {"model": ErrorOut}, 422: {"model": ErrorOut}},
             openapi_extra=bodies.request_body(TransitionIn))
def move(key: str, request: Request, user: User = Depends(require_user),
         body: TransitionIn = Depends(bodies.json_body(TransitionIn, expected=TRANSITION_JSON))) -> Response:
    settings = _settings(request)
    catalog = forms_catalog(request.app)
    with _Db(request, user) as (session, viewer):
        try:
            ticket = tickets.get_ticket(session, viewer, key)
            tickets.transition(session, settings, ticket, viewer, body.to)
        except tickets.TicketError as exc:
            return _error(exc)
        except workflow.UnknownStatus as exc:
            return error_response(422, str(exc), [("to", str(exc))])
        except workflow.TransitionRefused as exc:
            return error_response(409, exc.message, allowed=[s.name for s in exc.allowed])
        return JSONResponse(_detail_json(session, settings, ticket, viewer, catalog))


@router.put("/api/tickets/{key}/assignee", response_model=TicketOut, summary="Assign a request to an agent",
            responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                       415: {"model": ErrorOut}, 422: {"model": ErrorOut}},
            openapi_extra=bodies.request_body(AssigneeIn))
def assign(key: str, request: Request, user: User = Depends(require_user),
           body: AssigneeIn = Depends(bodies.json_body(AssigneeIn, expected=ASSIGNEE_JSON))) -> Response:
    settings = _settings(request)
    catalog = forms_catalog(request.app)
    with _Db(request, user) as (session, viewer):
        try:
            ticket = tickets.get_ticket(session, viewer, key)
            if not tickets.is_agent(viewer):
                raise tickets.NotAllowed("Only the support team assigns requests.")
            assignee = None
            if body.assignee not in (None, ""):
                wanted = str(body.assignee).strip()
                assignee = session.scalars(select(User).where(_user_is(wanted))).first()
                if assignee is None:
                    raise tickets.CommentRejected(f"No user {wanted!r}; give an agent's email or id.",
                                                  field="assignee")
            tickets.assign(session, settings, ticket, viewer, assignee)
        except tickets.TicketError as exc:
            return _error(exc)
        return JSONResponse(_detail_json(session, settings, ticket, viewer, catalog))


def _user_is(wanted: str):
    """The condition matching `wanted`, an id (ASCII digits, in range) or else an email."""
    if wanted.isascii() and wanted.isdigit():
        if len(wanted) > 10 or int(wanted) > tickets.MAX_ID:
            raise ApiError.on_field(422, "assignee", f"{wanted[:40]} is not an id (ids go up to {tickets.MAX_ID}); "
                                                     "give an agent's email or id.")
        return User.id == int(wanted)
    return User.email == wanted.lower()


# -- the ticket page -----------------------------------------------------------------------------


class _TicketKey(Convertor):
    """Only ticket keys match, so /requests/index.html and the like still reach the static site."""

    regex = KEY_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("ticketkey", _TicketKey())


@router.get("/requests/{key:ticketkey}/", include_in_schema=False)
def ticket_page(key: str, request: Request) -> Response:
    """Every ticket's page is the one static shell; its script reads the key from the address."""
    page = _settings(request).site_dir / "requests" / "ticket" / "index.html"
    if not page.is_file():
        raise HTTPException(404, "The site is not built: run 'kbgen build'.")
    return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/requests/{key:ticketkey}", include_in_schema=False)
def ticket_page_without_slash(key: str) -> Response:
    return RedirectResponse(f"{key}/", status_code=308)  # relative: works under a sub-path too


# -- OpenAPI ---------------------------------------------------------------------------------------


def _describe_ticket_bodies(app: FastAPI, schema: dict) -> None:
    """Each product's ticket body, from its form definition, as a named schema the intake's oneOf refers to."""
    try:
        catalog = forms_catalog(app)
    except Exception:  # noqa: BLE001 - the rest of the API stays documented when forms/ is broken
        return
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    refs, mapping = [], {}
    for product in PRODUCTS:
        if product.slug not in catalog.forms:
            continue
        name = f"TicketBody_{product.slug}"
        body = dict(catalog.json_schema(product.slug))
        body.pop("$schema", None)
        schemas[name] = body
        refs.append({"$ref": f"#/components/schemas/{name}"})
        mapping[product.slug] = f"#/components/schemas/{name}"
    operation = schema.get("paths", {}).get("/api/tickets", {}).get("post")
    if operation is not None and refs:
        operation["requestBody"]["content"]["application/json"]["schema"] = {
            "oneOf": refs, "discriminator": {"propertyName": "product", "mapping": mapping}}
