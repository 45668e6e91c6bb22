"""Read vietTTS checkpoints (pickles made in 2021 by JAX, Haiku and optax) without running their code.

These files come from outside the station, and ``pickle.load`` would call any function named in them. The
unpickler below resolves only a fixed list of names to safe stand-ins: NumPy array and dtype rebuilding,
JAX's device-array rebuilders (replaced by a NumPy-only version), Haiku's old mapping classes (turned into
dicts) and optax optimiser states (kept as inert tuples, never used). Everything else is refused.
"""

from __future__ import annotations

import importlib
import io
import pickle
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

Tree = dict[str, dict[str, np.ndarray]]
"""Haiku's layout: module path -> parameter (or state) name -> array."""

MAX_CHECKPOINT_BYTES = 2 << 30
"""The released acoustic checkpoint with its optimiser state is ~0.2 GB; anything far larger is not one."""


class CheckpointError(Exception):
    """A checkpoint file is unreadable, refused as unsafe, or not laid out as vietTTS writes it."""


@dataclass(frozen=True)
class NatCheckpoint:
    """What inference needs from a duration or acoustic checkpoint."""

    params: Tree
    state: Tree
    rng: np.ndarray


def _numpy_function(name: str) -> Callable[..., Any]:
    """Return a NumPy pickle helper from its current home (``numpy._core`` since NumPy 2)."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy has no {name}")  # pragma: no cover - every NumPy since 1.x has both


_reconstruct = _numpy_function("_reconstruct")
_scalar = _numpy_function("scalar")


def _from_buffer(buffer: Any, dtype: np.dtype[Any], shape: tuple[int, ...], order: str) -> np.ndarray:
    """Rebuild an array pickled with protocol 5 (NumPy's ``_frombuffer``) as a private copy."""
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if order == "F" else "C").copy()


def _device_array(fun: Any, args: Any, arr_state: Any, aval_state: Any = None) -> np.ndarray:
    """Rebuild a pickled JAX array as NumPy, as JAX's own rebuilder does minus the device transfer."""
    if fun is not _reconstruct or not isinstance(args, tuple):
        raise pickle.UnpicklingError("a JAX array in this file is not rebuilt from NumPy data")
    value = fun(*args)
    if not isinstance(value, np.ndarray):
        raise pickle.UnpicklingError("a JAX array in this file did not rebuild as an array")
    value.__setstate__(arr_state)
    return value


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    """Decode protocol-2 byte strings (``_codecs.encode(text, 'latin1')``); nothing else is allowed."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refused codec {encoding!r}")
    return text.encode("latin1")


def _as_dict(mapping: Any = ()) -> dict[Any, Any]:
    """Turn Haiku's FlatMapping / frozendict (2020-2021 checkpoints) into a plain dict."""
    return dict(mapping)


class OptimiserState(tuple[Any, ...]):
    """Stand-in for an optax state tuple: kept so the file loads, never used for inference."""

    def __new__(cls, *args: Any) -> OptimiserState:
        """Accept whatever fields the pickled optax class had."""
        return super().__new__(cls, args)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("collections", "OrderedDict"): OrderedDict,
    ("_codecs", "encode"): _latin1,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "slice"): slice,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "_reconstruct")] = _reconstruct
    _ALLOWED[(_module, "scalar")] = _scalar
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_module, "_frombuffer")] = _from_buffer
for _name in ("FlatMapping", "FlatMap", "frozendict"):
    _ALLOWED[("haiku._src.data_structures", _name)] = _as_dict
# Where JAX has kept the rebuilder of pickled arrays over the years (0.2.x through 0.4+).
_JAX_REBUILDERS = frozenset({"_reconstruct_array", "reconstruct_device_array", "_reconstruct_device_array"})


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickle arrays, dicts and the few vietTTS container types; refuse every other global."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve ``module.name`` only from the allow-list, never by importing it."""
        allowed = _ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        if (module == "jax" or module.startswith(("jax.", "jaxlib."))) and name in _JAX_REBUILDERS:
            return _device_array
        if module == "optax" or module.startswith("optax."):
            return OptimiserState
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids: no vietTTS file uses them."""
        raise pickle.UnpicklingError("refused a persistent id")


def safe_loads(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; any refusal or damage is a CheckpointError."""
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    except CheckpointError:
        raise
    except Exception as exc:  # a damaged pickle can raise nearly anything
        raise CheckpointError(str(exc) or type(exc).__name__) from exc


def safe_load(path: Path) -> Any:
    """Read and unpickle the file at ``path`` safely."""
    try:
        size = path.stat().st_size
        if size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{size} bytes is too large for a vietTTS checkpoint")
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(str(exc)) from exc
    return safe_loads(data)


def _array(value: Any, where: str) -> np.ndarray:
    """Check that ``value`` is a numeric array (never object dtype) and return it."""
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise CheckpointError(f"{where} is not a numeric array")
    return value


def as_tree(value: Any, where: str) -> Tree:
    """Check the two-level module -> name -> array layout and return it as plain dicts."""
    if not isinstance(value, Mapping):
        raise CheckpointError(f"{where} is not a mapping")
    tree: Tree = {}
    for module, leaves in value.items():
        if not isinstance(module, str) or not isinstance(leaves, Mapping):
            raise CheckpointError(f"{where}[{module!r}] is not a mapping of arrays")
        tree[module] = {}
        for name, leaf in leaves.items():
            if not isinstance(name, str):
                raise CheckpointError(f"{where}[{module!r}] has a non-text key")
            tree[module][name] = _array(leaf, f"{where}[{module!r}][{name!r}]")
    return tree


def load_nat_checkpoint(path: Path) -> NatCheckpoint:
    """Load a duration or acoustic checkpoint: a dict with ``params``, ``aux`` (Haiku state) and ``rng``."""
    content = safe_load(path)
    if not isinstance(content, Mapping):
        raise CheckpointError("the file does not hold a dict")
    missing = [key for key in ("params", "aux", "rng") if key not in content]
    if missing:
        raise CheckpointError(f"the file lacks {', '.join(missing)}")
    rng = _array(content["rng"], "rng")
    if rng.dtype != np.uint32 or rng.shape != (2,):
        raise CheckpointError("rng is not a JAX PRNG key (two uint32)")
    return NatCheckpoint(
        params=as_tree(content["params"], "params"), state=as_tree(content["aux"], "aux"), rng=rng
    )


def load_vocoder_checkpoint(path: Path) -> Tree:
    """Load ``hk_hifi.pickle``: the converted HiFi-GAN weights, a plain module -> {w, b} dict."""
    return as_tree(safe_load(path), "hk_hifi")
