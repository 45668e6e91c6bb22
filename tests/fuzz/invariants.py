"""Database invariants that must hold after any request, however hostile: nothing half-stored."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import protocol
from broadcast.station import Station
from broadcast.storage.models import (
    Abbreviation,
    Alert,
    AuditEntry,
    AuthToken,
    Bulletin,
    Clip,
    Command,
    Device,
    Slot,
    SlotItem,
    User,
    Zone,
)


def _clip_whole(session: Session, station: Station, sha: str, owner: str) -> None:
    clip = session.get(Clip, sha)
    assert clip is not None, f"{owner}: no clip row {sha}"
    assert station.clips.exists(sha), f"{owner}: clip {sha} missing from the clip store"
    assert station.clips.size(sha) == clip.size, f"{owner}: stored clip size differs from its row"


def check(station: Station) -> None:
    """Assert every stored thing is whole and consistent with what refers to it."""
    public_key = station.keys.public_key_b64()
    with station.db.session() as session:
        audited = set(session.scalars(select(AuditEntry.target)))
        for bulletin in session.scalars(select(Bulletin)):
            owner = f"bulletin {bulletin.id}"
            _clip_whole(session, station, bulletin.clip_sha256, owner)
            assert bulletin.zones, f"{owner} has no zones"
            assert f"bulletin:{bulletin.id}" in audited, f"{owner} was stored without an audit entry"
        for alert in session.scalars(select(Alert)):
            # Heard first: the speech may still be synthesised (or have failed, saying why) after the siren.
            if alert.clip_sha256 is not None:
                _clip_whole(session, station, alert.clip_sha256, f"alert {alert.id}")
            else:
                assert alert.speech_status in ("pending", "failed"), f"alert {alert.id}: no speech"
                assert alert.speech_status == "pending" or alert.speech_error, (
                    f"alert {alert.id}: failed silently"
                )
            if alert.speech_command_id is not None:
                assert session.get(Command, alert.speech_command_id) is not None, (
                    f"alert {alert.id}: speech lost"
                )
            if alert.status == "sent":
                assert alert.command_id, f"alert {alert.id} sent without a command"
                assert session.get(Command, alert.command_id) is not None, f"alert {alert.id}: command lost"
        for command in session.scalars(select(Command)):
            body = protocol.verify_message(command.payload.encode(), public_key)  # raises if not signed
            assert body["id"] == command.id and body["seq"] == command.seq, f"command {command.id} differs"
        for slot in session.scalars(select(Slot).where(Slot.active.is_(True))):
            items = list(session.scalars(select(SlotItem).where(SlotItem.slot_id == slot.id)))
            assert items, f"slot {slot.id} is active with no items"
            assert slot.zones, f"slot {slot.id} has no zones"
            for item in items:
                if item.kind == "bulletin":
                    assert item.bulletin_id is not None, f"slot item {item.id} has no bulletin"
                    assert session.get(Bulletin, item.bulletin_id) is not None, f"slot item {item.id}: gone"
                else:
                    assert item.stream_url, f"slot item {item.id} is neither a bulletin nor a stream"


def fingerprint(station: Station) -> str:
    """Return a digest of what people change through the API (not what the station's loops update)."""
    rows: list[object] = []
    with station.db.session() as session:
        rows += [(u.id, u.name, u.role, u.disabled, u.password_hash) for u in session.scalars(select(User))]
        rows += [(t.id, t.revoked_at) for t in session.scalars(select(AuthToken))]
        rows += [
            (b.id, b.title, b.text, b.status, b.clip_sha256, b.zones, b.approved_by, b.priority)
            for b in session.scalars(select(Bulletin))
        ]
        rows += [
            (s.id, s.active, s.zones, s.start_at, s.daily_at, s.days) for s in session.scalars(select(Slot))
        ]
        rows += [
            (i.id, i.slot_id, i.position, i.bulletin_id, i.stream_url)
            for i in session.scalars(select(SlotItem))
        ]
        rows += [
            (a.id, a.text, a.zones, a.confirmed_by, a.cancelled_by) for a in session.scalars(select(Alert))
        ]
        rows += [(e.term, e.reading) for e in session.scalars(select(Abbreviation))]
        rows += [(d.id, d.zone, d.revoked) for d in session.scalars(select(Device))]
        rows += [(z.id, z.name) for z in session.scalars(select(Zone))]
    return hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode()).hexdigest()
