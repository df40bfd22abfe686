"""Attachments, as downloads.

    GET /api/tickets/{key}/attachments/{id}    the file, never shown as a page of the portal
"""
from __future__ import annotations

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from kbgen import tickets
from kbgen.web.deps import CurrentUser, SessionDep, SettingsDep
from kbgen.web.errors import ApiError, ErrorOut

router = APIRouter(tags=["tickets"])

# A download, never a page of ours: an uploaded HTML or SVG file must not run in the portal's origin.
DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                    "Content-Security-Policy": "default-src 'none'; sandbox"}


@router.get("/api/tickets/{key}/attachments/{attachment_id}", summary="Download an attachment",
            response_class=FileResponse, responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut},
                                                    422: {"model": ErrorOut}})
def download(key: str, viewer: CurrentUser, session: SessionDep, settings: SettingsDep,
             attachment_id: int = Path(ge=1, le=tickets.MAX_ID)) -> FileResponse:
    attachment = tickets.get_attachment(session, viewer, key, attachment_id)
    path = tickets.attachment_path(settings, attachment)
    if not path.is_file():
        raise ApiError(404, f"The file of attachment {attachment_id} is missing from the server's storage; "
                            "ask the support team to restore it from backup.")
    return FileResponse(path, media_type="application/octet-stream", filename=attachment.filename,
                        content_disposition_type="attachment", headers=DOWNLOAD_HEADERS)
