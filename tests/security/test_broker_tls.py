"""TLS on the managed broker: devices must use it, verified against the CA pinned at enrolment.

One real Mosquitto per module, configured by the station's own code path (settings -> broker_config).
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from broadcast import protocol
from broadcast.mqtt import tls
from edge_agent.transport import tls_context
from tests.security.broker_support import BrokerStation, Probe, start_broker_station
from tests.support.station import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerStation]:
    station = start_broker_station(tmp_path_factory.mktemp("tls"))
    station.enrol("loa-1", "thon-1")
    station.enrol("loa-agent", "thon-1")
    yield station
    station.stop()


def test_enrolment_pins_the_ca_and_points_at_the_tls_listener(station: BrokerStation) -> None:
    config = station.agents["loa-1"]
    assert config.mqtt_tls
    assert config.mqtt_port == station.settings.mqtt_tls_port != station.settings.mqtt_port
    ca = x509.load_pem_x509_certificate(config.mqtt_ca_pem.encode())
    server = x509.load_pem_x509_certificate((station.broker.config.tls_dir / "server.crt").read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    # Private keys are for the station's user only.
    for key in (station.broker.config.ca_directory / "ca.key", station.broker.config.tls_dir / "server.key"):
        assert key.stat().st_mode & 0o077 == 0


def test_device_over_tls_with_the_pinned_ca_gets_its_topics(station: BrokerStation) -> None:
    device = station.device("loa-1")
    try:
        granted = device.subscribe(
            protocol.device_command_topic("loa-1"), protocol.zone_command_topic("thon-1")
        )
        assert not any(code.is_failure for code in granted)
        sender = station.station()
        try:
            assert not sender.publish(protocol.zone_command_topic("thon-1"), b"signed command").is_failure
        finally:
            sender.close()
        assert device.received() == [(protocol.zone_command_topic("thon-1"), b"signed command")]
    finally:
        device.close()


def test_plain_tcp_is_refused_to_devices_on_both_listeners(station: BrokerStation) -> None:
    config = station.agents["loa-1"]
    # The device-facing port speaks only TLS: a plain MQTT CONNECT gets no CONNACK.
    plain = Probe("loa-1", config.mqtt_username, config.mqtt_password)
    assert plain.connect("127.0.0.1", config.mqtt_port) is not None
    # The plain port is the station's, on loopback; a device password is worthless there.
    local = Probe("loa-1", config.mqtt_username, config.mqtt_password)
    assert local.connect("127.0.0.1", station.settings.mqtt_port) == "Not authorized"


def test_a_broker_certificate_from_another_ca_fails_verification(station: BrokerStation) -> None:
    config = station.agents["loa-1"]
    other_ca = tls.make_ca(datetime.now(UTC), "someone else's CA").pem
    probe = Probe("loa-1", config.mqtt_username, config.mqtt_password)
    refusal = probe.connect(
        config.mqtt_host, config.mqtt_port, tls_context(dataclasses.replace(config, mqtt_ca_pem=other_ca))
    )
    assert refusal is not None and "CERTIFICATE_VERIFY_FAILED" in refusal
    # Nor does the system store vouch for the private CA.
    probe = Probe("loa-1", config.mqtt_username, config.mqtt_password)
    refusal = probe.connect(config.mqtt_host, config.mqtt_port, ssl.create_default_context())
    assert refusal is not None and "CERTIFICATE_VERIFY_FAILED" in refusal


def test_the_certificate_must_name_the_host(station: BrokerStation) -> None:
    config = station.agents["loa-1"]
    with (
        socket.create_connection((config.mqtt_host, config.mqtt_port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="match"),
    ):
        tls_context(config).wrap_socket(raw, server_hostname="broker.example.org")


def test_anonymous_access_is_refused_everywhere(station: BrokerStation) -> None:
    config = station.agents["loa-1"]
    anonymous = Probe("anon", None, None)
    assert anonymous.connect(config.mqtt_host, config.mqtt_port, tls_context(config)) == "Not authorized"
    anonymous = Probe("anon", None, None)
    assert anonymous.connect("127.0.0.1", station.settings.mqtt_port) == "Not authorized"


def test_an_expiring_certificate_is_renewed_in_place_and_agents_keep_trusting_it(
    station: BrokerStation,
) -> None:
    config = station.broker.config
    assert station.broker.renew_certificate() is None  # reused: nothing to do
    ca = tls.ensure_ca(config.ca_directory)
    ca_before = ca.pem
    # Put in place a certificate with 20 days left, as if the station had run for 345 days.
    old, key = tls.make_server_cert(ca, config.tls_names, datetime.now(UTC) - timedelta(days=345))
    (config.tls_dir / "server.crt").write_bytes(old.public_bytes(serialization.Encoding.PEM))
    (config.tls_dir / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    station.broker.reload()
    assert wait_until(lambda: _served_serial(station) == old.serial_number, 5)
    connected = station.device("loa-1")
    try:
        assert station.broker.renew_certificate() == "expires soon"
        assert wait_until(lambda: _served_serial(station) != old.serial_number, 5)
        assert not connected.disconnected.wait(0.3)  # the reload does not drop agents
    finally:
        connected.close()
    assert tls.ensure_ca(config.ca_directory).pem == ca_before  # enrolled agents need nothing new
    station.device("loa-1").close()


def _served_serial(station: BrokerStation) -> int:
    """Return the serial number of the certificate the TLS listener presents now."""
    config = station.agents["loa-1"]
    with (
        socket.create_connection((config.mqtt_host, config.mqtt_port), timeout=5) as raw,
        tls_context(config).wrap_socket(raw, server_hostname=config.mqtt_host) as wrapped,
    ):
        der = wrapped.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_a_real_agent_connects_over_tls(station: BrokerStation, tmp_path: Path) -> None:
    config_path = station.root / "loa-agent.toml"
    observer = station.station()
    log_path = tmp_path / "agent.log"
    with log_path.open("ab") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.cli", "--config", str(config_path)],
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
    try:
        observer.subscribe(protocol.device_status_topic("loa-agent"))
        # The agent announces itself only once connected and subscribed (retained "online").
        assert wait_until(
            lambda: any(b'"online"' in payload for _, payload in observer.received(0.2)), timeout=20
        ), log_path.read_text(errors="replace")
        assert "connected to 127.0.0.1" in log_path.read_text()
    finally:
        agent.terminate()
        agent.wait(timeout=10)
        observer.close()
