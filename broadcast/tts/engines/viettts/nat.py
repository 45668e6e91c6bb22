"""The duration and acoustic models of vietTTS ("NAT"), rebuilt on current Haiku for inference.

Module classes, names and construction order reproduce the original ones, so Haiku gives every weight the
path it has in the released checkpoints (``duration_model/~/token_encoder/~/conv1_d_1`` …). Inputs may be
padded to a shape bucket: masks make the padded computation equal, at the real positions, to the original
unpadded one (convolutions see zeros past the end, padding tokens attract no frames).
"""

from __future__ import annotations

from typing import Any, cast

import haiku as hk
import jax
import jax.numpy as jnp

from broadcast.tts.engines.viettts.config import NatDims

Array = jax.Array

_FAR_AWAY = 1.0e6
"""A frame position no real frame is near: padding tokens placed there get zero attention weight."""


def _unroll(core: Any, inputs: Any, state: Any) -> Array:
    """Run ``core`` along axis 1 of ``inputs`` from ``state`` and return its outputs."""
    outputs, _ = hk.dynamic_unroll(core, inputs, state, time_major=False)  # type: ignore[no-untyped-call]
    return cast(Array, outputs)


def _valid(length: Array, size: int) -> Array:
    """Return a ``[B, size, 1]`` 0/1 mask of the positions before ``length``."""
    return (jnp.arange(size)[None, :] < length[:, None])[..., None].astype(jnp.float32)


class TokenEncoder(hk.Module):
    """Embedding, three convolutions with batch norm, then a bidirectional LSTM over the tokens."""

    def __init__(self, vocab_size: int, dim: int, dropout_rate: float, is_training: bool) -> None:
        super().__init__(name="token_encoder")
        self.is_training = is_training
        self.dropout_rate = dropout_rate
        self.embed = hk.Embed(vocab_size, dim)
        self.convs = [hk.Conv1D(dim, 3, padding="SAME") for _ in range(3)]
        self.norms = [hk.BatchNorm(True, True, 0.9) for _ in range(3)]
        self.lstm_fwd = hk.LSTM(dim)
        self.lstm_bwd = hk.ResetCore(hk.LSTM(dim))

    def __call__(self, tokens: Array, lengths: Array) -> Array:
        """Encode ``[B, T]`` token ids whose first ``lengths`` entries are real into ``[B, T, 2 * dim]``."""
        batch, size = tokens.shape
        valid = _valid(lengths, size)
        x = self.embed(tokens)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = jax.nn.relu(norm(conv(x * valid), is_training=self.is_training))
            if self.is_training:
                x = hk.dropout(hk.next_rng_key(), self.dropout_rate, x)
        # The backward LSTM restarts at the last real token, so padding after it never leaks in.
        restart = jnp.arange(size)[None, :] >= (lengths[:, None] - 1)
        forward = _unroll(self.lstm_fwd, x, self.lstm_fwd.initial_state(batch))
        flipped = (jnp.flip(x, axis=1), jnp.flip(restart, axis=1))
        backward = _unroll(self.lstm_bwd, flipped, self.lstm_bwd.initial_state(batch))
        return jnp.concatenate((forward, jnp.flip(backward, axis=1)), axis=-1)


class DurationModel(hk.Module):
    """Predict how many seconds each token lasts."""

    def __init__(self, dims: NatDims, is_training: bool = False) -> None:
        super().__init__(name="duration_model")
        self.encoder = TokenEncoder(dims.vocab_size, dims.duration_dim, 0.5, is_training)
        # The original wraps these two in hk.Sequential; Sequential has no weights of its own, so creating
        # them here in the same order gives the same paths (linear, linear_1).
        self.hidden = hk.Linear(dims.duration_dim)
        self.output = hk.Linear(1)

    def __call__(self, tokens: Array, lengths: Array) -> Array:
        """Return ``[B, T]`` durations in seconds (softplus keeps them positive)."""
        x = self.encoder(tokens, lengths)
        x = self.output(jax.nn.gelu(self.hidden(x)))
        return jax.nn.softplus(jnp.squeeze(x, axis=-1))


class AcousticModel(hk.Module):
    """Predict a mel spectrogram, frame by frame, from tokens and their durations."""

    def __init__(self, dims: NatDims, is_training: bool = False) -> None:
        super().__init__(name="acoustic_model")
        self.dims = dims
        self.is_training = is_training
        self.encoder = TokenEncoder(dims.vocab_size, dims.encoder_dim, 0.5, is_training)
        self.decoder = hk.deep_rnn_with_skip_connections(
            [hk.LSTM(dims.decoder_dim), hk.LSTM(dims.decoder_dim)]
        )
        self.projection = hk.Linear(dims.mel_dim)
        self.prenet_fc1 = hk.Linear(dims.prenet_dim, with_bias=False)
        self.prenet_fc2 = hk.Linear(dims.prenet_dim, with_bias=False)
        self.postnet_convs = [hk.Conv1D(dims.postnet_dim, 5) for _ in range(4)]
        self.postnet_convs.append(hk.Conv1D(dims.mel_dim, 5))
        self.postnet_norms = [hk.BatchNorm(True, True, 0.9) for _ in range(4)]

    def prenet(self, x: Array) -> Array:
        """Squeeze the previous frame; dropout stays on at inference, as in Tacotron and the original."""
        x = hk.dropout(hk.next_rng_key(), 0.5, jax.nn.relu(self.prenet_fc1(x)))
        return hk.dropout(hk.next_rng_key(), 0.5, jax.nn.relu(self.prenet_fc2(x)))

    def upsample(self, x: Array, frames: Array, token_valid: Array, n_frames: int) -> Array:
        """Spread token encodings over frames with Gaussian weights centred on each token's middle."""
        mid = jnp.cumsum(frames, axis=1) - frames / 2
        mid = jnp.where(token_valid, mid, _FAR_AWAY)
        ruler = jnp.arange(n_frames)[None, :, None]
        weights = jax.nn.softmax(-jnp.square(mid[:, None, :] - ruler) / 10.0, axis=-1)
        if self.is_training:
            # Only to give a generated checkpoint the state entry the original training left in it.
            hk.set_state("attn", weights[0])
        return jnp.einsum("BLT,BTD->BLD", weights, x)

    def postnet(self, mel: Array, frame_valid: Array) -> Array:
        """Refine the decoder's mel with five convolutions (zeros past the last real frame)."""
        x = mel
        for index, conv in enumerate(self.postnet_convs):
            x = conv(x * frame_valid)
            if index < len(self.postnet_norms):
                x = jnp.tanh(self.postnet_norms[index](x, is_training=self.is_training))
            if self.is_training:
                x = hk.dropout(hk.next_rng_key(), 0.5, x)
        return x

    def __call__(
        self, tokens: Array, token_count: Array, frames: Array, frame_count: Array, n_frames: int
    ) -> Array:
        """Return ``[B, n_frames, mel_dim]`` for tokens lasting ``frames`` each (``*_count`` are real)."""
        batch, size = tokens.shape
        cond = self.encoder(tokens, token_count)
        cond = self.upsample(cond, frames, jnp.arange(size)[None, :] < token_count[:, None], n_frames)

        def step(inputs: Array, state: tuple[Array, Any]) -> tuple[Array, tuple[Array, Any]]:
            previous, lstm_state = state
            x = jnp.concatenate((inputs, self.prenet(previous)), axis=-1)
            x, lstm_state = self.decoder(x, lstm_state)
            x = self.projection(x)
            return x, (x, lstm_state)

        start = (jnp.zeros((batch, self.dims.mel_dim), jnp.float32), self.decoder.initial_state(batch))
        mel = _unroll(step, cond, start)
        return mel + self.postnet(mel, _valid(frame_count, n_frames))
