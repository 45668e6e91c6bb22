"""Write small random vietTTS voices laid out exactly like the released 2021 checkpoint files.

The released ``duration_latest_ckpt.pickle`` / ``acoustic_latest_ckpt.pickle`` are dicts of ``step``,
``params``, ``aux`` (Haiku state), ``rng`` and ``optim_state``, pickled by JAX 0.2 / Haiku 0.0.x / optax: the
mappings are Haiku ``FlatMapping``s, the arrays JAX ``DeviceArray``s and the optimiser state optax tuples.
``hk_hifi.pickle`` is a plain dict of dicts of NumPy arrays (the PyTorch -> Haiku converter's output). None
of those libraries exists here in its 2021 form, so :class:`Pickler2021` writes the same opcodes by name.
Weights come from NumPy's seeded generator, so a voice is the same on every machine and JAX version.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import math
import pickle
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

from broadcast.tts.engines.viettts.checkpoint import Tree
from broadcast.tts.engines.viettts.config import NatDims, VocoderConfig
from broadcast.tts.engines.viettts.text import words_and_pauses

SMALL_DIMS = NatDims(
    vocab_size=256, duration_dim=16, encoder_dim=16, decoder_dim=32, prenet_dim=16, postnet_dim=16, mel_dim=80
)
"""Every width cut down so init + compile + inference take seconds; vocabulary and mel size as released."""

SMALL_VOCODER_JSON: dict[str, Any] = {
    "resblock": "1",
    "num_gpus": 0,
    "batch_size": 16,
    "learning_rate": 0.0002,
    "upsample_rates": [8, 8, 2, 2],
    "upsample_kernel_sizes": [16, 16, 4, 4],
    "upsample_initial_channel": 32,
    "resblock_kernel_sizes": [3, 7],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
    "segment_size": 8192,
    "num_mels": 80,
    "n_fft": 1024,
    "hop_size": 256,
    "win_size": 1024,
    "sampling_rate": 16000,
    "fmin": 0,
    "fmax": 8000,
}
"""The released config.json, channels cut from 512 to 32 and two residual kernels instead of three."""

SECONDS_PER_LETTER = 0.065
"""What the generated duration model predicts for every token: about a human reading pace."""


@dataclass(frozen=True)
class ForeignGlobal:
    """A ``module.name`` reference to write into a pickle without importing it."""

    module: str
    name: str

    def __call__(self, *args: object) -> object:
        """Never called: pickle only requires reduce functions to look callable."""
        raise TypeError(f"{self.module}.{self.name} is only a name to write")


class HaikuMapping(dict[str, Any]):
    """A dict that is pickled as Haiku's 2021 ``FlatMapping``."""


class OptaxState(tuple[Any, ...]):
    """A tuple pickled as the optax NamedTuple ``ref`` (NEWOBJ, as NamedTuples pickle)."""

    ref: ForeignGlobal

    def __new__(cls, ref: ForeignGlobal, *fields: Any) -> OptaxState:
        """Keep ``fields`` as the tuple and ``ref`` as the class name to write."""
        state = super().__new__(cls, fields)
        state.ref = ref
        return state


NUMPY_RECONSTRUCT = ForeignGlobal("numpy.core.multiarray", "_reconstruct")
FLAT_MAPPING = ForeignGlobal("haiku._src.data_structures", "FlatMapping")
DEVICE_ARRAY = ForeignGlobal("jax._src.device_array", "reconstruct_device_array")
EMPTY_STATE = ForeignGlobal("optax._src.base", "EmptyState")
ADAM_STATE = ForeignGlobal("optax._src.transform", "ScaleByAdamState")


class Pickler2021(pickle._Pickler):
    """Pickle arrays, Haiku mappings and optax states the way the 2021 libraries did (protocol 4)."""

    def __init__(self, file: BinaryIO, *, jax_arrays: bool) -> None:
        super().__init__(file, protocol=4)
        self.jax_arrays = jax_arrays

    def reducer_override(self, obj: object) -> Any:
        """Describe arrays as NumPy 1.x (optionally wrapped as JAX DeviceArrays) and mappings as Haiku's."""
        if isinstance(obj, np.ndarray):
            _, args, state = cast(tuple[Any, Any, Any], obj.__reduce__())
            if self.jax_arrays:
                aval = {"weak_type": False, "named_shape": {}}
                return (DEVICE_ARRAY, (NUMPY_RECONSTRUCT, args, state, aval))
            return (NUMPY_RECONSTRUCT, args, state)
        if isinstance(obj, HaikuMapping):
            return (FLAT_MAPPING, (dict(obj),))
        return NotImplemented

    def save(self, obj: object, save_persistent_id: bool = True) -> None:
        """Write foreign globals and optax tuples by hand; hand everything else to pickle."""
        me = cast(Any, self)
        if isinstance(obj, ForeignGlobal | OptaxState):
            seen = me.memo.get(id(obj))
            if seen is not None:
                me.write(me.get(seen[0]))
                return
            if isinstance(obj, ForeignGlobal):
                self.save(obj.module)
                self.save(obj.name)
                me.write(pickle.STACK_GLOBAL)
            else:
                self.save(obj.ref)
                self.save(tuple(obj))
                me.write(pickle.NEWOBJ)
            me.memoize(obj)
            return
        cast(Any, pickle._Pickler).save(self, obj, save_persistent_id)


def dumps_2021(obj: object, *, jax_arrays: bool = True) -> bytes:
    """Return ``obj`` pickled as a 2021 vietTTS training run would have written it."""
    buffer = io.BytesIO()
    Pickler2021(buffer, jax_arrays=jax_arrays).dump(obj)
    return buffer.getvalue()


def _shapes_to_arrays(shapes: Any, rng: np.random.Generator) -> Tree:
    """Fill Haiku-shaped ``shapes`` with seeded values: fan-in scaled weights, identity batch norms."""
    tree: Tree = {}
    for module, leaves in sorted(shapes.items()):
        tree[module] = {}
        for name, leaf in sorted(leaves.items()):
            shape, dtype = tuple(leaf.shape), np.dtype(leaf.dtype)
            if name in ("w", "embeddings"):
                fan_in = math.prod(shape[:-1]) if name == "w" else 1
                value = rng.normal(0.0, 1.0 / math.sqrt(fan_in), shape)
            elif name in ("counter", "scale") or (module.endswith("var_ema") and name != "counter"):
                # Identity batch norms: unit scale and variance, so random layers neither blow up nor vanish.
                value = np.ones(shape)
            else:
                value = np.zeros(shape)
            tree[module][name] = value.astype(dtype)
    return tree


def _haiku(tree: Tree) -> HaikuMapping:
    """Wrap a tree as nested Haiku mappings, as a 2021 training loop held it."""
    return HaikuMapping({module: HaikuMapping(leaves) for module, leaves in tree.items()})


def _layout(tree: Tree, state: Tree, step: int) -> dict[str, Any]:
    """Return the checkpoint dict the original trainers saved (with Adam moments shaped like the weights)."""
    zeros = {
        module: {name: np.zeros_like(v) for name, v in leaves.items()} for module, leaves in tree.items()
    }
    adam = OptaxState(ADAM_STATE, np.array(step, np.int32), _haiku(zeros), _haiku(zeros))
    return {
        "step": step,
        "params": _haiku(tree),
        "aux": _haiku(state),
        "rng": np.array([0, 42], np.uint32),
        "optim_state": (OptaxState(EMPTY_STATE), (adam, OptaxState(EMPTY_STATE), OptaxState(EMPTY_STATE))),
    }


def nat_checkpoints(
    dims: NatDims, seed: int = 0, spread: float = 0.05
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (duration, acoustic) checkpoint dicts; every token lasts about SECONDS_PER_LETTER."""
    from broadcast.tts.engines.viettts.synthesizer import expected_nat_shapes  # imports JAX

    d_params, d_state, a_params, a_state = expected_nat_shapes(dims)
    rng = np.random.default_rng(seed)
    duration = _shapes_to_arrays(d_params, rng)
    # Bias the last layer so softplus(output) ≈ SECONDS_PER_LETTER; ``spread`` keeps some variation per token.
    out = duration["duration_model/~/linear_1"]
    out["w"] = (out["w"] * spread).astype(np.float32)
    out["b"] = np.full_like(out["b"], math.log(math.expm1(SECONDS_PER_LETTER)))
    acoustic = _shapes_to_arrays(a_params, rng)
    return (
        _layout(duration, _shapes_to_arrays(d_state, rng), step=1000),
        _layout(acoustic, _shapes_to_arrays(a_state, rng), step=2000),
    )


def vocoder_params(config: VocoderConfig, seed: int = 1) -> Tree:
    """Return HiFi-GAN weights laid out as the original PyTorch -> Haiku converter wrote them."""
    from broadcast.tts.engines.viettts.synthesizer import expected_vocoder_shapes  # imports JAX

    tree = _shapes_to_arrays(expected_vocoder_shapes(config), np.random.default_rng(seed))
    # Random weights shrink the signal layer after layer; scale the last one so the noise is clearly audible.
    tree["generator/~/conv1_d_1"]["w"] *= np.float32(8.0)
    return tree


def lexicon_lines(texts: Iterable[str]) -> list[str]:
    """Spell every word of ``texts`` letter by letter, as the released lexicon.txt does."""
    words = sorted({item for text in texts for item in words_and_pauses(text) if item is not None})
    return [f"{word}\t {' '.join(word)}" for word in words]


def write_voice(
    directory: Path,
    texts: Iterable[str],
    *,
    dims: NatDims = SMALL_DIMS,
    vocoder_json: dict[str, Any] | None = None,
    seed: int = 0,
    spread: float = 0.05,
    style_2021: bool = True,
) -> Path:
    """Write the three pickles, lexicon.txt and config.json of a random voice into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    config_json = SMALL_VOCODER_JSON if vocoder_json is None else vocoder_json
    duration, acoustic = nat_checkpoints(dims, seed, spread)
    vocoder = vocoder_params(VocoderConfig.from_mapping(config_json), seed + 1)
    if style_2021:
        (directory / "duration_latest_ckpt.pickle").write_bytes(dumps_2021(duration))
        (directory / "acoustic_latest_ckpt.pickle").write_bytes(dumps_2021(acoustic))
        (directory / "hk_hifi.pickle").write_bytes(dumps_2021(vocoder, jax_arrays=False))
    else:
        # What the same files look like re-saved today: plain dicts, current NumPy, protocol 5.
        for name, content in (("duration", duration), ("acoustic", acoustic)):
            plain = {key: content[key] for key in ("step", "rng")}
            for key in ("params", "aux"):
                plain[key] = {module: dict(leaves) for module, leaves in content[key].items()}
            (directory / f"{name}_latest_ckpt.pickle").write_bytes(pickle.dumps(plain, protocol=5))
        (directory / "hk_hifi.pickle").write_bytes(pickle.dumps(vocoder, protocol=5))
    lexicon = [*lexicon_lines(texts), "alfie\t a l f i e"]  # a released entry with a letter the model lacks
    (directory / "lexicon.txt").write_text("\n".join(lexicon) + "\n", encoding="utf-8")
    (directory / "config.json").write_text(json.dumps(config_json, indent=2), encoding="utf-8")
    return directory


@functools.cache
def shared_voice(texts: tuple[str, ...]) -> Path:
    """Return the data dir of one small voice per test session (reused so JAX compiles each shape once)."""
    data_dir = Path(tempfile.mkdtemp(prefix="viettts-voice-"))
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    write_voice(data_dir / "voices" / "viettts", texts)
    return data_dir
