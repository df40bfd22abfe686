"""The sign-in and sign-out pages of the static site (markup: kbgen/theme/pages/account/).

Both are plain HTML forms that post to the service, so they work without
JavaScript; kbgen-account.js upgrades them (inline errors, no page reload, the
`next` page) and fills the header's account menu from GET /api/me.

Form actions are absolute paths ("/api/session"): the service answers on the
site's own origin unless `<meta name="kbgen-api">` names a prefix, which the
script then puts in front of them.
"""
from __future__ import annotations

from kbgen.accounts.refusals import DEACTIVATED_MESSAGE, PENDING_MESSAGE
from kbgen.facts import page
from kbgen.site.generated import GeneratedPage
from kbgen.templates import render

# Ids the service's redirects point at (…/login/?error=1#kbgen-login-failed): the CSS shows the
# message that is the URL's :target, so a browser without JavaScript shows the right one.
FAILED_ID = "kbgen-login-failed"
THROTTLED_ID = "kbgen-login-throttled"
DEACTIVATED_ID = "kbgen-login-deactivated"
PENDING_ID = "kbgen-login-pending"
FAILED_MESSAGE = "The email or password is incorrect. Check them and try again."
THROTTLED_MESSAGE = "Too many sign-in attempts. Wait a few minutes and try again."


def account_pages() -> list[GeneratedPage]:
    return [
        GeneratedPage(page("sign_in") + "index.md", "Sign in", render_login, hide=("toc", "navigation"), in_nav=False),
        GeneratedPage(page("sign_out") + "index.md", "Sign out", render_logout, hide=("toc", "navigation"),
                      in_nav=False),
    ]


def render_login(root: str) -> str:
    messages = [{"id": FAILED_ID, "text": FAILED_MESSAGE}, {"id": THROTTLED_ID, "text": THROTTLED_MESSAGE},
                {"id": DEACTIVATED_ID, "text": DEACTIVATED_MESSAGE}, {"id": PENDING_ID, "text": PENDING_MESSAGE}]
    return render("pages/account/login.html", root=root, messages=messages)


def render_logout(root: str) -> str:
    return render("pages/account/logout.html", root=root)
