"""Comments on a request, and the support team's internal notes, with files.

    POST /api/tickets/{key}/comments    JSON {text, internal}, or multipart with `text`, `internal`, `files`
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from kbgen import tickets
from kbgen.settings import yes_or_no
from kbgen.web import bodies
from kbgen.web.deps import CurrentUser, SessionDep, SettingsDep
from kbgen.web.errors import ApiError, ErrorOut
from kbgen.web.schemas import ClosedOut, CommentIn, EventOut, event_out

router = APIRouter(tags=["tickets"])

COMMENT_JSON = 'Send JSON like {"text": "...", "internal": false}.'

_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": CommentIn.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "text": {"type": "string"}, "internal": {"type": "boolean"},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}}


@router.post("/api/tickets/{key}/comments", status_code=201, response_model=EventOut,
             summary="Comment on a request (agents: or add an internal note)",
             description="JSON {text, internal}, or multipart with `text`, `internal` and `files` (repeated).",
             responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
                        409: {"model": ClosedOut, "description": "The request is closed"},
                        413: {"model": ErrorOut}, 415: {"model": ErrorOut}, 422: {"model": ErrorOut}},
             openapi_extra=_BODY)
async def comment(key: str, request: Request, viewer: CurrentUser, session: SessionDep,
                  settings: SettingsDep) -> EventOut:
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
                raise ApiError(422, COMMENT_JSON, wrong)
            text, internal, uploads = body.get("text", ""), body.get("internal", False), []
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await bodies.read_form(request, max_files=settings.max_attachments + 10, max_fields=20,
                                          max_part_size=tickets.MAX_COMMENT_CHARS * 4,
                                          files_allowed=settings.max_attachments)
            text = str(form.get("text") or "")
            internal = bool(yes_or_no(form.get("internal")))  # a ticked checkbox sends "on"
            uploads = [tickets.Upload(f.filename, f.file, f.content_type or "application/octet-stream", None, f.size)
                       for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        else:
            raise ApiError(415, "Send the comment as JSON or as a multipart form post.",
                           [("body", "must be application/json or multipart/form-data")])
        return await run_in_threadpool(_comment, session, settings, viewer, key, text, internal, uploads)
    finally:
        if form is not None:
            await form.close()


def _comment(session, settings, viewer, key: str, text: str, internal: bool, uploads) -> EventOut:
    ticket = tickets.get_ticket(session, viewer, key)
    event = tickets.add_comment(session, settings, ticket, viewer, text, internal=internal, uploads=uploads)
    return event_out(ticket, event, viewer)
