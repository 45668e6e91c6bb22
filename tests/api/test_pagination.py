"""Paged lists through the real station: bulletins, devices, plays, the audit log, and the web pages.

Pages followed by their `Link` headers must give every row exactly once, in a stable order; limits and
bad values are refused with a Vietnamese 422; tenancy still applies on every page; listing bulletins
costs a constant number of SQL statements however many are listed (no N+1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert, select

from broadcast import domain
from broadcast.app import create_app
from broadcast.bulletins.spelled_terms import UnknownTerms, fingerprint
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.http import paging
from broadcast.people import accounts, tenancy
from broadcast.station import Station
from broadcast.storage.models import Bulletin, Device, Play
from broadcast.tts import unknown_abbreviations
from broadcast.web import bulletin_pages, device_pages
from tests.support import database
from tests.support.free_port import free_port

Headers = dict[str, str]
PASSWORD = "mua-xuan-tren-song"
USERS = {"a-bientap": ("editor", "xa-a"), "b-bientap": ("editor", "xa-b"), "tinh": ("admin", None)}
ZONES = {"thon-a": "xa-a", "thon-b": "xa-b"}
BULLETINS = {"xa-a": 37, "xa-b": 11}  # rows per commune, so pages of 10 end part-way
DEVICES = {"thon-a": 23, "thon-b": 5}
PLAYS = 45  # of loa-a-000


@dataclass
class World:
    client: TestClient
    station: Station
    headers: dict[str, Headers]

    def get(self, who: str, path: str) -> Any:
        return self.client.get(path, headers=self.headers[who])


def _clone_bulletins(station: Station, commune: str, total: int) -> None:
    """Copy the commune's bulletin (real clip, real row) until it has `total` (listing, not synthesis)."""
    with station.db.session() as session:
        original = session.scalars(select(Bulletin).where(Bulletin.commune_id == commune)).one()
        columns = [c.key for c in Bulletin.__table__.columns if c.key != "id"]
        row = {c: getattr(original, c) for c in columns}
        statuses = ["draft", "ready"]
        session.execute(
            insert(Bulletin),
            [{**row, "title": f"{commune} {n}", "status": statuses[n % 2]} for n in range(total - 1)],
        )


def _add_rows(station: Station) -> None:
    """Devices in both communes (beside the enrolled ones) and a play log for one device."""
    now = datetime.now(UTC)
    with station.db.session() as session:
        session.execute(
            insert(Device),
            [
                {"id": f"loa-{zone[-1]}-{n:03d}", "zone": zone, "mqtt_password_hash": "x", "health": {"n": n}}
                for zone, count in DEVICES.items()
                for n in range(count)
            ],
        )
        session.execute(
            insert(Play),
            [
                {
                    "device_id": "loa-a-000",
                    "command_id": f"cmd-{n}",
                    "started_at": now - timedelta(minutes=n),
                    "outcome": "played" if n % 3 else "skipped",
                }
                for n in range(PLAYS)
            ],
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("paging")
    settings = Settings(
        data_dir=tmp / "var",
        database_url=database.fresh_database_url(tmp / "db"),
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
    )
    with TestClient(create_app(settings)) as client:
        station: Station = client.app.state.station  # type: ignore[attr-defined]
        headers: dict[str, Headers] = {}
        with station.db.session() as session:
            for commune in ("xa-a", "xa-b"):
                tenancy.add_commune(session, commune, commune, "test")
            for zone, commune in ZONES.items():
                devices.add_device(
                    session, settings.broker, f"enrolled-{zone}", zone, tmp / zone, "file:p", "t", commune
                )
            for name, (role, scope) in USERS.items():
                accounts.add_user(session, name, role, f"{PASSWORD}-{role}", scope)
                headers[name] = {"Authorization": f"Bearer {accounts.issue_token(session, name)}"}
        world = World(client, station, headers)
        for who, zone in (("a-bientap", "thon-a"), ("b-bientap", "thon-b")):
            body = {"title": "Họp dân", "text": "QXZ và KDC họp lúc 8 giờ sáng.", "zones": [zone]}
            created = client.post("/api/bulletins", json=body, headers=headers[who])
            assert created.status_code == 201, created.text
        for commune, total in BULLETINS.items():
            _clone_bulletins(station, commune, total)
        _add_rows(station)
        yield world


def _follow(world: World, who: str, path: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """Return every row reached by following `Link: rel=next` from `path`, and each page's response."""
    rows: list[dict[str, Any]] = []
    responses = []
    url: str | None = path
    while url is not None:
        response = world.get(who, url)
        assert response.status_code == 200, response.text
        responses.append(response)
        rows += response.json()
        found = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
        url = found.group(1) if found else None
        assert len(responses) < 100, "paging does not end"
    return rows, responses


@pytest.mark.parametrize("who", ["a-bientap", "b-bientap", "tinh"])
def test_bulletin_pages_cover_the_list_once_in_order(world: World, who: str) -> None:
    everything = world.get(who, "/api/bulletins?limit=1000").json()
    communes = {"a-bientap": ["xa-a"], "b-bientap": ["xa-b"], "tinh": ["xa-a", "xa-b"]}[who]
    assert len(everything) == sum(BULLETINS[c] for c in communes)  # tenancy holds on every page
    rows, pages = _follow(world, who, "/api/bulletins?limit=10")
    ids = [b["id"] for b in rows]
    assert ids == [b["id"] for b in everything] and ids == sorted(ids, reverse=True)
    assert len(set(ids)) == len(ids)
    assert all(len(p.json()) == 10 for p in pages[:-1]) and 1 <= len(pages[-1].json()) <= 10
    assert {p.headers["x-total-count"] for p in pages} == {str(len(everything))}
    assert "before_id=" in pages[0].headers["link"]  # a keyset cursor, not an offset
    assert all(b["duration_s"] > 0 for b in rows)  # clip lengths come with the page (joined)
    assert all(b["unknown_abbreviations"] == ["QXZ", "KDC"] for b in rows)


def test_offset_paging_and_filters_are_kept_in_the_next_link(world: World) -> None:
    drafts = world.get("a-bientap", "/api/bulletins?status=draft&limit=1000").json()
    rows, pages = _follow(world, "a-bientap", "/api/bulletins?status=draft&limit=4&offset=4")
    assert [b["id"] for b in rows] == [b["id"] for b in drafts[4:]]
    assert all("status=draft" in p.headers.get("link", "status=draft") for p in pages)
    assert "offset=8" in pages[0].headers["link"]  # offset paging continues by offset
    assert pages[0].headers["x-total-count"] == str(len(drafts))


def test_keyset_pages_do_not_repeat_rows_when_new_ones_arrive(world: World) -> None:
    first = world.get("b-bientap", "/api/bulletins?limit=5")
    link = re.fullmatch(r'<([^>]+)>; rel="next"', first.headers["link"])
    assert link is not None
    _clone_bulletins_one_more(world.station, "xa-b")
    try:
        second = world.get("b-bientap", link.group(1)).json()
        last_shown = first.json()[-1]["id"]
        assert second and all(b["id"] < last_shown for b in second)  # the new row pushes none back
    finally:
        with world.station.db.session() as session:
            newest = session.scalars(select(Bulletin).order_by(Bulletin.id.desc()).limit(1)).one()
            session.delete(newest)


def _clone_bulletins_one_more(station: Station, commune: str) -> None:
    with station.db.session() as session:
        original = session.scalars(select(Bulletin).where(Bulletin.commune_id == commune).limit(1)).one()
        columns = [c.key for c in Bulletin.__table__.columns if c.key != "id"]
        session.execute(insert(Bulletin), [{c: getattr(original, c) for c in columns}])


@pytest.mark.parametrize(
    ("who", "expected"),
    [("a-bientap", DEVICES["thon-a"] + 1), ("b-bientap", DEVICES["thon-b"] + 1), ("tinh", 30)],
)
def test_device_pages_follow_zone_and_id(world: World, who: str, expected: int) -> None:
    rows, pages = _follow(world, who, "/api/devices?limit=7")
    keys = [(d["zone"], d["id"]) for d in rows]
    assert len(keys) == expected and keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {p.headers["x-total-count"] for p in pages} == {str(expected)}
    full = world.get(who, "/api/devices?limit=1000").json()
    assert full == rows
    assert full[0]["health"] is not None and set(full[0]) == {
        "id", "zone", "online", "last_seen", "version", "revoked", "health", "report_flood"
    }  # fmt: skip


def test_the_default_device_page_is_100(world: World) -> None:
    answer = world.get("tinh", "/api/devices")
    assert len(answer.json()) == 30 and "link" not in answer.headers  # fits one page
    assert paging.DEFAULT_LIMIT == 100


def test_play_log_pages_keep_their_filters(world: World) -> None:
    everything = world.get("a-bientap", "/api/plays?device_id=loa-a-000&limit=1000").json()
    assert len(everything) == PLAYS
    rows, pages = _follow(world, "a-bientap", "/api/plays?device_id=loa-a-000&outcome=played&limit=8")
    played = [p for p in everything if p["outcome"] == "played"]
    assert [p["id"] for p in rows] == [p["id"] for p in played]
    assert all("outcome=played" in p.headers["link"] for p in pages[:-1])
    assert "x-total-count" not in pages[0].headers  # the log is too big to count on every page
    assert world.get("b-bientap", "/api/plays?device_id=loa-a-000").json() == []  # another commune's


def test_audit_log_pages_carry_the_same_headers(world: World) -> None:
    answer = world.get("tinh", "/api/audit?limit=2")
    body = answer.json()
    assert answer.headers["x-total-count"] == str(body["total"])
    assert body["total"] > 2 and answer.headers["link"] == '</api/audit?limit=2&offset=2>; rel="next"'


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-1", "offset"),
        ("offset=99999999999", "offset"),
        ("before_id=0", "before_id"),
        ("before_id=99999999999999999999999", "before_id"),
        ("before_id=x", "before_id"),
        ("before_id=5&offset=5", "before_id"),
    ],
)
@pytest.mark.parametrize("path", ["/api/bulletins", "/api/devices", "/api/plays"])
def test_bad_paging_values_are_refused_in_vietnamese(world: World, path: str, query: str, field: str) -> None:
    if path == "/api/devices" and "before_id" in query:
        field = ""  # not a parameter of the device list: ignored
    answer = world.get("tinh", f"{path}?{query}")
    if not field:
        assert answer.status_code == 200
        return
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert field in detail
    assert re.search(r"phải|không|Dùng", detail), detail  # Vietnamese, not pydantic's English
    assert "Input should" not in detail


def test_listing_bulletins_costs_a_constant_number_of_queries(world: World) -> None:
    with _statements(world.station) as few:
        assert len(world.get("tinh", "/api/bulletins?limit=2").json()) == 2
    with _statements(world.station) as many:
        assert len(world.get("tinh", "/api/bulletins?limit=50").json()) == 48
    assert len(many) == len(few), many
    assert len(many) <= 5, many  # caller, total, the page (clips joined), the dictionary
    with _statements(world.station) as device_list:
        assert len(world.get("tinh", "/api/devices?limit=1000").json()) == 30
    assert len(device_list) <= 4, device_list  # caller, total, the page


@contextmanager
def _statements(station: Station) -> Iterator[list[str]]:
    """Collect the SQL statements the station's engine runs inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split("\n", 1)[0][:80])

    engine = station.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_unknown_abbreviations_follow_the_dictionary(world: World) -> None:
    before = world.get("a-bientap", "/api/bulletins?limit=3").json()
    assert all(b["unknown_abbreviations"] == ["QXZ", "KDC"] for b in before)
    admin = world.headers["tinh"]
    put = world.client.put("/api/dictionary/KDC", json={"reading": "khu dân cư"}, headers=admin)
    assert put.status_code == 200, put.text
    try:
        after = world.get("a-bientap", "/api/bulletins?limit=3").json()
        assert all(b["unknown_abbreviations"] == ["QXZ"] for b in after)
    finally:
        assert world.client.delete("/api/dictionary/KDC", headers=admin).status_code in (200, 204)


# --- web pages ----------------------------------------------------------------------------------------


def _login(world: World, name: str, role: str) -> TestClient:
    client = TestClient(world.client.app)
    answer = client.post("/login", data={"name": name, "password": f"{PASSWORD}-{role}"})
    assert answer.status_code in (200, 303), answer.text
    return client


def test_bulletin_list_page_pages(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulletin_pages, "LIST_PAGE", 5)
    client = _login(world, "b-bientap", "editor")
    first = client.get("/bulletins?status=draft")
    assert first.status_code == 200
    assert 'href="/bulletins?status=draft&amp;page=2#list"' in first.text and "Trang trước" not in first.text
    ids = re.findall(r'<td><a href="/bulletins/(\d+)">', first.text)
    second = client.get("/bulletins?status=draft&page=2")
    assert "‹ Trang trước" in second.text and "Trang 2" in second.text
    later = re.findall(r'<td><a href="/bulletins/(\d+)">', second.text)
    assert len(ids) == 5 and later and not set(ids) & set(later)
    bad = client.get("/bulletins?page=abc")
    assert bad.status_code == 422 and "Số trang không hợp lệ" in bad.text


def test_devices_page_pages_the_table_and_the_play_log(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_pages, "TABLE_PAGE", 10)
    monkeypatch.setattr(device_pages, "PLAYS_PAGE", 20)
    client = _login(world, "a-bientap", "editor")
    first = client.get("/devices")
    assert first.status_code == 200
    assert "24 cụm loa" in first.text  # the count covers every page
    assert 'href="/devices?page=2"' in first.text and 'href="/devices?plays_page=2#plays"' in first.text
    third = client.get("/devices?page=3&plays_page=2")
    shown = re.findall(r'<th scope="row"><a href="/devices/([^"]+)">', third.text)
    assert len(shown) == 4 and "Trang 3" in third.text
    assert 'href="/devices?plays_page=2&amp;page=2"' in third.text  # the other pager's place is kept
    last = client.get("/devices?plays_page=3").text
    assert last.count("<td>Đã phát</td>") + last.count("<td>Bỏ qua</td>") == PLAYS - 2 * 20
    assert 'href="/devices?plays_page=2#plays"' in last and "Trang sau" not in last.split('id="plays"')[1]
    assert client.get("/devices?plays_page=0").status_code == 422


# --- the pure parts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "last_id", "keyset", "expected"),
    [
        (paging.PageRequest(10), 57, True, {"limit": 10, "before_id": 57}),
        (paging.PageRequest(10, before_id=80), 57, True, {"limit": 10, "before_id": 57}),
        (paging.PageRequest(10, offset=20), 57, True, {"limit": 10, "offset": 30}),  # stays on offsets
        (paging.PageRequest(10), None, False, {"limit": 10, "offset": 10}),
        (paging.PageRequest(5, offset=5), None, False, {"limit": 5, "offset": 10}),
    ],
)
def test_next_page_parameters(
    page: paging.PageRequest, last_id: int | None, keyset: bool, expected: dict[str, int]
) -> None:
    assert paging.next_params(page, last_id, keyset) == expected


@pytest.mark.parametrize(
    ("params", "page_no", "more", "expected"),
    [
        ({}, 1, False, (None, None)),
        ({}, 1, True, (None, "/x?page=2#l")),
        ({"status": "draft"}, 2, True, ("/x?status=draft#l", "/x?status=draft&page=3#l")),
        ({"status": "", "q": "a b&c"}, 3, False, ("/x?q=a+b%26c&page=2#l", None)),
    ],
)
def test_web_page_links(
    params: dict[str, str], page_no: int, more: bool, expected: tuple[str | None, str | None]
) -> None:
    assert paging.page_urls("/x", params, "page", page_no, more, "#l") == expected


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "abc", "٣", "99999999999"])
def test_web_page_numbers_refuse_nonsense(text: str) -> None:
    with pytest.raises(domain.Invalid, match="Số trang không hợp lệ"):
        paging.page_number(text)
    assert paging.page_number("") == 1 and paging.page_number("7") == 7


def test_unknown_terms_memo_matches_the_normaliser_and_stays_bounded() -> None:
    memo = UnknownTerms(max_entries=3)
    texts = [f"Họp QXZ số {n} với KDC." for n in range(5)]
    plain: dict[str, str] = {}
    known = {"KDC": "khu dân cư"}
    for text in texts:
        assert memo.of(text, plain) == unknown_abbreviations(text, plain) == ["QXZ", "KDC"]
        assert memo.of(text, known) == ["QXZ"]  # another dictionary is another key
    assert memo.of(texts[-1], known) == ["QXZ"] and memo.hits == 1 and memo.misses == 10
    assert len(memo._memo) == 3
    assert fingerprint({"a": "b", "c": "d"}) == fingerprint({"c": "d", "a": "b"}) != fingerprint({"a": "b"})
