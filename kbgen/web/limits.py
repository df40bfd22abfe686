"""What every request and response of the service is held to: a body size limit and
the browser security headers. Both are plain ASGI middleware, so they cover the API
and the static site mount alike.
"""
from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kbgen.site import csp

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors 'none', for browsers that predate it
)
CSP = b"content-security-policy"


class SecurityHeaders:
    """The headers above and the Content-Security-Policy on every answer that has none of its own
    (attachments bring a stricter one). The policy is the built site's (kbgen.csp.SitePolicy on
    app.state.csp, which follows rebuilds); an app without one gets the policy with no inline scripts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.fallback = csp.header().encode("latin-1")

    def _policy(self, scope: Scope) -> bytes:
        app = scope.get("app")
        policy = getattr(getattr(app, "state", None), "csp", None)
        return policy.value().encode("latin-1") if policy is not None else self.fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                if CSP not in present:
                    extra.append((CSP, self._policy(scope)))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def too_large_message(max_bytes: int) -> str:
    size = f"{max_bytes / (1024 * 1024):.0f} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    return (f"The request is larger than the {size} this service accepts. "
            "Send fewer or smaller attachments (the limit is the service's max_body_bytes setting).")


class BodySizeLimit:
    """Answers 413 to a body over `max_bytes`: at once from Content-Length, else when the count passes it.

    A chunked body is cut off mid-read; the handler's own answer (whatever it makes of the cut) is
    replaced by the 413, so the client always hears the real reason.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = JSONResponse({"detail": too_large_message(self.max_bytes)}, status_code=413,
                                 headers={"Connection": "close"})
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await too_large(scope, receive, send)
            return

        received = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the 413 below is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await too_large(scope, receive, send)
