"""MQTT topics of the protocol: per device, per zone, and the subscriptions of the station."""

from __future__ import annotations

from broadcast.protocol.base import TOPIC_ROOT, ProtocolError, is_identifier


def device_command_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{device_id}/cmd"


def zone_command_topic(zone: str) -> str:
    return f"{TOPIC_ROOT}/zone/{zone}/cmd"


def device_status_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{device_id}/status"


def device_event_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/dev/{device_id}/event"


STATUS_SUBSCRIPTION = f"{TOPIC_ROOT}/dev/+/status"
EVENT_SUBSCRIPTION = f"{TOPIC_ROOT}/dev/+/event"


def device_id_from_topic(topic: str) -> str:
    """Return the device id of a loa/v1/dev/<id>/... topic."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT or parts[2] != "dev":
        raise ProtocolError(f"not a device topic: {topic!r}")
    if not is_identifier(parts[3]):
        raise ProtocolError(f"bad device id in topic: {topic!r}")
    return parts[3]
