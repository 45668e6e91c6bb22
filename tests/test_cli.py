"""The `broadcast` CLI contract, run as a real process."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from broadcast.fleet import station_address
from broadcast.mqtt.credentials import check_password
from edge_agent.config import load_config


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    env["BROADCAST_DATA_DIR"] = str(tmp_path / "var")
    return subprocess.run(
        [sys.executable, "-m", "broadcast.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_normalize_reads_lines_and_writes_one_spoken_line_each(tmp_path: Path) -> None:
    lines = ["UBND xã họp lúc 7h30.", "", "Ngày 31/12/2020 có 3.000 người."]
    result = run(tmp_path, "normalize", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == 3
    assert out[0] == "Ủy ban nhân dân xã họp lúc bảy giờ ba mươi phút."
    assert out[1] == ""
    assert "ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi" in out[2]
    assert "ba nghìn" in out[2]
    single = run(tmp_path, "normalize", "Quý I/2022")
    assert single.returncode == 0
    assert single.stdout.strip()


def test_synth_writes_a_real_clip(tmp_path: Path) -> None:
    out = tmp_path / "tin.mp3"
    result = run(tmp_path, "synth", "Xin chào bà con thôn một.", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000
    assert "LUFS" in result.stdout
    bad = run(tmp_path, "synth", "   ", "-o", str(tmp_path / "x.mp3"))
    assert bad.returncode == 2
    assert "Lỗi" in bad.stderr


def test_user_token_and_device_commands(tmp_path: Path) -> None:
    weak = run(tmp_path, "user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="123\n")
    assert weak.returncode == 2
    assert "ít nhất 10 ký tự" in weak.stderr
    ok = run(
        tmp_path, "user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-du-dai\n"
    )
    assert ok.returncode == 0, ok.stderr
    again = run(
        tmp_path, "user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-du-dai\n"
    )
    assert again.returncode == 2
    assert "đã tồn tại" in again.stderr
    token = run(tmp_path, "token", "create", "canbo")
    assert token.returncode == 0
    assert len(token.stdout.strip()) >= 40
    assert run(tmp_path, "token", "create", "khong-co").returncode == 2

    config_path = tmp_path / "agent.toml"
    deaf = run(tmp_path, "device", "add", "loa-01", "--zone", "thon-1", "--out", str(config_path))
    assert deaf.returncode == 2 and "BROADCAST_PUBLIC_URL" in deaf.stderr  # no station address known
    assert not config_path.exists()
    station_address.record(tmp_path / "var", "http://192.0.2.7:9000/")  # as `broadcast serve` does
    added = run(tmp_path, "device", "add", "loa-01", "--zone", "thon-1", "--out", str(config_path))
    assert added.returncode == 0, added.stderr
    assert "http://192.0.2.7:9000" in added.stdout
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    config = load_config(config_path)
    assert config.device_id == "loa-01"
    assert config.zones == ("thon-1",)
    assert config.station_url == "http://192.0.2.7:9000"
    passwd = (tmp_path / "var" / "mosquitto" / "passwd").read_text()
    device_hash = next(line.split(":", 1)[1] for line in passwd.splitlines() if line.startswith("loa-01:"))
    assert check_password(config.mqtt_password, device_hash)
    assert (
        "user loa-01\ntopic read loa/v1/zone/thon-1/cmd"
        in (tmp_path / "var" / "mosquitto" / "acl").read_text()
    )
    dup = run(tmp_path, "device", "add", "loa-01", "--zone", "thon-1", "--out", str(tmp_path / "b.toml"))
    assert dup.returncode == 2
    bad = run(tmp_path, "device", "add", "Loa 01", "--zone", "thon-1", "--out", str(tmp_path / "c.toml"))
    assert bad.returncode == 2
