"""The address agents fetch clips from, as the running station knows it, kept for `broadcast device add`.

An agent trusts clips only under the station URL written into its agent.toml. `device add` runs as its own
process and cannot guess the port `broadcast serve` listens on, so `serve` records its agent-facing base URL
(BROADCAST_PUBLIC_URL, else http://HOST:PORT it serves) in the data directory at start, and enrolment uses
BROADCAST_PUBLIC_URL, else that record, else refuses: a guessed address makes an agent that refuses every
programme entry and says so only in its own log.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from broadcast import domain
from broadcast.storage.files import write_atomic

__all__ = ["RECORD_NAME", "agent_url", "is_loopback", "record", "recorded"]

RECORD_NAME = "agent_url"  # in the data directory: one line, the base URL
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

UNKNOWN = (
    "Chưa biết địa chỉ trạm mà cụm loa dùng để tải bản tin, nên không cấp cấu hình được "
    "(cụm loa sẽ từ chối mọi bản tin). Cách sửa: chạy trạm («broadcast serve») một lần trên máy này "
    "rồi chạy lại lệnh, hoặc đặt BROADCAST_PUBLIC_URL, ví dụ BROADCAST_PUBLIC_URL=http://192.168.1.10:8080"
)


def record(data_dir: Path, url: str) -> None:
    """Write the station's agent-facing base URL into the data directory (atomically)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(data_dir / RECORD_NAME, url.rstrip("/") + "\n")


def recorded(data_dir: Path) -> str | None:
    """Return the base URL the station last served agents from, or None if it never started here."""
    try:
        text = (data_dir / RECORD_NAME).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return text if urlsplit(text).scheme in ("http", "https") and urlsplit(text).hostname else None


def agent_url(public_url: str | None, data_dir: Path) -> str:
    """Return the URL to enrol agents with: BROADCAST_PUBLIC_URL, else the recorded one; domain.Invalid if
    neither is known."""
    url = public_url or recorded(data_dir)
    if not url:
        raise domain.Invalid(UNKNOWN)
    return url.rstrip("/")


def is_loopback(url: str) -> bool:
    """Return True if only an agent on the station's own machine can reach this URL."""
    return (urlsplit(url).hostname or "") in _LOOPBACK
