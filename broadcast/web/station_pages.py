"""The commune dictionary (the devices pages are in device_pages.py)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broadcast.bulletins import dictionary
from broadcast.http.deps import AddressDep, StationDep
from broadcast.people.accounts import Principal
from broadcast.web.forms import shown_again
from broadcast.web.pages import CsrfChecked, PageUser, page

router = APIRouter(include_in_schema=False)


def _dictionary(
    request: Request, station: StationDep, user: Principal, form: dict[str, str], **extra: Any
) -> Response:
    with station.db.session() as session:
        entries = dictionary.list_entries(session)
    return page(request, station, user, "dictionary.html", entries=entries, form=form, **extra)


@router.get("/dictionary", response_class=HTMLResponse)
def dictionary_page(request: Request, station: StationDep, user: PageUser, term: str = "") -> Response:
    return _dictionary(request, station, user, {"term": term})


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
    again = partial(_dictionary, request, station, user, {"term": term, "reading": reading})
    with shown_again(again, code=422), station.db.session() as session:
        if delete:
            dictionary.delete_entry(session, user.name, term, address)
        else:
            dictionary.set_entry(session, user.name, term, reading, address)
    return RedirectResponse("/dictionary", status_code=303)
