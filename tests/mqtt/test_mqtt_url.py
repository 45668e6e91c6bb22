"""Parsing BROADCAST_MQTT_URL."""

from __future__ import annotations

import pytest

from broadcast.mqtt.client import MqttTarget, parse_mqtt_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://station:s3cret@127.0.0.1:18830", MqttTarget("127.0.0.1", 18830, "station", "s3cret")),
        ("mqtt://station:s3cret@broker.example", MqttTarget("broker.example", 1883, "station", "s3cret")),
        (
            "mqtts://station:p%40ss%3Aw@broker.example",
            MqttTarget("broker.example", 8883, "station", "p@ss:w", True),
        ),
        (
            "mqtts://station:pw@broker.example:8884/",
            MqttTarget("broker.example", 8884, "station", "pw", True),
        ),
        ("mqtt://localhost:1884", MqttTarget("localhost", 1884)),
        ("mqtt://[::1]:1883", MqttTarget("::1", 1883)),
    ],
)
def test_parse_mqtt_url(url: str, expected: MqttTarget) -> None:
    assert parse_mqtt_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://station:pw@host:1883", "must start with mqtt://"),
        ("station:pw@host:1883", "must start with mqtt://"),
        ("mqtt://", "no host"),
        ("mqtt://station:pw@host:port", "bad port"),
        ("mqtt://station:pw@host:99999", "bad port"),
        ("mqtt://station:pw@host:1883/loa", "nothing after"),
        ("mqtt://station:pw@host:1883?tls=1", "nothing after"),
    ],
)
def test_parse_mqtt_url_rejects(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mqtt_url(url)
