"""Admin pages, part one: the 403 page every admin page shares, and accounts (list, add, lock, reset)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from broadcast import domain
from broadcast.http.deps import AddressDep, StationDep
from broadcast.people import names, tenancy
from broadcast.people import users as user_admin
from broadcast.people.accounts import Principal
from broadcast.storage.models import DEFAULT_COMMUNE
from broadcast.web.forms import shown_again
from broadcast.web.pages import CsrfChecked, PageAdmin, page

router = APIRouter(include_in_schema=False)
ROLES = [(r.value, domain.ROLE_LABELS[r]) for r in domain.Role]


def no_store(response: Response) -> Response:
    """Keep a page that shows a one-time secret out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _users_page(request: Request, station: StationDep, user: Principal, **extra: Any) -> Response:
    with station.db.session() as session:
        users = user_admin.list_users(session, user)
        communes = tenancy.visible_communes(session, user)
    province = user_admin.PROVINCE if user.commune is None else None
    choices = names.commune_choices(communes, province)
    labels = {c.id: names.commune_label(c.id, c.name) for c in communes}
    extra.setdefault("form", {"role": "editor", "commune": user.commune or DEFAULT_COMMUNE})
    return page(
        request,
        station,
        user,
        "admin_users.html",
        users=users,
        roles=ROLES,
        communes=choices,
        commune_labels=labels,
        several_communes=len(communes) > 1,
        **extra,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, station: StationDep, admin: PageAdmin) -> Response:
    return _users_page(request, station, admin)


@router.post("/admin/users", response_class=HTMLResponse)
def user_add(
    request: Request,
    station: StationDep,
    admin: PageAdmin,
    address: AddressDep,
    _csrf: CsrfChecked,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    commune: Annotated[str, Form()] = "",
) -> Response:
    """Create an account; on a refusal the form comes back with what was typed (never the passwords)."""
    form = {"name": name, "role": role, "commune": commune}
    again = partial(_users_page, request, station, admin, form=form)
    with shown_again(again), station.db.session() as session:
        user_admin.create_user(session, admin, name.strip(), role, password, confirm, commune, address)
    return _users_page(request, station, admin, notice=f"Đã tạo tài khoản {name.strip()}.")


@router.post("/admin/users/{name}/state", response_class=HTMLResponse)
def user_state(
    request: Request,
    name: str,
    station: StationDep,
    admin: PageAdmin,
    address: AddressDep,
    _csrf: CsrfChecked,
    action: Annotated[str, Form()] = "",
) -> Response:
    """Lock or unlock an account, or give it a new password shown once."""
    extra: dict[str, Any] = {}
    with shown_again(partial(_users_page, request, station, admin)), station.db.session() as session:
        if action in ("disable", "enable"):
            user_admin.set_disabled(session, admin, name, action == "disable", address)
            done = "Đã khoá" if action == "disable" else "Đã mở khoá"
            extra["notice"] = f"{done} tài khoản {name}."
        elif action == "reset":
            extra["new_password"] = (name, user_admin.reset_password(session, admin, name, address))
        else:
            raise domain.Invalid("Thao tác không hợp lệ.")
    return no_store(_users_page(request, station, admin, **extra))
