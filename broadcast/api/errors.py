"""Turn domain, validation and engine errors into clear JSON answers (Vietnamese messages)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from broadcast.audio import AudioError
from broadcast.domain import DomainError
from broadcast.tts import TtsError

log = logging.getLogger(__name__)


def _location(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "nội dung"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _location(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"detail": f"Dữ liệu gửi lên không hợp lệ — {summary}", "errors": errors}, 422)

    @app.exception_handler(TtsError)
    async def _tts(_: Request, exc: TtsError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(AudioError)
    async def _audio(_: Request, exc: AudioError) -> JSONResponse:
        log.error("audio pipeline failed: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=500)
