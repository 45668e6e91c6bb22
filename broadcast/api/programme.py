"""Programme routes: slots of ordered items (bulletins, stream relays), and the planned week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from broadcast import programme
from broadcast.http.deps import AddressDep, StationDep, UserDep
from broadcast.people import tenancy
from broadcast.programme import publishing
from broadcast.programme import quiet as commune_quiet
from broadcast.scheduler.slots import next_start
from broadcast.storage.models import DEFAULT_COMMUNE, Slot, SlotItem

router = APIRouter(prefix="/api", tags=["programme"])


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bulletin_id: int | None = None
    stream_url: str | None = Field(None, description="Luồng tiếp sóng http(s), ví dụ VOV1")
    duration_s: float | None = Field(None, description="Thời lượng tiếp sóng (giây)")
    title: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> ItemIn:
        if (self.bulletin_id is None) == (self.stream_url is None):
            raise ValueError("mỗi mục là một bản tin (bulletin_id) hoặc một luồng tiếp sóng (stream_url)")
        return self

    def request(self) -> programme.ItemRequest:
        return programme.ItemRequest(self.bulletin_id, self.stream_url, self.duration_s, self.title)


class SlotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bulletin_id: int | None = Field(None, description="Lối tắt cho một mục: một bản tin")
    items: list[ItemIn] = Field(default_factory=list, description="Các mục theo thứ tự phát")
    start_at: str | None = Field(None, description="ISO-8601; không có múi giờ = giờ Việt Nam")
    daily_at: str | None = Field(None, description='"HH:MM" hằng ngày')
    days: list[str] | None = Field(None, description="mon..sun hoặc t2..t7, cn; mặc định mọi ngày")
    zones: list[str] = Field(default_factory=list, description="Mặc định: các vùng của bản tin đầu tiên")
    title: str = ""


class ProblemOut(BaseModel):
    code: int = Field(description="Mã HTTP mà lệnh tạo khung giờ sẽ trả về vì vấn đề này")
    field: str = Field(description="items | zones | time | quiet_hours | conflict")
    message: str
    slot_id: int | None = Field(None, description="Khung giờ bị trùng (với field = conflict)")


class CheckOut(BaseModel):
    ok: bool = Field(description="Không có vấn đề: tạo khung giờ này sẽ được chấp nhận")
    problems: list[ProblemOut]
    zones: list[str] = Field(description="Các vùng khung giờ sẽ phát tới")
    next_start: datetime | None = Field(None, description="Lần phát đầu tiên")
    next_start_local: str = Field("", description="Lần phát đầu tiên theo giờ của trạm, HH:MM dd/mm/yyyy")


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[ItemIn]


class ItemOut(BaseModel):
    id: int
    position: int
    kind: str
    bulletin_id: int | None
    stream_url: str | None
    duration_s: float | None
    title: str


class SlotOut(BaseModel):
    id: int
    title: str
    zones: list[str]
    start_at: datetime | None
    daily_at: str | None
    days: list[str]
    items: list[ItemOut]
    next_push_at: datetime | None = None
    published: bool | None = None


class EntryOut(BaseModel):
    slot_id: int
    item_id: int
    kind: str
    title: str
    start_at: datetime
    end_at: datetime
    zones: list[str]
    priority: str


def _slot_out(slot: Slot, items: list[SlotItem], **extra: object) -> SlotOut:
    return SlotOut(
        id=slot.id,
        title=slot.title,
        zones=list(slot.zones),
        start_at=slot.start_at,
        daily_at=slot.daily_at,
        days=list(slot.days),
        items=[
            ItemOut(
                id=i.id,
                position=i.position,
                kind=i.kind,
                bulletin_id=i.bulletin_id,
                stream_url=i.stream_url,
                duration_s=i.duration_s,
                title=i.title,
            )
            for i in items
        ],
        **extra,
    )


def _request(body: SlotIn) -> programme.SlotRequest:
    items = [i.request() for i in body.items]
    if body.bulletin_id is not None:
        items.insert(0, programme.ItemRequest(bulletin_id=body.bulletin_id))
    return programme.SlotRequest(body.zones, body.start_at, body.daily_at, body.days, items, body.title)


@router.post("/slots", status_code=status.HTTP_201_CREATED)
def create_slot(body: SlotIn, station: StationDep, user: UserDep, address: AddressDep) -> SlotOut:
    """Place bulletins / stream relays in the programme once (start_at) or daily (daily_at + days)."""
    with station.db.session() as session:
        slot, next_push = programme.create_slot(
            session, station.scheduler, station.rules(), user, _request(body), address
        )
        saved = programme.slot_items(session, slot.id)
    published = station.refresh_programme(slot.zones)
    return _slot_out(slot, saved, next_push_at=next_push, published=published)


@router.post("/programme/slots/check")
def check_slot(body: SlotIn, station: StationDep, user: UserDep) -> CheckOut:
    """Return what creating this slot would refuse (quiet hours, clashes, approval, zones); store nothing."""
    with station.db.session() as session:
        checked = programme.check_slot(session, station.rules(), user, _request(body))
        session.rollback()  # nothing was added; a check never writes
    first = next_start(checked.rule, datetime.now(UTC), station.settings.timezone) if checked.rule else None
    return CheckOut(
        ok=not checked.problems,
        problems=[
            ProblemOut(code=p.code, field=p.field, message=p.message, slot_id=p.slot_id)
            for p in checked.problems
        ],
        zones=checked.zones,
        next_start=first,
        next_start_local=f"{first:%H:%M %d/%m/%Y}" if first else "",  # next_start is in the station's zone
    )


@router.get("/slots")
def list_slots(station: StationDep, user: UserDep, zone: str | None = None) -> list[SlotOut]:
    """Return the active slots of the caller's commune (every commune for a province account)."""
    with station.db.session() as session:
        return [
            _slot_out(s, programme.slot_items(session, s.id))
            for s in programme.list_slots(session, user, zone)
        ]


@router.put("/slots/{slot_id}/items")
def replace_items(
    slot_id: int, body: ItemsIn, station: StationDep, user: UserDep, address: AddressDep
) -> SlotOut:
    """Add, remove or reorder a slot's items (priority bulletins still play first)."""
    with station.db.session() as session:
        slot = programme.replace_items(
            session, station.rules(), user, slot_id, [i.request() for i in body.items], address
        )
    with station.db.session() as session:
        saved = programme.slot_items(session, slot_id)
    return _slot_out(slot, saved, published=station.refresh_programme(slot.zones))


@router.delete("/slots/{slot_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_slot(slot_id: int, station: StationDep, user: UserDep, address: AddressDep) -> None:
    """Take a slot out of the programme; agents drop its plays with the next programme version."""
    with station.db.session() as session:
        slot = programme.delete_slot(session, station.scheduler, user, slot_id, address)
    station.refresh_programme(slot.zones)


@router.get("/programme")
def planned(
    station: StationDep, user: UserDep, zone: str | None = None, days: int = Query(7, ge=1, le=31)
) -> list[EntryOut]:
    """Return what will play on the caller's zones, item by item, from now for `days` days."""
    now = datetime.now(UTC)
    with station.db.session() as session:
        mine = tenancy.visible_zone_ids(session, user)
        # Occurrences in a zone's quiet hours (its commune's own, else the station's) are not sent there.
        rules = commune_quiet.rules(session, station.rules().quiet)
        plans = publishing.load_plans(session)
        tz = station.settings.timezone
        entries = publishing.planned(plans, now, now + timedelta(days=days), tz, rules)
        held = publishing.held_back(entries, plans, rules, tz)
        reach = {
            e.command_id: [z for z in e.zones if z in mine and z not in held[e.command_id]] for e in entries
        }
    return [
        EntryOut(
            slot_id=e.slot_id,
            item_id=e.item.item_id,
            kind=e.item.kind,
            title=e.item.title,
            start_at=e.start,
            end_at=e.end,
            zones=reach[e.command_id],
            priority=e.item.priority,
        )
        for e in entries
        if reach[e.command_id] and (zone is None or zone in reach[e.command_id])
    ]


class QuietHoursOut(BaseModel):
    """A commune's quiet hours: only emergencies play then."""

    commune: str
    quiet_hours: str = Field(description='In force, "22:00-05:00"; "" = none')
    own: bool = Field(description="The commune's own setting (false: the station's BROADCAST_QUIET_HOURS)")


class QuietHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quiet_hours: str = Field(max_length=16, description='"22:00-05:00", or "" for no quiet hours')


def _quiet_out(found: commune_quiet.CommuneQuiet) -> QuietHoursOut:
    text = f"{found.quiet.start:%H:%M}-{found.quiet.end:%H:%M}" if found.quiet else ""
    return QuietHoursOut(commune=found.commune_id, quiet_hours=text, own=found.own is not None)


@router.get("/quiet-hours")
def quiet_hours(station: StationDep, user: UserDep, commune: str | None = None) -> QuietHoursOut:
    """Return the quiet hours of the caller's commune (a province account names one)."""
    with station.db.session() as session:
        wanted = user.commune or commune
        tenancy.check_visible(user, wanted or "", f"Không có xã {wanted!r}.")
        return _quiet_out(commune_quiet.of_commune(session, wanted, station.rules().quiet))


@router.put("/quiet-hours")
def set_quiet_hours(
    body: QuietHoursIn, station: StationDep, user: UserDep, address: AddressDep, commune: str | None = None
) -> QuietHoursOut:
    """Set the quiet hours of the caller's commune ("" = none); admins only, audited; republishes."""
    with station.db.session() as session:
        wanted = user.commune or commune or DEFAULT_COMMUNE
        commune_quiet.set_quiet_hours(session, user, wanted, body.quiet_hours.strip(), address)
        session.commit()
        found = commune_quiet.of_commune(session, wanted, station.rules().quiet)
    station.refresh_programme()
    return _quiet_out(found)
