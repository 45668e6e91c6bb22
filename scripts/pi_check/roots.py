"""Debian bookworm roots for foreign arches (arm64, armhf) run through qemu-user-static.

A fresh root is made once with debootstrap and kept as a tarball under CACHE; every stage of the check
unpacks its own copy, so a rerun starts from a clean root in seconds. Commands run inside with chroot,
/proc, /sys and /dev mounted for the duration and unmounted on the way out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

CACHE = Path(os.environ.get("LOA_PI_CACHE", "/var/tmp/loa-pi"))  # noqa: S108 (root only; survives reboots)
MIRROR = os.environ.get("LOA_PI_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
ARCHES = ("arm64", "armhf")
# No service may start inside a root being installed into (Debian's convention for chroots and image
# builders such as pi-gen): snapclient's maintainer script would otherwise launch its daemon here.
POLICY_RC_D = "#!/bin/sh\nexit 101\n"


def log(message: str) -> None:
    print(f"[pi_check {time.strftime('%H:%M:%S')}] {message}", flush=True)


def tarball(arch: str) -> Path:
    return CACHE / f"{SUITE}-{arch}-fresh.tar"


def ensure_fresh(arch: str) -> Path:
    """Return the tarball of a fresh debootstrap root for `arch`, building it if missing."""
    target = tarball(arch)
    if target.exists():
        return target
    build = CACHE / f"build-{arch}"
    if not (build / "etc" / "debian_version").exists() or not (build / "usr/bin/apt-get").exists():
        shutil.rmtree(build, ignore_errors=True)
        log(f"debootstrap {SUITE} {arch} from {MIRROR} (several minutes under emulation)")
        # Default variant (Priority required + important, with apt and systemd): the closest to what
        # Raspberry Pi OS Lite ships before anything is added; minbase lacks systemd, whose unit we verify.
        subprocess.run(["debootstrap", f"--arch={arch}", SUITE, str(build), MIRROR], check=True)
    subprocess.run(["chroot", str(build), "apt-get", "clean"], check=True)
    partial = target.with_suffix(".tar.part")
    subprocess.run(["tar", "-C", str(build), "--numeric-owner", "-cf", str(partial), "."], check=True)
    partial.rename(target)
    return target


def unpack(arch: str, name: str) -> Path:
    """Unpack a clean copy of the fresh `arch` root into CACHE/work/<arch>-<name> and return it."""
    fresh = ensure_fresh(arch)
    root = CACHE / "work" / f"{arch}-{name}"
    discard(root)
    root.mkdir(parents=True)
    subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-xf", str(fresh)], check=True)
    (root / "usr/sbin/policy-rc.d").write_text(POLICY_RC_D)
    (root / "usr/sbin/policy-rc.d").chmod(0o755)
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    if HOST_CA.exists():
        shutil.copy(HOST_CA, root / INSIDE_CA.lstrip("/"))
    return root


# This machine may reach PyPI through a TLS-inspecting egress whose CA only its own trust store holds:
# pip inside the root gets the host's bundle through PIP_CERT, the root's own trust store stays as it is.
HOST_CA = Path(
    os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
)
INSIDE_CA = "/root/.host-ca.crt"


def chroot_env() -> dict[str, str]:
    """The environment of every command run in a root (install.sh and what it calls)."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/root",
        "DEBIAN_FRONTEND": "noninteractive",
    }
    if HOST_CA.exists():
        env["PIP_CERT"] = INSIDE_CA
    return env


def discard(root: Path) -> None:
    """Remove a work root (after making sure nothing is still mounted inside it)."""
    if root.exists():
        _unmount_below(root)
        shutil.rmtree(root)


MOUNTS = (("proc", "proc", ["-t", "proc", "proc"]), ("sys", "sys", ["-t", "sysfs", "sysfs"]))


@contextmanager
def mounted(root: Path) -> Iterator[Path]:
    """Mount /proc, /sys and /dev (bind) inside root; unmount on exit, also after a failure."""
    try:
        for _, where, how in MOUNTS:
            subprocess.run(["mount", *how, str(root / where)], check=True)
        subprocess.run(["mount", "--rbind", "/dev", str(root / "dev")], check=True)
        subprocess.run(["mount", "--make-rslave", str(root / "dev")], check=True)
        yield root
    finally:
        _unmount_below(root)


def _unmount_below(root: Path) -> None:
    real = str(root.resolve())
    with open("/proc/self/mounts") as table:
        points = [line.split()[1] for line in table]
    for point in sorted((p for p in points if p == real or p.startswith(real + "/")), reverse=True):
        with suppress(subprocess.CalledProcessError):
            subprocess.run(["umount", "-l", point], check=True, capture_output=True)


def chroot(
    root: Path,
    script: str,
    *,
    offline: bool = False,
    check: bool = True,
    capture: bool = False,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a shell script inside root as root; offline: in a network namespace of its own (no network)."""
    command: list[str] = ["chroot", str(root), "/bin/bash", "-euo", "pipefail", "-c", script]
    if offline:
        command = ["unshare", "--net", "--", *command]
    env = chroot_env()
    return subprocess.run(command, check=check, text=True, capture_output=capture, timeout=timeout, env=env)


def du_bytes(path: Path, exclude: Sequence[str] = ()) -> int:
    """Disk usage in bytes of path on its own file system (mounted /proc, /sys, /dev not counted)."""
    if not path.exists():
        return 0
    args = ["du", "-sx", "--block-size=1", *(f"--exclude={e}" for e in exclude), str(path)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])
