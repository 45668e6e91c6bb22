"""Rate limits on writes (API and web forms): per account when logged in, else per client address.

Reads are never limited. Emergency alerts have a budget of their own, so a burst of ordinary writes (an
import, a script gone wrong) can never use up what an officer needs to send one, and cancelling an alert
or logging in is never limited here: a false alarm must always be stoppable, and an officer must
always be able to reach the emergency page (login attempts have their own limits,
people/login_guard.py, which never lock out a browser that logged in before).
The alert budget is generous (a 429 to an automated sender may mean an alert never sent): it only stops a
loop gone wrong or a stolen account flooding the speakers, never an officer or a province script.
Limits are per station process: N workers allow up to N times as much.
"""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Literal

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from broadcast.config import GuardSettings
from broadcast.http.deps import SAFE_METHODS, SESSION_COOKIE
from broadcast.limits.token_bucket import Rate, TokenBuckets
from broadcast.people import accounts

log = logging.getLogger(__name__)

Budget = Literal["write", "alert"]
_EXEMPT = (
    re.compile(r"^/api/alerts/[^/]+/cancel$"),
    re.compile(r"^/emergency/[^/]+/cancel$"),
    re.compile(r"^/login$"),
    # Programme checks store nothing (reads in POST clothing); the page calls them as the officer types.
    re.compile(r"^/api/programme/slots/check$"),
    re.compile(r"^/programme/streams/check$"),
    re.compile(r"^/bulletins/[^/]+/schedule/check$"),
)
_ALERT = (
    re.compile(r"^/api/alerts(/cap|/[^/]+/confirm)?$"),
    re.compile(r"^/emergency(/[^/]+/confirm)?$"),
)


def budget_of(method: str, path: str) -> Budget | None:
    """Return which budget a request spends: None for reads and the never-limited writes."""
    if method.upper() in SAFE_METHODS:
        return None
    path = path.rstrip("/") or "/"
    if any(p.match(path) for p in _EXEMPT):
        return None
    return "alert" if any(p.match(path) for p in _ALERT) else "write"


def message(retry_after: str) -> str:
    """Return the Vietnamese refusal an officer reads."""
    return f"Quá nhiều thao tác trong thời gian ngắn. Vui lòng thử lại sau {retry_after} giây."


class RateLimit:
    """ASGI middleware answering 429 (Vietnamese message, Retry-After) once a caller's budget is spent."""

    def __init__(self, app: ASGIApp, writes: Rate, alerts: Rate) -> None:
        self.app = app
        self.buckets: dict[Budget, TokenBuckets] = {
            "write": TokenBuckets(writes),
            "alert": TokenBuckets(alerts),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget = budget_of(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if budget is None or self.buckets[budget].rate.unlimited:
            await self.app(scope, receive, send)
            return
        caller = await _caller(scope, budget)
        verdict = self.buckets[budget].take(caller)
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        retry = verdict.retry_after_header
        if verdict.first_refusal:  # once per streak: a flood must not flood the log too
            log.warning(
                "rate limit: %s refused %s %s (%s budget; retry in %s s)",
                caller, scope["method"], scope["path"], budget, retry,
            )  # fmt: skip
        await _refusal(scope["path"], retry)(scope, receive, send)


async def _caller(scope: Scope, budget: Budget) -> str:
    """Return the caller's key: its account if the credentials are live, else its address.

    An alert's token is looked up on the station's alert threads: a saturated anyio pool (pages,
    synthesis, reports) must not hold an emergency at the door.
    """
    headers = Headers(scope=scope)
    scheme, _, secret = headers.get("authorization", "").partition(" ")
    credential: tuple[str, str] | None = None
    if scheme.lower() == "bearer" and secret.strip():
        credential = (secret.strip(), "api")
    elif cookie := _cookie(headers.get("cookie", ""), SESSION_COOKIE):
        credential = (cookie, "session")
    station = getattr(scope["app"].state, "station", None) if "app" in scope else None
    if credential is not None and station is not None:

        def lookup() -> accounts.Principal | None:
            with station.db.session() as session:
                return accounts.principal_for_token(session, *credential)

        if budget == "alert":
            principal = await station.lanes.alerts.run(lookup)
        else:
            principal = await run_in_threadpool(lookup)
        if principal is not None:
            return f"user:{principal.user_id}"
    client = scope.get("client")
    return f"address:{client[0] if client else '?'}"


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _refusal(path: str, retry: str) -> Response:
    headers = {"Retry-After": retry}
    text = message(retry)
    if path.startswith("/api/"):
        body = json.dumps({"detail": text}, ensure_ascii=False)
        return Response(body, 429, headers=headers, media_type="application/json")
    page = (
        '<!doctype html><html lang="vi"><meta charset="utf-8"><title>Thử lại sau</title>'
        f'<main><h1>Thử lại sau</h1><p role="alert">{html.escape(text)}</p>'
        '<p><a href="/">Về trang chính</a></p></main></html>'
    )
    return Response(page, 429, headers=headers, media_type="text/html; charset=utf-8")


def install_rate_limit(app: FastAPI, guards: GuardSettings) -> None:
    """Limit writes as the settings say (install outside the body guard: refused before any body is read)."""
    app.add_middleware(
        RateLimit,
        writes=Rate(guards.rate_limit_per_minute, guards.rate_limit_burst),
        alerts=Rate(guards.alert_rate_limit_per_minute, guards.alert_rate_limit_burst),
    )
