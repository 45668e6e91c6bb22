"""Sizes and audio constants of the vietTTS models, read from the checkpoints and HiFi-GAN's config.json."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadcast.tts.base import TtsUnavailable

SAMPLE_RATE = 16_000
"""The InfoRe recordings, and so every released vietTTS model, are 16 kHz."""

HOP_LENGTH = 1024 // 4
"""Samples per mel frame (n_fft // 4 in the original): durations in seconds become frames through it."""

DURATION_FILE = "duration_latest_ckpt.pickle"
ACOUSTIC_FILE = "acoustic_latest_ckpt.pickle"
VOCODER_FILE = "hk_hifi.pickle"
LEXICON_FILE = "lexicon.txt"
VOCODER_CONFIG_FILE = "config.json"
REQUIRED_FILES: tuple[str, ...] = (DURATION_FILE, ACOUSTIC_FILE, VOCODER_FILE, LEXICON_FILE)


def check_installed(directory: Path) -> None:
    """Raise TtsUnavailable naming every required file missing from ``directory`` and what to do."""
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise TtsUnavailable(
            f"Chưa cài giọng vietTTS: thiếu {', '.join(missing)} trong thư mục {directory}. Hãy chép "
            f"{', '.join(REQUIRED_FILES)} (và {VOCODER_CONFIG_FILE} của HiFi-GAN nếu có) vào thư mục này; "
            "xem docs/viettts.md."
        )


@dataclass(frozen=True)
class NatDims:
    """Layer widths of the duration and acoustic models; the defaults are those of the released models."""

    vocab_size: int = 256
    duration_dim: int = 256
    encoder_dim: int = 256
    decoder_dim: int = 512
    prenet_dim: int = 256
    postnet_dim: int = 512
    mel_dim: int = 80


@dataclass(frozen=True)
class VocoderConfig:
    """The HiFi-GAN generator fields of ``config.json``; the defaults are the file shipped with vietTTS."""

    resblock: str = "1"
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = field(default=((1, 3, 5), (1, 3, 5), (1, 3, 5)))
    sampling_rate: int = SAMPLE_RATE
    num_mels: int = 80
    hop_size: int = HOP_LENGTH

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> VocoderConfig:
        """Build from a parsed config.json (training-only keys are ignored) and check it can work."""
        base = cls()
        try:
            config = cls(
                resblock=str(data.get("resblock", base.resblock)),
                upsample_rates=tuple(int(v) for v in data.get("upsample_rates", base.upsample_rates)),
                upsample_kernel_sizes=tuple(
                    int(v) for v in data.get("upsample_kernel_sizes", base.upsample_kernel_sizes)
                ),
                upsample_initial_channel=int(
                    data.get("upsample_initial_channel", base.upsample_initial_channel)
                ),
                resblock_kernel_sizes=tuple(
                    int(v) for v in data.get("resblock_kernel_sizes", base.resblock_kernel_sizes)
                ),
                resblock_dilation_sizes=tuple(
                    tuple(int(d) for d in ds)
                    for ds in data.get("resblock_dilation_sizes", base.resblock_dilation_sizes)
                ),
                sampling_rate=int(data.get("sampling_rate", base.sampling_rate)),
                num_mels=int(data.get("num_mels", base.num_mels)),
                hop_size=int(data.get("hop_size", base.hop_size)),
            )
        except (TypeError, ValueError) as exc:
            raise TtsUnavailable(f"Tệp config.json của HiFi-GAN có giá trị sai: {exc}.") from exc
        config.check()
        return config

    def check(self) -> None:
        """Refuse settings the ported generator (or the acoustic model's frame rate) cannot serve."""
        if self.resblock != "1":
            # The original converter names type-2 blocks differently from the model that loads them, so no
            # working type-2 checkpoint can exist; say so instead of failing on a missing weight.
            raise TtsUnavailable("HiFi-GAN với resblock kiểu 2 không được hỗ trợ (bản gốc chỉ chạy kiểu 1).")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes) or not self.upsample_rates:
            raise TtsUnavailable(
                "config.json của HiFi-GAN: upsample_rates và upsample_kernel_sizes lệch nhau."
            )
        if (
            len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes)
            or not self.resblock_kernel_sizes
        ):
            raise TtsUnavailable("config.json của HiFi-GAN: resblock_kernel_sizes và dilation lệch nhau.")
        if math.prod(self.upsample_rates) != HOP_LENGTH or self.hop_size != HOP_LENGTH:
            raise TtsUnavailable(
                f"HiFi-GAN phải nhân {HOP_LENGTH} mẫu cho mỗi khung mel như mô hình âm học; "
                f"config.json cho {math.prod(self.upsample_rates)}."
            )
        if self.sampling_rate != SAMPLE_RATE:
            raise TtsUnavailable(
                f"HiFi-GAN phải chạy ở {SAMPLE_RATE} Hz; config.json ghi {self.sampling_rate} Hz."
            )


def load_vocoder_config(path: Path) -> VocoderConfig:
    """Read ``path`` when the operator supplied it, else use the configuration vietTTS ships."""
    if not path.is_file():
        return VocoderConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TtsUnavailable(f"Không đọc được {path}: {exc}.") from exc
    if not isinstance(data, dict):
        raise TtsUnavailable(f"{path} phải là một đối tượng JSON.")
    return VocoderConfig.from_mapping(data)


def bucket(size: int, floor: int) -> int:
    """Round ``size`` up to one of four steps per octave (≤ 25 % padding), so few shapes ever compile."""
    if size <= floor:
        return floor
    step = (1 << (size - 1).bit_length()) // 8
    return -(-size // step) * step


@dataclass(frozen=True)
class SynthesisOptions:
    """Knobs of the original synthesiser that the station keeps fixed."""

    min_silence_s: float = 0.2
    """Pauses last at least this long (the original quick start's ``--silence-duration 0.2``)."""
