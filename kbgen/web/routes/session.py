"""Signing in and out (/api/session) and who am I (/api/me).

The login form on the static site posts here without JavaScript too, so every endpoint
answers a form post with a 303 redirect and a JSON request with JSON.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import sessionmaker
from starlette.concurrency import run_in_threadpool

from kbgen import accounts
from kbgen.facts import page
from kbgen.accounts import CSRF_COOKIE, DEVICE_COOKIE, SESSION_COOKIE, RateLimit, User
from kbgen.settings import Settings
from kbgen.web.bodies import SMALL_JSON_BYTES, read_form, read_json
from kbgen.web.csrf import SIGN_IN_PATH
from kbgen.web.deps import MaybeUser, SettingsDep
from kbgen.web.errors import ApiError, ErrorOut
from kbgen.web.redirects import on_site, safe_next, site_root
from kbgen.web.schemas import AccountOut, account_out

SIGN_IN_FAILED = "The email or password is incorrect."  # the same for an unknown email: nobody learns who has an account
MISSING_FIELDS = "Enter your email and password."
BUSY_RETRY_SECONDS = 2  # a password check takes about 0.2 s: the queue is gone by then

router = APIRouter(prefix="/api", tags=["accounts"])


@router.get("/me", response_model=AccountOut, responses={401: {"model": ErrorOut, "description": "Not signed in"}},
            summary="The signed-in user, their organization and the session's CSRF token")
def me(request: Request, user: MaybeUser, settings: SettingsDep, response: Response) -> AccountOut | Response:
    response.headers["Cache-Control"] = "no-store"
    if user is None:
        refused = JSONResponse({"detail": "Not signed in"}, status_code=401, headers={"Cache-Control": "no-store"})
        if SESSION_COOKIE in request.cookies:  # expired or signed out elsewhere: stop sending it
            _clear_cookies(refused, settings)
        return refused
    return account_out(user, request.state.kbgen_login.csrf_token)


@router.post("/session", response_model=AccountOut,
             summary="Sign in with {email, password} (JSON or a form post with an optional `next`)",
             responses={303: {"description": "Form post: back to the site (`next`), or to the login page"},
                        400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 429: {"model": ErrorOut},
                        503: {"model": ErrorOut}})
async def sign_in(request: Request, settings: SettingsDep, response: Response) -> AccountOut | Response:
    is_form, fields = await _credentials(request)
    email, password = fields.get("email", ""), fields.get("password", "")
    next_path = safe_next(fields.get("next")) if is_form else None
    root = site_root(request, settings)
    if not email or not password:
        if is_form:
            return _back_to_login(root, next_path, "failed")
        return JSONResponse({"detail": MISSING_FIELDS}, status_code=400)

    # Behind a reverse proxy uvicorn puts the customer's address here (kbgen serve --forwarded-allow-ips).
    client = request.client.host if request.client else None
    outcome = await run_in_threadpool(_sign_in, request.app.state.sessionmaker, settings, hash_slots(request),
                                      email, password, client, request.cookies.get(SESSION_COOKIE),
                                      request.cookies.get(DEVICE_COOKIE))
    if isinstance(outcome, _Throttled):
        if is_form:  # the login page has one message for both: wait, then try again
            return _back_to_login(root, next_path, "throttled")
        if outcome.busy:
            return JSONResponse({"detail": f"Too many sign-ins are being checked at once. Try again in "
                                           f"{outcome.seconds} seconds."},
                                status_code=503, headers={"Retry-After": str(outcome.seconds)})
        minutes = max(1, round(outcome.seconds / 60))
        elsewhere = "" if outcome.trusted else ", or sign in from a browser you have signed in with before"
        return JSONResponse({"detail": f"Too many sign-in attempts. Try again in {minutes} minute"
                                       f"{'s' if minutes != 1 else ''}{elsewhere}."},
                            status_code=429, headers={"Retry-After": str(outcome.seconds)})
    if outcome is None:
        if is_form:
            return _back_to_login(root, next_path, "failed")
        return JSONResponse({"detail": SIGN_IN_FAILED}, status_code=401)
    if isinstance(outcome, _Refused):  # the right password, but deactivated or awaiting approval
        if is_form:
            return _back_to_login(root, next_path, outcome.reason)
        return JSONResponse({"detail": outcome.message}, status_code=403)

    user, token, csrf_token, device = outcome
    answer = RedirectResponse(on_site(root, next_path), status_code=303) if is_form else response
    set_session_cookies(answer, settings, token, csrf_token, device)
    return answer if is_form else account_out(user, csrf_token)


@router.delete("/session", status_code=204, summary="Sign out")
def sign_out(request: Request, settings: SettingsDep) -> Response:
    _end_session(request)
    response = Response(status_code=204)
    _clear_cookies(response, settings)
    return response


@router.post("/session/logout", summary="Sign out from a form post (no JavaScript); redirects to the site",
             status_code=303, response_class=RedirectResponse)
def sign_out_form(request: Request, settings: SettingsDep) -> Response:
    _end_session(request)
    response = RedirectResponse(site_root(request, settings), status_code=303)
    _clear_cookies(response, settings)
    return response


# -- signing in --

@dataclass(frozen=True)
class _Refused:
    reason: str  # "deactivated" or "pending": the login page's message of that name
    message: str


@dataclass(frozen=True)
class _Throttled:
    seconds: int
    busy: bool = False  # every password check slot was taken, rather than a limit reached
    trusted: bool = False  # held by this browser's own failures (its device cookie is valid)


class _HashSlots:
    """At most `size` password checks at once in this process (argon2 takes 64 MiB each). Browsers with a
    valid device cookie take the next free slot before any other waiter, so strangers keeping every slot
    busy delay an owner by one check, not by their whole queue."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._trusted_waiting = 0
        self._changed = threading.Condition()

    def acquire(self, timeout: float, trusted: bool) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            self._trusted_waiting += trusted
            try:
                while self._free == 0 or (not trusted and self._trusted_waiting):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._changed.wait(left)
                self._free -= 1
                return True
            finally:
                self._trusted_waiting -= trusted
                self._changed.notify_all()  # a trusted waiter leaving may let the others through

    def release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()


def _sign_in(make_db: sessionmaker, settings: Settings, slots: _HashSlots, email: str, password: str,
             client: str | None, old_token: str | None,
             device_cookie: str | None) -> tuple[User, str, str, str] | _Throttled | _Refused | None:
    limit = RateLimit(settings.login_attempts_per_window, dt.timedelta(seconds=settings.login_window_seconds),
                      settings.login_attempts_per_address)
    device = accounts.trusted_device(settings.secret_key, device_cookie, email)
    with make_db.begin() as db:
        attempt = accounts.reserve_attempt(db, accounts.login_keys(email, client, device), limit)
        if isinstance(attempt, int):
            return _Throttled(attempt, trusted=device is not None)
        user = accounts.find_user(db, email)
        user_id, stored_hash = (user.id, user.password_hash) if user else (None, None)
    with make_db.begin() as db:  # on its own: a purge waits on nobody's lock while holding its own
        accounts.purge(db, limit)

    # Outside any transaction: argon2 takes 64 MiB and a fifth of a second, so only a few run at once.
    if not slots.acquire(max(0.0, settings.password_hash_wait_seconds), trusted=device is not None):
        with make_db.begin() as db:
            accounts.cancel_attempt(db, attempt)
        return _Throttled(BUSY_RETRY_SECONDS, busy=True)
    try:
        matches = accounts.password_matches(stored_hash, password)
        new_hash = accounts.rehashed(stored_hash, password) if matches else None
    finally:
        slots.release()
    if not matches:
        if user_id is not None:  # the audit log summarizes failures of real accounts (kbgen/accounts/audit.py)
            with make_db.begin() as db:
                user = db.get(User, user_id)
                if user is not None:
                    accounts.audit.sign_in_failed(db, user, client)
        return None  # the reserved attempt stays: it is the failure

    with make_db.begin() as db:
        user = db.get(User, user_id)
        if user is None or user.password_hash != stored_hash:  # deleted or given a new password meanwhile
            return None
        refusal = accounts.sign_in_refusal(user)
        if refusal is not None:
            accounts.accept_attempt(db, attempt)  # the password was right: no failure to count
            return _Refused("pending" if user.awaiting_approval and user.deactivated_at is None else "deactivated",
                            refusal)
        accounts.accept_attempt(db, attempt)
        accounts.signed_in(user, new_hash)
        accounts.close_session(db, old_token)
        token, login = accounts.open_session(db, user)
        return user, token, login.csrf_token, accounts.remember_device(settings.secret_key, device_cookie, user.email)


_slots_lock = threading.Lock()


def hash_slots(request: Request) -> _HashSlots:
    """This process's password check slots (settings.password_hash_concurrency), made on first use."""
    state = request.app.state
    with _slots_lock:
        if getattr(state, "kbgen_hash_slots", None) is None:
            state.kbgen_hash_slots = _HashSlots(max(1, state.settings.password_hash_concurrency))
        return state.kbgen_hash_slots


async def _credentials(request: Request) -> tuple[bool, dict[str, str]]:
    """(is a form post, the string fields) of a JSON or form-encoded body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:  # the shared reader refuses deep nesting, NUL and lone surrogates (422 naming the field)
            body = await read_json(request, expected='Send JSON like {"email": "...", "password": "..."}',
                                   max_bytes=SMALL_JSON_BYTES)
        except ApiError as exc:
            if exc.status_code != 400:
                raise
            raise HTTPException(400, 'Send JSON like {"email": "...", "password": "..."}') from None
        if not isinstance(body, dict):
            raise HTTPException(400, 'Send JSON like {"email": "...", "password": "..."}')
        return False, {k: v for k, v in body.items() if isinstance(v, str)}
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await read_form(request, max_files=0, max_fields=10)
        return True, {k: v for k, v in form.items() if isinstance(v, str)}
    raise HTTPException(415, "Send the email and password as JSON or as a form post")


def _back_to_login(root: str, next_path: str | None, error: str) -> Response:
    # The fragment targets the message on the static page, which CSS shows with :target (no JS needed).
    # error: failed, throttled, deactivated or pending
    query = "?error=" + ("1" if error == "failed" else error) + (f"&next={quote(next_path, safe='/')}" if next_path else "")
    return RedirectResponse(f"{root}{page('sign_in')}{query}#kbgen-login-{error}", status_code=303)


def _end_session(request: Request) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with request.app.state.sessionmaker.begin() as db:
            accounts.close_session(db, token)


def set_session_cookies(response: Response, settings: Settings, token: str, csrf_token: str,
                        device: str | None = None) -> None:
    """The cookies of a new sign-in session (and the browser's device cookie, kbgen/accounts/login_limits.py):
    how every way of signing in (this form, an invitation, a password reset, a sign-up) signs a browser in."""
    max_age = int(accounts.SESSION_LIFETIME.total_seconds())
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True,
                        samesite="lax", secure=settings.cookie_secure)
    response.set_cookie(CSRF_COOKIE, csrf_token, max_age=max_age, path="/", httponly=False,
                        samesite="lax", secure=settings.cookie_secure)
    if device:  # kept after signing out: it is what lets this browser in while strangers lock the account
        response.set_cookie(DEVICE_COOKIE, device, max_age=int(accounts.DEVICE_LIFETIME.total_seconds()),
                            path=SIGN_IN_PATH, httponly=True, samesite="lax", secure=settings.cookie_secure)
    response.headers["Cache-Control"] = "no-store"


def _clear_cookies(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure)
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="lax", secure=settings.cookie_secure)
