"""HTTP request latency for /metrics, labelled by route template, method and status class.

The label is the template the router matched (`/api/alerts/{alert_id}`), never the raw path, so a client
walking a thousand URLs adds no series: whatever no route matched is one `unmatched` label.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broadcast import metrics

UNMATCHED = "unmatched"


def route_of(scope: Scope) -> str:
    """Return the template of the route that handled the request (the router notes it in the scope)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestTimer:
    """Pure ASGI middleware: time each HTTP request from its start to its last byte sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the answer started: the server error handler answers 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            metrics.http_request(route_of(scope), scope["method"], status, time.perf_counter() - started)


def install_request_timing(app: FastAPI) -> None:
    """Time every request; install last, so refusals of the outer guards are timed too."""
    app.add_middleware(RequestTimer)
