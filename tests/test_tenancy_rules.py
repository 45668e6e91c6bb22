"""The tenancy rules as data in, data out: who sees which commune, who owns a record, the where-clauses."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from broadcast import domain
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Bulletin, Device, Play

PROVINCE = Principal(1, "tinh", "admin", None)
AN = Principal(2, "an", "editor", "xa-an")
BINH = Principal(3, "binh", "approver", "xa-binh")
ZONES = {"thon-1": "xa-an", "thon-2": "xa-an", "thon-9": "xa-binh"}


@pytest.mark.parametrize(
    ("who", "commune", "sees"),
    [
        (PROVINCE, "xa-an", True),
        (PROVINCE, "default", True),
        (AN, "xa-an", True),
        (AN, "xa-binh", False),
        (AN, "default", False),
        (BINH, "xa-an", False),
    ],
)
def test_who_sees_which_commune(who: Principal, commune: str, sees: bool) -> None:
    assert tenancy.sees(who, commune) is sees


def test_a_principal_without_a_commune_is_the_province() -> None:
    assert PROVINCE.is_province and not AN.is_province
    assert Principal(4, "cu", "editor").commune is None  # positional construction stays valid


@pytest.mark.parametrize(
    ("who", "outside"),
    [(PROVINCE, []), (AN, ["thon-9"]), (BINH, ["thon-1", "thon-2"])],
)
def test_zones_outside_an_accounts_commune(who: Principal, outside: list[str]) -> None:
    assert tenancy.outside(who, ZONES) == outside


@pytest.mark.parametrize(
    ("who", "zones", "owner"),
    [
        (AN, ["thon-1", "thon-2"], "xa-an"),
        (BINH, ["thon-9"], "xa-binh"),
        (PROVINCE, ["thon-9"], "xa-binh"),
        (PROVINCE, ["thon-9", "thon-1"], "xa-binh"),  # spanning: filed under its first zone's commune
        (PROVINCE, ["thon-1", "thon-9"], "xa-an"),
    ],
)
def test_the_commune_that_owns_a_record(who: Principal, zones: list[str], owner: str) -> None:
    assert tenancy.owning_commune(who, zones, ZONES) == owner


@pytest.mark.parametrize("who", [AN, BINH])
def test_only_the_province_may_span_communes(who: Principal) -> None:
    with pytest.raises(domain.Invalid, match="nhiều xã"):
        tenancy.owning_commune(who, ["thon-1", "thon-9"], ZONES)


def test_a_record_needs_a_zone() -> None:
    with pytest.raises(domain.Invalid, match="ít nhất một cụm loa"):
        tenancy.owning_commune(PROVINCE, [], ZONES)


def test_check_visible_answers_not_found_never_forbidden() -> None:
    tenancy.check_visible(None, "xa-binh", "x")  # no viewer: an internal caller, unscoped
    tenancy.check_visible(PROVINCE, "xa-binh", "x")
    tenancy.check_visible(AN, "xa-an", "x")
    with pytest.raises(domain.NotFound, match=r"^Không có bản tin số 7\.$"):
        tenancy.check_visible(AN, "xa-binh", "Không có bản tin số 7.")


def _sql(stmt: Select[Any], dialect: Dialect) -> str:
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])  # type: ignore[no-untyped-call]
def test_where_clauses_keep_a_commune_and_nothing_for_the_province(dialect: Dialect) -> None:
    mine = _sql(select(Bulletin.id).where(tenancy.commune_filter(Bulletin.commune_id, AN)), dialect)
    assert "bulletins.commune_id = 'xa-an'" in mine
    everything = _sql(
        select(Bulletin.id).where(tenancy.commune_filter(Bulletin.commune_id, PROVINCE)), dialect
    )
    assert "commune_id" not in everything
    devices = _sql(select(Device.id).where(tenancy.device_filter(BINH)), dialect)
    assert "devices.zone IN (SELECT zones.id" in devices and "zones.commune_id = 'xa-binh'" in devices
    plays = _sql(select(Play.id).where(tenancy.play_filter(BINH)), dialect)
    assert "plays.device_id IN (SELECT devices.id" in plays and "'xa-binh'" in plays
    assert "commune_id" not in _sql(select(Play.id).where(tenancy.play_filter(PROVINCE)), dialect)
