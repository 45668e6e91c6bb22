"""An alert's life as the officer reads it: status words, when it has finished playing, short text.

Pure: the caller passes the alert's fields, its speech length and the time. An alert stays "sent" in the
database until it expires (its retries and late speech need that); on the page it is over once every
repeat has had time to play, estimated the way broadcast.live.records.alert_on_air does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SIREN_BOUND_S = 10.0  # an upper bound of the siren before each repeat
TEST_TONE_BOUND_S = 3.0  # an upper bound of a drill's test tone (1.2 s) before each repeat
UNKNOWN_SPEECH_S = 30.0  # speech not synthesised yet: assume a long one rather than end too early
TEST_LABEL = "Báo động thử"
TEST_TITLE = "Thử nghiệm — báo động thử"  # the command's title: the play log names a drill a test
ALERT_TITLE = "Cảnh báo khẩn cấp"
TEST_SENTENCE = "Đây là bản tin thử nghiệm."

STATUS_LABELS = {
    "awaiting_confirmation": "Chờ xác nhận",
    "on_air": "Đang phát",
    "finished": "Đã phát xong",
    "cancelled": "Đã huỷ",
    "expired": "Hết hiệu lực",
}
OVER = frozenset({"finished", "cancelled", "expired"})


def played_out_at(
    sent_at: datetime, repeat: int, interval_s: float, speech_s: float | None, test: bool = False
) -> datetime:
    """Return when the last repeat has surely ended: repeats × (siren + speech + interval) after sending."""
    preamble = TEST_TONE_BOUND_S if test else SIREN_BOUND_S
    each = preamble + (speech_s if speech_s else UNKNOWN_SPEECH_S) + interval_s
    return sent_at + timedelta(seconds=repeat * each)


@dataclass(frozen=True)
class AlertState:
    """What the alert page and lists say about an alert now."""

    phase: str  # a key of STATUS_LABELS
    label: str  # Vietnamese
    over: bool  # finished, cancelled or expired: nothing more will play, the page stops refreshing
    test: bool


def state(
    status: str,
    sent_at: datetime | None,
    expires_at: datetime,
    repeat: int,
    interval_s: float,
    speech_s: float | None,
    speech_pending: bool,
    test: bool,
    now: datetime,
) -> AlertState:
    """Return the alert's phase: waiting, on the air, played out, cancelled or expired."""
    phase = status
    if status == "sent":
        if expires_at <= now:
            phase = "expired"
        elif sent_at is not None and not speech_pending:
            ended = played_out_at(sent_at, repeat, interval_s, speech_s, test)
            phase = "finished" if now >= ended else "on_air"
        else:
            phase = "on_air"
    elif status == "awaiting_confirmation" and expires_at <= now:
        phase = "expired"
    label = STATUS_LABELS.get(phase, "Không rõ trạng thái")  # never the raw English word
    return AlertState(phase, label, phase in OVER, test)


def short_text(text: str, limit: int = 80) -> str:
    """Return the text cut at a word boundary to at most `limit` characters, with "…" if cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]
    if " " in head and flat[limit - 1] != " ":
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-–") + "…"


def spoken_source(text: str, test: bool) -> str:
    """Return the text the loudspeakers read: a drill first says it is a test."""
    return f"{TEST_SENTENCE} {text}" if test else text
