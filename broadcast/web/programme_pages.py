"""The programme page: the week ahead per zone, the slots, adding a stream relay (checked before saving)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import programme
from broadcast.http.deps import AddressDep, StationDep
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.programme import publishing, slot_checks
from broadcast.programme import quiet as commune_quiet
from broadcast.scheduler.planner import Entry, QuietHours, in_quiet_hours, plan
from broadcast.scheduler.slots import next_start
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.web.forms import shown_again
from broadcast.web.pages import WEEKDAYS, CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)
DAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]


@dataclass(frozen=True)
class Row:
    """A line of a day in the week view: an entry, or the quiet-hours band (entry None)."""

    at: time
    entry: Entry | None = None
    band: str = ""  # "22:00–24:00" for a quiet band
    silenced: bool = False  # the entry falls in quiet hours: the station does not send it


def _bands(quiet: QuietHours | None) -> list[Row]:
    if quiet is None:
        return []
    if quiet.start <= quiet.end:
        return [Row(quiet.start, band=quiet.label())]
    return [
        Row(time(0), band=f"00:00–{quiet.end:%H:%M}"),
        Row(quiet.start, band=f"{quiet.start:%H:%M}–24:00"),
    ]


def week_rows(
    entries: list[Entry], quiet: QuietHours | None, silenced: set[tuple[int, datetime]], tz: tzinfo
) -> dict[str, list[Row]]:
    """Return each day's rows in local time order, with the quiet-hours band where it falls."""
    days: defaultdict[str, list[Row]] = defaultdict(list)
    for entry in entries:
        local = entry.start.astimezone(tz)
        key = f"{DAY_NAMES[local.weekday()]} {local:%d/%m}"
        if key not in days:
            days[key].extend(_bands(quiet))
        days[key].append(Row(local.time(), entry, silenced=(entry.slot_id, entry.occurrence) in silenced))
    # A band sorts before an entry at the same minute: that entry is inside it.
    return {day: sorted(rows, key=lambda r: (r.at, r.entry is not None)) for day, rows in days.items()}


def check_view(checked: slot_checks.Checked, tz_name: str) -> dict[str, Any]:
    """Return what the slot-check region shows after the no-script "Kiểm tra" button."""
    first = next_start(checked.rule, datetime.now(UTC), tz_name) if checked.rule else None
    return {
        "problems": [p.message for p in checked.problems],
        "next_start": first.astimezone(tz_zone(tz_name)).strftime("%H:%M %d/%m/%Y") if first else "",
    }


def _programme(request: Request, station: StationDep, user: Principal, zone: str, **extra: Any) -> Response:
    now = datetime.now(UTC)
    tz_name = station.settings.timezone
    with station.db.session() as session:
        zones = tenancy.visible_zones(session, user)
        ids = [z.id for z in zones]
        chosen = zone if zone in ids else (ids[0] if ids else "")  # another commune's zone: not shown
        # The quiet hours of the chosen zone's commune (its own setting, else the station's default).
        quiet = commune_quiet.rules(session, station.rules().quiet).of_zone(chosen)
        plans = publishing.load_plans(session)
        entries = [e for e in plan(plans, now, now + timedelta(days=7), tz_name) if chosen in e.zones]
        mine = programme.list_slots(session, user, chosen)
        slots = [(s, programme.slot_items(session, s.id)) for s in mine]
    by_id = {p.slot_id: p for p in plans}
    silenced = {
        (e.slot_id, e.occurrence)
        for e in entries
        if in_quiet_hours(by_id[e.slot_id], e.occurrence, quiet, tz_name)
    }
    week = week_rows(entries, quiet, silenced, tz_zone(tz_name))
    return page(
        request, station, user, "programme.html", zones=zones, zone=chosen, week=week, slots=slots,
        weekdays=WEEKDAYS, quiet=quiet.label() if quiet else "", **extra,
    )  # fmt: skip


@router.get("/programme", response_class=HTMLResponse)
def programme_page(request: Request, station: StationDep, user: PageUser, zone: str = "") -> Response:
    return _programme(request, station, user, zone)


@router.post("/programme/slots/{slot_id}/delete", response_class=HTMLResponse)
def slot_delete(
    request: Request,
    slot_id: int,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    zone: Annotated[str, Form()] = "",
) -> Response:
    with shown_again(partial(_programme, request, station, user, zone)), station.db.session() as session:
        slot = programme.delete_slot(session, station.scheduler, user, slot_id, address)
    station.refresh_programme(slot.zones)
    return RedirectResponse(f"/programme?zone={zone}", status_code=303)


@dataclass(frozen=True)
class StreamForm:
    """The stream-relay form as typed (kept when the page comes back with problems)."""

    zone: str
    title: str
    url: str
    daily_at: str
    minutes: float
    days: list[str]

    def request(self) -> programme.SlotRequest:
        item = programme.ItemRequest(stream_url=self.url, duration_s=self.minutes * 60, title=self.title)
        return programme.SlotRequest(
            zones=[self.zone], daily_at=self.daily_at, days=self.days, items=[item], title=self.title
        )

    def typed(self) -> dict[str, Any]:
        minutes = f"{self.minutes:g}"
        return {"title": self.title, "url": self.url, "daily_at": self.daily_at, "minutes": minutes,
                "days": self.days}  # fmt: skip


def _stream_form(
    zone: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    daily_at: Annotated[str, Form()] = "",
    minutes: Annotated[float, Form()] = 0,
    days: Annotated[list[str] | None, Form()] = None,
) -> StreamForm:
    return StreamForm(zone, title, url, daily_at, minutes, days or [])


StreamFormDep = Annotated[StreamForm, Depends(_stream_form)]


@router.post("/programme/streams", response_class=HTMLResponse)
def stream_add(
    request: Request,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    form: StreamFormDep,
) -> Response:
    """Add a daily stream relay (e.g. VOV1 news) for the zone."""
    again = partial(_programme, request, station, user, form.zone, form=form.typed())
    with shown_again(again), station.db.session() as session:
        programme.create_slot(session, station.scheduler, station.rules(), user, form.request(), address)
    station.refresh_programme([form.zone])
    return RedirectResponse(f"/programme?zone={form.zone}", status_code=303)


@router.post("/programme/streams/check", response_class=HTMLResponse)
def stream_check(
    request: Request,
    station: StationDep,
    user: PageUser,
    _csrf: CsrfChecked,
    form: StreamFormDep,
) -> Response:
    """Show what saving this stream relay would refuse (the no-script "Kiểm tra" button); store nothing."""
    with station.db.session() as session:
        checked = programme.check_slot(session, station.rules(), user, form.request())
        session.rollback()
    view = check_view(checked, station.settings.timezone)
    return _programme(request, station, user, form.zone, form=form.typed(), slot_check=view)
