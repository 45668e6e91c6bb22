"""Messages between station and edge agents: topics, models, canonical JSON and Ed25519 signatures.

The public face of the protocol package: import `from broadcast import protocol` and use `protocol.X`.
Shared by the server and the agent, so it imports only the standard library at module level
(``cryptography`` is imported inside the sign/verify functions). One module per family: `base` (envelope,
canonical JSON, clip references), `topics`, `commands` (play + the parser of every kind), `alerts`,
`control` (volume, test tone), `config`, `programme` (zone programmes, stream relays), `live` (live
sessions), `keys` (signatures, key rotation), `health` (heartbeats), `reports` (agent -> station).
"""

from __future__ import annotations

from broadcast.protocol.alerts import (
    MAX_ALERT_BYTES,
    AlertCommand,
    AlertSpeechCommand,
    CancelCommand,
    CommandReceived,
    parse_alert_command,
    parse_alert_speech_command,
    parse_cancel_command,
)
from broadcast.protocol.base import (
    MAX_MESSAGE_BYTES,
    PRIORITIES,
    PROTOCOL_VERSION,
    TOPIC_ROOT,
    ClipRef,
    Priority,
    ProtocolError,
    as_priority,
    canonical_json,
    is_identifier,
)
from broadcast.protocol.config import ConfigCommand, parse_config_command
from broadcast.protocol.control import (
    TestToneCommand,
    VolumeCommand,
    parse_test_tone_command,
    parse_volume_command,
)
from broadcast.protocol.health import ClockSource, Heartbeat, LinkInfo, LinkType
from broadcast.protocol.keys import (
    KEYS_TOPIC,
    KeyUpdate,
    TrustedKey,
    UnknownKeyError,
    key_id,
    parse_key_update,
    public_key_of,
    sign_body,
    verify_message,
)
from broadcast.protocol.live import (
    LiveStartCommand,
    LiveStopCommand,
    parse_live_start_command,
    parse_live_stop_command,
)
from broadcast.protocol.programme import (
    MAX_PROGRAMME_BYTES,
    ProgrammeMessage,
    StreamCommand,
    parse_programme,
    parse_stream_command,
    zone_programme_topic,
)

__all__ = [
    "EVENT_SUBSCRIPTION",
    "KEYS_TOPIC",
    "MAX_ALERT_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_PROGRAMME_BYTES",
    "PRIORITIES",
    "PROTOCOL_VERSION",
    "STATUS_SUBSCRIPTION",
    "TOPIC_ROOT",
    "AgentMessage",
    "AlertCommand",
    "AlertSpeechCommand",
    "CancelCommand",
    "ClipRef",
    "ClockSource",
    "Command",
    "CommandReceived",
    "CommandRejected",
    "ConfigCommand",
    "DeviceStatus",
    "Heartbeat",
    "KeyUpdate",
    "LinkInfo",
    "LinkType",
    "LiveStartCommand",
    "LiveStopCommand",
    "PlayCommand",
    "PlayReport",
    "Priority",
    "ProgrammeMessage",
    "ProtocolError",
    "StreamCommand",
    "TestToneCommand",
    "TrustedKey",
    "UnknownKeyError",
    "VolumeCommand",
    "as_priority",
    "canonical_json",
    "device_command_topic",
    "device_event_topic",
    "device_id_from_topic",
    "device_status_topic",
    "encode_agent_message",
    "is_identifier",
    "key_id",
    "parse_agent_message",
    "parse_alert_command",
    "parse_alert_speech_command",
    "parse_cancel_command",
    "parse_command",
    "parse_config_command",
    "parse_key_update",
    "parse_live_start_command",
    "parse_live_stop_command",
    "parse_play_command",
    "parse_programme",
    "parse_stream_command",
    "parse_test_tone_command",
    "parse_volume_command",
    "public_key_of",
    "sign_body",
    "verify_message",
    "zone_command_topic",
    "zone_programme_topic",
]  # fmt: skip


from broadcast.protocol.commands import Command, PlayCommand, parse_command, parse_play_command
from broadcast.protocol.reports import (
    AgentMessage,
    CommandRejected,
    DeviceStatus,
    PlayReport,
    encode_agent_message,
    parse_agent_message,
)
from broadcast.protocol.topics import (
    EVENT_SUBSCRIPTION,
    STATUS_SUBSCRIPTION,
    device_command_topic,
    device_event_topic,
    device_id_from_topic,
    device_status_topic,
    zone_command_topic,
)
