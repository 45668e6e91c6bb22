"""Text -> tokens -> durations -> mel -> waveform, jit-compiled once per shape bucket (imports JAX)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from broadcast.tts.base import TtsError, TtsUnavailable
from broadcast.tts.engines.viettts.checkpoint import CheckpointError, Tree
from broadcast.tts.engines.viettts.config import (
    ACOUSTIC_FILE,
    DURATION_FILE,
    HOP_LENGTH,
    SAMPLE_RATE,
    VOCODER_FILE,
    NatDims,
    SynthesisOptions,
    VocoderConfig,
    bucket,
)
from broadcast.tts.engines.viettts.hifigan import Generator
from broadcast.tts.engines.viettts.nat import AcousticModel, DurationModel
from broadcast.tts.engines.viettts.text import SIL, WORD_END, text_to_tokens
from broadcast.tts.engines.viettts.voice import VoiceFiles, infer_dims

FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH
TOKEN_FLOOR = 32
FRAME_FLOOR = 64


def duration_transform(dims: NatDims, is_training: bool = False) -> hk.TransformedWithState:
    """Return the Haiku transform of the duration model: (tokens, lengths) -> seconds per token."""
    return hk.transform_with_state(lambda tokens, lengths: DurationModel(dims, is_training)(tokens, lengths))


def acoustic_transform(dims: NatDims, is_training: bool = False) -> hk.TransformedWithState:
    """Return the Haiku transform of the acoustic model (n_frames, the last argument, is static)."""

    def forward(
        tokens: jax.Array, tokens_n: jax.Array, frames: jax.Array, frames_n: jax.Array, n: int
    ) -> jax.Array:
        return AcousticModel(dims, is_training)(tokens, tokens_n, frames, frames_n, n)

    return hk.transform_with_state(forward)


def vocoder_transform(config: VocoderConfig) -> hk.Transformed:
    """Return the Haiku transform of the HiFi-GAN generator: (mel, frames) -> samples."""
    return hk.transform(lambda mel, frames: Generator(config)(mel, frames))


def _shapes(tree: Any) -> dict[str, dict[str, tuple[int, ...]]]:
    """Return module -> name -> shape of a Haiku tree (of arrays or ShapeDtypeStructs)."""
    return {
        module: {name: tuple(leaf.shape) for name, leaf in leaves.items()} for module, leaves in tree.items()
    }


def check_tree(actual: Tree, expected: Any, what: str) -> Tree:
    """Check that ``actual`` has every entry of ``expected`` with its shape; return just those entries."""
    want, have = _shapes(expected), _shapes(actual)
    problems = []
    for module, leaves in want.items():
        for name, shape in leaves.items():
            found = have.get(module, {}).get(name)
            if found is None:
                problems.append(f"missing {module}/{name}")
            elif found != shape:
                problems.append(f"{module}/{name} has shape {found}, expected {shape}")
    if problems:
        shown = "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
        raise CheckpointError(f"{what}: {shown}")
    return {module: {name: actual[module][name] for name in leaves} for module, leaves in want.items()}


def expected_nat_shapes(dims: NatDims) -> tuple[Any, Any, Any, Any]:
    """Return the shapes of the duration params and state, then the acoustic params and state."""
    key = jax.random.PRNGKey(0)
    tokens, count = jnp.zeros((1, 4), jnp.int32), jnp.array([4], jnp.int32)
    frames = jnp.ones((1, 4), jnp.float32)
    duration = jax.eval_shape(duration_transform(dims, True).init, key, tokens, count)
    acoustic = jax.eval_shape(
        lambda k: acoustic_transform(dims, True).init(k, tokens, count, frames, jnp.array([4], jnp.int32), 4),
        key,
    )
    return duration[0], duration[1], acoustic[0], acoustic[1]


def expected_vocoder_shapes(config: VocoderConfig) -> Any:
    """Return the shapes of the HiFi-GAN weights for ``config``."""
    mel, frames = jnp.zeros((1, 2, config.num_mels), jnp.float32), jnp.array([2], jnp.int32)
    return jax.eval_shape(vocoder_transform(config).init, jax.random.PRNGKey(0), mel, frames)


class Synthesizer:
    """A loaded vietTTS voice on the JAX CPU device; ``synthesize`` is thread-safe."""

    def __init__(self, voice: VoiceFiles, options: SynthesisOptions | None = None) -> None:
        self.options = options or SynthesisOptions()
        self.lexicon = voice.lexicon
        self.sample_rate = voice.vocoder_config.sampling_rate
        try:
            self.dims = infer_dims(voice.duration.params, voice.acoustic.params)
            if voice.vocoder_config.num_mels != self.dims.mel_dim:
                raise CheckpointError(
                    f"HiFi-GAN takes {voice.vocoder_config.num_mels} mels, not {self.dims.mel_dim}"
                )
            d_params, d_state, a_params, a_state = expected_nat_shapes(self.dims)
            v_params = expected_vocoder_shapes(voice.vocoder_config)
            trees = (
                check_tree(voice.duration.params, d_params, DURATION_FILE),
                check_tree(voice.duration.state, d_state, DURATION_FILE),
                check_tree(voice.acoustic.params, a_params, ACOUSTIC_FILE),
                # The acoustic state also holds the last training batch's attention map: not needed, dropped.
                check_tree(
                    voice.acoustic.state,
                    {k: v for k, v in a_state.items() if k != "acoustic_model"},
                    ACOUSTIC_FILE,
                ),
                check_tree(voice.vocoder, v_params, VOCODER_FILE),
            )
        except CheckpointError as exc:
            raise TtsUnavailable(f"Giọng vietTTS trong {voice.directory} không khớp mô hình: {exc}.") from exc
        placed = jax.device_put(trees)
        self._duration_vars = (placed[0], placed[1], jnp.asarray(voice.duration.rng))
        self._acoustic_vars = (placed[2], placed[3], jnp.asarray(voice.acoustic.rng))
        self._vocoder_params = placed[4]
        # One jit wrapper per model; JAX compiles it once per input shape, and buckets keep shapes few.
        self._duration: Callable[..., Any] = jax.jit(duration_transform(self.dims).apply)
        self._acoustic: Callable[..., Any] = jax.jit(acoustic_transform(self.dims).apply, static_argnums=7)
        self._vocoder: Callable[..., Any] = jax.jit(vocoder_transform(voice.vocoder_config).apply)
        # One synthesis at a time: XLA already spreads each over every core, and two threads meeting a new
        # shape together would compile it twice.
        self._lock = threading.Lock()

    def durations(self, tokens: list[int]) -> np.ndarray:
        """Return seconds per token, with pauses lengthened and word ends zeroed as the original does."""
        count = len(tokens)
        padded = np.zeros((1, bucket(count, TOKEN_FLOOR)), np.int32)
        padded[0, :count] = tokens
        seconds, _ = self._duration(*self._duration_vars, padded, np.array([count], np.int32))
        result = np.asarray(seconds, np.float32)[0, :count]
        ids = np.asarray(tokens)
        result = np.where(ids == SIL, np.maximum(result, np.float32(self.options.min_silence_s)), result)
        return np.where(ids == WORD_END, np.float32(0), result).astype(np.float32)

    def mel(self, tokens: list[int], seconds: np.ndarray) -> np.ndarray:
        """Return the ``[frames, mels]`` spectrogram, the closing silence already cut off."""
        count = len(tokens)
        frames = seconds * np.float32(FRAMES_PER_SECOND)
        total = int(frames.sum(dtype=np.float32))
        if total < 1:
            raise TtsError("Bộ đọc vietTTS dự đoán độ dài 0 cho văn bản này.")
        token_slots = bucket(count, TOKEN_FLOOR)
        padded = np.zeros((1, token_slots), np.int32)
        padded[0, :count] = tokens
        padded_frames = np.zeros((1, token_slots), np.float32)
        padded_frames[0, :count] = frames
        mel, _ = self._acoustic(
            *self._acoustic_vars,
            padded,
            np.array([count], np.int32),
            padded_frames,
            np.array([total], np.int32),
            bucket(total, FRAME_FLOOR),
        )
        keep = total - (int(frames[-1]) if tokens[-1] == SIL else 0)
        return np.asarray(mel, np.float32)[0, : max(keep, 0)]

    def waveform(self, mel: np.ndarray) -> np.ndarray:
        """Return float samples in [-1, 1] for ``mel``."""
        frames = mel.shape[0]
        padded = np.zeros((1, bucket(frames, FRAME_FLOOR), mel.shape[1]), np.float32)
        padded[0, :frames] = mel
        wave = self._vocoder(self._vocoder_params, None, padded, np.array([frames], np.int32))
        return np.asarray(wave, np.float32)[0, : frames * HOP_LENGTH]

    def synthesize(self, text: str) -> bytes:
        """Return 16-bit little-endian mono PCM at :attr:`sample_rate` for ``text``."""
        tokens = text_to_tokens(text, self.lexicon)
        with self._lock:
            mel = self.mel(tokens, self.durations(tokens))
            if mel.shape[0] < 1:
                raise TtsError("Bộ đọc vietTTS không tạo ra âm thanh cho văn bản này.")
            wave = self.waveform(mel)
        return np.clip(np.round(wave * 32767.0), -32768, 32767).astype("<i2").tobytes()
