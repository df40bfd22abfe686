"""The service's own HTML pages, from kbgen/theme/service/: answers to a browser's form post without
JavaScript (`service_page`), and the pages for people (account flows, administration: `portal_page`)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from kbgen.site import csp
from kbgen.templates import Markup, render

DEFAULT_PORTAL_NAME = "Support portal"


def service_page(template: str, title: str, status: int, **context: Any) -> HTMLResponse:
    """`template` (a name under kbgen/theme/service/) as a page that is never cached."""
    # The style is kbgen's own text, exactly as the Content-Security-Policy hashes it: not escaped.
    html = render(f"service/{template}", title=title, style=Markup(csp.SERVICE_PAGE_STYLE), **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def portal_page(request: Request, template: str, title: str, *, status: int = 200, viewer: Any = None,
                messages: list[tuple[str, str]] | None = None, tabs: list[tuple[str, str, bool]] | None = None,
                **context: Any) -> HTMLResponse:
    """A page for people in the portal's layout (service/portal.html): its header, skip link and messages."""
    from kbgen.web.redirects import site_root

    settings = request.app.state.settings
    return service_page(template, title, status, root=site_root(request, settings), viewer=viewer,
                        messages=messages or [], tabs=tabs or [], portal_name=portal_name(settings.project_dir),
                        **context)


class PageAnswer(HTTPException):
    """Raised by a page's route or dependency to answer with `response` (a page, a redirect) instead of the
    JSON error shape: kbgen.web.errors.http_error sends it as it is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code, "See the page")
        self.response = response


@lru_cache(maxsize=8)
def portal_name(project_dir: Path) -> str:
    """The site's name (mkdocs.yml site_name) when the service runs beside the project, else a plain default."""
    try:
        config = yaml.load((Path(project_dir) / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except (OSError, yaml.YAMLError):
        return DEFAULT_PORTAL_NAME
    name = config.get("site_name") if isinstance(config, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else DEFAULT_PORTAL_NAME
