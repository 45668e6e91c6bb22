"""Turn domain, validation and engine errors into clear JSON answers (Vietnamese messages)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from broadcast.audio import AudioError
from broadcast.clipstore.store import ClipStoreError
from broadcast.domain import DomainError
from broadcast.tts import TtsError

log = logging.getLogger(__name__)


def _location(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "nội dung"


# The validation errors people meet most (a page number typed by hand, a missing field), in Vietnamese;
# others keep pydantic's English text after the Vietnamese summary.
_MESSAGES = {
    "int_parsing": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_parsing": "phải là số",
    "bool_parsing": "phải là true hoặc false",
    "missing": "bắt buộc phải có",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "greater_than": "phải lớn hơn {gt}",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "less_than": "phải nhỏ hơn {lt}",
    "string_too_long": "dài quá {max_length} ký tự",
}


def _message(error: Any) -> str:
    template = _MESSAGES.get(str(error.get("type", "")))
    if template is None:
        return str(error.get("msg", ""))
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return str(error.get("msg", ""))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""
    _document_error_shape(app)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # A number or text the database cannot hold (an id of 30 digits: SQLite raises OverflowError,
        # PostgreSQL a DataError). The transaction rolled back, so nothing was stored.
        log.warning("value out of the database's range: %s", exc)
        detail = "Giá trị vượt giới hạn cho phép (số quá lớn hoặc chuỗi quá dài)."
        return JSONResponse({"detail": detail}, 422)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _location(e.get("loc", ())), "message": _message(e)} for e in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"detail": f"Dữ liệu gửi lên không hợp lệ — {summary}", "errors": errors}, 422)

    @app.exception_handler(TtsError)
    async def _tts(_: Request, exc: TtsError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(ClipStoreError)
    async def _clip_store(_: Request, exc: ClipStoreError) -> JSONResponse:
        log.error("clip store: %s", exc)  # where and why; the officer gets a plain retry message
        return JSONResponse({"detail": "Kho âm thanh tạm thời không truy cập được; thử lại sau."}, 503)

    @app.exception_handler(AudioError)
    async def _audio(_: Request, exc: AudioError) -> JSONResponse:
        log.error("audio pipeline failed: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=500)


# What the validation handler above really sends, for the OpenAPI spec (FastAPI documents its own shape).
_VALIDATION_ERROR = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "title": "Detail", "description": "Thông báo lỗi cho cán bộ"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _document_error_shape(app: FastAPI) -> None:
    """Make the spec's 422 schema match the answers, so clients (and schemathesis) can rely on it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        spec = build()  # FastAPI caches it in app.openapi_schema: patching it in place patches the cache
        schemas = spec.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = _VALIDATION_ERROR
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
