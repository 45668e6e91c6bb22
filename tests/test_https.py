"""The station's own HTTPS: a real `broadcast serve` answers over TLS with a certificate its /ca.crt
verifies (127.0.0.1 and localhost), keeps HTTP as it was, serves an operator's certificate, opens no
TLS port when HTTPS is off, and refuses a broken certificate with a clear message before starting."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request

from broadcast.cli.serving import https_banner
from broadcast.config import Settings
from broadcast.http import https
from broadcast.mqtt import tls
from tests.support.free_port import free_port
from tests.support.station import StationProcess, running

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "var", **values)  # type: ignore[arg-type]


def _request(url: str) -> Request:
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    path, _, query = f"/{path}".partition("?")
    scope = {
        "type": "http",
        "scheme": scheme,
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"host", host.encode())],
        "server": ("127.0.0.1", 8080),
    }
    return Request(scope)


# --- pure parts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "port", "expected"),
    [
        ("http://192.168.1.5:8080/live?zone=a", 8443, "https://192.168.1.5:8443/live?zone=a"),
        ("http://loa-xa.local:8080/bulletins", 443, "https://loa-xa.local/bulletins"),
        ("http://[fd00::5]:8080/", 8443, "https://[fd00::5]:8443/"),
        ("https://192.168.1.5:8443/live", 8443, None),  # already secure
        ("http://192.168.1.5:8080/live", 0, None),  # HTTPS off
    ],
)
def test_https_url_is_this_page_on_the_https_port(
    tmp_path: Path, url: str, port: int, expected: str | None
) -> None:
    assert https.https_url(_settings(tmp_path, https_port=port), _request(url)) == expected


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("http://127.0.0.1:8080/", True),
        ("http://localhost:8080/", True),
        ("http://[::1]:8080/", True),
        ("https://192.168.1.5:8443/", True),
        ("http://192.168.1.5:8080/", False),
        ("http://loa-xa.local:8080/", False),
    ],
)
def test_secure_origin_is_what_browsers_give_the_microphone_to(url: str, secure: bool) -> None:
    assert https.is_secure_origin(_request(url)) is secure


def test_certificate_names_cover_loopback_this_machine_public_url_and_extras(tmp_path: Path) -> None:
    settings = _settings(tmp_path, https_names=["Loa.Xa.vn", "10.0.0.7", "xã.vn", " "])
    everywhere = https.WILDCARDS[0]
    names = https.certificate_names(settings.web, "http://192.168.1.20:8080", everywhere)
    assert names[:3] == ("localhost", "127.0.0.1", "::1")
    assert {"loa.xa.vn", "10.0.0.7", "192.168.1.20", *https.host_names(), *https.lan_addresses()} <= set(
        names
    )
    assert "xã.vn" not in names and "" not in names and everywhere not in names
    assert "10.1.2.3" in https.certificate_names(settings.web, None, "10.1.2.3")  # a specific --host


def test_station_certificate_is_renewed_before_it_expires_and_its_key_kept_private(tmp_path: Path) -> None:
    web = _settings(tmp_path).web
    names = ("localhost", "127.0.0.1")
    files, reason = https.https_certificate(web, names, NOW)
    assert reason == "missing" and files.ca is not None
    assert files.key.stat().st_mode & 0o777 == 0o600
    first = files.cert.read_bytes()
    assert https.https_certificate(web, names, NOW + timedelta(days=300))[1] is None
    assert https.https_certificate(web, names, NOW + timedelta(days=340))[1] == "expires soon"
    assert files.cert.read_bytes() != first
    assert https.https_certificate(web, (*names, "loa.xa.vn"), NOW + timedelta(days=340))[1] == (
        "host names changed"
    )
    # Signed by the station's one CA, the one the broker's certificate comes from and /ca.crt serves.
    ca = x509.load_pem_x509_certificate(https.station_ca_pem(web) or b"")
    x509.load_pem_x509_certificate(files.cert.read_bytes()).verify_directly_issued_by(ca)
    assert tls.station_ca_dir(web.secrets_dir) == web.secrets_dir / "mqtt-ca"


def test_operator_certificate_is_used_as_given_and_must_come_as_a_pair(tmp_path: Path) -> None:
    cert, key = tmp_path / "site.crt", tmp_path / "site.key"
    web = _settings(tmp_path, tls_cert_file=cert, tls_key_file=key).web
    assert https.https_certificate(web, ("localhost",)) == (https.HttpsFiles(cert, key, None), None)
    assert https.station_ca_pem(web) is None
    with pytest.raises(https.HttpsError, match="BROADCAST_TLS_KEY_FILE"):
        https.https_certificate(_settings(tmp_path, tls_cert_file=cert).web, ("localhost",))


def test_a_key_that_does_not_match_is_named(tmp_path: Path) -> None:
    cert, _, _ = _operator_pair(tmp_path / "a")
    _, key, _ = _operator_pair(tmp_path / "b")
    with pytest.raises(https.HttpsError, match=f"khoá {key} không khớp với chứng chỉ"):
        https.check_certificate(https.HttpsFiles(cert, key, None))
    good_cert, good_key, _ = _operator_pair(tmp_path / "c")
    soon = datetime.now(UTC) + timedelta(days=350)
    assert "còn" in (https.check_certificate(https.HttpsFiles(good_cert, good_key, None), soon) or "")


def test_banner_shows_every_lan_address_and_the_ca_fingerprint(tmp_path: Path) -> None:
    settings = _settings(tmp_path, https_port=8443, public_url="http://127.0.0.1:8080")
    files, _ = https.https_certificate(settings.web, ("localhost",), NOW)
    assert files.ca is not None
    text = https_banner(settings, https.WILDCARDS[0], 8080, files)
    assert "https://127.0.0.1:8443/" in text
    assert all(f"https://{address}:8443/" in text for address in https.lan_addresses())
    assert https.fingerprint(files.ca.read_bytes()) in text
    assert "0.0.0.0" not in text  # noqa: S104 - checking it is never shown as an address
    assert "127.0.0.1:8080/https" in https_banner(settings, "127.0.0.1", 8080, files)


# --- a real station ----------------------------------------------------------------------------------


def _operator_pair(directory: Path) -> tuple[Path, Path, bytes]:
    """Write a certificate for 127.0.0.1 from a CA that is not the station's; return it and its CA."""
    ca = tls.make_ca(datetime.now(UTC), "Operator test CA")
    cert, key = tls.make_server_cert(ca, ["127.0.0.1"], datetime.now(UTC))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "site.crt", directory / "site.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path, ca.cert.public_bytes(serialization.Encoding.PEM)


def _served_certificate(port: int, context: ssl.SSLContext, host: str) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as conn,
    ):
        der = conn.getpeercert(binary_form=True)
    assert der is not None
    return der


def _listening_ports(pid: int) -> set[int]:
    """Return the TCP ports process `pid` itself listens on (its sockets in /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _speaks_tls(port: int) -> bool:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        _served_certificate(port, context, "127.0.0.1")
    except (ssl.SSLError, OSError):
        return False
    return True


def test_station_serves_https_with_its_own_ca_and_http_as_before(tmp_path: Path) -> None:
    station = StationProcess(tmp_path, https_port=free_port())
    with running(station):
        station.start()
        with urllib.request.urlopen(f"{station.url}/ca.crt", timeout=10) as answer:  # over plain HTTP
            assert answer.headers["Content-Type"] == "application/x-x509-ca-cert"
            ca_pem = answer.read()
        trust = ssl.create_default_context(cadata=ca_pem.decode())
        for host in ("127.0.0.1", "localhost"):
            _served_certificate(station.https_port or 0, trust, host)  # verifies chain and name
        assert station.request("GET", "/healthz")[0] == 200  # HTTP unchanged, same app
        assert re.search(r"HTTPS .*https://127\.0\.0\.1:\d+/", station.log_tail(200))

        station.cli(
            "user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-dai-123\n"
        )
        with httpx.Client(base_url=station.https_url, verify=trust, timeout=30) as browser:
            assert "kết nối an toàn (HTTPS)" in browser.get("/https").text
            form = browser.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token is not None
            signed_in = browser.post(
                "/login",
                data={"name": "canbo", "password": "mat-khau-dai-123", "csrf_token": token[1]},
                headers={"Origin": station.https_url, "User-Agent": "Mozilla/5.0"},
            )
            assert signed_in.status_code == 303, signed_in.text[:300]
            assert browser.get("/bulletins").status_code == 200  # a session over HTTPS works


def test_operator_certificate_is_served_and_no_https_means_no_tls_listener(tmp_path: Path) -> None:
    cert, key, operator_ca = _operator_pair(tmp_path)
    env = {"BROADCAST_TLS_CERT_FILE": str(cert), "BROADCAST_TLS_KEY_FILE": str(key)}
    supplied = StationProcess(tmp_path / "supplied", https_port=free_port(), extra_env=env)
    off = StationProcess(tmp_path / "off")  # https_port None: BROADCAST_HTTPS_PORT=0
    for station in (supplied, off):
        station.data_dir.mkdir()
    with running(supplied, off):
        with ThreadPoolExecutor(2) as pool:  # two starts overlap: the test stays short
            list(pool.map(StationProcess.start, (supplied, off)))
        trust = ssl.create_default_context(cadata=operator_ca.decode())
        served = _served_certificate(supplied.https_port or 0, trust, "127.0.0.1")
        assert served == x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
        assert supplied.request("GET", "/ca.crt")[0] == 404  # nothing for phones to install
        assert not (supplied.data_dir / "secrets" / "https").exists()

        assert off.process is not None
        ports = _listening_ports(off.process.pid)
        assert off.http_port in ports
        assert not any(_speaks_tls(port) for port in ports)
        assert "HTTPS" not in off.log_tail(200)
        assert not (off.data_dir / "secrets" / "https").exists()


def test_broken_certificate_stops_the_start_with_a_clear_message(tmp_path: Path) -> None:
    cert, key = tmp_path / "broken.crt", tmp_path / "broken.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    key.write_text("nor a key\n")
    station = StationProcess(
        tmp_path / "var",
        https_port=free_port(),
        extra_env={"BROADCAST_TLS_CERT_FILE": str(cert), "BROADCAST_TLS_KEY_FILE": str(key)},
    )
    result = subprocess.run(
        [sys.executable, "-m", "broadcast.cli", "serve", "--port", str(station.http_port)],
        env=station.env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    error = result.stderr.decode()
    assert result.returncode == 2, error
    assert f"Lỗi: Không dùng được chứng chỉ HTTPS {cert}: tệp {cert} không phải chứng chỉ PEM" in error
    assert "BROADCAST_HTTPS_PORT=0" in error
    assert not (tmp_path / "var" / "broadcast.db").exists()  # refused before anything started
