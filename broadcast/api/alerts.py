"""Emergency alert routes: raise, confirm (two-person rule), cancel, live delivery status, CAP in and out.

The routes that act on an alert (and their caller lookup) run on the station's alert threads, never in
the anyio pool that page rendering, synthesis and login hashing share (broadcast/limits/lanes.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from broadcast import alerts, domain
from broadcast.alerts import delivery as alert_delivery
from broadcast.alerts import views as alert_views
from broadcast.alerts.cap import CapError, CapExport, CapMessage, parse_cap, to_cap
from broadcast.http.deps import AddressDep, AlertUserDep, StationDep, UserDep
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.storage.models import Alert

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


class AlertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, description="Nội dung cảnh báo (đọc ngay bằng giọng máy)")
    bulletin_id: int | None = Field(None, description="Hoặc một bản tin đã duyệt")
    zones: list[str] | None = Field(None, description="Bỏ trống = mọi cụm loa")
    repeat: int = Field(3, ge=1, le=10)
    interval: float = Field(10.0, ge=0, le=600, description="Giây giữa hai lần lặp")
    valid_minutes: float = Field(30.0, ge=1, le=1440)
    test: bool = Field(
        False, description="Báo động thử: tiếng bíp thử thay còi, đọc «Đây là bản tin thử nghiệm.» trước"
    )

    @model_validator(mode="after")
    def _one_source(self) -> AlertIn:
        if (self.text is None) == (self.bulletin_id is None):
            raise ValueError("cần đúng một trong text hoặc bulletin_id")
        return self


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    correction: bool = Field(True, description="Phát «Thông báo huỷ cảnh báo» sau khi dừng")


class AlertOut(BaseModel):
    id: int
    status: str
    text: str
    spoken_text: str
    zones: list[str]
    repeat: int
    interval_s: float
    created_by: str
    confirmed_by: str | None
    sent_at: datetime | None
    expires_at: datetime
    audio_url: str  # "" while the speech is being synthesised
    speech_status: str  # pending | ready | sent | failed (the siren went out either way)
    speech_error: str
    correction_status: str  # "" | awaiting (a second approver, two-person rule) | sent
    devices: int
    received: list[str]
    played: list[str]
    silent: list[str]
    test: bool = False  # a drill ("báo động thử")
    state: str = ""  # awaiting_confirmation | on_air | finished | cancelled | expired
    state_label: str = ""  # the state in Vietnamese, as the alert page shows it


def _out(station: StationDep, user: Principal, alert_id: int) -> AlertOut:
    with station.db.session() as session:
        alert = alerts.get_alert(session, alert_id, user)
        seen = alert_delivery.delivery(session, alert, user)
        state = alert_views.state_of(session, alert)
        return AlertOut(
            id=alert.id,
            status=alert.status,
            text=alert.text,
            spoken_text=alert.spoken_text,
            zones=list(alert.zones),
            repeat=alert.repeat,
            interval_s=alert.interval_s,
            created_by=alert.created_by,
            confirmed_by=alert.confirmed_by,
            sent_at=alert.sent_at,
            expires_at=alert.expires_at,
            audio_url=f"/clips/{alert.clip_sha256}.mp3" if alert.clip_sha256 else "",
            speech_status=alert.speech_status,
            speech_error=alert.speech_error,
            correction_status=alert.correction_status,
            devices=len(seen.devices),
            received=seen.received,
            played=seen.played,
            silent=seen.silent,
            test=alert.test,
            state=state.phase,
            state_label=state.label,
        )


@router.post("", status_code=status.HTTP_201_CREATED)
async def raise_alert(
    body: AlertIn, station: StationDep, user: AlertUserDep, address: AddressDep
) -> AlertOut:
    """Raise an emergency alert: sent at once, or waiting for a second approver (two-person rule)."""
    return await station.lanes.alerts.run(lambda: _raise(body, station, user, address))


def _raise(body: AlertIn, station: StationDep, user: Principal, address: str) -> AlertOut:
    request = alerts.AlertRequest(
        body.text,
        body.bulletin_id,
        body.zones,
        body.repeat,
        body.interval,
        body.valid_minutes,
        source="api",
        test=body.test,
    )
    with station.db.session() as session:
        alert = alerts.raise_alert(session, station.alert_deps(), user, request, address)
    return _out(station, user, alert.id)


@router.post("/{alert_id}/confirm")
async def confirm(alert_id: int, station: StationDep, user: AlertUserDep, address: AddressDep) -> AlertOut:
    return await station.lanes.alerts.run(lambda: _confirm(alert_id, station, user, address))


def _confirm(alert_id: int, station: StationDep, user: Principal, address: str) -> AlertOut:
    with station.db.session() as session:
        alerts.confirm_alert(session, station.alert_deps(), user, alert_id, address)
    return _out(station, user, alert_id)


@router.post("/{alert_id}/cancel")
async def cancel(
    alert_id: int, station: StationDep, user: AlertUserDep, address: AddressDep, body: CancelIn | None = None
) -> AlertOut:
    """Stop the alert on every loudspeaker now (and say so, unless correction is false)."""
    correction = body.correction if body else True
    return await station.lanes.alerts.run(lambda: _cancel(alert_id, station, user, address, correction))


def _cancel(alert_id: int, station: StationDep, user: Principal, address: str, correction: bool) -> AlertOut:
    with station.db.session() as session:
        alerts.cancel_alert(session, station.alert_deps(), user, alert_id, correction, address)
    return _out(station, user, alert_id)


@router.post("/{alert_id}/correction")
async def confirm_correction(
    alert_id: int, station: StationDep, user: AlertUserDep, address: AddressDep
) -> AlertOut:
    """Send the spoken correction of a cancel that waits for a second approver (two-person rule)."""
    return await station.lanes.alerts.run(lambda: _correction(alert_id, station, user, address))


def _correction(alert_id: int, station: StationDep, user: Principal, address: str) -> AlertOut:
    with station.db.session() as session:
        alerts.confirm_correction(session, station.alert_deps(), user, alert_id, address)
    return _out(station, user, alert_id)


@router.get("/{alert_id}")
async def get(alert_id: int, station: StationDep, user: AlertUserDep) -> AlertOut:
    """Return the alert and its live delivery: which loudspeakers received and played it, which are silent."""
    return await station.lanes.alerts.run(lambda: _out(station, user, alert_id))


@router.get("")
def list_alerts(station: StationDep, user: UserDep) -> list[AlertOut]:
    with station.db.session() as session:
        ids = [a.id for a in alerts.list_alerts(session, user)]
    return [_out(station, user, i) for i in ids]


@router.post("/cap", status_code=status.HTTP_201_CREATED)
async def import_cap(
    request: Request, station: StationDep, user: AlertUserDep, address: AddressDep
) -> AlertOut:
    """Import an OASIS CAP 1.2 message (XML body): Alert/Update raise an alert, Cancel cancels it."""
    body = await request.body()

    def work() -> AlertOut:
        try:
            message = parse_cap(body)
        except CapError as exc:
            raise domain.Invalid(str(exc)) from exc
        return _apply_cap(station, user, address, message)

    return await station.lanes.alerts.run(work)


def _apply_cap(station: StationDep, user: UserDep, address: str, message: CapMessage) -> AlertOut:
    """Raise or cancel an alert from a parsed CAP message."""
    with station.db.session() as session:
        if message.msg_type == "Cancel":
            # CAP references are "sender,identifier,sent" triples separated by spaces.
            targets = [r.split(",")[1] if r.count(",") >= 1 else r for r in message.references]
            alert = session.scalars(
                select(Alert)
                .where(Alert.cap_identifier.in_(targets), tenancy.commune_filter(Alert.commune_id, user))
                .order_by(Alert.id.desc())
            ).first()
            if alert is None:
                raise domain.NotFound("Không tìm thấy cảnh báo mà bản tin CAP này huỷ.")
            alerts.cancel_alert(session, station.alert_deps(), user, alert.id, True, address)
            alert_id = alert.id
        else:
            if message.msg_type not in ("Alert", "Update") or message.status != "Actual":
                raise domain.Invalid(
                    f"Chỉ nhận CAP status=Actual, msgType Alert/Update/Cancel (nhận {message.status}/"
                    f"{message.msg_type})."
                )
            minutes = 30.0
            if message.expires is not None:
                minutes = (message.expires - datetime.now(UTC)).total_seconds() / 60
                if minutes < 1:
                    raise domain.Invalid("Bản tin CAP đã hết hiệu lực (expires đã qua).")
            request = alerts.AlertRequest(
                text=message.spoken_text,
                zones=message.zone_ids() or None,
                valid_minutes=min(minutes, 1440),
                source="cap",
                cap_identifier=message.identifier,
            )
            alert_id = alerts.raise_alert(session, station.alert_deps(), user, request, address).id
    return _out(station, user, alert_id)


@router.get("/{alert_id}/cap")
def export_cap(alert_id: int, station: StationDep, user: UserDep) -> Response:
    """Return the alert as a CAP 1.2 document."""
    with station.db.session() as session:
        alert = alerts.get_alert(session, alert_id, user)
        document = to_cap(
            CapExport(
                identifier=f"loa-xa-{alert.id}",
                sender=station.public_url,
                sent=alert.sent_at or alert.created_at,
                msg_type="Cancel" if alert.status == "cancelled" else "Alert",
                text=alert.text,
                zones=tuple(alert.zones),
                expires=alert.expires_at,
                test=alert.test,
            )
        )
    return Response(document, media_type="application/cap+xml")
