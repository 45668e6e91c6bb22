"""Agent settings set from the station: desired values in devices.settings, pushed as a signed config command.

The command carries the whole desired set (absent settings revert to the device's agent.toml), so sending
it again is harmless. It is sent when an admin saves the settings, and again when a heartbeat shows the
device applies something else (it was offline when the command expired, or restored an old state dir),
with a growing pause between attempts so a device that keeps refusing is not flooded.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy.orm import Session

from broadcast import domain, protocol
from broadcast.mqtt.client import MqttError
from broadcast.people import audit, tenancy
from broadcast.people import users as user_admin
from broadcast.people.accounts import Principal
from broadcast.programme.publishing import PushContext
from broadcast.protocol.config import SPECS, SettingValue, check_setting
from broadcast.signing import commands
from broadcast.storage.models import Device

log = logging.getLogger(__name__)

CONFIG_TTL_S = 24 * 3600.0
"""A queued config waits this long for an offline device; after that the heartbeat check re-sends it."""
RESEND_FIRST_S = 60.0  # a heartbeat already on its way when the settings were saved shows the old set
RESEND_MAX_S = 6 * 3600.0

LABELS = {
    "heartbeat_interval_s": ("Chu kỳ nhịp báo", "giây"),
    "relay_pre_roll_s": ("Bật ampli trước khi phát", "giây"),
    "relay_hold_s": ("Giữ ampli sau khi phát", "giây"),
    "default_volume": ("Âm lượng mặc định", "%"),
    "ntp_warn_ms": ("Cảnh báo lệch đồng hồ khi quá", "ms"),
    "log_level": ("Mức ghi nhật ký", ""),
}


def _problem(name: str) -> str:
    spec = SPECS[name]
    label, unit = LABELS[name]
    if spec.choices:
        return f"{label}: chọn một trong {', '.join(spec.choices)}."
    whole = " (số nguyên)" if spec.kind is int else ""
    return f"{label} phải từ {spec.low:g} đến {spec.high:g} {unit}{whole}.".replace(" .", ".")


def check_desired(values: Mapping[str, object]) -> dict[str, SettingValue]:
    """Return the settings to store (None values left out: agent.toml applies), or raise domain.Invalid."""
    desired: dict[str, SettingValue] = {}
    for name, value in values.items():
        if name not in SPECS:
            raise domain.Invalid(f"Không có cài đặt {name!r} cho cụm loa.")
        if value is None:
            continue
        try:
            desired[name] = check_setting(name, value)
        except protocol.ProtocolError:
            raise domain.Invalid(_problem(name)) from None
    return desired


def parse_form(fields: Mapping[str, str]) -> dict[str, SettingValue]:
    """Return the settings typed into the device page's form (blank: agent.toml applies)."""
    values: dict[str, object] = {}
    for name, spec in SPECS.items():
        text = fields.get(name, "").strip()
        if not text:
            continue
        if spec.kind is str:
            values[name] = text.upper()
            continue
        try:
            values[name] = float(text.replace(",", "."))  # "2,5" is how a Vietnamese officer writes 2.5
        except ValueError:
            raise domain.Invalid(_problem(name)) from None
    return check_desired(values)


def same(desired: Mapping[str, object], applied: Mapping[str, object] | None) -> bool:
    """Return True if the device applies exactly the desired settings (None: an agent without them)."""
    return dict(desired) == dict(applied or {})


def _send(ctx: PushContext, session: Session, device: Device) -> tuple[str, bytes]:
    """Sign and store the config command of a device's desired settings; return (id, payload)."""
    now = time.time()
    command = protocol.ConfigCommand(
        id=str(uuid.uuid4()),
        seq=commands.next_seq(session),
        issued_at=now,
        expires_at=now + CONFIG_TTL_S,
        zones=(device.zone,),
        settings=dict(device.settings or {}),
    )
    row = commands.store_signed(
        session, command.to_body(), ctx.signing_key, start_at=datetime.fromtimestamp(now, UTC), kind="config"
    )
    return command.id, row.payload.encode()


def _publish(ctx: PushContext, device_id: str, payload: bytes) -> bool:
    try:
        ctx.publisher.publish(protocol.device_command_topic(device_id), payload, expiry_s=CONFIG_TTL_S)
    except MqttError as exc:  # kept: the next heartbeat that shows other settings sends it again
        log.warning("config for %s not published now: %s", device_id, exc)
        return False
    return True


def set_desired(
    ctx: PushContext,
    user: Principal,
    device_id: str,
    values: Mapping[str, object],
    address: str,
    resender: Resender | None = None,
) -> tuple[dict[str, SettingValue], str, bool]:
    """Store a device's desired settings (admins, audited) and send them; return (settings, id, sent)."""
    user_admin.require_admin(user)
    desired = check_desired(values)
    with ctx.db.session() as session:
        device = tenancy.visible_device(session, user, device_id)  # another commune's: 404
        device.settings = desired
        audit.record(session, user.name, "device.settings", f"device:{device_id}", address, **desired)
        command_id, payload = _send(ctx, session, device)
    log.info("settings of %s set by %s: %s", device_id, user.name, desired or "agent.toml")
    if resender is not None:
        resender.sent(device_id)
    return desired, command_id, _publish(ctx, device_id, payload)


class Resender:
    """Send a device its settings again when a heartbeat shows others (first after RESEND_FIRST_S, then
    doubling up to RESEND_MAX_S while it still disagrees). In memory, per station worker: after a restart
    the first disagreeing heartbeat sends at once, which is what a reconnecting device needs."""

    def __init__(self, context: Callable[[], PushContext], clock: Callable[[], float] = time.monotonic):
        self._context = context
        self._clock = clock
        self._lock = threading.Lock()
        self._tries: dict[str, tuple[int, float]] = {}  # device id -> (attempts, not before)

    def sent(self, device_id: str) -> None:
        """Note a send made elsewhere (an admin saved the settings): the next check waits a little."""
        with self._lock:
            self._tries[device_id] = (1, self._clock() + RESEND_FIRST_S)

    def due(
        self, device_id: str, desired: Mapping[str, object], applied: Mapping[str, object] | None
    ) -> bool:
        """Return True if the settings should be sent now (and count the attempt)."""
        now = self._clock()
        with self._lock:
            if same(desired, applied):
                self._tries.pop(device_id, None)
                return False
            attempts, not_before = self._tries.get(device_id, (0, 0.0))
            if now < not_before:
                return False
            pause = min(RESEND_MAX_S, RESEND_FIRST_S * 2**attempts)
            self._tries[device_id] = (attempts + 1, now + pause)
            return True

    def __call__(
        self, device_id: str, desired: Mapping[str, object], applied: Mapping[str, object] | None
    ) -> None:
        """Check one heartbeat's applied settings against the desired ones; re-send if due."""
        if not self.due(device_id, desired, applied):
            return
        ctx = self._context()
        with ctx.db.session() as session:
            device = session.get(Device, device_id)
            if device is None or device.revoked:
                return
            command_id, payload = _send(ctx, session, device)
        log.info(
            "device %s applies %s, not %s: config %s sent again", device_id, applied, desired, command_id
        )
        _publish(ctx, device_id, payload)


class FormRow(NamedTuple):
    """One setting on the device page: what the admin set, what the device reports applying."""

    name: str
    label: str
    unit: str
    hint: str
    value: str  # in the input box ("" = agent.toml applies)
    applied: str  # what the last heartbeat says ("" = agent.toml's value)
    choices: tuple[str, ...]


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def form_rows(
    desired: Mapping[str, object] | None,
    applied: Mapping[str, object] | None,
    typed: Mapping[str, str] | None = None,
) -> list[FormRow]:
    """Return the form's rows: typed values (after an error) or the desired ones, next to the applied."""
    rows = []
    for name, spec in SPECS.items():
        label, unit = LABELS[name]
        hint = "" if spec.choices else f"{spec.low:g}–{spec.high:g}"
        value = typed[name] if typed is not None and name in typed else _text((desired or {}).get(name))
        shown = _text((applied or {}).get(name))
        rows.append(FormRow(name, label, unit, hint, value, shown, spec.choices))
    return rows
