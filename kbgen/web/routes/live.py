"""Live updates as server-sent events: the ticket page and the requests list reload when a ticket changes.

    GET /api/tickets/{key}/live?since=T   `changed` when this ticket changes (404 if the viewer may not see it)
    GET /api/live/requests?since=T        `changed` when any ticket the viewer may see changes

Each stream starts with a `ready` event carrying the `retry:` delay the browser waits before
reconnecting; each `changed` event's data is {"key", "updated_at"}, nothing more: the page fetches
what changed through the API. `since` (the time the page last showed, as the API writes it) makes a
stream start with `changed` when the page missed a change before it connected. A comment line every
PING seconds keeps proxies from closing a quiet stream. Past the caps (Settings.live_max_streams per
worker, live_max_streams_per_user per person) the answer is 429 or 503 with Retry-After. The stream
ends when the sign-in session does (checked every minute), when the service shuts down, and when the
client falls too far behind; the page then reconnects with backoff (kbgen-live.js).

The routes stay out of /openapi.json: an endless event stream has no response schema to check.
"""
from __future__ import annotations

import json
import random
from typing import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse, ServerSentEvent

from kbgen.web import live
from kbgen.web.deps import CurrentUser, SessionDep
from kbgen.web.errors import ApiError

router = APIRouter(tags=["live"], lifespan=live.lifespan)

PING = 15  # seconds between two keep-alive comments
SEND_TIMEOUT = 30  # seconds a client may take to accept one event before its stream is closed
SINCE = Query(None, max_length=40, description="The last time the page showed (ISO 8601), e.g. a ticket's updated_at")
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _login_id(request: Request) -> int:
    return request.state.kbgen_login.id  # set by deps.current_user, which CurrentUser ran


async def _open(request: Request, watch: live.Watch) -> EventSourceResponse:
    feed = live.feed_for(request.app)
    try:
        listener = feed.subscribe(watch)
    except live.Busy as busy:
        raise ApiError(busy.status, busy.detail, headers={"Retry-After": str(busy.retry_after), **HEADERS}) from None
    return EventSourceResponse(_events(feed, listener), headers=HEADERS, ping=PING, send_timeout=SEND_TIMEOUT,
                               client_close_handler_callable=lambda _message: _closed(feed, listener))


async def _closed(feed: live.ChangeFeed, listener: live.Listener) -> None:
    feed.unsubscribe(listener)


async def _events(feed: live.ChangeFeed, listener: live.Listener) -> AsyncIterator[ServerSentEvent]:
    try:
        yield ServerSentEvent(event="ready", data="{}", retry=random.randint(*live.RETRY_MS))
        while True:
            change = await listener.next()
            if change is None:
                return
            yield ServerSentEvent(event="changed", data=json.dumps(change.event()))
    finally:
        feed.unsubscribe(listener)


@router.get("/api/tickets/{key}/live", include_in_schema=False)
async def ticket_live(key: str, request: Request, viewer: CurrentUser, session: SessionDep,
                      since: str | None = SINCE) -> EventSourceResponse:
    if len(key) > 40:  # no key is this long; answered like any unknown key
        raise ApiError(404, f"No request {key[:40]}… here. Check the key, or sign in with the account that opened it.")
    watch = await run_in_threadpool(live.watch_ticket, session, viewer, _login_id(request), key, since)
    return await _open(request, watch)


@router.get("/api/live/requests", include_in_schema=False)
async def requests_live(request: Request, viewer: CurrentUser, session: SessionDep,
                        since: str | None = SINCE) -> EventSourceResponse:
    watch = await run_in_threadpool(live.watch_requests, session, viewer, _login_id(request), since)
    return await _open(request, watch)
