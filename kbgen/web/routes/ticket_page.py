"""The ticket page: /requests/<KEY>/ is the one static shell, whatever the key; its script reads the key.

Only ticket keys (kbgen.tickets.keys.KEY_PATTERN) match the route, so /requests/index.html and
the like still reach the static site.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from kbgen import facts
from kbgen.tickets.keys import KEY_PATTERN, page_url
from kbgen.web.deps import SettingsDep

router = APIRouter(include_in_schema=False)


class TicketKey(Convertor):
    regex = KEY_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("ticketkey", TicketKey())


@router.get("/" + page_url("{key:ticketkey}"))
def ticket_page(key: str, settings: SettingsDep) -> Response:
    page = settings.site_dir / facts.page("ticket_shell") / "index.html"
    if not page.is_file():
        raise HTTPException(404, "The site is not built: run 'kbgen build'.")
    return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/" + page_url("{key:ticketkey}").rstrip("/"))
def ticket_page_without_slash(key: str) -> Response:
    return RedirectResponse(f"{key}/", status_code=308)  # relative: works under a sub-path too
