"""The managed broker's TLS material and config, at file level (the real broker: tests/security)."""

from __future__ import annotations

import dataclasses
import ipaddress
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from broadcast.config import Settings
from broadcast.mqtt import tls
from broadcast.mqtt.broker_files import BrokerConfig, render_config, write_credentials
from broadcast.mqtt.credentials import DeviceCredential, render_local_passwd
from broadcast.mqtt.setup import agent_broker, broker_config, external_target, station_target, tls_names
from edge_agent.config import AgentConfig, ConfigError, dump_config, load_config

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ALL = "0.0.0.0"  # noqa: S104 - what a station bound to every interface is configured with
NAMES = ("localhost", "127.0.0.1", "::1", "loa.xa-an-binh.vn", "192.168.1.20")


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "var", **values)  # type: ignore[arg-type,call-arg,unused-ignore]


def test_ca_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    first = tls.ensure_ca(tmp_path / "ca", NOW)
    again = tls.ensure_ca(tmp_path / "ca", NOW + timedelta(days=400))
    assert again.pem == first.pem
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ca").stat().st_mode) == 0o700
    constraints = first.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    assert first.cert.not_valid_after_utc - NOW > timedelta(days=19 * 365)


def test_half_a_ca_is_never_silently_replaced(tmp_path: Path) -> None:
    tls.ensure_ca(tmp_path / "ca", NOW)
    (tmp_path / "ca" / "ca.key").unlink()
    with pytest.raises(ValueError, match="restore"):
        tls.ensure_ca(tmp_path / "ca", NOW)


def test_server_certificate_names_hosts_and_addresses_and_chains_to_the_ca(tmp_path: Path) -> None:
    ca = tls.ensure_ca(tmp_path / "ca", NOW)
    files, reason = tls.ensure_server_cert(ca, tmp_path / "tls", NAMES, NOW)
    assert reason == "missing"
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    cert.verify_directly_issued_by(ca.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "loa.xa-an-binh.vn"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
        ipaddress.ip_address("192.168.1.20"),
    }
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert files.ca.read_text() == ca.pem


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        ({"now": NOW + timedelta(days=300)}, None),
        ({"now": NOW + timedelta(days=340)}, "expires soon"),
        ({"names": NAMES[:-1]}, "host names changed"),
        ({"names": (*NAMES, "LOA.example.org")}, "host names changed"),
        ({"new_ca": True}, "not signed by the current CA"),
    ],
)
def test_server_certificate_is_kept_or_renewed(
    tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    ca = tls.ensure_ca(tmp_path / "ca", NOW)
    tls.ensure_server_cert(ca, tmp_path / "tls", NAMES, NOW)
    before = (tmp_path / "tls" / "server.crt").read_bytes()
    if change.get("new_ca"):
        ca = tls.ensure_ca(tmp_path / "other-ca", NOW)
    names = change.get("names", NAMES)
    now = change.get("now", NOW)
    assert isinstance(now, datetime) and isinstance(names, tuple)
    _, reason = tls.ensure_server_cert(ca, tmp_path / "tls", names, now)
    assert reason == expected
    assert ((tmp_path / "tls" / "server.crt").read_bytes() == before) == (expected is None)


def test_tls_broker_config_has_a_station_only_loopback_listener(tmp_path: Path) -> None:
    config = BrokerConfig(directory=tmp_path, port=18830, bind="0.0.0.0", tls_port=18831)  # noqa: S104
    files, _ = tls.ensure_server_cert(tls.ensure_ca(tmp_path / "ca", NOW), tmp_path / "tls", NAMES, NOW)
    text = render_config(config, files)
    lines = text.splitlines()
    local, device = lines.index("listener 18830 127.0.0.1"), lines.index("listener 18831 0.0.0.0")
    assert lines.index("per_listener_settings true") < local < device
    # Listener options must follow their listener line, once per listener.
    assert [i for i, line in enumerate(lines) if line == "use_username_as_clientid true"] == [
        local + 1,
        device + 1,
    ]
    assert lines[local + 1 : device].count("allow_anonymous false") == 1
    assert f"password_file {tmp_path.resolve()}/passwd.local" in lines[local:device]
    assert f"password_file {tmp_path.resolve()}/passwd" in lines[device:]
    assert f"certfile {files.cert.resolve()}" in lines[device:]
    assert "tls_version tlsv1.2" in lines[device:]
    assert "allow_anonymous true" not in text
    with pytest.raises(ValueError, match="certificate"):
        render_config(config)


def test_device_accounts_are_valid_only_on_the_tls_listener(tmp_path: Path) -> None:
    config = BrokerConfig(directory=tmp_path, port=1, tls_port=2)
    write_credentials(config, "H", [DeviceCredential("loa-1", "D", ("thon-1",))], station_workers=1)
    assert config.passwd_path.read_text() == "station:H\nstation-1:H\nloa-1:D\n"
    assert config.local_passwd_path.read_text() == render_local_passwd("H", 1) == "station:H\nstation-1:H\n"
    assert "loa-1" not in config.local_acl_path.read_text()
    assert stat.S_IMODE(config.local_passwd_path.stat().st_mode) == 0o600


def test_settings_map_to_listeners_and_names(tmp_path: Path) -> None:
    settings = _settings(tmp_path, mqtt_port=20000, mqtt_bind=ALL, public_url="http://10.0.0.5:8080")
    config = broker_config(settings.broker)
    assert (config.tls_port, config.station_host, config.device_host) == (20001, "127.0.0.1", "127.0.0.1")
    assert "10.0.0.5" in tls_names(settings.broker)  # agents reach the broker where they reach the station
    named = _settings(
        tmp_path, mqtt_public_host="loa.xa.vn", mqtt_tls_names=["192.168.1.20"], mqtt_tls_port=8883
    )
    assert {"loa.xa.vn", "192.168.1.20", "localhost", "127.0.0.1"} <= set(tls_names(named.broker))
    assert broker_config(named.broker).tls_port == 8883
    assert station_target(named.broker, "station", "pw").port == named.mqtt_port


def test_plain_device_listener_is_refused_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="clear text"):
        broker_config(_settings(tmp_path, mqtt_tls=False, mqtt_bind=ALL).broker)
    plain = broker_config(_settings(tmp_path, mqtt_tls=False).broker)
    assert plain.tls_port is None and plain.station_host == "127.0.0.1"


def test_enrolment_pins_the_managed_ca_or_an_external_brokers(tmp_path: Path) -> None:
    managed = agent_broker(_settings(tmp_path, mqtt_port=20000).broker)
    assert (managed.host, managed.port, managed.tls) == ("127.0.0.1", 20001, True)
    assert managed.ca_pem == (tmp_path / "var" / "secrets" / "mqtt-ca" / "ca.crt").read_text()
    ca_file = tmp_path / "external-ca.pem"
    ca_file.write_text(tls.make_ca(NOW).pem)
    external = _settings(tmp_path, mqtt_url="mqtts://station:pw@broker.tinh.vn", mqtt_ca_file=ca_file)
    assert agent_broker(external.broker) == type(managed)("broker.tinh.vn", 8883, True, ca_file.read_text())
    assert external_target(external.broker).ca_file == str(ca_file)
    with pytest.raises(ValueError, match="mqtts"):
        external_target(_settings(tmp_path, mqtt_url="mqtt://broker.tinh.vn", mqtt_ca_file=ca_file).broker)


def _agent(tmp_path: Path, **changes: object) -> AgentConfig:
    base = AgentConfig(
        device_id="loa-1",
        zones=("thon-1",),
        station_url="http://127.0.0.1:8080",
        station_public_key="A" * 43 + "=",
        mqtt_host="127.0.0.1",
        mqtt_port=18831,
        mqtt_username="loa-1",
        mqtt_password="pw",
        state_dir=tmp_path / "state",
        output=f"file:{tmp_path / 'plays'}",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_agent_config_keeps_the_pinned_ca_as_readable_pem(tmp_path: Path) -> None:
    pem = tls.make_ca(NOW).pem
    config = _agent(tmp_path, mqtt_tls=True, mqtt_ca_pem=pem)
    text = dump_config(config)
    assert "ca_pem = '''\n-----BEGIN CERTIFICATE-----\n" in text
    path = tmp_path / "agent.toml"
    path.write_text(text)
    assert load_config(path) == config


def test_agent_config_reads_a_ca_file_next_to_it_and_refuses_bad_ones(tmp_path: Path) -> None:
    pem = tls.make_ca(NOW).pem
    (tmp_path / "ca.crt").write_text(pem)
    path = tmp_path / "agent.toml"
    text = dump_config(_agent(tmp_path, mqtt_tls=True)).replace(
        "tls = true", 'tls = true\nca_file = "ca.crt"'
    )
    path.write_text(text)
    assert load_config(path).mqtt_ca_pem == pem
    for bad, message in (
        (text.replace("tls = true", "tls = false"), "mqtt.tls is false"),
        (text.replace('"ca.crt"', '"missing.crt"'), "cannot read"),
        (text.replace('ca_file = "ca.crt"', 'ca_file = "ca.crt"\nca_pem = "x"'), "not both"),
        (
            text.replace('ca_file = "ca.crt"', 'ca_pem = "-----BEGIN CERTIFICATE-----\\nAAAA"'),
            "not valid PEM",
        ),
    ):
        path.write_text(bad)
        with pytest.raises(ConfigError, match=message):
            load_config(path)
