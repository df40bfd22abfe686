"""The sign-in and sign-out pages of the static site.

Both are plain HTML forms that post to the service, so they work without
JavaScript; kbgen-account.js upgrades them (inline errors, no page reload, the
`next` page) and fills the header's account menu from GET /api/me.

Form actions are absolute paths ("/api/session"): the service answers on the
site's own origin unless `<meta name="kbgen-api">` names a prefix, which the
script then puts in front of them.
"""
from __future__ import annotations

from html import escape

from kbgen.site.generated import GeneratedPage

# Ids the service's redirects point at (…/login/?error=1#kbgen-login-failed): the CSS shows the
# message that is the URL's :target, so a browser without JavaScript shows the right one.
FAILED_ID = "kbgen-login-failed"
THROTTLED_ID = "kbgen-login-throttled"
FAILED_MESSAGE = "The email or password is incorrect. Check them and try again."
THROTTLED_MESSAGE = "Too many sign-in attempts. Wait a few minutes and try again."


def account_pages() -> list[GeneratedPage]:
    return [
        GeneratedPage("login/index.md", "Sign in", render_login, hide=("toc", "navigation"), in_nav=False),
        GeneratedPage("logout/index.md", "Sign out", render_logout, hide=("toc", "navigation"), in_nav=False),
    ]


def render_login(root: str) -> str:
    return f"""
<div class="kbgen-signin">
  <p class="kbgen-lead">Sign in to open requests and follow them with the support team.</p>
  <p class="kbgen-account-message" id="{FAILED_ID}" role="alert">{escape(FAILED_MESSAGE)}</p>
  <p class="kbgen-account-message" id="{THROTTLED_ID}" role="alert">{escape(THROTTLED_MESSAGE)}</p>
  <p class="kbgen-account-message kbgen-account-message--live" data-kbgen-login-error role="alert" hidden></p>
  <form class="kbgen-account-form" method="post" action="/api/session" data-kbgen-login>
    <label for="kbgen-login-email">Email</label>
    <input id="kbgen-login-email" name="email" type="email" autocomplete="username" required maxlength="320">
    <label for="kbgen-login-password">Password</label>
    <input id="kbgen-login-password" name="password" type="password" autocomplete="current-password" required
           maxlength="1024">
    <input type="hidden" name="next" value="">
    <button type="submit" class="md-button md-button--primary">Sign in</button>
  </form>
  <p class="kbgen-account-help">No account yet, or forgot your password? Your organization's contact
    or the support team can set one up for you.</p>
  <p class="kbgen-account-help"><a href="{escape(root)}">Back to the portal</a></p>
</div>
"""


def render_logout(root: str) -> str:
    return f"""
<div class="kbgen-signin">
  <p class="kbgen-lead">Sign out of the support portal on this browser.</p>
  <form class="kbgen-account-form" method="post" action="/api/session/logout" data-kbgen-logout>
    <button type="submit" class="md-button md-button--primary">Sign out</button>
  </form>
  <p class="kbgen-account-help"><a href="{escape(root)}">Back to the portal</a></p>
</div>
"""
