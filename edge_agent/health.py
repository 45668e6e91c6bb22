"""Pure health collectors: read /proc and /sys (paths injectable for tests), never raise."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from broadcast.protocol import LinkInfo, LinkType

log = logging.getLogger(__name__)

PROC_UPTIME = Path("/proc/uptime")
THERMAL_ROOT = Path("/sys/class/thermal")
PROC_ROUTE = Path("/proc/net/route")
PROC_WIRELESS = Path("/proc/net/wireless")
NET_ROOT = Path("/sys/class/net")

_RTF_UP = 0x1
# Cellular sticks show up as wwan0 (QMI/MBIM), ppp0 (dial-up 3G), usb0 (RNDIS "HiLink" sticks).
_WWAN_PREFIXES = ("wwan", "ww", "ppp", "usb", "rmnet", "qmi")


def uptime_s(path: Path = PROC_UPTIME) -> float:
    """Return the system's uptime in seconds (0 if unreadable)."""
    try:
        return float(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_temp_c(root: Path = THERMAL_ROOT) -> float | None:
    """Return the CPU temperature in °C: the "cpu" thermal zone if named so, else the first readable one."""
    zones = sorted(root.glob("thermal_zone*"))
    zones.sort(key=lambda zone: "cpu" not in _read(zone / "type").lower())  # stable: CPU zones first
    for zone in zones:
        try:
            return round(int(_read(zone / "temp")) / 1000, 1)
        except ValueError:
            continue
    return None


def disk_free_bytes(path: Path) -> int:
    """Return the bytes an unprivileged user may still write on path's file system (0 if unknown)."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return 0
    return stat.f_bavail * stat.f_frsize


def directory_bytes(path: Path) -> int:
    """Return the total size of the regular files directly in path."""
    total = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue  # evicted while we looked
    except OSError:
        return 0
    return total


def default_interface(route: Path = PROC_ROUTE) -> str | None:
    """Return the interface of the default route with the lowest metric, if there is one."""
    best: tuple[int, str] | None = None
    for line in _read(route).splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, destination, flags, metric, mask = fields[0], fields[1], fields[3], fields[6], fields[7]
        try:
            up = int(flags, 16) & _RTF_UP
            candidate = (int(metric), iface)
        except ValueError:
            continue
        if destination == "00000000" and mask == "00000000" and up and (best is None or candidate < best):
            best = candidate
    return best[1] if best else None


def link_type(interface: str, net_root: Path = NET_ROOT) -> LinkType:
    """Return what kind of link an interface is: the kernel's DEVTYPE first, the name as a fallback."""
    uevent = _read(net_root / interface / "uevent")
    devtype = next((line[8:] for line in uevent.splitlines() if line.startswith("DEVTYPE=")), "")
    if devtype == "wlan" or (net_root / interface / "wireless").is_dir():
        return "wlan"
    if devtype == "wwan":
        return "wwan"
    if interface.startswith("wl"):
        return "wlan"
    if interface.startswith(_WWAN_PREFIXES):
        return "wwan"
    if interface.startswith(("eth", "en")):
        return "eth"
    return "other"


def wifi_signal_dbm(interface: str, wireless: Path = PROC_WIRELESS) -> float | None:
    """Return the Wi-Fi signal level in dBm from /proc/net/wireless, if the interface is listed."""
    for line in _read(wireless).splitlines()[2:]:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if name.strip() != interface or len(fields) < 3:
            continue
        try:
            level = float(fields[2].rstrip("."))
        except ValueError:
            return None
        # Some drivers report the level as an unsigned byte (189 meaning -67 dBm).
        return level - 256 if level > 0 else level
    return None


def link_info(
    route: Path = PROC_ROUTE, net_root: Path = NET_ROOT, wireless: Path = PROC_WIRELESS
) -> LinkInfo:
    """Return the uplink's type and, for Wi-Fi, its signal; type "none" without a default route."""
    interface = default_interface(route)
    if interface is None:
        return LinkInfo("none", None)
    kind = link_type(interface, net_root)
    return LinkInfo(kind, wifi_signal_dbm(interface, wireless) if kind == "wlan" else None)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
