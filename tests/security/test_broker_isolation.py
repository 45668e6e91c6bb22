"""Credential isolation on the managed broker: a device gets its own topics and nothing else.

Two devices in two zones over TLS; the station publishes on every topic and listens on every report
topic, so anything a device can reach (or forge) beyond its own shows up.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broadcast import protocol
from edge_agent.transport import tls_context
from tests.security.broker_support import BrokerStation, Probe, start_broker_station

pytestmark = pytest.mark.integration

OWN_ZONE_PROGRAMME = protocol.zone_programme_topic("thon-2")
OTHER_ZONE_PROGRAMME = protocol.zone_programme_topic("thon-1")


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerStation]:
    station = start_broker_station(tmp_path_factory.mktemp("isolation"))
    station.enrol("loa-1", "thon-1")
    station.enrol("loa-2", "thon-2")
    sender = station.station()
    try:  # each zone's programme is retained: a subscriber gets it at once, if allowed
        for topic in (OTHER_ZONE_PROGRAMME, OWN_ZONE_PROGRAMME):
            assert not sender.publish(topic, topic.encode(), retain=True).is_failure
    finally:
        sender.close()
    yield station
    station.stop()


@pytest.fixture
def victim(station: BrokerStation) -> Iterator[Probe]:
    probe = station.device("loa-1")
    yield probe
    probe.close()


@pytest.fixture
def intruder(station: BrokerStation) -> Iterator[Probe]:
    probe = station.device("loa-2")
    yield probe
    probe.close()


def _publish_everywhere(station: BrokerStation) -> None:
    sender = station.station()
    try:
        for topic in (
            protocol.device_command_topic("loa-1"),
            protocol.zone_command_topic("thon-1"),
            protocol.device_command_topic("loa-2"),
            protocol.zone_command_topic("thon-2"),
        ):
            assert not sender.publish(topic, topic.encode()).is_failure
    finally:
        sender.close()


def test_a_device_reads_only_its_own_topics_even_with_wildcards(
    station: BrokerStation, intruder: Probe
) -> None:
    intruder.subscribe(
        "#",
        f"{protocol.TOPIC_ROOT}/#",
        protocol.device_command_topic("loa-1"),
        protocol.zone_command_topic("thon-1"),
        OTHER_ZONE_PROGRAMME,
        protocol.device_event_topic("loa-1"),
        protocol.device_command_topic("loa-2"),
        protocol.zone_command_topic("thon-2"),
        OWN_ZONE_PROGRAMME,
    )
    _publish_everywhere(station)
    got = {topic for topic, _ in intruder.received()}
    assert got == {
        protocol.device_command_topic("loa-2"),
        protocol.zone_command_topic("thon-2"),
        OWN_ZONE_PROGRAMME,  # retained: its own zone's programme only
    }


def test_another_client_id_does_not_give_another_devices_rights(
    station: BrokerStation, victim: Probe
) -> None:
    victim.subscribe(protocol.device_command_topic("loa-1"))
    # loa-2's credentials, loa-1's client id: the broker names the session after the username, so
    # loa-1 is not kicked off and loa-2 gains none of loa-1's topics.
    impostor = station.device("loa-2", client_id="loa-1")
    try:
        impostor.subscribe(protocol.device_command_topic("loa-1"), OTHER_ZONE_PROGRAMME)
        _publish_everywhere(station)
        assert protocol.device_command_topic("loa-1") not in {t for t, _ in impostor.received()}
        assert OTHER_ZONE_PROGRAMME not in {t for t, _ in impostor.received(0.1)}
        assert not victim.disconnected.is_set()
        assert (protocol.device_command_topic("loa-1"), b"loa/v1/dev/loa-1/cmd") in victim.received()
    finally:
        impostor.close()


def test_a_device_cannot_publish_commands_or_forge_reports(station: BrokerStation, intruder: Probe) -> None:
    listener = station.station()
    try:
        listener.subscribe(f"{protocol.TOPIC_ROOT}/#")
        listener.received(0.2)  # the retained programmes
        for topic in (
            protocol.zone_command_topic("thon-1"),
            protocol.zone_command_topic("thon-2"),  # even its own zone: only the station commands
            protocol.device_command_topic("loa-2"),
            protocol.device_command_topic("loa-1"),
            OWN_ZONE_PROGRAMME,
            protocol.device_status_topic("loa-1"),
            protocol.device_event_topic("loa-1"),
        ):
            assert intruder.publish(topic, b"forged").is_failure, topic
        assert listener.received() == []
        # Its own report topic works, so the refusals above are the ACL, not a dead link.
        assert not intruder.publish(protocol.device_event_topic("loa-2"), b"report").is_failure
        assert listener.received() == [(protocol.device_event_topic("loa-2"), b"report")]
    finally:
        listener.close()


def test_another_devices_username_with_this_devices_password_is_refused(station: BrokerStation) -> None:
    own = station.agents["loa-2"]
    other = station.agents["loa-1"]
    probe = Probe("loa-1", "loa-1", own.mqtt_password)
    assert probe.connect(other.mqtt_host, other.mqtt_port, tls_context(other)) == "Not authorized"
    for reserved in ("station", "station-1"):  # the station's accounts are not guessable either
        probe = Probe(reserved, reserved, own.mqtt_password)
        assert probe.connect(other.mqtt_host, other.mqtt_port, tls_context(other)) == "Not authorized"
