"""The HiFi-GAN vocoder as vietTTS ported it to Haiku: mel frames in, 16 kHz waveform out.

Module names match what the original converter wrote into ``hk_hifi.pickle`` (``generator/~/conv1_d``,
``generator/~/ups_0``, ``generator/~/res_block1_0/~/convs1_0`` …). The mel may be padded to a shape bucket:
each convolution's input is zeroed past the real length, which is exactly the zero padding the unpadded
original sees there, so real samples come out the same.
"""

from __future__ import annotations

import haiku as hk
import jax
import jax.numpy as jnp

from broadcast.tts.engines.viettts.config import VocoderConfig

Array = jax.Array

LRELU_SLOPE = 0.1


def _same_padding(kernel: int, dilation: int) -> tuple[tuple[int, int]]:
    """Return the symmetric padding that keeps length, as PyTorch's HiFi-GAN computes it."""
    side = (kernel * dilation - dilation) // 2
    return ((side, side),)


def _valid(length: Array, size: int) -> Array:
    """Return a ``[B, size, 1]`` 0/1 mask of the samples before ``length``."""
    return (jnp.arange(size)[None, :] < length[:, None])[..., None].astype(jnp.float32)


class ResBlock(hk.Module):
    """Three pairs of dilated then plain convolutions, each pair added back to its input."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...], name: str) -> None:
        super().__init__(name=name)
        self.convs1 = [
            hk.Conv1D(channels, kernel, 1, rate=d, padding=_same_padding(kernel, d), name=f"convs1_{i}")
            for i, d in enumerate(dilations)
        ]
        self.convs2 = [
            hk.Conv1D(channels, kernel, 1, rate=1, padding=_same_padding(kernel, 1), name=f"convs2_{i}")
            for i in range(len(dilations))
        ]

    def __call__(self, x: Array, valid: Array) -> Array:
        """Apply the block to ``x`` whose positions with ``valid == 0`` are padding."""
        for first, second in zip(self.convs1, self.convs2, strict=True):
            y = first(jax.nn.leaky_relu(x, LRELU_SLOPE) * valid)
            x = x + second(jax.nn.leaky_relu(y, LRELU_SLOPE) * valid)
        return x


class Generator(hk.Module):
    """Upsample a mel spectrogram to audio through transposed convolutions and residual blocks."""

    def __init__(self, config: VocoderConfig) -> None:
        super().__init__(name="generator")
        self.config = config
        self.conv_pre = hk.Conv1D(config.upsample_initial_channel, 7, 1, padding=((3, 3),))
        self.ups = [
            hk.Conv1DTranspose(
                config.upsample_initial_channel // (2 ** (i + 1)),
                kernel_shape=kernel,
                stride=rate,
                padding="SAME",
                name=f"ups_{i}",
            )
            for i, (rate, kernel) in enumerate(
                zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True)
            )
        ]
        self.resblocks: list[ResBlock] = []
        for i in range(len(self.ups)):
            channels = config.upsample_initial_channel // (2 ** (i + 1))
            for kernel, dilations in zip(
                config.resblock_kernel_sizes, config.resblock_dilation_sizes, strict=True
            ):
                # The original names every block res_block1_<n>, counting across all upsampling stages.
                self.resblocks.append(
                    ResBlock(channels, kernel, dilations, name=f"res_block1_{len(self.resblocks)}")
                )
        self.conv_post = hk.Conv1D(1, 7, 1, padding=((3, 3),))

    def __call__(self, mel: Array, frame_count: Array) -> Array:
        """Return ``[B, frames * hop]`` samples in [-1, 1]; only the first ``frame_count`` frames are real."""
        kernels = len(self.config.resblock_kernel_sizes)
        length = frame_count
        x = self.conv_pre(mel * _valid(length, mel.shape[1]))
        for i, (up, rate) in enumerate(zip(self.ups, self.config.upsample_rates, strict=True)):
            x = up(jax.nn.leaky_relu(x, LRELU_SLOPE) * _valid(length, x.shape[1]))
            length = length * rate
            valid = _valid(length, x.shape[1])
            blocks = self.resblocks[i * kernels : (i + 1) * kernels]
            total = blocks[0](x, valid)
            for block in blocks[1:]:
                total = total + block(x, valid)
            x = total / kernels
        # PyTorch's default slope here (0.01), as in the original port.
        x = self.conv_post(jax.nn.leaky_relu(x) * _valid(length, x.shape[1]))
        return jnp.tanh(jnp.squeeze(x, axis=-1))
