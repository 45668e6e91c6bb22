"""The commune's settings page for its admin: quiet hours (only emergencies play then), or none."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from broadcast.http.deps import AddressDep, StationDep
from broadcast.people.accounts import Principal
from broadcast.programme import quiet as commune_quiet
from broadcast.storage.models import DEFAULT_COMMUNE
from broadcast.web.forms import shown_again
from broadcast.web.pages import CsrfChecked, PageAdmin, page

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


def _commune_page(request: Request, station: StationDep, admin: Principal, **extra: Any) -> Response:
    with station.db.session() as session:
        found = commune_quiet.of_commune(session, admin.commune, station.rules().quiet)
    default = station.rules().quiet
    extra.setdefault("form", {"enabled": found.quiet is not None, "start": found.start, "end": found.end})
    return page(
        request,
        station,
        admin,
        "admin_commune.html",
        commune=found,
        station_default=default.label() if default else "",
        **extra,
    )


@router.get("/admin/commune", response_class=HTMLResponse)
def commune_settings(request: Request, station: StationDep, admin: PageAdmin) -> Response:
    return _commune_page(request, station, admin)


@router.post("/admin/commune", response_class=HTMLResponse)
def commune_save(
    request: Request,
    station: StationDep,
    admin: PageAdmin,
    address: AddressDep,
    _csrf: CsrfChecked,
    quiet: Text = "on",
    start: Text = "",
    end: Text = "",
) -> Response:
    """Store the commune's own quiet hours (or none), then republish the programme with them."""
    form = {"enabled": quiet != "off", "start": start, "end": end}
    with shown_again(partial(_commune_page, request, station, admin, form=form)):
        text = commune_quiet.parse_span(quiet != "off", start, end)
        with station.db.session() as session:
            commune_quiet.set_quiet_hours(session, admin, admin.commune or DEFAULT_COMMUNE, text, address)
    station.refresh_programme()
    notice = f"Đã lưu: giờ yên tĩnh {text.replace('-', '–')}." if text else "Đã lưu: không có giờ yên tĩnh."
    return _commune_page(request, station, admin, notice=notice)
