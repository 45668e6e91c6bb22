"""Sample bulletins parse, validate and read without unknown abbreviations."""

from __future__ import annotations

import pytest

from broadcast.bulletins.samples import parse_bulletin_file, sample_files
from broadcast.domain import Invalid
from broadcast.tts import normalize_text, unknown_abbreviations


def test_every_sample_is_a_valid_bulletin() -> None:
    files = sample_files()
    assert len(files) >= 4
    for path in files:
        draft = parse_bulletin_file(path.read_text(encoding="utf-8"))
        assert draft.title
        assert draft.priority in ("normal", "priority", "emergency")
        assert draft.zones == ["thon-1"]
        assert unknown_abbreviations(draft.text) == [], path.name
        spoken = normalize_text(draft.text)
        assert not any(ch.isdigit() for ch in spoken), (path.name, spoken)


@pytest.mark.parametrize(
    "text",
    ["no front matter", "---\ntitle: x\n", "---\ntitle x\nzones: a\n---\nbody", "---\ntitle: x\n---\nbody"],
)
def test_broken_front_matter_is_rejected(text: str) -> None:
    with pytest.raises(Invalid):
        parse_bulletin_file(text)
