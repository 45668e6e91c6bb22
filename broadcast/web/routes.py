"""All Vietnamese pages, one router."""

from __future__ import annotations

from fastapi import APIRouter

from broadcast.web import alert_pages, auth_pages, bulletin_pages, programme_pages, station_pages

router = APIRouter(include_in_schema=False)
for module in (alert_pages, auth_pages, bulletin_pages, programme_pages, station_pages):
    router.include_router(module.router)
