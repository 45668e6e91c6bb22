"""FastAPI application factory: settings in, a wired station out (tests build their own)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from broadcast.api import alerts, bulletin_files, bulletins, devices, dictionary, jobs, programme, system
from broadcast.api import audit as audit_api
from broadcast.api import live as live_api
from broadcast.api import tokens as tokens_api
from broadcast.config import Settings
from broadcast.http.errors import install_error_handlers
from broadcast.http.rate_limit import install_rate_limit
from broadcast.http.security import MB, install_body_guard, install_proxy_headers, install_security_headers
from broadcast.http.timing import install_request_timing
from broadcast.station import start_station, stop_station
from broadcast.web import routes as web_routes

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the station's services start in the lifespan and stop with it."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        station = start_station(settings)
        app.state.station = station
        try:
            yield
        finally:
            stop_station(station)

    app = FastAPI(
        title="Đài truyền thanh xã — loa xã",
        description="Station API: bulletins, approval, programme, devices, proof of play.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    web_routes.install_page_refusals(app)
    install_body_guard(app, upload_limit=settings.upload_max_bytes + MB)  # + room for the form fields
    install_rate_limit(app, settings.guards)  # outside the body guard: a refused write's body is never read
    install_security_headers(app)
    install_proxy_headers(app, settings.trusted_proxies)  # every layer inside sees the real client
    install_request_timing(app)  # outermost: refusals are timed too (/metrics)
    routers = (
        *(bulletins, bulletin_files, jobs, programme, alerts, devices, dictionary),
        *(tokens_api, audit_api, live_api, system, web_routes),
    )
    for module in routers:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    return app
