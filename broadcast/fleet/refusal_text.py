"""Why a loudspeaker cluster refused a command, in words an officer reads (agents report in English).

Agents send free text (`edge_agent/handlers.py`, `alerts.py`, `playout.py`, ...); the known forms are matched
here and said in Vietnamese, an unknown one is kept after a Vietnamese lead so nothing is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["describe", "is_officer_action"]

_Match = re.Match[str]

# (pattern, Vietnamese sentence built from the match), first match wins.
_KNOWN: tuple[tuple[re.Pattern[str], Callable[[_Match], str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), say)
    for pattern, say in (
        (
            r"^clip url .* is not under the station url",
            lambda m: (
                "Cụm loa không nhận tệp âm thanh vì địa chỉ trạm nó được cấp khác địa chỉ trạm đang dùng; "
                "cần cấp lại cụm loa với đúng địa chỉ trạm (BROADCAST_PUBLIC_URL)."
            ),
        ),
        (r"^expired ([\d.]+) s ago", lambda m: f"Lệnh tới nơi đã hết hạn ({float(m[1]):.0f} giây trước)."),
        (r"^zones .* are not this device's", lambda m: "Lệnh không dành cho vùng của cụm loa này."),
        (r"^start_at is after expires_at|^malformed", lambda m: "Lệnh không hợp lệ."),
        (r"^cancelled before it arrived", lambda m: "Đã huỷ trước khi tới cụm loa."),
        (r"^cancelled by \S+ after (\d+) of (\d+) repeats", lambda m: f"Đã huỷ sau {m[1]}/{m[2]} lần phát."),
        (r"^expired after (\d+) of (\d+) repeats", lambda m: f"Hết hạn sau {m[1]}/{m[2]} lần phát."),
        (
            r"^no speech within ([\d.]+) s",
            lambda m: f"Không nhận được lời đọc trong {float(m[1]):g} giây; còi đã dừng.",
        ),
        (r"^alert audio fetch failed", lambda m: "Không tải được âm thanh cảnh báo từ trạm."),
        (r"^correction fetch failed", lambda m: "Không tải được bản đính chính từ trạm."),
        (
            r"commands are not supported by this agent",
            lambda m: "Phần mềm cụm loa quá cũ, chưa hỗ trợ lệnh này.",
        ),
        (
            r"^missed start by ([\d.]+) s",
            lambda m: f"Lỡ giờ phát {float(m[1]):.0f} giây vì loa đang bận.",
        ),
        (r"^interrupted before start", lambda m: "Bị ngắt trước khi kịp phát."),
        (
            r"^cut off by a power loss or crash",
            lambda m: "Bị ngắt giữa chừng do mất điện hoặc sự cố; không phát lại.",
        ),
        (r"^output failed", lambda m: "Lỗi phát ra loa (đầu ra âm thanh)."),
        (r"^volume failed", lambda m: "Không đặt được âm lượng."),
        (r"^config not saved", lambda m: "Không lưu được cài đặt trên cụm loa."),
        (
            r"(fetch|download).*(failed|error)|sha256|checksum",
            lambda m: "Không tải được tệp âm thanh từ trạm.",
        ),
        (r"signature|unverified|unknown-key|unknown key", lambda m: "Chữ ký lệnh không kiểm tra được."),
    )
)

# Refusals that follow an officer's own action (a cancel), not a fault of the cluster.
_OFFICER_ACTION = re.compile(r"^cancelled ", re.IGNORECASE)


def describe(reason: str) -> str:
    """Return a refusal reason as a Vietnamese sentence (an unknown one is quoted after a Vietnamese lead)."""
    text = reason.strip()
    for pattern, say in _KNOWN:
        match = pattern.search(text)
        if match:
            return say(match)
    if not text:
        return "Cụm loa từ chối, không nêu lý do."
    return f"Cụm loa từ chối: {text[:200]}"


def is_officer_action(reason: str) -> bool:
    """Return True if the refusal only follows an officer's cancel (not a problem of the cluster)."""
    return bool(_OFFICER_ACTION.match(reason.strip()))
