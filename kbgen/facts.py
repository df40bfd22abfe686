"""The facts the portal shows, gathered from their one definition and handed to where they are shown.

Each fact is defined once, in the module that owns it: products, article types and sections
in kbgen/site/catalog.py; statuses (name, meaning, colour tone) in kbgen/tickets/workflow.py;
roles and who answers tickets in kbgen/accounts/roles.py; priorities and the summary's length
in kbgen/forms; the ticket key and its page in kbgen/tickets/keys.py; sorts and the other
limits in kbgen/tickets and kbgen/settings.py. This module only imports them and exports them:

- `template_globals()`: the global `facts` of every Jinja template, MkDocs' and kbgen's own;
- `export()`: the same as JSON, which the build writes into the site as assets/kbgen-facts.js
  for the scripts (kbgen-core.js reads it), next to assets/kbgen-status.css, the status
  chips' colours by slug (`built_assets()`, rendered from their templates in kbgen/theme/assets/).

Two facts have no other home, so they are defined here: the addresses of the site's own
pages (`PAGES`) and the rule for a `next` address after signing in (`safe_next`), which
the service and the browser both apply.
"""
from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace
from typing import Any

from kbgen.accounts.cookies import CSRF_COOKIE
from kbgen.accounts.roles import ADMIN_ROLES, ROLES, SUPPORT_ROLES
from kbgen.forms import DEFAULT_PRIORITY, PRIORITIES, SUMMARY_MAX_LENGTH
from kbgen.settings import Settings
from kbgen.site.catalog import ARTICLE_TYPES, LICENSING, PRODUCTS, SECTIONS, SOFTWARE, product_by_slug
from kbgen.tickets import workflow
from kbgen.tickets.keys import KEY_PATTERN, page_url
from kbgen.tickets.limits import MAX_COMMENT_CHARS, MAX_PER_PAGE, SORT_COLUMNS, TicketFilter

__all__ = ["BUILT_ASSETS", "NEXT_MAX_LENGTH", "NEXT_PATTERN", "PAGES", "SERVICE_PAGES", "built_assets", "export", "page",
           "safe_next", "service_page", "template_globals"]

# Assets the build renders from their templates in kbgen/theme/assets/ instead of copying them.
BUILT_ASSETS = ("assets/kbgen-facts.js", "assets/kbgen-status.css")

# The site's own pages, relative to its root; {placeholders} are filled by `page` (and core.js' page()).
PAGES: dict[str, str] = {
    "home": "",
    "sign_in": "login/",
    "sign_out": "logout/",
    "requests": "requests/",
    "ticket": page_url("{key}"),
    "ticket_shell": page_url("ticket"),  # the one built page the service answers every ticket with
    "support": "support/",
    "support_product": "support/{product}/",
    "support_form": "support/{product}/{request_type}/",
    "follow_up": "support/{product}/?related={key}",  # a new request about a closed one
    "search": "search/",
}

# The service's own pages for people (account flows, administration), from the service's root: the
# reverse proxy routes /account/ and /admin/ to it (README: Deploy). Links in emails start with
# KBGEN_PUBLIC_URL. {placeholders} are filled by `service_page`.
SERVICE_PAGES: dict[str, str] = {
    "invitation": "/account/invitation/?token={token}",
    "forgot_password": "/account/password/forgot/",
    "reset_password": "/account/password/reset/?token={token}",
    "sign_up": "/account/signup/",
    "verify_sign_up": "/account/signup/verify/?token={token}",
    # Which emails the signed-in person gets (kbgen/web/routes/watchers.py).
    "notification_settings": "/account/notifications/",
    "admin_home": "/admin/",
    "admin_organizations": "/admin/organizations/",
    "admin_organization": "/admin/organizations/{id}/",
    "admin_users": "/admin/users/",
    "admin_user": "/admin/users/{id}/",
    "admin_invitations": "/admin/invitations/",
    "admin_audit": "/admin/audit/",
    # The support team's reports (kbgen/web/routes/reports.py): the proxy routes /team/ to the service too.
    "reports": "/team/reports/",
    "reports_csv": "/team/reports/tickets.csv",
    "reports_chart": "/team/reports/charts/{chart}.svg",
}

# Where sign-in may send the browser next: a path on this site, one leading slash (two, or a
# backslash, would name another host), no control character. Python and JavaScript both run it.
NEXT_MAX_LENGTH = 2000
NEXT_PATTERN = r"/(?![/\\])[^\\\x00-\x1f\x7f]{0,%d}" % (NEXT_MAX_LENGTH - 1)
_NEXT = re.compile(NEXT_PATTERN)


def safe_next(value: object) -> str | None:
    """`value` if it is a path on this site ("/kb/xcally/?q=1"); None for anything that could leave it."""
    return value if isinstance(value, str) and _NEXT.fullmatch(value) else None


def page(name: str, **parts: str) -> str:
    """A page of the site relative to its root: page("ticket", key="XC-42") == "requests/XC-42/"."""
    return PAGES[name].format(**parts)


def service_page(name: str, **parts: object) -> str:
    """A page of the service from its root: service_page("admin_user", id=3) == "/admin/users/3/"."""
    return SERVICE_PAGES[name].format(**parts)


def _limits(settings: Settings | None) -> dict[str, int]:
    configured = settings or Settings  # the class holds the defaults: what a fresh install does
    return {
        "summary_max_length": SUMMARY_MAX_LENGTH,
        "comment_max_chars": MAX_COMMENT_CHARS,
        "attachment_max_bytes": configured.max_attachment_bytes,
        "attachments_max": configured.max_attachments,
        "reopen_days": configured.reopen_days,
        "per_page_max": MAX_PER_PAGE,
        "next_max_length": NEXT_MAX_LENGTH,
    }


def _rows(items) -> list[dict[str, Any]]:
    return [dataclasses.asdict(item) for item in items]


def export(settings: Settings | None = None) -> dict[str, Any]:
    """Every fact as JSON-safe data: what the scripts read from assets/kbgen-facts.js."""
    return {
        "products": _rows(PRODUCTS),
        "article_types": _rows(ARTICLE_TYPES),
        "sections": _rows(SECTIONS),
        "statuses": _rows(workflow.STATUSES),
        "initial_status": workflow.INITIAL.slug,
        "final_status": workflow.FINAL.slug,
        "priorities": _rows(PRIORITIES),
        "default_priority": DEFAULT_PRIORITY,
        "roles": [{"slug": str(r), "label": r.label, "description": r.description,
                   "can_answer_tickets": r.can_answer_tickets, "can_administer": r.can_administer}
                  for r in ROLES],
        "support_roles": [str(r) for r in SUPPORT_ROLES],
        "admin_roles": [str(r) for r in ADMIN_ROLES],
        "csrf_cookie": CSRF_COOKIE,
        "key_pattern": KEY_PATTERN,
        "pages": dict(PAGES),
        "service_pages": dict(SERVICE_PAGES),
        "sorts": list(SORT_COLUMNS),
        "default_sort": TicketFilter.sort,
        "next_pattern": NEXT_PATTERN,
        "limits": _limits(settings),
    }


def template_globals(settings: Settings | None = None) -> dict[str, Any]:
    """The global `facts` of every template: the definitions themselves, plus `page()` and `export()`.

    {{ facts.products }}, {{ facts.status(slug).name }}, {{ facts.page("ticket", key=key) }},
    {{ facts.limits.attachments_max }}, {{ facts.export() | tojson }}.
    """
    facts = SimpleNamespace(
        products=PRODUCTS, software=SOFTWARE, licensing=LICENSING, article_types=ARTICLE_TYPES, sections=SECTIONS,
        product=product_by_slug, statuses=workflow.STATUSES, status=workflow.find_status,
        priorities=PRIORITIES, default_priority=DEFAULT_PRIORITY, roles=ROLES, support_roles=SUPPORT_ROLES,
        admin_roles=ADMIN_ROLES,
        key_pattern=KEY_PATTERN, pages=dict(PAGES), page=page, service_page=service_page, sorts=tuple(SORT_COLUMNS), default_sort=TicketFilter.sort,
        next_pattern=NEXT_PATTERN, limits=SimpleNamespace(**_limits(settings)),
        export=lambda: export(settings),
    )
    return {"facts": facts}


def built_assets() -> dict[str, str]:
    """The text of each of BUILT_ASSETS, by its path in the site: what the build writes there."""
    from kbgen.templates import render  # kbgen.templates imports this module when it starts

    return {path: render(path) for path in BUILT_ASSETS}
