"""One answer to a refused form: the same page again, with the refusal's Vietnamese message and status.

A handler wraps its work in `shown_again(render)`; a refusal raised inside becomes the response
`render(error=..., code=...)`, carried out by `PageRefused` (web/routes.py answers with it). The handler
states only what differs: the page (template and context, bound into `render`), which refusals it catches,
and a status other than the refusal's own.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from fastapi.responses import Response

from broadcast import domain
from broadcast.audio import AudioError
from broadcast.tts import TtsError
from broadcast.web.pages import PageRefused

Refusals = type[Exception] | tuple[type[Exception], ...]
SPEECH = (domain.DomainError, TtsError, AudioError)  # a form that reads text aloud or decodes a recording
FILE_LOST = " Trình duyệt không giữ tệp đã chọn: hãy chọn lại {}."


class Render(Protocol):
    """A page render with everything bound but the refusal."""

    def __call__(self, *, error: str, code: int) -> Response: ...


def status_of(exc: Exception) -> int:
    """Return the status a refusal answers with: its own, or 422 for a speech or audio failure."""
    return exc.status_code if isinstance(exc, domain.DomainError) else 422


def file_lost(filename: str, what: str = "tệp ghi âm") -> str:
    """Return the note added when a form that carried a file comes back (browsers do not keep the file)."""
    return FILE_LOST.format(what) if filename else ""


class shown_again:  # noqa: N801 (a context manager, used as `with shown_again(...)`)
    """Turn a refusal raised in the block into the form's page again, with the message and status."""

    def __init__(
        self, render: Render, catch: Refusals = domain.DomainError, code: int | None = None, prefix: str = ""
    ) -> None:
        self.render, self.catch, self.code, self.prefix = render, catch, code, prefix
        self.note = ""  # added after the message (set in the block, e.g. `file_lost(filename)`)

    def __enter__(self) -> shown_again:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, Exception) and isinstance(exc, self.catch):
            code = status_of(exc) if self.code is None else self.code
            raise PageRefused(self.render(error=f"{self.prefix}{exc}{self.note}", code=code)) from exc
