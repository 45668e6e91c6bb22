"""Find and read an operator-supplied vietTTS voice directory (NumPy only: no JAX needed to check it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from broadcast.tts.base import TtsUnavailable
from broadcast.tts.engines.viettts.checkpoint import (
    CheckpointError,
    NatCheckpoint,
    Tree,
    load_nat_checkpoint,
    load_vocoder_checkpoint,
)
from broadcast.tts.engines.viettts.config import (
    ACOUSTIC_FILE,
    DURATION_FILE,
    LEXICON_FILE,
    VOCODER_CONFIG_FILE,
    VOCODER_FILE,
    NatDims,
    VocoderConfig,
    check_installed,
    load_vocoder_config,
)
from broadcast.tts.engines.viettts.text import Lexicon, load_lexicon

T = TypeVar("T")


@dataclass(frozen=True)
class VoiceFiles:
    """Everything read from a voice directory, checked for layout but not yet on a JAX device."""

    directory: Path
    duration: NatCheckpoint
    acoustic: NatCheckpoint
    vocoder: Tree
    vocoder_config: VocoderConfig
    lexicon: Lexicon


def _weight(tree: Tree, module: str, name: str, what: str) -> np.ndarray:
    """Return ``tree[module][name]`` or say which weight the checkpoint lacks."""
    try:
        return tree[module][name]
    except KeyError:
        raise CheckpointError(f"{what} has no weight {module}/{name}") from None


def infer_dims(duration: Tree, acoustic: Tree) -> NatDims:
    """Read the layer widths from the weights, so shrunk or retrained models load without extra settings."""
    vocab, duration_dim = _weight(
        duration, "duration_model/~/token_encoder/~/embed", "embeddings", "duration"
    ).shape
    acoustic_vocab, encoder_dim = _weight(
        acoustic, "acoustic_model/~/token_encoder/~/embed", "embeddings", "acoustic"
    ).shape
    if acoustic_vocab != vocab:
        raise CheckpointError(
            f"the duration model knows {vocab} symbols but the acoustic model {acoustic_vocab}"
        )
    return NatDims(
        vocab_size=int(vocab),
        duration_dim=int(duration_dim),
        encoder_dim=int(encoder_dim),
        decoder_dim=int(_weight(acoustic, "acoustic_model/~/lstm/linear", "w", "acoustic").shape[-1] // 4),
        prenet_dim=int(_weight(acoustic, "acoustic_model/~/linear_1", "w", "acoustic").shape[-1]),
        postnet_dim=int(_weight(acoustic, "acoustic_model/~/conv1_d", "w", "acoustic").shape[-1]),
        mel_dim=int(_weight(acoustic, "acoustic_model/~/linear", "w", "acoustic").shape[-1]),
    )


def _read(path: Path, loader: Callable[[Path], T]) -> T:
    """Load one checkpoint with ``loader``, turning a failure into an officer-readable TtsUnavailable."""
    try:
        return loader(path)
    except CheckpointError as exc:
        raise TtsUnavailable(f"Tệp {path.name} của giọng vietTTS không dùng được: {exc}.") from exc


def read_voice(directory: Path) -> VoiceFiles:
    """Read and check every file of the voice in ``directory``; TtsUnavailable says what is wrong."""
    check_installed(directory)
    lexicon = load_lexicon(directory / LEXICON_FILE)
    vocoder_config = load_vocoder_config(directory / VOCODER_CONFIG_FILE)
    return VoiceFiles(
        directory=directory,
        duration=_read(directory / DURATION_FILE, load_nat_checkpoint),
        acoustic=_read(directory / ACOUSTIC_FILE, load_nat_checkpoint),
        vocoder=_read(directory / VOCODER_FILE, load_vocoder_checkpoint),
        vocoder_config=vocoder_config,
        lexicon=lexicon,
    )
