"""The requests pages: static shells that kbgen-requests.js fills from the service's /api/tickets.

Everything a page can know at build time is rendered here (the filters'
choices, the status help table from kbgen/tickets/workflow.py); what depends on who is
signed in comes from the API, so the pages can be hosted as plain files.
The service answers /requests/<KEY>/ with the one ticket shell page.
The markup is in kbgen/theme/pages/requests/.
"""
from __future__ import annotations

from typing import Any

from kbgen.facts import page
from kbgen.site.catalog import PRODUCTS
from kbgen.site.generated import GeneratedPage
from kbgen.templates import render
from kbgen.tickets import workflow
from kbgen.tickets.limits import SORT_CHOICES
from kbgen.tickets.views import VIEWS

LIST_PAGE = page("requests") + "index.md"
TICKET_PAGE = page("ticket_shell") + "index.md"
SIGN_IN_PAGE = page("sign_in")  # the script adds ?next=



def priorities() -> list[tuple[str, str, str]]:
    """(slug, name, definition) from the forms' definition of priorities."""
    from kbgen.forms import PRIORITIES

    return [(p.slug, p.name, p.definition) for p in PRIORITIES]


def status_rows(reopen_days: int | None = None) -> list[dict[str, str]]:
    """The help table's rows: every status, its slug, what it means and what can happen next."""
    return [{"name": name, "slug": workflow.find_status(name).slug, "meaning": meaning, "next": nxt}
            for name, meaning, nxt in workflow.help_rows(reopen_days)]


def _context(root: str) -> dict[str, Any]:
    return {"root": root, "sign_in_page": SIGN_IN_PAGE, "status_rows": status_rows()}


def render_list(root: str) -> str:
    return render("pages/requests/list.html", **_context(root),
                  statuses=[(s.name, s.name) for s in workflow.STATUSES],
                  products=[(p.slug, p.name) for p in PRODUCTS],
                  priorities=[(slug, name) for slug, name, _ in priorities()],
                  sorts=SORT_CHOICES, views=VIEWS)


def render_ticket(root: str) -> str:
    return render("pages/requests/ticket.html", **_context(root),
                  priorities=[(slug, name) for slug, name, _ in priorities()])


def request_pages() -> list[GeneratedPage]:
    return [
        GeneratedPage(LIST_PAGE, "Requests", render_list, hide=("toc", "navigation")),
        # One shell for every ticket: the service answers /requests/<KEY>/ with it.
        GeneratedPage(TICKET_PAGE, "Request", render_ticket, hide=("toc", "navigation"), in_nav=False),
    ]
