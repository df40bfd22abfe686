"""The account pages people reach from an email or the sign-in page: accepting an invitation,
forgetting a password, signing up with an organization's email domain (HTML form posts, no JavaScript).

Thin: each handler reads the form, calls kbgen.accounts.invitations / recovery / signup in one
transaction, and renders a page of kbgen/theme/service/account/ in the portal's layout. A refusal
(AccountError "field: what to do") re-renders the form with the message next to its field; a link
that cannot be used says why (404 unknown, 410 used, revoked or expired). The addresses are
kbgen.facts.SERVICE_PAGES; the CSRF middleware checks these posts' Origin (kbgen/web/csrf.py).
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kbgen import accounts
from kbgen.accounts import (DEVICE_COOKIE, MAX_EMAIL, MAX_NAME, MAX_PASSWORD, MIN_PASSWORD, AccountError,
                            AccountToken, User, invitations, recovery, signup, tokens)
from kbgen.accounts.roles import role_of
from kbgen.facts import page, service_page
from kbgen.mail.account_mail import moment
from kbgen.mail.addresses import is_email_address
from kbgen.web.bodies import read_form
from kbgen.web.deps import MaybeUser
from kbgen.web.pages import portal_page
from kbgen.web.redirects import site_root
from kbgen.web.routes.session import hash_slots, set_session_cookies

router = APIRouter(include_in_schema=False)

FORM_FIELDS = 10  # each form has at most five; more is no browser's post
FORM_FIELD_BYTES = 8 * 1024  # past this a field is no name, address or password (413)
LABELS = {"email": "Email", "name": "Your name", "password": "Password", "confirm": "Password again"}
LIMITS = {"email": MAX_EMAIL, "name": MAX_NAME, "password_min": MIN_PASSWORD, "password_max": MAX_PASSWORD}
PASSWORD_HINT = (f"At least {MIN_PASSWORD} characters, not your email or name, and not one of the passwords "
                 "leaked most often. Three or four unrelated words work well.")
MISMATCH = "The two passwords differ; type the same password in both fields."
NOT_AN_EMAIL = "Enter an email address like name@example.com."
BUSY = "Too many passwords are being checked right now. Wait a few seconds, then send the form again."

RESET_SENT = ("If an account exists for that address, we sent it a link to choose a new password. The link works "
              "for {minutes} minutes. If no email comes, check your spam folder, or ask the support team.")
SIGN_UP_SENT = ("If sign-up is open for your address, we sent you a link to confirm it; it works for {hours} "
                "hours. If you already have an account, sign in, or reset your password if you forgot it.")
RESET_DONE = ("Your new password is set, and you are signed in here. Every other browser that was signed in to "
              "your account has been signed out.")
AWAITING_APPROVAL = ("Your address is confirmed. {org} has an administrator approve each new account first: "
                     "we will email you when yours is approved, and then you can sign in.")

PROBLEMS = {  # what each flow's page says about a link that cannot be used
    "invitation": {
        "unknown": "This invitation link is not valid. Open the whole link from the email; if it still fails, "
                   "ask whoever invited you or the support team for a new invitation.",
        "used": "This invitation was already used: sign in, or reset your password.",
        "revoked": "This invitation was withdrawn: ask {inviter} to send a new one.",
        "expired": "This invitation expired on {expires}: ask {inviter} to send a new one.",
    },
    "reset": {
        "unknown": "This password reset link is not valid. Open the whole link from the email, or ask for a "
                   "new one.",
        "used": "This password reset link was already used. Sign in with your new password, or ask for a new "
                "link.",
        "revoked": "This password reset link was replaced by a newer one: use the link in the latest email, or "
                   "ask for a new one.",
        "expired": "This password reset link expired on {expires}: ask for a new one.",
    },
    "verify": {
        "unknown": "This confirmation link is not valid. Open the whole link from the email, or sign up again.",
        "used": "This address was already confirmed: sign in.",
        "revoked": "This confirmation link was replaced by a newer one: use the link in the latest email.",
        "expired": "This confirmation link expired on {expires}: sign up again.",
    },
}
TITLES = {"invitation": "Invitation", "reset": "Password reset link", "verify": "Confirmation link"}


def _path(name: str) -> str:
    """The route of a service page: its address in kbgen.facts.SERVICE_PAGES without the query."""
    return urlsplit(service_page(name, token="")).path


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _fields(request: Request) -> dict[str, str]:
    """The string fields of a form post; read_form refuses hostile input (4xx naming the field)."""
    form = await read_form(request, max_files=0, max_fields=FORM_FIELDS, max_part_size=FORM_FIELD_BYTES)
    try:
        return {key: value for key, value in form.items() if isinstance(value, str)}
    finally:
        await form.close()


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _refusal(exc: AccountError, fields: tuple[str, ...]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """An AccountError ("password: use at least 8 characters") as a field's message, or the page's."""
    field, _, message = str(exc).partition(": ")
    if field in fields and message:
        return {field: _sentence(message)}, []
    return {}, [("error", _sentence(message or str(exc)))]


def _links(request: Request, *names: str) -> list[tuple[str, str]]:
    settings = request.app.state.settings
    root = site_root(request, settings)
    known = {"sign_in": ("Sign in", root + page("sign_in")),
             "forgot": ("Forgot your password? Get a link to choose a new one", service_page("forgot_password")),
             "sign_up": ("Sign up with your work email", service_page("sign_up")),
             "help": (f"Write to the support team ({settings.support_team_email})",
                      f"mailto:{settings.support_team_email}"),
             "portal": ("Go to the support portal", root)}
    return [known[name] for name in names]


def _form_page(request: Request, template: str, title: str, *, status: int = 200, errors: dict | None = None,
               messages: list | None = None, viewer: Any = None, **context: Any) -> Response:
    return portal_page(request, template, title, status=status, viewer=viewer, messages=messages,
                       errors=errors or {}, labels=LABELS, limits=LIMITS, password_hint=PASSWORD_HINT, **context)


def _notice(request: Request, title: str, paragraphs: list[str], links: list[tuple[str, str]], *,
            status: int = 200, viewer: Any = None) -> Response:
    return portal_page(request, "account/notice.html", title, status=status, viewer=viewer,
                       paragraphs=paragraphs, links=links)


def _problem(request: Request, flow: str, state: str, row: AccountToken | None) -> Response:
    """The page of a link that cannot be used: 404 for one that never was, 410 for used, revoked, expired."""
    words: dict[str, str] = {}
    if row is not None:
        words["expires"] = moment(row.expires_at)
        words["inviter"] = (f"{invitations.inviter_words(row)} or the support team" if row.created_by is not None
                            else "the support team")
    text = PROBLEMS[flow][state].format(**words)
    links = {"invitation": ("sign_in", "forgot", "help") if state == "used" else ("help", "sign_in"),
             "reset": ("forgot", "sign_in"), "verify": ("sign_in", "sign_up")}[flow]
    return _notice(request, TITLES[flow], [text], _links(request, *links), status=404 if state == "unknown" else 410)


# Each flow's link: the token's purpose, and why such a link cannot be used (its module's refusal).
LINKS = {"invitation": (tokens.INVITATION, invitations.refusal), "reset": (tokens.RESET, recovery.refusal),
         "verify": (tokens.VERIFICATION, signup.refusal)}


def _usable(request: Request, db, flow: str, token: str) -> tuple[AccountToken | None, Response | None]:
    """The row of a flow's link and None, or None and the page that says why the link cannot be used."""
    purpose, refusal = LINKS[flow]
    row = tokens.look_up(db, purpose, token)
    state = refusal(row)
    return (row, None) if state is None else (None, _problem(request, flow, state, row))


def _signed_in(request: Request, response: Response, user: User, token: str, csrf_token: str) -> Response:
    """`response` with the cookies of the session just opened for `user` (as the sign-in form sets them)."""
    settings = request.app.state.settings
    device = accounts.remember_device(settings.secret_key, request.cookies.get(DEVICE_COOKIE), user.email)
    set_session_cookies(response, settings, token, csrf_token, device)
    return response


def _with_hash_slot(request: Request, work: Callable[[], Response]) -> Response:
    """Run `work` (which may hash a password) holding one of the process's password check slots."""
    slots, settings = hash_slots(request), request.app.state.settings
    if not slots.acquire(max(0.0, settings.password_hash_wait_seconds), trusted=False):
        return _notice(request, "Busy", [BUSY], [], status=503)
    try:
        return work()
    finally:
        slots.release()


# -- invitations ----------------------------------------------------------------------------------


def _invitation_words(row: AccountToken) -> dict[str, str]:
    role = role_of(row.role)
    return {"org": row.organization.name if row.organization else "", "email": row.email,
            "role": role.label if role else str(row.role),
            "role_description": role.description if role else "",
            "inviter": invitations.inviter_words(row), "expires": moment(row.expires_at)}


def _invitation_form(request: Request, row: AccountToken, token: str, *, name: str, status: int = 200,
                     errors: dict | None = None, messages: list | None = None) -> Response:
    return _form_page(request, "account/invitation.html", "Join the support portal", status=status, errors=errors,
                      messages=messages, invitation=_invitation_words(row), values={"name": name},
                      action=service_page("invitation", token=token))


@router.get(_path("invitation"))
def invitation_page(request: Request, token: str = "") -> Response:
    with request.app.state.sessionmaker() as db:
        row, refused = _usable(request, db, "invitation", token)
        if refused is not None:
            return refused
        return _invitation_form(request, row, token, name=row.name)


@router.post(_path("invitation"))
async def accept_invitation(request: Request, token: str = "") -> Response:
    fields = await _fields(request)
    return await run_in_threadpool(_with_hash_slot, request, lambda: _accept(request, token, fields))


def _accept(request: Request, token: str, fields: dict[str, str]) -> Response:
    name, password = fields.get("name", ""), fields.get("password", "")
    make_db = request.app.state.sessionmaker
    try:
        with make_db.begin() as db:
            row, refused = _usable(request, db, "invitation", token)
            if refused is not None:
                return refused
            if password != fields.get("confirm", ""):
                invitations.clean_name(name)  # a name too long is said first
                raise AccountError(f"confirm: {MISMATCH}")
            user = invitations.accept(db, row, password=password, name=name, client=_client(request))
            session_token, login = accounts.open_session(db, user)
    except AccountError as exc:
        errors, messages = _refusal(exc, ("name", "password", "confirm"))
        with make_db() as db:
            row, refused = _usable(request, db, "invitation", token)
            if refused is not None:
                return refused
            return _invitation_form(request, row, token, name=name[:MAX_NAME * 2], status=422, errors=errors,
                                    messages=messages)
    answer = RedirectResponse(site_root(request, request.app.state.settings), status_code=303)
    return _signed_in(request, answer, user, session_token, login.csrf_token)


# -- forgot password ------------------------------------------------------------------------------


def _forgot_form(request: Request, *, email: str = "", status: int = 200, errors: dict | None = None) -> Response:
    return _form_page(request, "account/forgot.html", "Forgot your password?", status=status, errors=errors,
                      values={"email": email}, action=service_page("forgot_password"),
                      minutes=request.app.state.settings.reset_link_minutes, links=_links(request, "sign_in"))


@router.get(_path("forgot_password"))
def forgot_password_page(request: Request) -> Response:
    return _forgot_form(request)


@router.post(_path("forgot_password"))
async def forgot_password(request: Request) -> Response:
    fields = await _fields(request)
    email = fields.get("email", "").strip()
    if not is_email_address(email):
        return _forgot_form(request, email=email[:MAX_EMAIL], status=422, errors={"email": NOT_AN_EMAIL})
    settings = request.app.state.settings

    def ask() -> None:
        with request.app.state.sessionmaker.begin() as db:
            recovery.request_reset(db, settings, email, client=_client(request))

    await run_in_threadpool(ask)
    return _notice(request, "Check your email", [RESET_SENT.format(minutes=settings.reset_link_minutes)],
                   _links(request, "sign_in"))


# -- password reset -------------------------------------------------------------------------------


def _reset_form(request: Request, row: AccountToken, token: str, *, status: int = 200, errors: dict | None = None,
                messages: list | None = None) -> Response:
    return _form_page(request, "account/reset.html", "Choose a new password", status=status, errors=errors,
                      messages=messages, email=row.email, action=service_page("reset_password", token=token))


@router.get(_path("reset_password"))
def reset_password_page(request: Request, token: str = "") -> Response:
    with request.app.state.sessionmaker() as db:
        row, refused = _usable(request, db, "reset", token)
        if refused is not None:
            return refused
        return _reset_form(request, row, token)


@router.post(_path("reset_password"))
async def reset_password(request: Request, token: str = "") -> Response:
    fields = await _fields(request)
    return await run_in_threadpool(_with_hash_slot, request, lambda: _reset(request, token, fields))


def _reset(request: Request, token: str, fields: dict[str, str]) -> Response:
    password = fields.get("password", "")
    make_db = request.app.state.sessionmaker
    try:
        with make_db.begin() as db:
            row, refused = _usable(request, db, "reset", token)
            if refused is not None:
                return refused
            if password != fields.get("confirm", ""):
                raise AccountError(f"confirm: {MISMATCH}")
            user = recovery.complete_reset(db, row, password=password, client=_client(request))
            session_token, login = accounts.open_session(db, user)
    except AccountError as exc:
        errors, messages = _refusal(exc, ("password", "confirm"))
        with make_db() as db:
            row, refused = _usable(request, db, "reset", token)
            if refused is not None:
                return refused
            return _reset_form(request, row, token, status=422, errors=errors, messages=messages)
    answer = _notice(request, "Password changed", [RESET_DONE], _links(request, "portal"), viewer=user)
    return _signed_in(request, answer, user, session_token, login.csrf_token)


# -- sign-up by email domain ----------------------------------------------------------------------


def _sign_up_form(request: Request, *, values: dict[str, str] | None = None, status: int = 200,
                  errors: dict | None = None) -> Response:
    return _form_page(request, "account/signup.html", "Sign up with your work email", status=status, errors=errors,
                      values=values or {"email": "", "name": ""}, action=service_page("sign_up"),
                      hours=request.app.state.settings.verification_hours,
                      links=_links(request, "sign_in", "forgot"))


@router.get(_path("sign_up"))
def sign_up_page(request: Request) -> Response:
    return _sign_up_form(request)


@router.post(_path("sign_up"))
async def sign_up(request: Request) -> Response:
    fields = await _fields(request)
    email, name, password = fields.get("email", "").strip(), fields.get("name", ""), fields.get("password", "")
    values = {"email": email[:MAX_EMAIL * 2], "name": name[:MAX_NAME * 2]}
    settings = request.app.state.settings
    if not is_email_address(email):
        return _sign_up_form(request, values=values, status=422, errors={"email": NOT_AN_EMAIL})

    def ask() -> Response:
        try:
            if password != fields.get("confirm", ""):
                invitations.clean_name(name)
                raise AccountError(f"confirm: {MISMATCH}")
            with request.app.state.sessionmaker.begin() as db:
                signup.request_sign_up(db, settings, email=email, name=name, password=password,
                                       client=_client(request))
        except AccountError as exc:
            errors, _ = _refusal(exc, ("email", "name", "password", "confirm"))
            return _sign_up_form(request, values=values, status=422, errors=errors or {"email": _sentence(str(exc))})
        return _notice(request, "Check your email", [SIGN_UP_SENT.format(hours=settings.verification_hours)],
                       _links(request, "sign_in", "forgot"))

    return await run_in_threadpool(_with_hash_slot, request, ask)


@router.get(_path("verify_sign_up"))
def verify_sign_up_page(request: Request, token: str = "") -> Response:
    with request.app.state.sessionmaker() as db:
        row, refused = _usable(request, db, "verify", token)
        if refused is not None:
            return refused
        return portal_page(request, "account/verify.html", "Confirm your email address", email=row.email,
                           org=row.organization.name if row.organization else "",
                           action=service_page("verify_sign_up", token=token))


@router.post(_path("verify_sign_up"))
def verify_sign_up(request: Request, token: str = "") -> Response:
    settings = request.app.state.settings
    make_db = request.app.state.sessionmaker
    try:
        with make_db.begin() as db:
            row, refused = _usable(request, db, "verify", token)
            if refused is not None:
                return refused
            user = signup.verify_sign_up(db, settings, row, client=_client(request))
            org_name = user.organization.name
            opened = None if user.awaiting_approval else accounts.open_session(db, user)
    except AccountError as exc:
        _, messages = _refusal(exc, ())
        return _notice(request, "Confirmation link", [text for _, text in messages],
                       _links(request, "sign_in", "forgot"), status=409)
    if opened is None:
        return _notice(request, "Waiting for approval", [AWAITING_APPROVAL.format(org=org_name)],
                       _links(request, "portal"))
    answer = RedirectResponse(site_root(request, settings), status_code=303)
    return _signed_in(request, answer, user, opened[0], opened[1].csrf_token)
