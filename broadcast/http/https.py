"""The station's own HTTPS: its certificate (the operator's, or one the station's CA issues) and addresses.

Browsers give the microphone only to a secure origin: http://127.0.0.1 is one, a phone on the commune
LAN at http://192.168.x.y is not. So `broadcast serve` also serves the app over HTTPS (http/tls_server.py)
with a certificate for every name a phone may use: localhost, the loopback addresses, the machine's host
name and LAN addresses, the host of public_url and BROADCAST_HTTPS_NAMES. Officers install the station's
CA once from `/ca.crt` (web/https_pages.py); the server certificate is renewed without them noticing.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import re
import socket
import ssl
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from broadcast.mqtt import tls

if TYPE_CHECKING:
    from starlette.requests import Request

    from broadcast.config import Settings, WebSettings

log = logging.getLogger(__name__)

WILDCARDS = ("0.0.0.0", "", "::")  # noqa: S104 - "listen everywhere", never an address to connect to
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
_DNS_NAME = re.compile(r"^[a-z0-9_*]([a-z0-9_.-]*[a-z0-9])?$")


class HttpsError(Exception):
    """The HTTPS certificate cannot be used; the message (Vietnamese) says which file and what to do."""


@dataclass(frozen=True)
class HttpsFiles:
    """The certificate chain and key the HTTPS listener serves; `ca` is None for an operator's own."""

    cert: Path
    key: Path
    ca: Path | None


def lan_addresses() -> list[str]:
    """Return the machine's IPv4 addresses, loopback excluded (one per interface; Linux ioctl)."""
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue  # down, or no IPv4 address
            address = socket.inet_ntoa(answer[20:24])
            if not ipaddress.ip_address(address).is_loopback:
                found.append(address)
    return found


def host_names() -> list[str]:
    """Return the machine's host name, and NAME.local (mDNS) for a bare name."""
    name = socket.gethostname().lower()
    if not name or name == "localhost":
        return []
    return [name] if "." in name else [name, f"{name}.local"]


def _usable(name: str) -> bool:
    """True for an IP address or an ASCII host name a certificate can hold."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return bool(_DNS_NAME.match(name))
    return True


def certificate_names(web: WebSettings, public_url: str | None, bind_host: str) -> tuple[str, ...]:
    """Return every name the station's own HTTPS certificate covers (loopback, this machine, extras)."""
    names = [*LOOPBACK_NAMES, *host_names(), *lan_addresses(), *web.https_names]
    if bind_host not in WILDCARDS:
        names.append(bind_host)
    if public_url and (public_host := urlsplit(public_url).hostname):
        names.append(public_host)
    cleaned = (n.strip().strip("[]").lower() for n in names)
    usable = [n for n in cleaned if n and _usable(n)]
    skipped = sorted({n.strip() for n in web.https_names} - set(usable))
    if skipped:
        log.warning("https_names not usable in a certificate (ASCII names or addresses only): %s", skipped)
    return tuple(dict.fromkeys(usable))


def https_certificate(
    web: WebSettings, names: tuple[str, ...], now: datetime | None = None
) -> tuple[HttpsFiles, str | None]:
    """Return the files to serve and why the station's certificate was (re)issued (None: kept or own).

    The operator's BROADCAST_TLS_CERT_FILE/KEY_FILE win; otherwise the station's CA issues one for
    `names` under secrets/https/ (key 0600, written atomically), renewed when names change or it nears
    its end.
    """
    if web.tls_cert_file or web.tls_key_file:
        if not (web.tls_cert_file and web.tls_key_file):
            raise HttpsError(
                "BROADCAST_TLS_CERT_FILE và BROADCAST_TLS_KEY_FILE phải được đặt cùng nhau "
                "(hoặc bỏ trống cả hai để trạm tự cấp chứng chỉ)."
            )
        return HttpsFiles(web.tls_cert_file, web.tls_key_file, None), None
    ca = tls.ensure_ca(tls.station_ca_dir(web.secrets_dir), now)
    files, reason = tls.ensure_server_cert(ca, web.secrets_dir / "https", names, now)
    return HttpsFiles(files.cert, files.key, files.ca), reason


def check_certificate(files: HttpsFiles, now: datetime | None = None) -> str | None:
    """Load the pair as the HTTPS listener will; raise HttpsError saying why it cannot; warn of its end."""
    first = _load_pair(files)
    left = first.not_valid_after_utc - (now or datetime.now(UTC))
    if left.total_seconds() <= 0:
        return f"Cảnh báo: chứng chỉ HTTPS {files.cert} đã hết hạn; trình duyệt sẽ từ chối."
    if left < tls.RENEW_BEFORE:
        return f"Cảnh báo: chứng chỉ HTTPS {files.cert} còn {left.days} ngày là hết hạn."
    return None


def _load_pair(files: HttpsFiles) -> x509.Certificate:
    """Return the first certificate of the chain; HttpsError names the file at fault and what to do."""
    why = ""
    try:
        first = x509.load_pem_x509_certificate(files.cert.read_bytes())
    except OSError as exc:
        why = f"không đọc được tệp {files.cert} ({exc.strerror or exc})"
    except ValueError:
        why = f"tệp {files.cert} không phải chứng chỉ PEM"
    if not why:
        try:
            serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        except OSError as exc:
            why = f"không đọc được tệp {files.key} ({exc.strerror or exc})"
        except (ValueError, TypeError):
            why = f"tệp {files.key} không phải khoá riêng PEM không đặt mật khẩu"
    if not why:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(files.cert, files.key)
        except ssl.SSLError as exc:
            why = f"khoá {files.key} không khớp với chứng chỉ ({exc.reason or exc})"
    if why:
        raise HttpsError(
            f"Không dùng được chứng chỉ HTTPS {files.cert}: {why}. Hãy sửa BROADCAST_TLS_CERT_FILE/"
            "BROADCAST_TLS_KEY_FILE, bỏ trống cả hai để trạm tự cấp chứng chỉ, hoặc đặt "
            "BROADCAST_HTTPS_PORT=0 để tắt HTTPS."
        )
    return first


def station_ca_pem(web: WebSettings) -> bytes | None:
    """Return the station CA certificate officers install, or None (an operator's own cert, or no CA yet)."""
    if web.tls_cert_file:
        return None
    path = tls.station_ca_dir(web.secrets_dir) / "ca.crt"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def fingerprint(pem: bytes) -> str:
    """Return a certificate's SHA-256 fingerprint as phones show it (AB:CD:...)."""
    digest = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)


def https_base(https_port: int, host: str) -> str:
    """Return https://HOST[:PORT] (brackets around an IPv6 address, no port for 443)."""
    netloc = f"[{host}]" if ":" in host else host
    return f"https://{netloc}" if https_port == 443 else f"https://{netloc}:{https_port}"


def is_secure_origin(request: Request) -> bool:
    """True if a browser treats this page's origin as secure (HTTPS, or a loopback host): it gets the mic."""
    if request.url.scheme == "https":
        return True
    host = (request.url.hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def https_url(settings: Settings, request: Request) -> str | None:
    """Return this page's address on the station's own HTTPS, or None (HTTPS off, or already HTTPS).

    The host is the one the browser used (its Host header), which the certificate covers when it is this
    machine's name or address, public_url's host or one of BROADCAST_HTTPS_NAMES.
    """
    port = settings.web.https_port
    host = request.url.hostname
    if not port or not host or request.url.scheme == "https":
        return None
    base = urlsplit(https_base(port, host.strip("[]")))
    return urlunsplit((base.scheme, base.netloc, request.url.path, request.url.query, ""))
