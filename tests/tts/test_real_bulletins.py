"""Real bulletins read as an announcer would: NCHMF storm/flood/heat/cold bulletins and commune notices.

Each file in golden/bulletins/ is one real bulletin (trimmed to the sentences that matter) with its source
address and kind, then rows `text<TAB>accepted reading`; every sentence must read as accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from broadcast.tts import normalize_text

BULLETINS = Path(__file__).with_name("golden") / "bulletins"

REQUIRED_KINDS = {
    "storm",
    "flood",
    "flash-flood",
    "heat",
    "cold",
    "notice-vaccination",
    "notice-power",
    "notice-military",
    "notice-price",
    "notice-meeting",
}


@dataclass(frozen=True)
class Row:
    """One sentence of one bulletin, addressed as `file:line` (1-based line in the file)."""

    file: str
    line: int
    text: str
    reading: str

    @property
    def key(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Bulletin:
    """A bulletin file: where it came from, what kind it is, and its sentences."""

    file: str
    source: str
    kind: str
    rows: tuple[Row, ...]


def _load(path: Path) -> Bulletin:
    """Parse one bulletin file; headers are `# source: ...` and `# kind: ...`."""
    headers: dict[str, str] = {}
    rows: list[Row] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        if raw.startswith("#"):
            name, _, value = raw[1:].partition(":")
            headers[name.strip()] = value.strip()
            continue
        text, reading = raw.split("\t")
        rows.append(Row(path.name, number, text, reading))
    return Bulletin(path.name, headers.get("source", ""), headers.get("kind", ""), tuple(rows))


ALL = [_load(path) for path in sorted(BULLETINS.glob("*.tsv"))]
ROWS = [row for bulletin in ALL for row in bulletin.rows]


def test_at_least_sixty_real_bulletins_of_every_required_kind() -> None:
    assert len(ALL) >= 60
    kinds = {bulletin.kind for bulletin in ALL}
    assert kinds >= REQUIRED_KINDS, REQUIRED_KINDS - kinds


def test_every_bulletin_names_its_source_and_keeps_three_to_twelve_sentences() -> None:
    for bulletin in ALL:
        assert re.match(r"https?://\S+$", bulletin.source), bulletin.file
        assert bulletin.kind, bulletin.file
        assert 3 <= len(bulletin.rows) <= 12, (bulletin.file, len(bulletin.rows))


def test_accepted_readings_are_words_only() -> None:
    for row in ROWS:
        assert not re.search(r"[0-9/%&±°³²]", row.reading), row.key
        assert row.reading.strip() == row.reading and row.reading, row.key


@pytest.mark.parametrize(
    ("text", "spoken"), [(row.text, row.reading) for row in ROWS], ids=[row.key for row in ROWS]
)
def test_real_bulletin_sentence(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken
