"""agent.toml: exact round trip through dump_config/load_config, path resolution, clear errors."""

from __future__ import annotations

import base64
import dataclasses
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.config import AgentConfig, ConfigError, dump_config, load_config

KEY = base64.b64encode(bytes(range(32))).decode()

EXAMPLE = f"""
device_id = "loa-01"
zones = ["thon-1"]
station_url = "http://127.0.0.1:8080"
station_public_key = "{KEY}"
state_dir = "state-loa-01"
output = "file:plays-loa-01"
[mqtt]
host = "127.0.0.1"
port = 18830
username = "loa-01"
password = "pw"
tls = false
"""


def _config(tmp_path: Path, **changes: object) -> AgentConfig:
    config = AgentConfig(
        device_id="loa-01",
        zones=("thon-1", "thon-2"),
        station_url="https://dai.xa-an-binh.example/clips",
        station_public_key=KEY,
        mqtt_host="mqtt.example",
        mqtt_port=8883,
        mqtt_username="loa-01",
        mqtt_password='p"a\\s\ts\nw\x01ö\x7f#[x] = "y"',
        mqtt_tls=True,
        state_dir=tmp_path / "trạng thái",
        output=f"file:{tmp_path / 'plays'}",
        cache_max_bytes=123_456_789,
        ffmpeg="/usr/bin/ffmpeg",
    )
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"output": "alsa", "mqtt_tls": False, "ffmpeg": "", "zones": ("a",)},
        {"mqtt_password": ""},
        {
            "relay_pin": 17,
            "relay_active_high": False,
            "relay_pre_roll_s": 0.25,
            "relay_hold_s": 1e-05,
            "mixer_card": "Headphones",
            "mixer_control": "Headphone",
            "alsa_device": "plughw:1,0",
            "heartbeat_interval_s": 7.5,
        },
        {"relay_pin": 0, "relay_pre_roll_s": 0.0, "relay_hold_s": 3600.0, "heartbeat_interval_s": 1.0},
    ],
)
def test_dump_then_load_is_exact(tmp_path: Path, changes: dict[str, object]) -> None:
    config = _config(tmp_path, **changes)
    text = dump_config(config)
    assert load_config(_write(tmp_path, text)) == config
    assert dump_config(load_config(tmp_path / "agent.toml")) == text


def test_example_layout_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, EXAMPLE))
    assert config.device_id == "loa-01"
    assert config.zones == ("thon-1",)
    assert config.state_dir == tmp_path / "state-loa-01"
    assert config.output == f"file:{tmp_path / 'plays-loa-01'}"
    assert (config.mqtt_host, config.mqtt_port, config.mqtt_tls) == ("127.0.0.1", 18830, False)
    assert config.cache_max_bytes == 500 * 1024 * 1024
    assert config.ffmpeg == ""
    assert (config.relay_pin, config.relay_pre_roll_s, config.relay_hold_s) == (None, 2.0, 30.0)
    assert (config.mixer_card, config.mixer_control, config.heartbeat_interval_s) == ("", "PCM", 30.0)


def test_integer_seconds_load_as_floats_and_dump_as_floats(tmp_path: Path) -> None:
    text = EXAMPLE + "[relay]\npin = 17\npre_roll_s = 3\n"
    config = load_config(_write(tmp_path, text))
    assert config.relay_pin == 17
    assert isinstance(config.relay_pre_roll_s, float) and "pre_roll_s = 3.0\n" in dump_config(config)


def test_relative_paths_stay_relative_in_the_dump(tmp_path: Path) -> None:
    config = _config(tmp_path, state_dir=Path("state-loa-01"), output="file:plays-loa-01")
    data = tomllib.loads(dump_config(config))
    assert (data["state_dir"], data["output"]) == ("state-loa-01", "file:plays-loa-01")
    loaded = load_config(_write(tmp_path, dump_config(config)))
    expected = _config(tmp_path, state_dir=tmp_path / "state-loa-01", output=f"file:{tmp_path}/plays-loa-01")
    assert loaded == expected


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('device_id = "loa-01"\n', ""), "missing device_id"),
        (lambda t: t.replace('"loa-01"', '"Loa 01"', 1), "not a valid id"),
        (lambda t: t.replace('["thon-1"]', "[]"), "zones"),
        (lambda t: t.replace('["thon-1"]', '["thon/#"]'), "zones"),
        (lambda t: t.replace('"http://127.0.0.1:8080"', '"ftp://x"'), "station_url"),
        (lambda t: t.replace(KEY, "bm90IGEga2V5"), "32 bytes"),
        (lambda t: t.replace("port = 18830", 'port = "18830"'), "mqtt.port must be an integer"),
        (lambda t: t.replace("port = 18830", "port = true"), "mqtt.port must be an integer"),
        (lambda t: t.replace("port = 18830", "port = 70000"), "out of range"),
        (lambda t: t.replace('username = "loa-01"', 'username = "loa-02"'), "must equal device_id"),
        (lambda t: t.replace('password = "pw"\n', ""), "missing mqtt.password"),
        (lambda t: t.replace("tls = false", 'tls = "no"'), "mqtt.tls must be true or false"),
        (lambda t: t.split("[mqtt]")[0], "missing [mqtt]"),
        (lambda t: "zone = 1\n" + t, "unknown key(s) zone"),
        (lambda t: t + "colour = 1\n", "unknown key(s) in [mqtt]: colour"),
        (lambda t: t.replace('"file:plays-loa-01"', '"speaker"'), "output"),
        (lambda t: t + "[[", "not valid TOML"),
        (lambda t: t + "[relay]\npin = 40\n", "BCM"),
        (lambda t: t + '[relay]\npin = "17"\n', "relay.pin must be an integer"),
        (lambda t: t + "[relay]\npin = true\n", "relay.pin must be an integer"),
        (lambda t: t + "[relay]\npre_roll_s = -1\n", "relay.pre_roll_s must be within 0-30 s"),
        (lambda t: t + '[relay]\nhold_s = "long"\n', "relay.hold_s must be a number"),
        (lambda t: t + "[relay]\nhold_s = nan\n", "within"),
        (lambda t: t + "[relay]\nactive_high = 1\n", "relay.active_high must be true or false"),
        (lambda t: t + "[relay]\ncolour = 1\n", "unknown key(s) in [relay]: colour"),
        (lambda t: t + '[mixer]\ncontrol = ""\n', "mixer.control is empty"),
        (lambda t: t + "[mixer]\nvolume = 5\n", "unknown key(s) in [mixer]"),
        (lambda t: "relay = 5\n" + t, "relay must be a [relay] table"),
        (lambda t: "heartbeat_interval_s = 0.5\n" + t, "heartbeat_interval_s must be within"),
        (lambda t: "alsa_device = 1\n" + t, "alsa_device must be a string"),
    ],
)
def test_invalid_config_is_refused_clearly(tmp_path: Path, edit: Callable[[str], str], message: str) -> None:
    path = _write(tmp_path, edit(EXAMPLE))
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert message in str(excinfo.value)
    assert str(path) in str(excinfo.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
