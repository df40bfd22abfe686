"""The service's own HTML pages, from kbgen/theme/service/: answers to a browser's form post without
JavaScript (`service_page`), and the pages for people (account flows, administration: `portal_page`)."""
from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from kbgen.site import brand as branding, csp
from kbgen.templates import Markup, render


def service_page(template: str, title: str, status: int, *, brand: branding.Brand | None = None,
                 **context: Any) -> HTMLResponse:
    """`template` (a name under kbgen/theme/service/) as a page that is never cached; `brand` is the
    portal's (kbgen.site.brand.for_settings), else the defaults."""
    # The style is kbgen's own text, exactly as the Content-Security-Policy hashes it: not escaped.
    html = render(f"service/{template}", title=title, style=Markup(csp.SERVICE_PAGE_STYLE),
                  brand=brand or branding.Brand(), **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def portal_page(request: Request, template: str, title: str, *, status: int = 200, viewer: Any = None,
                messages: list[tuple[str, str]] | None = None, tabs: list[tuple[str, str, bool]] | None = None,
                **context: Any) -> HTMLResponse:
    """A page for people in the portal's layout (service/portal.html): its header, skip link and messages."""
    from kbgen.web.redirects import site_root

    settings = request.app.state.settings
    return service_page(template, title, status, root=site_root(request, settings), viewer=viewer,
                        messages=messages or [], tabs=tabs or [], brand=branding.for_settings(settings), **context)


class PageAnswer(HTTPException):
    """Raised by a page's route or dependency to answer with `response` (a page, a redirect) instead of the
    JSON error shape: kbgen.web.errors.http_error sends it as it is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code, "See the page")
        self.response = response
