"""The station's secrets as one tar (sealed by the envelope before it leaves), and back.

What goes in: every file of settings.secrets_dir — the signing key(s) and keyring, the station CA
(`mqtt-ca/ca.crt`, `ca.key`) that agents pin and that also signs the HTTPS certificate, the HTTPS server
certificate, the web session secret, the station's broker password, the station id — plus the
`agent_url` record of the data dir (the address agents fetch clips from). What is left out because the
station regenerates it at start: the broker's dir (passwd/acl are written from the device hashes in the
database, the broker certificate is issued again by the same CA, Mosquitto's queue is replaced by
republishing the programme) and the live server's state.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

SECRETS_PREFIX = "secrets/"
DATA_PREFIX = "data/"
DATA_FILES = ("agent_url",)  # beside the secrets, in the data dir itself
_SKIP_SUFFIXES = (".tmp", ".part", ".lock")


class VaultError(ValueError):
    """A secrets tar that is not one a backup wrote (unsafe names, links, devices)."""


def _add(tar: tarfile.TarFile, path: Path, name: str) -> None:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isreg():
        with path.open("rb") as handle:
            tar.addfile(info, handle)
    elif info.isdir():
        tar.addfile(info)


def pack(secrets_dir: Path, data_dir: Path, target: Path) -> int:
    """Write the tar of the secrets (and the data-dir records) to `target`; return the number of files."""
    count = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if secrets_dir.is_dir():
            for path in sorted(secrets_dir.rglob("*")):
                if path.is_symlink() or path.name.startswith(".") or path.name.endswith(_SKIP_SUFFIXES):
                    continue
                _add(tar, path, SECRETS_PREFIX + path.relative_to(secrets_dir).as_posix())
                count += path.is_file()
        for name in DATA_FILES:
            if (data_dir / name).is_file():
                _add(tar, data_dir / name, DATA_PREFIX + name)
                count += 1
    return count


def check(source: Path) -> list[str]:
    """Return the file names in the tar; raise VaultError for anything but plain files and directories
    under the two known prefixes."""
    names = []
    try:
        with tarfile.open(source, mode="r:") as tar:
            for info in tar.getmembers():
                parts = info.name.split("/")
                if (
                    not info.name.startswith((SECRETS_PREFIX, DATA_PREFIX))
                    or ".." in parts
                    or info.name.startswith("/")
                    or not (info.isreg() or info.isdir())
                ):
                    raise VaultError(f"unexpected entry {info.name!r} in the secrets archive")
                if info.isreg():
                    names.append(info.name)
    except tarfile.TarError as exc:
        raise VaultError(f"secrets archive unreadable: {exc}") from None
    return names


def unpack(source: Path, secrets_dir: Path, data_dir: Path) -> None:
    """Extract the tar: secrets into `secrets_dir` (0700, files keep their 0600), records into `data_dir`."""
    check(source)
    secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(secrets_dir, 0o700)
    with tarfile.open(source, mode="r:") as tar:
        for info in tar.getmembers():
            if info.name.startswith(SECRETS_PREFIX):
                root, rel = secrets_dir, info.name[len(SECRETS_PREFIX) :]
            else:
                root, rel = data_dir, info.name[len(DATA_PREFIX) :]
            if not rel:
                continue
            target = root / rel
            if info.isdir():
                target.mkdir(parents=True, exist_ok=True)
                os.chmod(target, 0o700)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = tar.extractfile(info)
            assert handle is not None
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(handle.read())
            os.chmod(target, info.mode & 0o755 or 0o600)  # as they were (keys 0600), never group-writable


def read_member(source: Path, name: str) -> bytes | None:
    """Return one file of the tar (e.g. secrets/station_id), or None."""
    with tarfile.open(source, mode="r:") as tar:
        try:
            handle = tar.extractfile(name)
        except KeyError:
            return None
        return None if handle is None else handle.read()
