"""Pre-recorded alert sounds kept ready in the clip store (and prefetched by agents): a siren and phrases."""

from __future__ import annotations

import array
import logging
import math
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from broadcast.audio import render_clip
from broadcast.clipstore.rendering import render_bulletin, render_options
from broadcast.clipstore.store import ClipStorage
from broadcast.config import SpeechSettings
from broadcast.protocol import ClipRef
from broadcast.storage.db import Database
from broadcast.storage.models import Clip
from broadcast.tts import PcmAudio

log = logging.getLogger(__name__)

PHRASES = {
    "bao": "Bão khẩn cấp! Đề nghị bà con chằng chống nhà cửa và vào nơi trú ẩn an toàn ngay.",
    "lu": "Lũ quét khẩn cấp! Đề nghị bà con rời khỏi khu vực ven sông suối ngay lập tức.",
    "chay": "Cháy khẩn cấp! Đề nghị bà con tránh xa khu vực cháy và gọi 114.",
    "so-tan": "Sơ tán khẩn cấp! Đề nghị bà con di chuyển ngay đến nơi tập trung theo hướng dẫn của xã.",
    "huy": "Thông báo huỷ cảnh báo. Cảnh báo vừa phát đã được huỷ bỏ. Bà con tiếp tục sinh hoạt bình thường.",
}
SIREN_RATE = 22050
SIREN, TEST_TONE = "siren", "test-tone"  # the preambles: a real alert's siren, a drill's short beeps


@dataclass(frozen=True)
class Template:
    name: str
    clip: ClipRef


def siren(seconds: float = 4.0, rate: int = SIREN_RATE) -> PcmAudio:
    """Return a two-tone siren (650/950 Hz, half a second each): unmistakable and not a melody."""
    samples = array.array("h")
    for n in range(int(seconds * rate)):
        t = n / rate
        frequency = 650.0 if int(t * 2) % 2 == 0 else 950.0
        samples.append(int(0.6 * 32767 * math.sin(2 * math.pi * frequency * t)))
    return PcmAudio(samples=samples.tobytes(), sample_rate=rate)


def drill_tone(rate: int = SIREN_RATE) -> PcmAudio:
    """Return a drill's preamble: three short 1 kHz beeps (1.2 s), plainly not the siren."""
    samples = array.array("h")
    for n in range(int(1.2 * rate)):
        t = n / rate
        on = (t % 0.4) < 0.25
        samples.append(int(0.5 * 32767 * math.sin(2 * math.pi * 1000.0 * t)) if on else 0)
    return PcmAudio(samples=samples.tobytes(), sample_rate=rate)


def _store(session: Session, clips: ClipStorage, data: bytes, duration_s: float, lufs: float) -> Clip:
    sha = clips.put(data)
    clip = session.get(Clip, sha)
    if clip is None:
        clip = Clip(sha256=sha, size=len(data), duration_s=duration_s, loudness_lufs=lufs)
        session.add(clip)
        session.flush()
    return clip


def ensure_templates(
    db: Database, clips: ClipStorage, speech: SpeechSettings, public_url: str
) -> dict[str, Template]:
    """Render (or find, via the render cache) the siren and the alert phrases; return them by name.

    Everything is read aloud first, with no transaction open; the clips are then stored in one.
    """
    options = replace(render_options(speech), with_chime=False)
    bitrate = options.bitrate
    # The drill's beeps stand alone (no chime before them): short, and unlike anything else heard.
    encoded = {
        name: render_clip(
            pcm, ffmpeg=options.ffmpeg, target_lufs=options.target_lufs, bitrate=bitrate, with_chime=chime
        )
        for name, pcm, chime in ((SIREN, siren(), True), (TEST_TONE, drill_tone(), False))
    }
    for name, text in PHRASES.items():
        encoded[name] = render_bulletin(text, options).clip
    with db.session() as session:
        made = {
            name: _store(session, clips, c.data, c.duration_s, c.loudness_lufs) for name, c in encoded.items()
        }
    base = public_url.rstrip("/")
    return {
        name: Template(name, ClipRef(f"{base}/clips/{c.sha256}.mp3", c.sha256, c.size, c.duration_s))
        for name, c in made.items()
    }
