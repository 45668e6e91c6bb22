"""CAP 1.2 import/export: real-shaped samples round-trip; malformed and hostile XML is refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcast.alerts.cap import CapError, CapExport, parse_cap, to_cap

SAMPLES = Path(__file__).parent / "data" / "cap"


def test_a_typhoon_alert_is_read() -> None:
    message = parse_cap((SAMPLES / "bao-so-3.xml").read_bytes())
    assert message.msg_type == "Alert"
    assert message.severity == "Extreme"
    assert message.zone_ids() == ["thon-1", "thon-2"]
    assert message.expires == datetime(2026, 9, 17, 11, 0, tzinfo=UTC)
    assert message.spoken_text.splitlines() == [
        "Bão số 3 đổ bộ trong 6 giờ tới",
        "Bão số 3 cách đất liền khoảng 150 km, sức gió mạnh cấp 12, giật cấp 14.",
        "Người dân vùng trũng di chuyển ngay đến nơi trú ẩn an toàn theo hướng dẫn của xã.",
    ]


def test_a_cancel_refers_to_the_alert() -> None:
    message = parse_cap((SAMPLES / "huy-bao-so-3.xml").read_bytes())
    assert message.msg_type == "Cancel"
    assert "VN-PCTT-2026-0917-003" in message.references[0]


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        ("wrong-namespace.xml", "CAP 1.2"),
        ("missing-urgency.xml", "urgency"),
        ("entity-bomb.xml", "XML"),
        ("garbage.xml", "XML"),
        ("naive-time.xml", "múi giờ"),
    ],
)
def test_malformed_samples_are_refused(sample: str, reason: str) -> None:
    with pytest.raises(CapError, match=reason):
        parse_cap((SAMPLES / sample).read_bytes())


def test_our_alerts_round_trip() -> None:
    sent = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    ours = CapExport(
        identifier="loa-xa-42",
        sender="ubnd@xa-dong-hai",
        sent=sent,
        msg_type="Alert",
        text="Lũ quét ở thượng nguồn.\nSơ tán ngay khỏi khu vực ven suối.",
        zones=("thon-1", "thon-3"),
        expires=sent + timedelta(hours=2),
    )
    back = parse_cap(to_cap(ours))
    assert (back.identifier, back.sender, back.msg_type) == ("loa-xa-42", "ubnd@xa-dong-hai", "Alert")
    assert back.zone_ids() == ["thon-1", "thon-3"]
    assert back.spoken_text == ours.text
    assert back.expires == ours.expires
    assert back.sent == sent


def test_oversized_input_is_refused() -> None:
    with pytest.raises(CapError, match="quá lớn"):
        parse_cap(b"<" * (300 * 1024))
