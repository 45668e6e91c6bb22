"""The commune dictionary (the devices pages are in device_pages.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast import domain
from broadcast.bulletins import dictionary
from broadcast.http.deps import AddressDep, StationDep
from broadcast.web.pages import CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)


@router.get("/dictionary", response_class=HTMLResponse)
def dictionary_page(request: Request, station: StationDep, user: PageUser, term: str = "") -> Response:
    with station.db.session() as session:
        entries = dictionary.list_entries(session)
    return page(request, station, user, "dictionary.html", entries=entries, form={"term": term})


@router.post("/dictionary", response_class=HTMLResponse)
def dictionary_save(
    request: Request,
    station: StationDep,
    user: PageUser,
    address: AddressDep,
    _csrf: CsrfChecked,
    term: Annotated[str, Form()] = "",
    reading: Annotated[str, Form()] = "",
    delete: Annotated[str, Form()] = "",
) -> Response:
    try:
        with station.db.session() as session:
            if delete:
                dictionary.delete_entry(session, user.name, term, address)
            else:
                dictionary.set_entry(session, user.name, term, reading, address)
    except domain.DomainError as exc:
        with station.db.session() as session:
            entries = dictionary.list_entries(session)
        form = {"term": term, "reading": reading}
        return page(
            request, station, user, "dictionary.html", entries=entries, form=form, error=str(exc), code=422
        )
    return RedirectResponse("/dictionary", status_code=303)
