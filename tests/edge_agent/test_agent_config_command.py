"""The signed config command: the settings whitelist, the agent applying it live and keeping it across a
restart, refusals, and a real agent process behind a real Mosquitto changing its heartbeat interval."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcast import protocol
from broadcast.protocol.config import SPECS, check_setting, check_settings
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig, dump_config
from edge_agent.handlers import AcceptedControl, Rejected, decide
from edge_agent.outputs.file import FileSink
from edge_agent.settings import OVERLAY_NAME, SettingsStore, effective
from tests.edge_agent.programme_station import ZONE, AgentProcess, ProgrammeStation, next_seq
from tests.edge_agent.test_agent_control import FAKE_AMIXER
from tests.support.free_port import free_port

Key = tuple[bytes, str]


def _config(settings: dict[str, Any], *, zones: tuple[str, ...] = ("thon-1",), ttl: float = 60.0) -> Any:
    now = time.time()
    return protocol.ConfigCommand(f"cfg-{time.monotonic_ns()}", next_seq(), now, now + ttl, zones, settings)


def _signed(key: bytes, command: protocol.ConfigCommand) -> bytes:
    return protocol.sign_body(command.to_body(), key)


# --- the whitelist (pure) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("heartbeat_interval_s", 10, 10.0),
        ("heartbeat_interval_s", 300.0, 300.0),
        ("relay_pre_roll_s", 0, 0.0),
        ("relay_hold_s", 3600, 3600.0),
        ("default_volume", 0, 0),
        ("default_volume", 80.0, 80),  # a whole float is a whole number
        ("ntp_warn_ms", 1, 1.0),
        ("log_level", "WARNING", "WARNING"),
    ],
)
def test_settings_within_the_whitelist_are_normalised(name: str, value: object, expected: object) -> None:
    checked = check_setting(name, value)
    assert checked == expected and type(checked) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("heartbeat_interval_s", 9.99, "within 10-300"),
        ("heartbeat_interval_s", 301, "within 10-300"),
        ("heartbeat_interval_s", float("inf"), "within"),
        ("heartbeat_interval_s", float("nan"), "within"),
        ("heartbeat_interval_s", True, "must be a number"),
        ("heartbeat_interval_s", "30", "must be a number"),
        ("relay_pre_roll_s", -1, "within 0-30"),
        ("default_volume", 50.5, "whole number"),
        ("default_volume", 101, "within 0-100"),
        ("ntp_warn_ms", 0, "within 1-10000"),
        ("log_level", "debug", "one of DEBUG"),
        ("log_level", 10, "one of DEBUG"),
        # What could break trust or reachability is not a setting at all.
        ("station_public_key", "AAAA", "unknown setting"),
        ("station_url", "http://evil", "unknown setting"),
        ("mqtt_host", "evil", "unknown setting"),
        ("zones", ["thon-9"], "unknown setting"),
    ],
)
def test_settings_outside_the_whitelist_are_refused(name: str, value: object, reason: str) -> None:
    with pytest.raises(protocol.ProtocolError, match=reason):
        check_setting(name, value)


def test_a_config_command_round_trips_and_is_refused_whole_if_one_setting_is_bad() -> None:
    command = _config({"heartbeat_interval_s": 60.0, "log_level": "DEBUG"})
    assert protocol.parse_command(json.loads(protocol.canonical_json(command.to_body()))) == command
    with pytest.raises(protocol.ProtocolError, match="unknown setting"):
        protocol.parse_command({**command.to_body(), "settings": {"heartbeat_interval_s": 60, "x": 1}})
    with pytest.raises(protocol.ProtocolError, match="settings must be an object"):
        protocol.parse_command({**command.to_body(), "settings": [60]})
    with pytest.raises(protocol.ProtocolError, match="settings must be an object"):
        check_settings(None)
    assert set(SPECS) == {
        "heartbeat_interval_s", "relay_pre_roll_s", "relay_hold_s", "default_volume", "ntp_warn_ms",
        "log_level",
    }  # fmt: skip


def test_a_heartbeat_keeps_the_settings_it_can_read() -> None:
    body = {"type": "heartbeat", "device_id": "loa-1", "ts": 5, "uptime_s": 1, "disk_free_bytes": 0}
    body |= {"cache_bytes": 0, "settings": {"heartbeat_interval_s": 60, "from_a_newer_agent": 1}}
    parsed = protocol.parse_agent_message(json.dumps(body).encode(), "loa-1")
    assert isinstance(parsed, protocol.Heartbeat) and parsed.settings == {"heartbeat_interval_s": 60.0}
    with pytest.raises(protocol.ProtocolError, match="settings"):
        protocol.parse_agent_message(json.dumps({**body, "settings": "x"}).encode(), "loa-1")


def test_the_overlay_wins_over_agent_toml_and_a_torn_file_is_ignored(
    agent_config: AgentConfig, tmp_path: Path
) -> None:
    base = effective(agent_config, {})
    assert (base.heartbeat_interval_s, base.relay_pre_roll_s, base.default_volume, base.log_level) == (
        agent_config.heartbeat_interval_s,
        agent_config.relay_pre_roll_s,
        None,
        None,
    )
    tuned = effective(agent_config, {"relay_pre_roll_s": 4.0, "default_volume": 60})
    assert (tuned.relay_pre_roll_s, tuned.relay_hold_s, tuned.default_volume) == (
        4.0,
        agent_config.relay_hold_s,
        60,
    )
    path = tmp_path / OVERLAY_NAME
    store = SettingsStore(path)
    store.replace({"ntp_warn_ms": 20.0})
    assert SettingsStore(path).values == {"ntp_warn_ms": 20.0}
    path.write_text('{"ntp_warn_ms": 20')  # torn: atomic writes prevent it, a bad SD card does not
    assert SettingsStore(path).values == {}
    path.write_text('{"station_url": "http://evil"}')  # planted: nothing outside the whitelist is read
    assert SettingsStore(path).values == {}


# --- the decision (pure) ------------------------------------------------------------------------------------


def test_decide_accepts_a_signed_config_for_this_device_only(
    agent_config: AgentConfig, station_key: Key, other_key: Key
) -> None:
    now = time.time()
    good = _config({"heartbeat_interval_s": 60})
    decision = decide(_signed(station_key[0], good), now, agent_config, set())
    assert isinstance(decision, AcceptedControl) and decision.command == good
    tampered = json.loads(_signed(station_key[0], good))
    tampered["settings"]["heartbeat_interval_s"] = 300  # changed on the way: the signature no longer fits
    cases = {
        "unknown-key": _signed(other_key[0], good),  # forged: signed with a key the agent does not trust
        "unverified": json.dumps(tampered).encode(),
        "not-for-me": _signed(station_key[0], _config({}, zones=("thon-9",))),
        "expired": _signed(station_key[0], _config({}, ttl=-1.0)),
        "malformed": protocol.sign_body({**good.to_body(), "settings": {"relay_hold_s": -5}}, station_key[0]),
    }
    for kind, payload in cases.items():
        refused = decide(payload, now, agent_config, set())
        assert isinstance(refused, Rejected) and refused.kind == kind, (kind, refused)
        assert refused.report


# --- a real Agent (no broker: reports wait in its outbox) ---------------------------------------------------


@pytest.fixture
def amixer_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Put a recording amixer first on PATH; return calls() -> its `sset` argument lines."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "amixer.log"
    script = bin_dir / "amixer"
    script.write_text(FAKE_AMIXER.format(log=log))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return lambda: [line for line in (log.read_text() if log.exists() else "").splitlines() if "sset" in line]


@pytest.fixture
def make_agent(agent_config: AgentConfig, tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    agents: list[Agent] = []

    def make(**kwargs: Any) -> Agent:
        config = dataclasses.replace(agent_config, mqtt_port=free_port(), heartbeat_interval_s=30.0)
        agent = Agent(config, FileSink(tmp_path / "plays"), **kwargs)
        agent.start()
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.stop()


def _rejections(agent: Agent) -> list[dict[str, Any]]:
    reports = [json.loads(payload) for _, payload in agent.outbox.pending()]
    return [r for r in reports if r["type"] == "rejected"]


def test_the_agent_applies_a_config_live_reports_it_and_keeps_it_across_a_restart(
    make_agent: Callable[..., Agent], station_key: Key, amixer_calls: Callable[[], list[str]]
) -> None:
    agent = make_agent()
    settings = {
        "heartbeat_interval_s": 12.0, "relay_pre_roll_s": 1.5, "relay_hold_s": 8.0, "default_volume": 55,
        "ntp_warn_ms": 25.0, "log_level": "DEBUG",
    }  # fmt: skip
    command = _config(settings)
    agent.handle(_signed(station_key[0], command))
    assert agent.heartbeat.interval_s == 12.0
    assert (agent.amp.pre_roll_s, agent.amp.hold_s, agent.clock.ntp_warn_ms) == (1.5, 8.0, 25.0)
    assert logging.getLogger("edge_agent").level == logging.DEBUG
    assert amixer_calls() == [
        "-M\t-q\tsset\tPCM\t55%\tunmute\t"
    ]  # no level from the station yet: the default
    assert agent.vitals.collect().settings == settings  # what the station compares with what it wants
    state = agent.config.state_dir
    assert json.loads((state / OVERLAY_NAME).read_text()) == settings
    assert _rejections(agent) == []
    agent.stop()
    assert logging.getLogger("edge_agent").level == logging.NOTSET  # the process's own level again

    again = make_agent()  # a restart (power cut): the overlay comes back, agent.toml is untouched
    assert (again.heartbeat.interval_s, again.amp.pre_roll_s, again.clock.ntp_warn_ms) == (12.0, 1.5, 25.0)
    assert again.vitals.collect().settings == settings
    again.handle(_signed(station_key[0], _config({})))  # the whole set: empty means agent.toml throughout
    assert (again.heartbeat.interval_s, again.amp.pre_roll_s) == (30.0, again.config.relay_pre_roll_s)
    assert again.vitals.collect().settings == {} and json.loads((state / OVERLAY_NAME).read_text()) == {}


def test_a_refused_or_unsaved_config_changes_nothing_and_is_reported(
    make_agent: Callable[..., Agent], station_key: Key, other_key: Key
) -> None:
    agent = make_agent(log_level="WARNING")  # set on the command line: wins over the station's level
    agent.handle(_signed(station_key[0], _config({"log_level": "DEBUG", "heartbeat_interval_s": 20})))
    assert logging.getLogger("edge_agent").level == logging.WARNING and agent.heartbeat.interval_s == 20.0

    bad = protocol.sign_body(
        {**_config({}).to_body(), "settings": {"heartbeat_interval_s": 1}}, station_key[0]
    )
    forged = _config({"heartbeat_interval_s": 300})
    agent.handle(bad)
    agent.handle(_signed(other_key[0], forged))
    overlay = agent.config.state_dir / OVERLAY_NAME
    overlay.unlink()
    overlay.mkdir()  # the file cannot be replaced (like a read-only or failing card)
    unsaved = _config({"heartbeat_interval_s": 200})
    agent.handle(_signed(station_key[0], unsaved))
    assert agent.heartbeat.interval_s == 20.0 and agent.settings.values["heartbeat_interval_s"] == 20.0
    reasons = {r["command_id"]: r["reason"] for r in _rejections(agent)}
    assert "within 10-300" in reasons[json.loads(bad)["id"]]
    assert "signature" in reasons[forged.id] or "key" in reasons[forged.id]
    assert reasons[unsaved.id].startswith("config not saved")


# --- a real agent process and a real Mosquitto --------------------------------------------------------------


def _heartbeats(station: ProgrammeStation, device_id: str) -> list[protocol.Heartbeat]:
    with station.changed:
        return [m for m in station.messages if isinstance(m, protocol.Heartbeat) and m.device_id == device_id]


def test_a_config_changes_a_running_agents_heartbeat_live_and_survives_its_restart(
    tmp_path: Path, mp3_clip: Path, station_key: Key, other_key: Key
) -> None:
    station = ProgrammeStation(tmp_path, ["loa-cfg"], mp3_clip, station_key)
    try:
        directory = tmp_path / "loa-cfg"
        directory.mkdir()
        config = AgentConfig(
            device_id="loa-cfg", zones=(ZONE,), station_url=station.base_url,
            station_public_key=station_key[1], mqtt_host="127.0.0.1", mqtt_port=station.broker_config.port,
            mqtt_username="loa-cfg",
            mqtt_password=station.device_passwords["loa-cfg"], state_dir=Path("state"), output="file:plays",
            heartbeat_interval_s=1.0,
        )  # fmt: skip
        installed = dump_config(config)
        (directory / "agent.toml").write_text(installed)
        agent = station.agents["loa-cfg"] = AgentProcess(directory)
        agent.start()
        station.wait_for("heartbeats every second", lambda: len(_heartbeats(station, "loa-cfg")) >= 2, 20)

        def publish(payload: bytes) -> None:
            topic = protocol.device_command_topic("loa-cfg")
            station.client.publish(topic, payload, qos=1).wait_for_publish(5)

        forged = _config({"heartbeat_interval_s": 300}, zones=(ZONE,))
        publish(_signed(other_key[0], forged))
        command = _config({"heartbeat_interval_s": 10}, zones=(ZONE,))
        publish(_signed(station_key[0], command))
        wanted = {"heartbeat_interval_s": 10.0}
        station.wait_for("the applied setting in a heartbeat", lambda: any(
            h.settings == wanted for h in _heartbeats(station, "loa-cfg")
        ))  # fmt: skip
        # The forged one is refused and reported, and changed nothing.
        station.wait_for(
            "the forged config's rejection",
            lambda: bool(station.reports(protocol.CommandRejected, forged.id)),
        )
        time.sleep(1.5)  # past the heartbeat the config asked for (and one the old timer may have sent)
        last = _heartbeats(station, "loa-cfg")[-1]
        station.wait_for("the next heartbeat", lambda: _heartbeats(station, "loa-cfg")[-1] != last, 15)
        following = _heartbeats(station, "loa-cfg")[-1]
        assert last.settings == following.settings == wanted
        assert 9.0 < following.ts - last.ts < 11.5, following.ts - last.ts  # the new interval, live

        assert agent.stop(signal.SIGTERM) == 0
        restarted_at = time.time()
        agent.start()
        station.wait_for("a heartbeat after the restart", lambda: any(
            h.ts > restarted_at for h in _heartbeats(station, "loa-cfg")
        ), 20)  # fmt: skip
        after = [h for h in _heartbeats(station, "loa-cfg") if h.ts > restarted_at]
        assert after[0].settings == wanted
        time.sleep(4.0)  # agent.toml's 1 s would have sent four more by now
        assert len([h for h in _heartbeats(station, "loa-cfg") if h.ts > restarted_at]) == 1
        assert (directory / "agent.toml").read_text() == installed  # agent.toml stays as installed
        assert json.loads((directory / "state" / OVERLAY_NAME).read_text()) == wanted
    finally:
        station.close()
