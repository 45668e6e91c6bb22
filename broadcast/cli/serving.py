"""`broadcast serve`: the station on HTTP and on its own HTTPS, and the banner saying where to open it."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

from broadcast.config import Settings
from broadcast.http.https import (
    WILDCARDS,
    HttpsError,
    HttpsFiles,
    certificate_names,
    check_certificate,
    fingerprint,
    https_base,
    https_certificate,
    lan_addresses,
)
from broadcast.http.tls_server import HttpsListener, bind_https, serve

log = logging.getLogger(__name__)


def run_station(settings: Settings, host: str, port: int, log_level: str) -> int:
    """Serve the station until SIGINT/SIGTERM; 2 with a clear message if HTTPS cannot start."""
    try:
        https = https_listener(settings, host) if settings.web.https_port else None
    except HttpsError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr, flush=True)
        return 2
    print(f"Đài truyền thanh xã: mở {settings.public_url}/ trong trình duyệt (Ctrl+C để dừng).", flush=True)
    if https is not None:
        print(https_banner(settings, host, port, https.files), flush=True)
    from broadcast.app import create_app  # after the checks: a refused start touches nothing
    from broadcast.backup.running import station_lock
    from broadcast.fleet import station_address

    if settings.public_url:  # what `broadcast device add` writes into agent.toml when run on its own
        station_address.record(settings.data_dir, settings.public_url)
    with station_lock(settings.data_dir):  # `broadcast restore` refuses to replace a serving station's data
        serve(create_app(settings), host, port, log_level, https)
    return 0


def https_listener(settings: Settings, host: str) -> HttpsListener:
    """Issue or check the certificate and bind the HTTPS port; HttpsError says what is wrong."""
    web = settings.web

    def issue() -> tuple[HttpsFiles, str | None]:
        return https_certificate(web, certificate_names(web, settings.public_url, host))

    files, reason = issue()
    if reason is not None:
        log.info("HTTPS certificate issued by the station CA (%s): %s", reason, files.cert)
    if warning := check_certificate(files):
        print(warning, file=sys.stderr, flush=True)
    try:
        sock = bind_https(host, web.https_port)
    except OSError as exc:
        raise HttpsError(
            f"không mở được cổng HTTPS {web.https_port} trên {host or '*'}: {exc.strerror or exc}. "
            "Đặt BROADCAST_HTTPS_PORT sang cổng khác, hoặc 0 để tắt HTTPS."
        ) from exc
    refresh = _reissue(issue) if files.ca is not None else _changed(files)
    return HttpsListener(sock, files, refresh)


def _reissue(issue: Callable[[], tuple[HttpsFiles, str | None]]) -> Callable[[], HttpsFiles | None]:
    """Return a check that renews the station's certificate (names changed, end near): the new files."""

    def refresh() -> HttpsFiles | None:
        files, reason = issue()
        if reason is not None:
            log.info("HTTPS certificate reissued (%s)", reason)
            return files
        return None

    return refresh


def _changed(files: HttpsFiles) -> Callable[[], HttpsFiles | None]:
    """Return a check that notices the operator's files being replaced (e.g. by certbot): the files."""

    def stamp() -> tuple[int, int]:
        return os.stat(files.cert).st_mtime_ns, os.stat(files.key).st_mtime_ns

    seen = stamp()

    def refresh() -> HttpsFiles | None:
        nonlocal seen
        now = stamp()
        if now == seen:
            return None
        check_certificate(files)  # HttpsError (a ValueError's cousin) is logged by the caller
        seen = now
        return files

    return refresh


def https_banner(settings: Settings, host: str, http_port: int, files: HttpsFiles) -> str:
    """Return where the station answers over HTTPS, and where phones learn to trust it (Vietnamese)."""
    port = settings.web.https_port
    lan = lan_addresses() if host in WILDCARDS else []
    public_host = urlsplit(settings.public_url or "").hostname or "127.0.0.1"
    hosts = [public_host, *lan] if host in WILDCARDS else [host]
    addresses = " · ".join(f"{https_base(port, h)}/" for h in dict.fromkeys(hosts))
    text = f"HTTPS (micrô cho phát trực tiếp và «Ghi âm» trên điện thoại, máy khác): {addresses}"
    if files.ca is not None:
        phone = f"http://{lan[0]}:{http_port}" if lan else settings.public_url  # what a phone can open
        text += (
            "\nChứng chỉ do trạm tự cấp: trên mỗi điện thoại, cài chứng chỉ gốc của trạm một lần "
            f"theo hướng dẫn ở {phone}/https\n"
            f"Mã nhận dạng (SHA-256) của chứng chỉ gốc: {fingerprint(files.ca.read_bytes())}"
        )
    return text
