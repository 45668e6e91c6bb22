"""Sample bulletin files (Markdown with `key: value` front matter) -> bulletin drafts."""

from __future__ import annotations

from pathlib import Path

from broadcast.bulletins.workflow import BulletinDraft
from broadcast.domain import Invalid

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "bulletins"


def parse_bulletin_file(text: str) -> BulletinDraft:
    """Return the draft a sample file describes; raise Invalid if the front matter is broken."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (line.strip() for line in lines[1:]):
        raise Invalid("Tệp bản tin phải bắt đầu bằng phần đầu '---' ... '---'.")
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if not sep:
            raise Invalid(f"Dòng đầu tệp không hợp lệ: {line!r}")
        meta[key.strip()] = value.strip()
    missing = {"title", "zones"} - meta.keys()
    if missing:
        raise Invalid(f"Thiếu trường: {', '.join(sorted(missing))}")
    return BulletinDraft(
        title=meta["title"],
        text="\n".join(lines[end + 1 :]).strip(),
        priority=meta.get("priority", "normal"),
        zones=[z.strip() for z in meta["zones"].split(",") if z.strip()],
    )


def sample_files(directory: Path = SAMPLES_DIR) -> list[Path]:
    return sorted(p for p in directory.glob("*.md") if p.name != "README.md")
