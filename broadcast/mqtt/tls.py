"""The station's private CA and the server certificates it signs (EC P-256), made with `cryptography`.

One CA serves both TLS front doors of the station: the managed broker (agents pin the CA certificate,
written into agent.toml by `broadcast device add`) and the station's own HTTPS (officers install it on
their phones from `/ca.crt`; broadcast/http/https.py). So the CA lives long and is created once, under
`station_ca_dir`; each server certificate it signs is short-lived and replaced whenever its names change
or its end nears, without touching any agent or phone.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broadcast.storage.files import write_atomic

CA_VALIDITY = timedelta(days=20 * 365)  # replacing the CA means re-enrolling every agent: make it rare
SERVER_VALIDITY = timedelta(days=365)
CA_DIR_NAME = "mqtt-ca"  # under the secrets dir; the name predates the HTTPS certificate it also signs
RENEW_BEFORE = timedelta(days=30)  # a server certificate with less left than this is replaced
_BACKDATE = timedelta(hours=1)  # tolerate agents whose clock is a little behind

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def station_ca_dir(secrets_dir: Path) -> Path:
    """Return the directory of the station's CA (ca.crt, ca.key) under the secrets dir."""
    return secrets_dir / CA_DIR_NAME


@dataclass(frozen=True)
class CertificateAuthority:
    """The CA that signs the station's server certificates; agents trust only certificates it signed."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class ServerFiles:
    """Where a TLS listener (the broker's, the station's HTTPS) finds its certificate, key and the CA."""

    cert: Path
    key: Path
    ca: Path


def split_names(names: Iterable[str]) -> tuple[frozenset[str], frozenset[IpAddress]]:
    """Split host names from IP addresses (a SAN holds each kind differently); drop empties."""
    dns: set[str] = set()
    ips: set[IpAddress] = set()
    for name in names:
        name = name.strip().strip("[]")
        if not name:
            continue
        try:
            ips.add(ipaddress.ip_address(name))
        except ValueError:
            dns.add(name.lower())
    return frozenset(dns), frozenset(ips)


def renewal_reason(
    cert: x509.Certificate, ca: x509.Certificate, names: Iterable[str], now: datetime
) -> str | None:
    """Return why `cert` must be replaced (wrong CA, other names, expiring), or None if it is good."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "not signed by the current CA"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no subjectAltName"
    have = (
        frozenset(n.lower() for n in san.get_values_for_type(x509.DNSName)),
        frozenset(san.get_values_for_type(x509.IPAddress)),
    )
    if have != split_names(names):
        return "host names changed"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return "expires soon"
    if cert.not_valid_before_utc > now:
        return "not valid yet (clock went back?)"
    return None


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Loa xa station"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(now: datetime, common_name: str = "Loa xa station CA") -> CertificateAuthority:
    """Return a new self-signed CA that may sign server certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(cert, key)


def make_server_cert(
    ca: CertificateAuthority, names: Iterable[str], now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Return a TLS server certificate for `names` (host names and IPs) signed by `ca`, and its key."""
    dns, ips = split_names(names)
    if not dns and not ips:
        raise ValueError("a server certificate needs at least one host name or address")
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(dns)]
    sans += [x509.IPAddress(ip) for ip in sorted(ips, key=lambda ip: (ip.version, int(ip)))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(sorted(dns)[0] if dns else str(min(ips, key=int))))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + SERVER_VALIDITY, ca.cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return cert, key


# --- files ---------------------------------------------------------------------------------------------


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_der(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on `directory` (the CLI and `serve` may both want the CA at once)."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_ca(directory: Path, now: datetime | None = None) -> CertificateAuthority:
    """Return the CA kept in `directory` (ca.crt, ca.key 0600), creating it the first time."""
    cert_path, key_path = directory / "ca.crt", directory / "ca.key"
    with _locked(directory):
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not an EC private key")
            return CertificateAuthority(cert, key)
        if cert_path.exists() or key_path.exists():
            # Half a CA is never silently replaced: agents may already pin the certificate.
            raise ValueError(f"{directory} holds only one of ca.crt / ca.key; restore the other")
        ca = make_ca(now or datetime.now(UTC))
        write_atomic(key_path, _key_pem(ca.key), mode=0o600)
        write_atomic(cert_path, ca.cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
        return ca


def ensure_server_cert(
    ca: CertificateAuthority, directory: Path, names: Iterable[str], now: datetime | None = None
) -> tuple[ServerFiles, str | None]:
    """Make sure `directory` holds a good server certificate; return its files and why it was (re)made."""
    names = tuple(names)
    now = now or datetime.now(UTC)
    files = ServerFiles(directory / "server.crt", directory / "server.key", directory / "ca.crt")
    with _locked(directory):
        reason: str | None = "missing"
        if files.cert.exists() and files.key.exists():
            cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
            key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
            reason = renewal_reason(cert, ca.cert, names, now)
            if reason is None and _public_der(key.public_key()) != _public_der(cert.public_key()):
                reason = "key does not match the certificate"
        if reason is not None:
            cert, key = make_server_cert(ca, names, now)
            write_atomic(files.key, _key_pem(key), mode=0o600)
            write_atomic(files.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
        write_atomic(files.ca, ca.cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return files, reason
