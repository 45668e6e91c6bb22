"""The agent on a Raspberry Pi OS-like root under qemu-user: install (online and offline), play, measure.

For each arch (arm64, armhf): unpack a clean debootstrap bookworm root, install the agent the documented
way — online from a copy of this checkout with `edge_agent/install/install.sh --config agent.toml`, offline
from the bundle `broadcast agent-bundle` builds on the station, inside `unshare --net` so any download
fails — then run the installed unit's ExecStart inside the root against a real station on this machine
(MQTT over TLS), check the device comes online, schedule a bulletin and read its lateness from the play
log. Sizes (du, dpkg) and the apt closures of the playback alternatives go to the JSON report.

Run through run.sh (root; installs debootstrap and qemu-user-static if missing). Not part of the tests.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(REPO)]

import bundle  # noqa: E402
import sizes  # noqa: E402
import unit  # noqa: E402
from roots import ARCHES, CACHE, chroot, chroot_env, discard, du_bytes, ensure_fresh, log, mounted, unpack  # noqa: E402
from station import Station, lateness_ms  # noqa: E402

MIB = 1024 * 1024
LOGS = CACHE / "logs"


class Stages:
    """Wall-clock seconds per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str) -> _Timer:
        return _Timer(self, name)


class _Timer:
    def __init__(self, stages: Stages, name: str) -> None:
        self.stages, self.name = stages, name

    def __enter__(self) -> None:
        log(f"{self.name} ...")
        self.began = time.monotonic()

    def __exit__(self, *_: object) -> None:
        took = round(time.monotonic() - self.began, 1)
        self.stages.seconds[self.name] = took
        log(f"{self.name}: {took} s")


def copy_checkout(root: Path) -> str:
    """Copy the checkout's files (tracked and new, not ignored ones) to /root/loa-xa in root."""
    files = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
    ).stdout
    target = root / "root/loa-xa"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["tar", "-C", str(REPO), "--null", "--ignore-failed-read", "-T", "-", "-cf", "-"],
        input=files,
        check=True,
        stdout=open(target / ".tar", "wb"),  # noqa: SIM115
    )
    subprocess.run(["tar", "-C", str(target), "-xf", str(target / ".tar")], check=True)
    (target / ".tar").unlink()
    return "/root/loa-xa"


def run_logged(
    root: Path, script: str, logfile: Path, *, offline: bool = False, timeout: float = 3600
) -> int:
    """Run script in root with its output in logfile; return the exit code."""
    command: list[str] = ["chroot", str(root), "/bin/bash", "-euo", "pipefail", "-c", script]
    if offline:
        command = ["unshare", "--net", "--", *command]
    env = chroot_env()
    with logfile.open("w") as out:
        return subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout
        ).returncode


def tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def check_install(arch: str, mode: str, station: Station, work: Path, lead_s: float) -> dict[str, Any]:
    """Install the agent into a fresh arch root (mode online|offline), run it, play a bulletin, measure."""
    stages = Stages()
    result: dict[str, Any] = {"arch": arch, "mode": mode, "ok": False}
    device_id = f"pi-{arch}-{mode}"
    install_log = LOGS / f"{arch}-{mode}-install.log"
    with stages.run("unpack_fresh_root"):
        root = unpack(arch, mode)
    before = sizes.installed(root)
    result["root_before_mib"] = round(du_bytes(root) / MIB, 1)
    # debootstrap leaves its package lists (~46 MiB); the online install.sh deletes them, the offline one
    # leaves them alone: the comparable growth is the one without /var/lib/apt/lists on either side.
    lists_before = du_bytes(root / "var/lib/apt/lists")
    result["apt_lists_before_mib"] = round(lists_before / MIB, 1)
    config = station.enrol(device_id, work / f"{device_id}.toml")
    shutil.copy(config, root / "root/agent.toml")
    with mounted(root):
        if mode == "online":
            source = copy_checkout(root)
            extra = os.environ.get("LOA_PI_INSTALL_ARGS", "")  # e.g. "--with-relay"
            script = f"cd {source} && edge_agent/install/install.sh --config /root/agent.toml {extra}"
            result["install_args"] = extra
            with stages.run("install"):
                rc = run_logged(root, script, install_log)
        else:
            with stages.run("prepare_offline"):
                script, size = bundle.prepare(arch, root, config, work, LOGS / f"{arch}-{mode}-bundle.log")
            result["bundle_mib"] = round(size / MIB, 1)
            with stages.run("install"):
                rc = run_logged(root, script, install_log, offline=True)
        result["install_rc"] = rc
        result["install_log"] = str(install_log)
        if rc != 0:
            result["error"] = f"install failed (exit {rc}):\n{tail(install_log)}"
            log(result["error"])
            result["stage_s"] = stages.seconds
            return result
        after = sizes.installed(root)
        # /root holds the inputs (the checkout copy, the bundle and its unpacked copy): not counted.
        inputs = du_bytes(root / "root")
        result["inputs_in_slash_root_mib"] = round(inputs / MIB, 1)
        result["root_after_mib"] = round((du_bytes(root) - inputs) / MIB, 1)
        result["root_added_mib"] = round(result["root_after_mib"] - result["root_before_mib"], 1)
        lists_after = du_bytes(root / "var/lib/apt/lists")
        result["root_added_without_apt_lists_mib"] = round(
            result["root_added_mib"] - (lists_after - lists_before) / MIB, 1
        )
        # install.sh switches a symlink venv -> venvs/<id>: measure where it points.
        venv = root / "opt/loa-agent/venv"
        if venv.is_symlink():
            venv = venv.parent / venv.readlink()
        result["venv_mib"] = round(du_bytes(venv) / MIB, 1)
        result["opt_loa_agent_mib"] = round(du_bytes(root / "opt/loa-agent") / MIB, 1)
        result["var_cache_apt_mib"] = round(du_bytes(root / "var/cache/apt") / MIB, 2)
        result["var_cache_apt_debs"] = len(list((root / "var/cache/apt/archives").glob("*.deb")))
        result["var_lib_apt_lists_mib"] = round(du_bytes(root / "var/lib/apt/lists") / MIB, 1)
        result["apt_added"] = sizes.added(before, after)
        result["venv_packages"] = venv_packages(root)
        with stages.run("systemd_analyze_verify"):
            result["unit_verify"] = unit.verify(root)
        installed_unit = unit.Unit.read(root)
        result["exec_start"] = installed_unit.exec_start
        result.update(run_agent(root, installed_unit, station, device_id, lead_s, stages))
    result["stage_s"] = stages.seconds
    result["root"] = str(root)
    return result


def venv_packages(root: Path) -> list[str]:
    venv = root / "opt/loa-agent/venv"
    if venv.is_symlink():
        venv = venv.parent / venv.readlink()
    site = list((venv / "lib").glob("python3*/site-packages"))
    if not site:
        return []
    return sorted(p.name.removesuffix(".dist-info") for p in site[0].glob("*.dist-info"))


def run_agent(
    root: Path, installed: unit.Unit, station: Station, device_id: str, lead_s: float, stages: Stages
) -> dict[str, Any]:
    """Start the unit's ExecStart, wait for online, play a scheduled bulletin, measure RSS, stop."""
    out: dict[str, Any] = {}
    agent_log = LOGS / f"{device_id}-agent.log"
    agent_log.unlink(missing_ok=True)
    with unit.NotifyListener(root) as notify:
        began = time.monotonic()
        process = unit.start_agent(root, installed, notify, agent_log)
        try:
            with stages.run("agent_online"):
                online_s = station.wait_online(device_id, timeout=180)
            out["online_s"] = None if online_s is None else round(online_s, 1)
            if online_s is None:
                out["error"] = f"agent not online in 180 s:\n{tail(agent_log)}"
                log(out["error"])
                return out
            with stages.run("bulletin_played"):
                bulletin_id, start_at = station.schedule(device_id, lead_s)
                play = station.play(device_id, bulletin_id, timeout=lead_s + 120)
            out["play"] = play
            out["late_ms"] = None if play is None else lateness_ms(play, start_at)
            if play is None or play.get("outcome") != "played":
                out["error"] = f"no 'played' report: {play}\n{tail(agent_log)}"
                log(out["error"])
                return out
            time.sleep(15)  # settle after the play, then an idle reading
            out["idle_rss_mib_under_qemu"] = round((unit.rss_kib(process.pid) or 0) / 1024, 1)
            ready = notify.first("READY=1")  # read late: READY=1 may follow the station's online verdict
            out["sd_notify_ready_s"] = None if ready is None else round(ready - began, 1)
            out["sd_notify_watchdog_count"] = notify.count("WATCHDOG=1")
            out["ok"] = process.poll() is None
        finally:
            process.terminate()
            try:
                out["stop_rc"] = process.wait(timeout=installed_timeout_stop(installed))
            except subprocess.TimeoutExpired:
                process.kill()
                out["stop_rc"] = "killed"
            out["exec_stop_post_rc"] = unit.run_stop_post(root, installed)
    out["agent_log"] = str(agent_log)
    return out


def installed_timeout_stop(_: unit.Unit) -> float:
    return 30.0


def apt_alternatives(arch: str, stages: Stages) -> dict[str, Any]:
    """apt closures of the playback/relay alternatives over a fresh root (and ffmpeg with recommends)."""
    root = unpack(arch, "sizes")
    out: dict[str, Any] = {"method": "apt-get install -s closure over a fresh root; Installed-Size summed"}
    with mounted(root):
        with stages.run(f"{arch}_apt_update"):
            chroot(root, "apt-get update -qq")
        for name, packages in sizes.ALTERNATIVES.items():
            out[name] = sizes.closure(root, packages)
        out["ffmpeg_with_recommends"] = sizes.closure(root, ["ffmpeg"], recommends=True)
        out["agent_apt_set_mpg123"] = sizes.closure(root, ["python3-venv", "alsa-utils", "mpg123"])
        out["agent_apt_set_mpg123_snapclient"] = sizes.closure(
            root, ["python3-venv", "alsa-utils", "mpg123", "snapclient"]
        )
        out["agent_apt_set_ffmpeg_snapclient"] = sizes.closure(
            root, ["python3-venv", "alsa-utils", "ffmpeg", "snapclient"]
        )
    for entry in out.values():
        if isinstance(entry, dict) and len(entry.get("names", [])) > 40:
            entry["names"] = [*entry["names"][:40], "..."]
    discard(root)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--arch", action="append", choices=ARCHES, help="default: both")
    parser.add_argument("--mode", action="append", choices=("online", "offline"), help="default: both")
    parser.add_argument("--no-sizes", action="store_true", help="skip the apt closures of the alternatives")
    parser.add_argument("--lead-s", type=float, default=25.0, help="schedule the bulletin this far ahead")
    parser.add_argument("--keep-roots", action="store_true", help="leave the work roots for inspection")
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/pi_check.json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("pi_check: run as root (chroot, mount, unshare): scripts/pi_check/run.sh", file=sys.stderr)
        return 2
    arches, modes = args.arch or list(ARCHES), args.mode or ["online", "offline"]
    LOGS.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "kernel": platform.release()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "arches": {},
    }
    stages = Stages()
    for arch in arches:
        with stages.run(f"{arch}_fresh_root"):
            ensure_fresh(arch)
    with tempfile.TemporaryDirectory(prefix="loa-pi-check-") as tmp:
        work = Path(tmp)
        with stages.run("station_start"):
            station = Station.start(work / "station")
        try:
            for arch in arches:
                entry: dict[str, Any] = report["arches"].setdefault(arch, {})
                entry["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                entry["source"] = source()
                entry["fresh_root_mib"] = round(du_bytes(unpack(arch, "probe")) / MIB, 1)
                discard(CACHE / "work" / f"{arch}-probe")
                for mode in modes:
                    try:
                        result = check_install(arch, mode, station, work, args.lead_s)
                    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
                        result = {"arch": arch, "mode": mode, "ok": False, "error": repr(exc)}
                        log(f"{arch} {mode}: {exc!r} (logs in {LOGS})")
                    entry[mode] = result
                    if not args.keep_roots and result.get("ok"):
                        discard(Path(result["root"]))
                    write(report, args.out)
                if not args.no_sizes:
                    entry["apt_closures"] = apt_alternatives(arch, stages)
                entry["stage_s"] = {k: v for k, v in stages.seconds.items() if k.startswith(arch)}
                write(report, args.out)
        finally:
            station.stop()
    report["station_start_s"] = stages.seconds.get("station_start")
    ok = all(r.get("ok") for e in report["arches"].values() for m, r in e.items() if m in modes)
    write(report, args.out)
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0 if ok else 1


def write(report: dict[str, Any], path: Path) -> None:
    """Write report into path, keeping the arches this run did not check (runs of one arch each may write
    the same file side by side: a lock file orders them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (CACHE / "report.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged: dict[str, Any] = {}
        if path.exists():
            try:
                merged = json.loads(path.read_text())
            except ValueError:
                merged = {}
        merged.update({k: v for k, v in report.items() if k != "arches"})
        merged.setdefault("arches", {}).update(report["arches"])
        merged["ok"] = all(
            r.get("ok") for e in merged["arches"].values() for m, r in e.items() if m in ("online", "offline")
        )
        merged.pop("stage_s", None)
        tmp = path.with_suffix(".json.part")
        tmp.write_text(json.dumps(merged, indent=2, ensure_ascii=False, default=str) + "\n")
        tmp.rename(path)


def source() -> str:
    """The commit the check ran from, with "+dirty" when the working tree had changes."""
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True)
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


if __name__ == "__main__":
    sys.exit(main())
