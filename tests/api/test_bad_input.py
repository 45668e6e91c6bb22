"""Hostile bodies on every write endpoint: oversized, malformed JSON, non-UTF-8, NUL, deep nesting, HTML.

Each must get a clear 4xx with a Vietnamese message, and nothing may be stored (not even an audit entry).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from broadcast.http.security import BODY_LIMIT, BodyGuard
from broadcast.storage.models import Alert, AuditEntry, Bulletin
from tests.api.conftest import Api
from tests.fuzz import invariants

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def _routes(routes: Iterable[object]) -> Iterator[APIRoute]:
    """Yield every route, inside included routers too (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def _write_routes(api: Api) -> list[tuple[str, str]]:
    """Return (method, path with ids filled in) of every write route, API and web."""
    found = []
    for route in _routes(api.client.app.routes):  # type: ignore[attr-defined]
        path = re.sub(r"\{[a-z_]*id\}", "1", route.path)
        path = re.sub(r"\{[a-z_]+\}", "x", path)
        found += [(method, path) for method in sorted((route.methods or set()) & WRITES)]
    assert len(found) > 30
    return found


def _state(api: Api) -> tuple[str, int]:
    with api.station.db.session() as session:
        audited = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return invariants.fingerprint(api.station), audited


@pytest.fixture
def seeded(api: Api) -> Api:
    """The station with bulletin 1 (so id-taking routes find something to damage)."""
    body = {"title": "Lịch cắt điện", "text": "Cắt điện từ 7h đến 9h.", "zones": ["thon-1"]}
    assert api.client.post("/api/bulletins", json=body, headers=api.editor).status_code == 201
    return api


HOSTILE_JSON = {
    "oversized": (json.dumps({"text": "a" * (BODY_LIMIT + 10)}).encode(), 413, "quá lớn"),
    "malformed": (b'{"title": "T", "text": ', 422, "JSON không hợp lệ"),
    "trailing garbage": (b'{"title": "T"} xyz', 422, "JSON không hợp lệ"),
    "not UTF-8": (b'{"title": "\xff\xfe ti\xeau \xc4\x91\xe1"}', 400, "UTF-8"),
    "NUL": (b'{"title": "a\\u0000b", "text": "x", "zones": ["thon-1"]}', 422, "NUL"),
    "lone surrogate": (b'{"title": "\\ud800", "text": "x", "zones": ["thon-1"]}', 422, "UTF-16"),
    "deep nesting": (b"[" * 50_000 + b"]" * 50_000, 422, "JSON"),
    "huge number": (b'{"level": 1' + b"0" * 5000 + b"}", 422, "JSON"),
}


@pytest.mark.parametrize("kind", HOSTILE_JSON)
def test_every_write_endpoint_refuses_hostile_json(seeded: Api, kind: str) -> None:
    api = seeded
    raw, status, message = HOSTILE_JSON[kind]
    before = _state(api)
    for method, path in _write_routes(api):
        headers = {**api.approver, "Content-Type": "application/json"}
        answer = api.client.request(method, path, content=raw, headers=headers)
        assert answer.status_code == status, f"{kind}: {method} {path} -> {answer.status_code} {answer.text}"
        assert message in answer.json()["detail"], f"{kind}: {method} {path}: {answer.json()}"
        assert answer.headers["x-content-type-options"] == "nosniff"  # refusals carry the headers too
    assert _state(api) == before  # nothing stored, nothing audited
    invariants.check(api.station)


def test_web_forms_refuse_oversized_and_nul_bodies(seeded: Api) -> None:
    api = seeded
    before = _state(api)
    big = {"csrf_token": "x", "title": "T", "text": "a" * (BODY_LIMIT + 10)}
    nul = "csrf_token=x&title=T%00&text=x&zones=thon-1"
    for method, path in _write_routes(api):
        if path.startswith("/api/"):
            continue
        answer = api.client.request(method, path, data=big)
        assert answer.status_code == 413, f"{method} {path}: {answer.status_code}"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = api.client.request(method, path, content=nul.encode(), headers=form)
        assert answer.status_code == 422 and "NUL" in answer.json()["detail"], f"{method} {path}"
    assert _state(api) == before


def test_a_null_byte_in_the_address_is_refused(seeded: Api) -> None:
    for path in ("/api/dictionary/HT%00X", "/api/bulletins?status=%00", "/bulletins/1%00"):
        answer = seeded.client.get(path, headers=seeded.editor)
        assert answer.status_code == 400 and "NUL" in answer.json()["detail"]


def test_ids_beyond_the_database_range_are_refused_not_crashed(seeded: Api) -> None:
    api = seeded
    huge = "4772078219845284397056"
    before = _state(api)
    for method, path in [
        ("GET", f"/api/bulletins/{huge}"),
        ("POST", f"/api/bulletins/{huge}/approve"),
        ("GET", f"/api/alerts/{huge}"),
        ("DELETE", f"/api/slots/{huge}"),
        ("DELETE", f"/api/tokens/{huge}"),
        ("GET", f"/api/plays?bulletin_id={huge}"),
    ]:
        answer = api.client.request(method, path, headers=api.approver)
        assert 400 <= answer.status_code < 500, f"{method} {path}: {answer.status_code}"
        assert answer.json()["detail"]
    assert _state(api) == before


def test_oversized_text_fields_are_refused_in_vietnamese(seeded: Api) -> None:
    api = seeded
    before = _state(api)
    long_title = {"title": "T" * 201, "text": "Nội dung.", "zones": ["thon-1"]}
    answer = api.client.post("/api/bulletins", json=long_title, headers=api.editor)
    assert answer.status_code == 422 and "Tiêu đề: quá dài" in answer.json()["detail"]
    long_text = {"title": "T", "text": "chữ " * 6000, "zones": ["thon-1"]}
    answer = api.client.post("/api/bulletins", json=long_text, headers=api.editor)
    assert answer.status_code == 422 and "quá dài" in answer.json()["detail"]
    bad_zone = {"title": "T", "text": "x", "zones": ["<script>"]}
    answer = api.client.post("/api/bulletins", json=bad_zone, headers=api.editor)
    assert answer.status_code == 422 and "Mã vùng không hợp lệ" in answer.json()["detail"]
    assert _state(api) == before


def test_html_in_text_fields_is_kept_as_text_and_never_interpreted(seeded: Api) -> None:
    api = seeded
    script = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    body = {"title": f"Tin {script}", "text": f"Họp thôn lúc 8h. {script}", "zones": ["thon-1"]}
    created = api.client.post("/api/bulletins", json=body, headers=api.editor)
    assert created.status_code == 201
    bulletin = created.json()
    assert bulletin["title"] == body["title"]  # data stays data in the JSON API
    assert "<" not in bulletin["spoken_text"] and "script" not in bulletin["spoken_text"]
    entry = api.client.put("/api/dictionary/XSS", json={"reading": script}, headers=api.editor)
    assert entry.status_code in (200, 422)

    api.client.post("/login", data={"name": "canbo", "password": "mat-khau-bien-tap"})
    for page in (f"/bulletins/{bulletin['id']}", "/bulletins", "/dictionary"):
        html = api.client.get(page).text
        assert "<script>alert" not in html and "<img src=x" not in html, page
    assert "&lt;script&gt;" in api.client.get(f"/bulletins/{bulletin['id']}").text


def test_malformed_cap_xml_is_refused_and_nothing_raised(seeded: Api) -> None:
    api = seeded
    with api.station.db.session() as session:
        alerts_before = session.scalar(select(func.count()).select_from(Alert))
    for raw in (
        b"<alert",
        b"\xff\xfe<\x00a\x00",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bbbbbbbb">]><alert>&b;&b;&b;</alert>',
        b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><status>Actual</status></alert>",
        b"{}",
        b"",
    ):
        answer = api.client.post(
            "/api/alerts/cap", content=raw, headers={**api.approver, "Content-Type": "application/cap+xml"}
        )
        assert answer.status_code == 422, (raw, answer.status_code, answer.text)
        assert answer.json()["detail"]
    with api.station.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == alerts_before
        assert session.scalar(select(func.count()).select_from(Bulletin)) == 1


# --- the guard itself, with small limits --------------------------------------------------------------


def _guarded() -> TestClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return TestClient(BodyGuard(app, limit=1000, upload_limit=5000))


def test_the_guard_counts_bodies_that_never_declared_a_length() -> None:
    client = _guarded()
    small = client.post("/echo", content=iter([b"a" * 400, b"a" * 400]))
    assert small.json() == {"size": 800}
    chunked = client.post("/echo", content=iter([b"a" * 600, b"a" * 600]))
    assert chunked.status_code == 413 and "quá lớn" in chunked.json()["detail"]
    upload = {"Content-Type": "multipart/form-data; boundary=x"}
    assert client.post("/echo", content=iter([b"a" * 3000]), headers=upload).json() == {"size": 3000}
    streamed = client.post("/echo", content=iter([b"a" * 3000] * 2), headers=upload)
    assert streamed.status_code == 413
    declared = client.post("/echo", content=b"a" * 6000, headers=upload)
    assert declared.status_code == 413
    lying = client.post("/echo", content=b"abc", headers={"Content-Length": "-1"})
    assert lying.status_code == 400
