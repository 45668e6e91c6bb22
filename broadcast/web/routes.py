"""All Vietnamese pages, one router."""

from __future__ import annotations

from fastapi import APIRouter

from broadcast.web import auth_pages, bulletin_pages, programme_pages, station_pages

router = APIRouter(include_in_schema=False)
for module in (auth_pages, bulletin_pages, programme_pages, station_pages):
    router.include_router(module.router)
