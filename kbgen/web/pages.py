"""The service's own HTML answers, for a browser's form post without JavaScript, from kbgen/theme/service/."""
from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from kbgen.site import csp
from kbgen.templates import Markup, render


def service_page(template: str, title: str, status: int, **context: Any) -> HTMLResponse:
    """`template` (a name under kbgen/theme/service/) as a page that is never cached."""
    # The style is kbgen's own text, exactly as the Content-Security-Policy hashes it: not escaped.
    html = render(f"service/{template}", title=title, style=Markup(csp.SERVICE_PAGE_STYLE), **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
