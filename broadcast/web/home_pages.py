"""The officer's desk: the home page `/` after login.

What is on air now per zone, what plays next today, devices with problems first, the latest alerts with
their delivery, the officer's own unfinished bulletins and (for approvers) the approval queue. Role- and
commune-aware through the viewer, like every page; the domain answers, home_view.py words it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from broadcast import alerts, bulletins, domain
from broadcast.alerts import delivery as alert_delivery
from broadcast.alerts import lifecycle
from broadcast.alerts import views as alert_views
from broadcast.backup import scheduled as backups
from broadcast.bulletins import review as bulletin_review
from broadcast.fleet import queries as fleet_queries
from broadcast.http.deps import OptionalUserDep, StationDep
from broadcast.live.records import ACTIVE
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.programme import publishing
from broadcast.programme import quiet as commune_quiet
from broadcast.reports import play_rows
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.station import Station
from broadcast.storage.models import Device
from broadcast.web import home_view
from broadcast.web.pages import page

router = APIRouter(include_in_schema=False)
LATEST_ALERTS = 3
MY_DRAFTS = 5
SCANNED = 100  # the newest bulletins looked through for the viewer's own unfinished ones


def _my_drafts(session: Session, viewer: Principal) -> list[Any]:
    """Return the viewer's own bulletins not yet approved (drafts, waiting, sent back), newest first."""
    newest = bulletins.list_bulletins(session, limit=SCANNED, viewer=viewer)
    mine = [b for b in newest if b.created_by == viewer.user_id and b.status != domain.BulletinStatus.READY]
    return mine[:MY_DRAFTS]


def _now_playing(session: Session, devices: list[Device]) -> dict[str, play_rows.What]:
    """Return what each online device's last heartbeat says is on the air, in words (never a command id)."""
    reported = {d.id: (d.health or {}).get("now_playing") for d in devices if d.online}
    known = play_rows.describe_commands(session, (r for r in reported.values() if isinstance(r, str) and r))
    found = {device_id: play_rows.on_air(known, r) for device_id, r in reported.items()}
    return {device_id: what for device_id, what in found.items() if what is not None}


def _desk(station: Station, viewer: Principal) -> dict[str, Any]:
    """Gather everything the desk shows for this viewer."""
    now = datetime.now(UTC)
    tz = tz_zone(station.settings.timezone)
    midnight = (now.astimezone(tz) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    with station.db.session() as session:
        zones = tenancy.visible_zones(session, viewer)
        names = {z.id: z.name for z in zones}
        devices = fleet_queries.active_devices(session, viewer)
        live = station.live.recent(session, viewer, 10) if station.live else []
        playing = _now_playing(session, devices)
        plans = publishing.load_plans(session)
        quiet = commune_quiet.rules(session, station.rules().quiet)  # each zone: its commune's
        entries = publishing.planned(plans, now, midnight, station.settings.timezone, quiet)
        by_id, tz_name = {p.slot_id: p for p in plans}, station.settings.timezone
        heard = (  # each entry with only the viewer's zones that will hear it
            replace(
                e,
                zones=tuple(
                    z for z in e.zones if z in names and publishing.sent_to(e, z, by_id, quiet, tz_name)
                ),
            )
            for e in entries
        )
        mine = [e for e in heard if e.zones]
        latest = alerts.list_alerts(session, viewer, limit=LATEST_ALERTS)
        for alert in latest:
            alerts.get_alert(session, alert.id)  # marks an expired one as such
        states = alert_views.states_of(session, latest, now)
        shown_alerts = [(a, states[a.id], alert_delivery.delivery(session, a, viewer)) for a in latest]
        drafts = _my_drafts(session, viewer)
        waiting = bulletin_review.approval_queue(session, viewer) if domain.can_approve(viewer.role) else []
        problems = fleet_queries.device_problems(session, viewer, now)
        runs = backups.runs(session, limit=5) if viewer.role == domain.Role.ADMIN else None
    backup_to = station.settings.backup.backup_to
    return {
        "backup": None if runs is None else home_view.backup_line(runs, backup_to, tz, now),
        "on_air": home_view.on_air(live, devices, names, ACTIVE, playing),
        "next_today": home_view.next_today(mine, now, tz, names),
        "problems": problems,
        "device_count": len(devices),
        "zone_names": names,
        "alerts": shown_alerts,
        "drafts": drafts,
        "waiting": waiting,
        "can_approve": domain.can_approve(viewer.role),
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, station: StationDep, user: OptionalUserDep) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return page(
        request,
        station,
        user,
        "home.html",
        **_desk(station, user),
        view=home_view,
        short=lifecycle.short_text,
        test_label=lifecycle.TEST_LABEL,
    )


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    """Browsers ask for /favicon.ico on their own (a page's <link rel=icon> names the SVG)."""
    return RedirectResponse("/static/favicon.svg", status_code=308)
