"""Following requests: watching one, and choosing which emails one gets.

    POST   /api/tickets/{key}/watch      start watching (anyone who may see the request)
    DELETE /api/tickets/{key}/watch      stop watching (the requester follows it anyway: 409)
    GET    /api/me/notifications         the signed-in person's preference and the choices
    PUT    /api/me/notifications         {"preference": "all" | "replies" | "none"}
    GET    /account/notifications/       the same as a page, a plain form post that works without JavaScript
    POST   /account/notifications/

Another organization's request is a 404, as everywhere. The rules are kbgen.mail.watching's and
kbgen.mail.preferences'; the page's address is kbgen.facts.SERVICE_PAGES'.
"""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kbgen import tickets
from kbgen.facts import SERVICE_PAGES, page, safe_next, service_page
from kbgen.mail import preferences, watching
from kbgen.web import bodies
from kbgen.web.deps import CurrentUser, SessionDep, current_user
from kbgen.web.errors import ApiError, ErrorOut
from kbgen.web.pages import portal_page
from kbgen.web.redirects import site_root
from kbgen.web.schemas import NotificationsIn, NotificationsOut, WatchOut, notifications_out, watch_out

router = APIRouter(tags=["tickets"])

PREFERENCE_JSON = ('Send JSON like {"preference": "replies"}; choose one of: '
                   + ", ".join(p.slug for p in preferences.PREFERENCES) + ".")
NO_STORE = {"Cache-Control": "no-store"}
SAVED = "Saved. From now on you get: {label}."


@router.post("/api/tickets/{key}/watch", response_model=WatchOut, summary="Watch a request",
             description="Get the same emails as its requester (within your own notification preference). "
                         "Watching twice changes nothing; the requester follows it already.",
             responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def watch(key: str, viewer: CurrentUser, session: SessionDep) -> WatchOut:
    ticket = tickets.get_ticket(session, viewer, key)
    watching.watch(session, ticket, viewer)
    return watch_out(ticket, viewer)


@router.delete("/api/tickets/{key}/watch", response_model=WatchOut, summary="Stop watching a request",
               responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut},
                          409: {"model": ErrorOut, "description": "The requester follows their request"}})
def unwatch(key: str, viewer: CurrentUser, session: SessionDep) -> WatchOut:
    ticket = tickets.get_ticket(session, viewer, key)
    try:
        watching.unwatch(session, ticket, viewer)
    except watching.RequesterFollows as exc:
        raise ApiError(409, str(exc)) from None
    return watch_out(ticket, viewer)


@router.get("/api/me/notifications", response_model=NotificationsOut, tags=["accounts"],
            summary="Which emails the signed-in person gets", responses={401: {"model": ErrorOut}})
def my_notifications(viewer: CurrentUser) -> NotificationsOut:
    return notifications_out(viewer)


@router.put("/api/me/notifications", response_model=NotificationsOut, tags=["accounts"],
            summary="Choose which emails the signed-in person gets",
            description="; ".join(f"{p.slug}: {p.description}" for p in preferences.PREFERENCES),
            responses={401: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut},
                       422: {"model": ErrorOut}},
            openapi_extra=bodies.request_body(NotificationsIn))
def set_my_notifications(viewer: CurrentUser, session: SessionDep,
                         body: NotificationsIn = Depends(bodies.json_body(NotificationsIn, expected=PREFERENCE_JSON))
                         ) -> NotificationsOut:
    try:
        preferences.set_preference(session, viewer, body.preference)
    except preferences.PreferenceInvalid as exc:
        raise ApiError.on_field(422, "preference", str(exc)) from None
    return notifications_out(viewer)


# -- the page ---------------------------------------------------------------------------------------


def _route(name: str) -> str:
    return SERVICE_PAGES[name].split("?")[0]


def _sign_in(request: Request) -> Response:
    here = _route("notification_settings")
    back = f"?next={quote(here, safe='/')}" if safe_next(here) else ""
    return RedirectResponse(site_root(request, request.app.state.settings) + page("sign_in") + back,
                            status_code=303, headers=NO_STORE)


def _page(request: Request, viewer, *, status: int = 200, chosen: str | None = None, error: str = "",
          messages: list[tuple[str, str]] | None = None) -> Response:
    return portal_page(request, "account/notifications.html", "Email notifications", status=status, viewer=viewer,
                       messages=messages, choices=preferences.PREFERENCES,
                       chosen=chosen or preferences.preference_of(viewer).slug, error=error,
                       action=service_page("notification_settings"),
                       requests=site_root(request, request.app.state.settings) + page("requests"))


@router.get(_route("notification_settings"), include_in_schema=False)
def notifications_page(request: Request, saved: str = "") -> Response:
    viewer = current_user(request)
    if viewer is None:
        return _sign_in(request)
    done = [("ok", SAVED.format(label=preferences.preference_of(viewer).label))] if saved == "1" else []
    return _page(request, viewer, messages=done)


@router.post(_route("notification_settings"), include_in_schema=False)
async def save_notifications(request: Request, session: SessionDep) -> Response:
    viewer = current_user(request)
    if viewer is None:
        return _sign_in(request)
    form = await bodies.read_form(request, max_files=0, max_fields=5, max_part_size=1024)
    try:
        values = form.getlist("preference")
    finally:
        await form.close()
    value = values[0] if len(values) == 1 and isinstance(values[0], str) else None
    return await run_in_threadpool(_save, request, session, viewer, value)


def _save(request: Request, session, viewer, value: str | None) -> Response:
    try:
        preferences.set_preference(session, session.merge(viewer, load=False), value)
    except preferences.PreferenceInvalid as exc:
        return _page(request, viewer, status=422, chosen="", error=str(exc))
    return RedirectResponse(service_page("notification_settings") + "?saved=1", status_code=303, headers=NO_STORE)
