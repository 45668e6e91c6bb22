"""What every normalisation pass shares: the per-call context, the rule type and small context probes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from broadcast.tts.lexicon import ABBREVIATIONS

UPPER = "A-Z" + "".join(
    sorted({c for c in map(chr, range(0xC0, 0x1F00)) if c.isalpha() and c.isupper() and c.lower() != c})
)
"""A regex class body for upper-case Latin letters with Vietnamese marks (Python's re has no \\p{Lu})."""

_WORD = re.compile(r"[^\W\d_]+")
_LAST_WORD = re.compile(r"([^\W\d_]+)[^\w]*?(?:\d+\s*(?:,|và)\s*)*$")
_FIRST_WORD = re.compile(r"^[^\w]*([^\W\d_]+)")


@dataclass
class Context:
    """Options of one normalisation call, and where unknown abbreviations are collected."""

    extra: Mapping[str, str] = field(default_factory=dict)
    mung: bool = False
    unknown: list[str] | None = None

    def lookup(self, token: str) -> str | None:
        """Return the reading of abbreviation ``token``: the commune's dictionary first, then ours."""
        reading = self.extra.get(token)
        return reading if reading is not None else ABBREVIATIONS.get(token)

    def report(self, token: str) -> None:
        """Note that ``token`` will be spelled letter by letter."""
        if self.unknown is not None:
            self.unknown.append(token)


Handler = Callable[[re.Match[str], Context], str]
Rule = tuple[re.Pattern[str], Handler]


def apply_rules(text: str, rules: tuple[Rule, ...], ctx: Context) -> str:
    """Run each rule over ``text`` in order; a handler sees its match and the call's context."""
    for pattern, handler in rules:
        text = pattern.sub(partial(_call, handler, ctx), text)
    return text


def _call(handler: Handler, ctx: Context, match: re.Match[str]) -> str:
    """Call ``handler`` with the match first, as ``re.sub`` passes it last."""
    return handler(match, ctx)


def previous_word(match: re.Match[str], span: int = 24) -> str:
    """Return the lower-cased word before ``match``, skipping a list of numbers before it ("ngày 8, 9")."""
    found = _LAST_WORD.search(match.string, max(0, match.start() - span), match.start())
    return found[1].lower() if found else ""


def next_word(match: re.Match[str]) -> str:
    """Return the lower-cased word right after ``match``."""
    found = _FIRST_WORD.search(match.string[match.end() : match.end() + 24])
    return found[1].lower() if found else ""


def text_before(match: re.Match[str], span: int) -> str:
    """Return up to ``span`` characters before ``match``, lower-cased."""
    return match.string[max(0, match.start() - span) : match.start()].lower()


def words(text: str) -> list[str]:
    """Return the words (letters only) of ``text``."""
    return _WORD.findall(text)
