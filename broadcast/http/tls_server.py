"""Serve one app on plain HTTP and, beside it, on HTTPS: one process, one event loop, one lifespan.

Two uvicorn servers share the loop. The HTTP one runs the app's lifespan (database, broker, scheduler);
the HTTPS one has its lifespan off, starts only once the HTTP one has started (the app is ready) and
stops first (its requests finish before the lifespan shuts the station down). Signals are caught here
once for both. Agents and API clients keep using HTTP exactly as before. The HTTPS socket is bound
before anything starts, so a taken port is one clear error, not a half-started station.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn
from uvicorn._compat import asyncio_run  # asyncio.run with uvicorn's loop choice (3.11 lacks it)

from broadcast.http.https import WILDCARDS, HttpsFiles

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 3600.0  # new LAN address, names or an operator's renewed files: picked up within an hour
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"  # TLS 1.2 forward-secret AEAD only; TLS 1.3 suites are unaffected


@dataclass(frozen=True)
class HttpsListener:
    """The HTTPS side: a bound socket, the files it serves, and how to look for newer ones."""

    sock: socket.socket
    files: HttpsFiles
    refresh: Callable[[], HttpsFiles | None]  # new files to serve (reissued, replaced), or None


class _Server(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to `serve` (two servers cannot both own them)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_https(host: str, port: int) -> socket.socket:
    """Bind the HTTPS port now (OSError if taken or not allowed); `serve` listens on it later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host in WILDCARDS:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # "::" takes IPv4 too
        sock.bind((host or "0.0.0.0", port))  # noqa: S104 - the operator's --host
    except OSError:
        sock.close()
        raise
    return sock


def _config(app: Any, host: str, port: int, log_level: str, **extra: Any) -> uvicorn.Config:
    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1 (its default), so any local
    # process could pick its address; the app believes only BROADCAST_TRUSTED_PROXIES (api/security.py).
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,
        forwarded_allow_ips="",
        **extra,
    )


def serve(app: Any, host: str, port: int, log_level: str, https: HttpsListener | None) -> None:
    """Serve `app` on HTTP host:port and, with `https`, on its socket too, until SIGINT/SIGTERM."""
    plain = _Server(_config(app, host, port, log_level))
    secure = None
    if https is not None:
        secure = _Server(
            _config(
                app,
                host,
                https.sock.getsockname()[1],
                log_level,
                lifespan="off",
                ssl_certfile=str(https.files.cert),
                ssl_keyfile=str(https.files.key),
                ssl_ciphers=CIPHERS,
            )
        )
    servers = [s for s in (secure, plain) if s is not None]

    def stop(signum: int, frame: FrameType | None) -> None:
        for server in servers:
            server.force_exit = server.should_exit and signum == signal.SIGINT  # a second Ctrl+C
            server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        asyncio_run(_serve_both(plain, secure, https), loop_factory=plain.config.get_loop_factory())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _serve_both(plain: _Server, secure: _Server | None, https: HttpsListener | None) -> None:
    plain_task = asyncio.create_task(plain.serve())
    if secure is None or https is None:
        await plain_task
        return
    plain_task.add_done_callback(lambda _: setattr(secure, "should_exit", True))
    while not plain.started and not plain_task.done():
        await asyncio.sleep(0.05)
    if plain_task.done():  # startup failed or stopped before it was up
        https.sock.close()
        await plain_task
        return
    secure.config.load()
    context = secure.config.ssl
    assert context is not None
    refresher = asyncio.create_task(_refresh_loop(https, context))
    try:
        await secure.serve(sockets=[https.sock])
    finally:
        refresher.cancel()
        plain.should_exit = True  # HTTPS stopped (signal or failure): the station stops, lifespan last
        await plain_task


async def _refresh_loop(https: HttpsListener, context: ssl.SSLContext) -> None:
    """Every REFRESH_EVERY_S, serve newer certificate files to new connections (old ones keep theirs)."""
    while True:
        await asyncio.sleep(REFRESH_EVERY_S)
        try:
            files = await asyncio.to_thread(https.refresh)
            if files is not None:
                context.load_cert_chain(files.cert, files.key)
                log.info("HTTPS certificate reloaded from %s", files.cert)
        except Exception:  # a failed refresh must never stop the station
            log.exception("HTTPS certificate refresh failed; the current one is kept")
