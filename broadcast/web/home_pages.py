"""The officer's desk: the home page `/` after login."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from broadcast.http.deps import OptionalUserDep

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(user: OptionalUserDep) -> RedirectResponse:
    return RedirectResponse("/bulletins" if user else "/login", status_code=303)
