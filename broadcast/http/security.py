"""HTTP hardening: security headers, trusted proxies, a guard on request bodies, a per-name login throttle."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # The microphone only for our own pages (live broadcast, recording a bulletin), never for a frame.
    "Permissions-Policy": "camera=(), microphone=(self), geolocation=()",
    # Pages use only our own scripts/styles (plus small inline ones) and play our own clips, and a
    # recording the officer just made (a blob: URL) before it is sent. connect-src 'self' covers the
    # live page's same-origin WebSocket (ws:/wss:).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
}


def install_security_headers(app: FastAPI) -> None:
    """Add the headers to every response (docs pages keep their CDN-free defaults)."""

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            if name == "Content-Security-Policy" and request.url.path in ("/docs", "/redoc"):
                continue  # Swagger UI loads its own assets
            response.headers.setdefault(name, value)
        # HSTS binds every port of the host name to HTTPS for a year: only where HTTPS is on its own port
        # (a reverse proxy on 443). The station's own HTTPS on 8443 sits beside plain HTTP for agents and
        # API clients, which HSTS would break in a browser that once opened the HTTPS address.
        if request.url.scheme == "https" and request.url.port in (None, 443):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def install_proxy_headers(app: FastAPI, trusted: list[str]) -> None:
    """Believe X-Forwarded-For/-Proto only from the configured proxies (install last: outermost).

    The client becomes the rightmost address in X-Forwarded-For that is not a trusted proxy, so a client
    cannot pick its own address by prepending one. Nothing configured: the headers are ignored (uvicorn's
    own handling, which trusts loopback by default, is switched off in `broadcast serve`).
    """
    if trusted:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)


MB = 1024 * 1024
BODY_LIMIT = 1 * MB  # JSON, web forms, CAP XML: the longest bulletin is ~60 KB
UPLOAD_LIMIT = 64 * MB  # multipart forms and raw audio (the app passes its own upload limit + 1 MB)
_UPLOAD_TYPES = ("multipart/form-data", "audio/", "application/octet-stream")
_MAX_JSON_NODES = 100_000


def _too_large(limit: int) -> str:
    shown = f"{limit / MB:.0f} MB" if limit >= MB else f"{limit / 1024:.0f} KB"
    return f"Nội dung gửi lên quá lớn (tối đa {shown})."


def _reply(status: int, detail: str) -> Response:
    return Response(json.dumps({"detail": detail}, ensure_ascii=False), status, media_type="application/json")


def _json_problem(body: bytes) -> tuple[int, str] | None:
    """Return (status, Vietnamese message) if a JSON body is not valid UTF-8 JSON of storable text."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return 400, f"Nội dung gửi lên không phải UTF-8 hợp lệ (byte thứ {exc.start})."
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return 422, f"JSON không hợp lệ ở dòng {exc.lineno}, cột {exc.colno}: {exc.msg}."
    except (RecursionError, ValueError):  # nesting thousands deep, numbers of thousands of digits
        return 422, "JSON không hợp lệ (lồng quá sâu hoặc số quá lớn)."
    # Walk iteratively (a deep document would overflow a recursive walk). NUL and lone surrogates are
    # refused here once for every route: no field needs them and PostgreSQL cannot store them.
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > _MAX_JSON_NODES:
            return 422, "JSON quá nhiều phần tử."
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and ("\x00" in item or (not item.isascii() and not _encodable(item))):
            return 422, "Dữ liệu chứa ký tự không hợp lệ (NUL hoặc nửa cặp UTF-16)."
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BodyGuard:
    """Refuse oversized bodies (413), NUL in URLs, and JSON that is not valid UTF-8 (clear Vietnamese 4xx).

    Bodies of JSON and web forms are read up to the limit and checked before any route sees them, so a
    route never half-parses garbage; uploads stream through with a running count instead.
    """

    def __init__(self, app: ASGIApp, limit: int = BODY_LIMIT, upload_limit: int = UPLOAD_LIMIT) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").lower()
        upload = content_type.startswith(_UPLOAD_TYPES)
        limit = self.upload_limit if upload else self.limit
        problem = self._head_problem(scope, headers, limit)
        if problem is not None:
            await _reply(*problem)(scope, receive, send)
            return
        if upload or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, _counting(receive, limit), send)
            return
        body, problem = await _read(receive, limit)
        media = content_type.split(";")[0].strip()
        if problem is None and media.startswith("application/") and media.endswith("json") and body.strip():
            problem = _json_problem(body)
        elif (
            problem is None
            and media == "application/x-www-form-urlencoded"
            and (b"%00" in body or b"\x00" in body)
        ):
            problem = (422, "Dữ liệu biểu mẫu chứa ký tự NUL không hợp lệ.")
        if problem is not None:
            await _reply(*problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    def _head_problem(scope: Scope, headers: dict[str, str], limit: int) -> tuple[int, str] | None:
        raw = scope.get("raw_path") or scope["path"].encode()
        if b"%00" in raw.lower() or b"\x00" in raw or b"%00" in scope["query_string"].lower():
            return 400, "Địa chỉ chứa ký tự NUL không hợp lệ."
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return 400, "Content-Length không hợp lệ."
            if int(declared) > limit:
                return 413, _too_large(limit)
        return None


class _TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


async def _read(receive: Receive, limit: int) -> tuple[bytes, tuple[int, str] | None]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", (400, "Kết nối bị đóng trước khi gửi xong.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", (413, _too_large(limit))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    state: MutableMapping[str, Any] = {"size": 0}

    async def counted() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            state["size"] += len(message.get("body", b""))
            if state["size"] > limit:  # a chunked upload that never declared its length
                raise _TooLarge(limit)
        return message

    return counted


def install_body_guard(app: FastAPI, limit: int = BODY_LIMIT, upload_limit: int = UPLOAD_LIMIT) -> None:
    """Guard every request body (install before the security headers so refusals carry them too)."""
    app.add_middleware(BodyGuard, limit=limit, upload_limit=upload_limit)
