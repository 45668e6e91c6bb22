"""The installed systemd unit: parse it, run its ExecStart as systemd would (as far as a chroot allows),
listen to its sd_notify messages, and check it with systemd-analyze."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

UNIT_PATH = "etc/systemd/system/loa-agent.service"


@dataclass
class Unit:
    exec_start: str
    exec_stop_post: list[str]
    user: str
    group: str
    working_directory: str
    environment: dict[str, str]
    watchdog_s: float

    @classmethod
    def read(cls, root: Path) -> Unit:
        values: dict[str, list[str]] = {}
        for raw in (root / UNIT_PATH).read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";", "[")) or "=" not in line:
                continue
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
        env: dict[str, str] = {}
        for item in values.get("Environment", []):
            for assignment in shlex.split(item):
                name, value = assignment.split("=", 1)
                env[name] = value
        return cls(
            exec_start=values["ExecStart"][-1],
            exec_stop_post=values.get("ExecStopPost", []),
            user=values.get("User", ["root"])[-1],
            group=values.get("Group", ["root"])[-1],
            working_directory=values.get("WorkingDirectory", ["/"])[-1],
            environment=env,
            watchdog_s=float(values.get("WatchdogSec", ["0"])[-1]),
        )


def ids(
    root: Path, user: str, group: str, extra_groups: tuple[str, ...] = ("audio", "gpio")
) -> tuple[str, str]:
    """Return chroot's --userspec and --groups in numbers, looked up in the root's own passwd/group."""
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (root / "etc/group").read_text().splitlines()}
    uid, gid = passwd[user][2], groups[group][2]
    extra = [groups[g][2] for g in extra_groups if g in groups and user in groups[g][3].split(",")]
    return f"{uid}:{gid}", ",".join([gid, *extra])


@dataclass
class NotifyListener:
    """A datagram socket inside the root standing in for systemd's NOTIFY_SOCKET."""

    root: Path
    inside: str = "/run/loa-pi-notify.sock"
    messages: list[tuple[float, str]] = field(default_factory=list)
    _sock: socket.socket | None = None

    def __enter__(self) -> NotifyListener:
        path = self.root / self.inside.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        os.chmod(path, 0o777)  # noqa: S103 (the agent runs as its own user; root-only parent)
        self._sock.settimeout(0.5)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        while self._sock is not None:
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode(errors="replace")))

    def first(self, assignment: str) -> float | None:
        return next((t for t, m in self.messages if assignment in m.splitlines()), None)

    def count(self, assignment: str) -> int:
        return sum(assignment in m.splitlines() for _, m in self.messages)

    def __exit__(self, *_: object) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def start_agent(root: Path, unit: Unit, notify: NotifyListener, log: Path) -> subprocess.Popen[bytes]:
    """Start ExecStart inside root as the unit's user, in its working directory and environment.

    What systemd would add and a chroot cannot: the sandbox (ProtectSystem, PrivateTmp, ...), the cgroup,
    Restart= and the watchdog's kill. NOTIFY_SOCKET and WATCHDOG_USEC are given as systemd gives them.
    """
    userspec, groups = ids(root, unit.user, unit.group)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": unit.working_directory,
        "NOTIFY_SOCKET": notify.inside,
        **unit.environment,
    }
    if unit.watchdog_s:
        env["WATCHDOG_USEC"] = str(int(unit.watchdog_s * 1_000_000))
    # WATCHDOG_PID is the service's main pid: the shell's own, which exec hands to ExecStart.
    script = f"cd {shlex.quote(unit.working_directory)} && export WATCHDOG_PID=$$ && exec {unit.exec_start}"
    command = ["chroot", f"--userspec={userspec}", f"--groups={groups}", str(root), "/usr/bin/env", "-i"]
    command += [f"{k}={v}" for k, v in env.items()] + ["/bin/sh", "-c", script]
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def run_stop_post(root: Path, unit: Unit) -> list[int]:
    """Run each ExecStopPost= line as the unit would after a stop; return their exit codes."""
    userspec, groups = ids(root, unit.user, unit.group)
    codes = []
    for line in unit.exec_stop_post:
        command = ["chroot", f"--userspec={userspec}", f"--groups={groups}", str(root), "/usr/bin/env", "-i"]
        command += [f"{k}={v}" for k, v in unit.environment.items()]
        command += ["/bin/sh", "-c", f"cd {shlex.quote(unit.working_directory)} && exec {line.lstrip('-')}"]
        codes.append(subprocess.run(command, capture_output=True, timeout=300, check=False).returncode)
    return codes


def rss_kib(pid: int) -> int | None:
    """VmRSS of pid and its children (the decoder and aplay while playing), in KiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total or None


def verify(root: Path) -> dict[str, object]:
    """systemd-analyze verify on the installed unit: on the host against the root, and inside the root."""
    result: dict[str, object] = {}
    host = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", f"/{UNIT_PATH}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result["host_root_rc"] = host.returncode
    result["host_root_output"] = (host.stdout + host.stderr).strip()
    # The sandbox cannot run here, but systemd can still score it from the file (since systemd 250).
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", f"--root={root}", f"/{UNIT_PATH}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    overall = [line for line in security.stdout.splitlines() if "Overall exposure level" in line]
    result["security_offline"] = overall[0].split(": ", 1)[-1].strip() if overall else security.stderr.strip()
    inside = subprocess.run(
        ["chroot", str(root), "systemd-analyze", "verify", "--man=no", f"/{UNIT_PATH}"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    result["in_root_rc"] = inside.returncode
    result["in_root_output"] = (inside.stdout + inside.stderr).strip()
    return result
