"""Reports: plays per day per zone (charts + tables), device availability and uptime, skipped plays, CSVs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from broadcast import domain
from broadcast.fleet import zones
from broadcast.http.deps import StationDep
from broadcast.people import tenancy
from broadcast.people.accounts import Principal
from broadcast.reports import play_rows, uptime
from broadcast.reports import queries as report_data
from broadcast.reports import tallies as reporting
from broadcast.scheduler.slots import zone as tz_zone
from broadcast.storage.models import Device
from broadcast.web.pages import PageUser, page
from broadcast.web.svg_chart import BarChart, bar_chart

router = APIRouter(include_in_schema=False)
MAX_ZONE_CHARTS = 40  # past this, the page asks to pick a zone (a province has thousands)


@dataclass(frozen=True)
class ZoneChart:
    zone: str
    name: str
    counts: list[reporting.DayCount]
    chart: BarChart


def _devices_in(session_devices: list[Device], zone: str, start: datetime) -> list[Device]:
    """Return the devices that served in the period: not revoked before it began, in the chosen zone."""
    return [
        d
        for d in session_devices
        if (not zone or d.zone == zone)
        and (not d.revoked or (d.revoked_at is not None and d.revoked_at > start))
    ]


def _period(since: str, until: str, tz_name: str) -> reporting.Period:
    return reporting.parse_period(since, until, datetime.now(tz_zone(tz_name)).date())


def _counts(
    station: StationDep, user: Principal, period: reporting.Period, zone: str
) -> tuple[dict[str, list[reporting.DayCount]], dict[str, str], list[Device]]:
    tz = tz_zone(station.settings.timezone)
    start, end = period.bounds(tz)
    with station.db.session() as session:
        zone_rows = tenancy.visible_zones(session, user)
        if zone and zone not in {z.id for z in zone_rows}:
            raise domain.NotFound(f"Không có vùng {zone!r}.")
        devices = _devices_in(zones.visible_devices(session, user), zone, start)
        rows = report_data.played_rows(session, devices, start, end)
    names = {z.id: z.name or z.id for z in zone_rows}
    wanted = [zone] if zone else sorted(names)
    return reporting.plays_per_day(rows, period, wanted, tz), names, devices


@router.get("/reports", response_class=HTMLResponse)
def reports(
    request: Request,
    station: StationDep,
    user: PageUser,
    since: str = "",
    until: str = "",
    zone: str = "",
) -> Response:
    """Show the period's plays per zone, availability, problems, and the CSV exports."""
    error, code = "", 200
    try:
        period = _period(since, until, station.settings.timezone)
    except domain.DomainError as exc:
        error, code = str(exc), exc.status_code
        period = _period("", "", station.settings.timezone)
    try:
        per_zone, names, devices = _counts(station, user, period, zone)
    except domain.NotFound as exc:
        error, code, zone = str(exc), 404, ""
        per_zone, names, devices = _counts(station, user, period, zone)
    start, end = period.bounds(tz_zone(station.settings.timezone))
    now = datetime.now(UTC)
    with station.db.session() as session:
        availability = report_data.availability(session, devices, start, end, now)
        online_share = report_data.heartbeat_uptime(session, devices, start, end, now)
        problems = report_data.problems(session, devices, start, end)
        named = play_rows.describe_commands(session, (p.command_id for p in problems))
        skipped = report_data.skipped_slots(session, user, zone, start, end)
    form = {"since": period.first.isoformat(), "until": period.last.isoformat(), "zone": zone}
    return page(
        request,
        station,
        user,
        "reports.html",
        form=form,
        zone_names=names,
        **_charts(per_zone, names, period),
        availability=availability,
        uptime=online_share,
        heartbeat_every_s=f"{uptime.HEARTBEAT_INTERVAL_S:g}",
        heartbeats_per_hour=uptime.heartbeats_per_hour(),
        device_by_id={d.id: d for d in devices},
        problems=[
            (p, named.get(p.command_id, play_rows.UNKNOWN), play_rows.reason_text(p.outcome, p.reason))
            for p in problems
        ],
        skipped=skipped,
        **_exports(form, start, end),
        error=error,
        code=code,
    )


def _charts(
    per_zone: dict[str, list[reporting.DayCount]], names: dict[str, str], period: reporting.Period
) -> dict[str, object]:
    """Return the total chart, one small chart per zone (up to a limit), and the totals table."""
    labels = [d.strftime("%d/%m") for d in period.days]
    totals = reporting.totals_per_day(per_zone, period)
    small = [
        ZoneChart(
            z, names.get(z, z), counts, bar_chart(labels, [c.items for c in counts], width=320, height=160)
        )
        for z, counts in list(per_zone.items())[:MAX_ZONE_CHARTS]
    ]
    return {
        "total": bar_chart(labels, [c.items for c in totals]),
        "totals": totals,
        "charts": small,
        "more_zones": max(0, len(per_zone) - MAX_ZONE_CHARTS),
    }


def _exports(form: dict[str, str], start: datetime, end: datetime) -> dict[str, str]:
    """Return the links of the CSV files for what the page shows."""
    zone = {"zone": form["zone"]} if form["zone"] else {}
    plays = {"since": start.isoformat(), "until": end.isoformat(), "limit": "100000", **zone}
    return {
        "plays_csv": "/api/plays.csv?" + urlencode(plays),
        "daily_csv": "/api/reports/daily.csv?" + urlencode({"day": form["until"], **zone}),
        "per_day_csv": "/reports/plays-per-day.csv?" + urlencode(form),
        "skipped_csv": "/reports/skipped-slots.csv?" + urlencode(form),
    }


@router.get("/reports/plays-per-day.csv", response_class=PlainTextResponse)
def plays_per_day_csv(
    station: StationDep, user: PageUser, since: str = "", until: str = "", zone: str = ""
) -> Response:
    """Export the per-day-per-zone counts of the period as CSV."""
    period = _period(since, until, station.settings.timezone)
    per_zone, names, _ = _counts(station, user, period, zone)
    filename = f"luot-phat-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return PlainTextResponse(
        reporting.per_day_csv(per_zone, names),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/reports/skipped-slots.csv", response_class=PlainTextResponse)
def skipped_slots_csv(
    station: StationDep, user: PageUser, since: str = "", until: str = "", zone: str = ""
) -> Response:
    """Export the programme occurrences the station did not send in the period, with reasons, as CSV."""
    tz = tz_zone(station.settings.timezone)
    period = _period(since, until, station.settings.timezone)
    start, end = period.bounds(tz)
    with station.db.session() as session:
        names = {z.id: z.name or z.id for z in tenancy.visible_zones(session, user)}
        if zone and zone not in names:
            raise domain.NotFound(f"Không có vùng {zone!r}.")
        rows = report_data.skipped_slots(session, user, zone, start, end, limit=100_000)
    filename = f"khung-gio-bo-qua-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return PlainTextResponse(
        reporting.skipped_csv(rows, tz, names),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
