"""A bulletin's version as an HTTP entity tag, and the version an approval names (If-Match or body)."""

from __future__ import annotations

from typing import Any

from broadcast import domain

APPROVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "Bản tin đã đổi sau khi được mở (hoặc đã bị trả lại): không duyệt gì cả"},
    422: {"description": "If-Match ghi nhiều phiên bản, hoặc khác trường version"},
}


def quote(version: str) -> str:
    """Return the ETag header value of a version (a strong tag)."""
    return f'"{version}"'


def _tags(if_match: str) -> set[str]:
    """Return the entity tags listed in an If-Match value, without quotes or weak markers."""
    tags = set()
    for part in if_match.split(","):
        tag = part.strip().removeprefix("W/").strip().strip('"')
        if tag:
            tags.add(tag)
    return tags


def reviewed_version(if_match: str | None, body_version: str | None) -> str | None:
    """Return the version the client says it reviewed, or None when it names none (or `If-Match: *`)."""
    header = None
    if if_match is not None and if_match.strip() != "*":
        tags = _tags(if_match)
        if len(tags) != 1:
            raise domain.Invalid("If-Match: hãy ghi đúng một phiên bản (ETag) của bản tin đã nghe.")
        header = tags.pop()
    if header is not None and body_version is not None and header != body_version:
        raise domain.Invalid("If-Match và trường version ghi hai phiên bản khác nhau: hãy ghi một.")
    return header if header is not None else body_version
