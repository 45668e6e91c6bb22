"""Paging of the list endpoints that grow without bound: `limit` + `offset`, or a keyset cursor.

The JSON bodies stay plain lists (pages and scripts use them as such); where the next page is and how
many rows match travel in headers: `Link: </api/...?...>; rel="next"` (RFC 8288, a relative reference)
when there is a next page, and `X-Total-Count` where counting is cheap. Newest-first lists ordered by id
also take `before_id`: the next link then continues below the last id shown, so rows added meanwhile
neither repeat nor push rows off a page the way an offset does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from broadcast import domain

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000  # far past any real list; keeps the number inside every database's integer
MAX_ID = 2**63 - 1  # a larger cursor would overflow SQLite's integer
_PAGING = ("limit", "offset", "before_id")
T = TypeVar("T")

# For the OpenAPI document: what the headers of a paged answer mean.
PAGE_HEADERS: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Link": {
                "description": 'The next page, as `<url>; rel="next"`; absent on the last page.',
                "schema": {"type": "string"},
            },
            "X-Total-Count": {
                "description": "How many rows match the filter across all pages (where given).",
                "schema": {"type": "integer"},
            },
        }
    }
}


@dataclass(frozen=True)
class PageRequest:
    """Which slice of a list the caller asked for."""

    limit: int
    offset: int = 0
    before_id: int | None = None


def check(limit: int, offset: int, before_id: int | None, max_limit: int = MAX_LIMIT) -> PageRequest:
    """Return the page asked for, or raise Invalid with a message an officer can act on."""
    if not 1 <= limit <= max_limit:
        raise domain.Invalid(f"limit: số dòng mỗi trang phải từ 1 đến {max_limit}.")
    if not 0 <= offset <= MAX_OFFSET:
        raise domain.Invalid(f"offset: phải là số nguyên từ 0 đến {MAX_OFFSET}.")
    if before_id is not None and not 1 <= before_id <= MAX_ID:
        raise domain.Invalid("before_id: phải là số nguyên dương (số của dòng cuối trang trước).")
    if before_id is not None and offset:
        raise domain.Invalid("Dùng offset hoặc before_id để sang trang, không dùng cả hai.")
    return PageRequest(limit, offset, before_id)


# Bounds are documented in the spec but checked by `check`, so a bad value gets a Vietnamese message.
_LIMIT_DOC = {"description": f"Số dòng mỗi trang (1–{MAX_LIMIT})", "minimum": 1, "maximum": MAX_LIMIT}
_OFFSET_DOC = {"description": "Bỏ qua bao nhiêu dòng đầu", "minimum": 0, "maximum": MAX_OFFSET}
_BEFORE_DOC = {
    "description": "Chỉ lấy các dòng có số nhỏ hơn số này (trang sau)",
    "minimum": 1,
    "maximum": MAX_ID,
}


def offset_paging(default: int = DEFAULT_LIMIT) -> Callable[..., PageRequest]:
    """Return a dependency reading `limit` and `offset` (lists not ordered by a numeric id)."""

    def page(
        limit: Annotated[int, Query(json_schema_extra=_LIMIT_DOC)] = default,
        offset: Annotated[int, Query(json_schema_extra=_OFFSET_DOC)] = 0,
    ) -> PageRequest:
        return check(limit, offset, None)

    return page


def id_paging(default: int = DEFAULT_LIMIT) -> Callable[..., PageRequest]:
    """Return a dependency reading `limit`, `offset` and `before_id` (newest-first lists by id)."""

    def page(
        limit: Annotated[int, Query(json_schema_extra=_LIMIT_DOC)] = default,
        offset: Annotated[int, Query(json_schema_extra=_OFFSET_DOC)] = 0,
        before_id: Annotated[int | None, Query(json_schema_extra=_BEFORE_DOC)] = None,
    ) -> PageRequest:
        return check(limit, offset, before_id)

    return page


def split(rows: Sequence[T], page: PageRequest) -> tuple[list[T], bool]:
    """Return the page's rows and whether there are more, from a query that fetched `limit + 1`."""
    return list(rows[: page.limit]), len(rows) > page.limit


def next_params(page: PageRequest, last_id: int | None, keyset: bool) -> dict[str, int]:
    """Return the paging parameters of the next page (a cursor past `last_id`, or the next offset)."""
    if keyset and last_id is not None and (page.before_id is not None or page.offset == 0):
        return {"limit": page.limit, "before_id": last_id}
    return {"limit": page.limit, "offset": page.offset + page.limit}


def link_next(request: Request, params: dict[str, int]) -> str:
    """Return the Link header value: the same list, filters kept, other paging parameters."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING]
    return f'<{request.url.path}?{urlencode([*kept, *params.items()])}>; rel="next"'


def set_headers(
    request: Request,
    response: Response,
    page: PageRequest,
    *,
    more: bool,
    last_id: int | None = None,
    keyset: bool = False,
    total: int | None = None,
) -> None:
    """Put the next-page link (if there is one) and the total (if known) on the response."""
    if more:
        response.headers["Link"] = link_next(request, next_params(page, last_id, keyset))
    if total is not None:
        response.headers["X-Total-Count"] = str(total)


# --- web pages: numbered pages of a fixed size --------------------------------------------------------


def page_number(text: str) -> int:
    """Return a web list's page number (1 when empty), or raise Invalid for anything else."""
    if not text:
        return 1
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_OFFSET:
        raise domain.Invalid(f"Số trang không hợp lệ: {text[:20]!r} (nhập số trang từ 1).")
    return int(text)


def page_urls(
    path: str, params: dict[str, str], key: str, page_no: int, more: bool, fragment: str = ""
) -> tuple[str | None, str | None]:
    """Return the previous and next page's URLs (None where there is none), other parameters kept."""
    kept = {k: v for k, v in params.items() if v and k != key}

    def url(number: int) -> str:
        query = urlencode({**kept, key: number} if number > 1 else kept)
        return f"{path}?{query}{fragment}" if query else f"{path}{fragment}"

    return (url(page_no - 1) if page_no > 1 else None), (url(page_no + 1) if more else None)
