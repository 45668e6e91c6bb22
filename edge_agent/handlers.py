"""Decide what to do with one received command payload: pure data in, decision out (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from broadcast import protocol
from edge_agent.config import AgentConfig
from edge_agent.sequence import SeqWindow

RejectKind = Literal[
    "unverified",
    "unknown-key",
    "malformed",
    "duplicate",
    "replay",
    "expired",
    "not-for-me",
    "bad-url",
    "unsupported",
]


@dataclass(frozen=True)
class Accepted:
    """The command is authentic, valid, new and meant for this device."""

    command: protocol.PlayCommand


@dataclass(frozen=True)
class AcceptedControl:
    """A volume, test-tone or config command that is authentic, valid, new and meant for this device."""

    command: protocol.VolumeCommand | protocol.TestToneCommand | protocol.ConfigCommand


@dataclass(frozen=True)
class AcceptedStream:
    """A stream relay that is authentic, valid, new and meant for this device."""

    command: protocol.StreamCommand


@dataclass(frozen=True)
class Rejected:
    """The command must not be carried out; reason is what gets logged and reported."""

    kind: RejectKind
    reason: str
    command_id: str = ""

    @property
    def report(self) -> bool:
        """Return True if the station should hear about it (redelivered duplicates are routine)."""
        return self.kind != "duplicate"


@dataclass(frozen=True)
class AcceptedLive:
    """A live_start or live_stop that is authentic, valid, new and meant for this device."""

    command: protocol.LiveStartCommand | protocol.LiveStopCommand


AlertMessage = protocol.AlertCommand | protocol.AlertSpeechCommand | protocol.CancelCommand


@dataclass(frozen=True)
class AcceptedAlert:
    """An emergency alert, its speech or its cancellation: authentic, valid, new and meant for this device."""

    command: AlertMessage


Decision = Accepted | AcceptedControl | AcceptedStream | AcceptedAlert | AcceptedLive | Rejected
_INLINE_AUDIO_KINDS = ("alert", "alert_speech")


def decide(
    payload: bytes,
    now: float,
    config: AgentConfig,
    seen: Container[str],
    *,
    keys: Mapping[str, str] | None = None,
    window: SeqWindow | None = None,
) -> Decision:
    """Return whether to accept a raw command payload received at `now` (unix seconds).

    keys: the trusted station keys by key id (default: the key pinned in agent.toml). window: the
    accepted sequence numbers, for a command that came alone (None for programme entries and restores).
    """
    decision = _decide(payload, now, config, seen, keys)
    if window is None or isinstance(decision, Rejected):
        return decision
    refusal = window.refuse(decision.command.seq)
    return decision if refusal is None else Rejected("replay", refusal, decision.command.id)


def _decide(
    payload: bytes, now: float, config: AgentConfig, seen: Container[str], keys: Mapping[str, str] | None
) -> Decision:
    # Alerts and their speech may carry audio inline: a larger bound for them (the station signs canonical
    # JSON, so an alert says so in these bytes), the usual one for every other kind (checked again below).
    alert = b'"kind":"alert' in payload
    limit = protocol.MAX_ALERT_BYTES if alert else protocol.MAX_MESSAGE_BYTES
    try:
        body = protocol.verify_message(
            payload, config.station_public_key if keys is None else keys, max_bytes=limit
        )
    except protocol.UnknownKeyError as exc:
        return Rejected("unknown-key", str(exc), _claimed_id(payload))
    except protocol.ProtocolError as exc:
        return Rejected("unverified", str(exc), _claimed_id(payload))
    claimed = body.get("id")
    claimed_id = claimed[:64] if isinstance(claimed, str) else ""
    if body.get("kind") not in _INLINE_AUDIO_KINDS and len(payload) > protocol.MAX_MESSAGE_BYTES:
        return Rejected("unverified", f"message too large ({len(payload)} bytes)", claimed_id)
    try:
        command = protocol.parse_command(body)
    except protocol.ProtocolError as exc:
        return Rejected("malformed", str(exc), claimed_id)
    if command.id in seen:
        if now > command.expires_at:
            # The broker drops a message at its expiry and the station never re-sends an expired
            # command: a copy arriving later is somebody replaying it.
            late = f"{now - command.expires_at:.1f} s"
            return Rejected("replay", f"replayed: already received, and expired {late} ago", command.id)
        return Rejected("duplicate", "already received", command.id)
    if isinstance(command, protocol.AlertCommand | protocol.AlertSpeechCommand | protocol.CancelCommand):
        return _decide_alert(command, now, config)
    if isinstance(command, protocol.LiveStartCommand | protocol.LiveStopCommand):
        return _decide_live(command, now, config)
    untimed = protocol.VolumeCommand | protocol.ConfigCommand  # applied on arrival: no start_at
    if not isinstance(command, untimed) and command.start_at > command.expires_at:
        return Rejected("malformed", "start_at is after expires_at", command.id)
    if now > command.expires_at:
        return Rejected("expired", f"expired {now - command.expires_at:.1f} s ago", command.id)
    if not set(command.zones) & set(config.zones):
        return Rejected("not-for-me", f"zones {list(command.zones)} are not this device's", command.id)
    if isinstance(command, protocol.StreamCommand):
        # The stream's URL is the radio station's, not ours: the signature is what vouches for it.
        return AcceptedStream(command)
    if not isinstance(command, protocol.PlayCommand):
        return AcceptedControl(command)
    if not is_under(command.clip.url, config.station_url):
        return Rejected(
            "bad-url", f"clip url {command.clip.url[:200]!r} is not under the station url", command.id
        )
    return Accepted(command)


def _decide_alert(command: AlertMessage, now: float, config: AgentConfig) -> Decision:
    """Check an alert or cancel: no start time (it plays on arrival), only expiry, zones and clip urls."""
    if now > command.expires_at:
        return Rejected("expired", f"expired {now - command.expires_at:.1f} s ago", command.id)
    if not set(command.zones) & set(config.zones):
        return Rejected("not-for-me", f"zones {list(command.zones)} are not this device's", command.id)
    if isinstance(command, protocol.AlertCommand):
        clips = [command.clip, command.preamble]
    elif isinstance(command, protocol.AlertSpeechCommand):
        clips = [command.clip]
    else:
        clips = [command.correction]
    for clip in clips:
        if clip is not None and not is_under(clip.url, config.station_url):
            return Rejected(
                "bad-url", f"clip url {clip.url[:200]!r} is not under the station url", command.id
            )
    return AcceptedAlert(command)


def _decide_live(
    command: protocol.LiveStartCommand | protocol.LiveStopCommand, now: float, config: AgentConfig
) -> Decision:
    """Check a live command: no start time (it acts on arrival), only expiry and zones.

    The Snapcast host it names is the station's; the signature is what vouches for it (the protocol
    refuses anything but a plain host name or address, so nothing reaches snapclient's argv as an option).
    """
    if now > command.expires_at:
        return Rejected("expired", f"expired {now - command.expires_at:.1f} s ago", command.id)
    if not set(command.zones) & set(config.zones):
        return Rejected("not-for-me", f"zones {list(command.zones)} are not this device's", command.id)
    return AcceptedLive(command)


def is_under(url: str, base: str) -> bool:
    """Return True if url has base's scheme, host and port and a path inside base's path."""
    target, root = urlsplit(url), urlsplit(base)
    if target.scheme != root.scheme or target.username is not None or target.password is not None:
        return False
    try:
        same_host = target.hostname == root.hostname and target.port == root.port
    except ValueError:  # an unparsable port
        return False
    if not same_host:
        return False
    # A "/../" could climb out of the base path; the station never sends one.
    if ".." in target.path.split("/"):
        return False
    prefix = root.path.rstrip("/") + "/"
    return target.path.startswith(prefix)


def _claimed_id(payload: bytes) -> str:
    """Return the id an unverified payload claims, for the report only (never trusted, kept short)."""
    if len(payload) > protocol.MAX_MESSAGE_BYTES:
        return ""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        return ""
    claimed = body.get("id") if isinstance(body, dict) else None
    return claimed[:64] if isinstance(claimed, str) else ""
