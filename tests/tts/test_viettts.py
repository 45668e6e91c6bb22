"""vietTTS: lexicon and tokens, safe checkpoint loading, the released weight layout, and real synthesis."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import pickletools
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from broadcast.tts import EngineConfig, TtsError, TtsUnavailable, get_engine
from broadcast.tts.engines.viettts import VietTtsEngine
from broadcast.tts.engines.viettts import engine as engine_module
from broadcast.tts.engines.viettts.checkpoint import (
    CheckpointError,
    OptimiserState,
    load_nat_checkpoint,
    load_vocoder_checkpoint,
    safe_loads,
)
from broadcast.tts.engines.viettts.config import NatDims, VocoderConfig, bucket
from broadcast.tts.engines.viettts.text import (
    SIL,
    SYMBOLS,
    WORD_END,
    load_lexicon,
    parse_lexicon,
    text_to_tokens,
    words_and_pauses,
)
from tests.tts.test_engine_contract import LONG, SHORT

JAX_READY = all(importlib.util.find_spec(module) is not None for module in ("jax", "haiku"))
needs_jax = pytest.mark.skipif(not JAX_READY, reason="vietTTS needs jax and dm-haiku (the viettts extra)")

LEXICON = parse_lexicon(["xin\t x i n", "chào\t c h à o", "bà\t b à", "con\t c o n"])


# --- alphabet, lexicon, tokens -------------------------------------------------------------------------


def test_alphabet_is_the_released_one_in_training_order() -> None:
    assert len(SYMBOLS) == 93
    assert SYMBOLS[:4] == ("sil", "sp", "spn", " ")
    assert (SIL, WORD_END) == (0, 3)
    # Spot checks against vietTTS/nat/config.py: token ids are rows of the trained embedding table.
    assert (SYMBOLS.index("a"), SYMBOLS.index("đ"), SYMBOLS.index("ư"), SYMBOLS.index("ỹ")) == (4, 43, 47, 92)
    assert not {"f", "j", "w", "z"} & set(SYMBOLS)


@pytest.mark.parametrize(
    ("lines", "word", "expected"),
    [
        (["xin\t x i n"], "xin", "xin"),
        (["XIN\t X I N"], "xin", "xin"),  # the original lower-cases the whole line
        (["xin x i n"], "xin", "xin"),  # a space instead of the tab
        (["cho\u0300\t c h o\u0300"], "chò", "chò"),  # decomposed diacritics are composed (NFKC)
        (["# comment", "", "bà\t b à"], "bà", "bà"),
        (["alfie\t a l f i e"], "alfie", "alie"),  # f is not in the alphabet: dropped, entry kept
    ],
)
def test_lexicon_lines(lines: list[str], word: str, expected: str) -> None:
    lexicon = parse_lexicon(lines)
    assert lexicon.tokens_for(word) == tuple(SYMBOLS.index(letter) for letter in expected)


def test_lexicon_counts_entries_with_unknown_symbols() -> None:
    lexicon = parse_lexicon(["alfie\t a l f i e", "zoo\t z o o", "bà\t b à"])
    assert lexicon.damaged_entries == 2
    assert lexicon.skipped_symbols == {"f", "z"}


def test_a_lexicon_for_another_alphabet_is_refused(tmp_path: Path) -> None:
    # Older vietTTS versions used MFA phonemes with tone numbers; such a lexicon would speak garbage.
    path = tmp_path / "lexicon.txt"
    path.write_text("xin\tx1 i1 n1\nchào\tch2 a2 w2\nbà\tb2 a2\n", encoding="utf-8")
    with pytest.raises(TtsUnavailable, match="không khớp"):
        load_lexicon(path)


def test_unknown_words_are_spelled_letter_by_letter_without_foreign_letters() -> None:
    assert LEXICON.tokens_for("tết") == tuple(SYMBOLS.index(c) for c in "tết")
    assert LEXICON.tokens_for("wifi") == tuple(SYMBOLS.index(c) for c in "ii")
    assert LEXICON.tokens_for("zzz") == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Xin chào bà con.", ["xin", "chào", "bà", "con", None]),
        ("Thông báo: ngày 15, họp", ["thông", "báo", None, "ngày", None, "họp"]),
        ("y-tế… xã – huyện", ["y", "tế", None, "xã", None, "huyện"]),
        ("“Trích” (dẫn)", ["trích", "dẫn"]),
    ],
)
def test_words_and_pauses(text: str, expected: list[str | None]) -> None:
    assert words_and_pauses(text) == expected


def test_tokens_are_framed_by_silences_with_word_ends() -> None:
    def spell(word: str) -> list[int]:
        return [SYMBOLS.index(c) for c in word] + [WORD_END]

    expected = [SIL, *spell("xin"), *spell("chào"), SIL, *spell("bà"), *spell("con"), SIL]
    # The pause after "chào" is one silence; the final full stop merges into the closing silence.
    assert text_to_tokens(". Xin chào, bà con.", LEXICON) == expected


@pytest.mark.parametrize("text", ["...", "123 456", "!!!"])
def test_text_without_letters_is_refused(text: str) -> None:
    with pytest.raises(TtsError, match="không có chữ"):
        text_to_tokens(text, LEXICON)


def test_vocoder_config_defaults_are_the_released_file_and_bad_ones_are_refused() -> None:
    released = {
        "resblock": "1",
        "upsample_rates": [8, 8, 2, 2],
        "upsample_kernel_sizes": [16, 16, 4, 4],
        "upsample_initial_channel": 512,
        "resblock_kernel_sizes": [3, 7, 11],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "sampling_rate": 16000,
        "num_mels": 80,
        "hop_size": 256,
        "seed": 1234,  # training-only keys are ignored
    }
    assert VocoderConfig.from_mapping(released) == VocoderConfig()
    for bad in (
        {"resblock": "2"},
        {"upsample_rates": [8, 8, 2]},
        {"sampling_rate": 22050},
        {"num_mels": "x"},
    ):
        with pytest.raises(TtsUnavailable):
            VocoderConfig.from_mapping({**released, **bad})


# --- restricted unpickling -----------------------------------------------------------------------------


class _RunsShell:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


class _CallsEval:
    def __reduce__(self) -> tuple[Any, ...]:
        return (eval, ("__import__('os').getcwd()",))


class _ImportsSubprocess:
    def __reduce__(self) -> tuple[Any, ...]:
        return (subprocess.check_output, (["true"],))


def test_a_pickle_that_would_run_a_command_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"params": {}, "aux": {}, "rng": _RunsShell(marker)})
    with pytest.raises(CheckpointError, match="refused"):
        safe_loads(payload)
    assert not marker.exists()


@pytest.mark.parametrize("evil", [_CallsEval(), _ImportsSubprocess(), np.load, subprocess.run])
def test_other_globals_are_refused(evil: object) -> None:
    with pytest.raises(CheckpointError, match="refused"):
        safe_loads(pickle.dumps(evil))


def test_array_rebuilders_only_take_numpy_data() -> None:
    from tests.support.viettts_checkpoints import DEVICE_ARRAY, ForeignGlobal, dumps_2021

    class Sneaky:
        def __reduce__(self) -> tuple[Any, ...]:
            return (DEVICE_ARRAY, (ForeignGlobal("numpy", "ndarray"), ((1,),), None, {}))

    with pytest.raises(CheckpointError, match="not rebuilt from NumPy"):
        safe_loads(dumps_2021(Sneaky()))
    with pytest.raises(CheckpointError, match="codec"):
        safe_loads(b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.")


def test_object_arrays_and_wrong_layouts_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pickle"
    cases: list[tuple[object, str]] = [
        (
            {
                "params": {"m": {"w": np.array([1, "x"], dtype=object)}},
                "aux": {},
                "rng": np.zeros(2, np.uint32),
            },
            "numeric",
        ),
        ({"params": {}, "aux": {}}, "lacks rng"),
        ({"params": [], "aux": {}, "rng": np.zeros(2, np.uint32)}, "not a mapping"),
        ({"params": {}, "aux": {}, "rng": np.zeros(3, np.float32)}, "PRNG key"),
        ([1, 2, 3], "not hold a dict"),
    ]
    for content, message in cases:
        path.write_bytes(pickle.dumps(content))
        with pytest.raises(CheckpointError, match=message):
            load_nat_checkpoint(path)


# --- the released layout, round trips ------------------------------------------------------------------


def _digest(tree: Any, skip: tuple[str, ...] = ()) -> tuple[int, str]:
    lines = sorted(
        f"{m}/{n}:{tuple(v.shape)}" for m, leaves in tree.items() for n, v in leaves.items() if m not in skip
    )
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


@needs_jax
def test_full_size_models_have_the_released_weight_layout() -> None:
    from broadcast.tts.engines.viettts.synthesizer import expected_nat_shapes, expected_vocoder_shapes

    # Golden path:shape lists of the released models. They were cross-checked by running the original 2021
    # module definitions (vietTTS/nat/model.py, vietTTS/hifigan/model.py) on Haiku 0.0.17: same trees.
    d_params, d_state, a_params, a_state = expected_nat_shapes(NatDims())
    assert _digest(d_params) == (21, "f8eb930c9fc87780")
    assert _digest(d_state) == (18, "1271223ce72fbab1")
    assert _digest(a_params) == (43, "c9b6e86ed8683cf3")
    assert _digest(a_state, skip=("acoustic_model",)) == (42, "66892649b5d7d5b9")
    vocoder = expected_vocoder_shapes(VocoderConfig())
    assert _digest(vocoder) == (156, "749d8e79e2a24367")
    # What the PyTorch -> Haiku converter names (conv_pre, conv_post, ups.i, resblocks.x.convsY.z).
    assert vocoder["generator/~/conv1_d"]["w"].shape == (7, 80, 512)
    assert vocoder["generator/~/conv1_d_1"]["w"].shape == (7, 32, 1)
    assert vocoder["generator/~/ups_0"]["w"].shape == (16, 256, 512)
    assert vocoder["generator/~/res_block1_11/~/convs2_2"]["w"].shape == (11, 32, 32)
    assert a_params["acoustic_model/~/lstm_1/linear"]["w"].shape == (256 * 2 + 256 + 512 + 512, 4 * 512)
    assert d_params["duration_model/~/token_encoder/~/lstm_1/linear"]["w"].shape == (512, 1024)


def _assert_same_tree(left: dict[str, dict[str, np.ndarray]], right: Any) -> None:
    assert sorted(left) == sorted(right)
    for module, leaves in left.items():
        assert sorted(leaves) == sorted(right[module])
        for name, value in leaves.items():
            assert value.dtype == right[module][name].dtype
            np.testing.assert_array_equal(value, right[module][name])


@needs_jax
@pytest.mark.parametrize("style_2021", [True, False], ids=["2021-pickles", "resaved-today"])
def test_checkpoints_round_trip(tmp_path: Path, style_2021: bool) -> None:
    from tests.support.viettts_checkpoints import (
        SMALL_DIMS,
        SMALL_VOCODER_JSON,
        nat_checkpoints,
        vocoder_params,
    )
    from tests.support.viettts_checkpoints import write_voice as write

    write(tmp_path, [SHORT], style_2021=style_2021)
    duration, acoustic = nat_checkpoints(SMALL_DIMS)
    for name, expected in (("duration", duration), ("acoustic", acoustic)):
        loaded = load_nat_checkpoint(tmp_path / f"{name}_latest_ckpt.pickle")
        _assert_same_tree(loaded.params, expected["params"])
        _assert_same_tree(loaded.state, expected["aux"])
        np.testing.assert_array_equal(loaded.rng, expected["rng"])
    vocoder = vocoder_params(VocoderConfig.from_mapping(SMALL_VOCODER_JSON), seed=1)
    _assert_same_tree(load_vocoder_checkpoint(tmp_path / "hk_hifi.pickle"), vocoder)


@needs_jax
def test_arrays_pickled_by_current_jax_load_as_numpy() -> None:
    import jax.numpy as jnp

    loaded = safe_loads(pickle.dumps({"w": jnp.arange(4, dtype=jnp.float32)}, protocol=5))
    assert isinstance(loaded["w"], np.ndarray)
    assert loaded["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


@needs_jax
def test_generated_files_use_the_2021_pickle_globals(tmp_path: Path) -> None:
    from tests.support.viettts_checkpoints import write_voice as write

    write(tmp_path, [SHORT])
    names = {
        str(arg)
        for op, arg, _ in pickletools.genops((tmp_path / "acoustic_latest_ckpt.pickle").read_bytes())
        if op.name == "SHORT_BINUNICODE"
    }
    assert {
        "haiku._src.data_structures",
        "FlatMapping",
        "jax._src.device_array",
        "reconstruct_device_array",
    } <= names
    assert {"optax._src.transform", "ScaleByAdamState", "numpy.core.multiarray", "_reconstruct"} <= names
    content = safe_loads((tmp_path / "acoustic_latest_ckpt.pickle").read_bytes())
    adam = content["optim_state"][1][0]
    assert isinstance(adam, OptimiserState) and int(adam[0]) == 2000


# --- the engine ----------------------------------------------------------------------------------------


def test_importing_the_engine_does_not_import_jax() -> None:
    code = (
        "import sys; from broadcast.tts import get_engine, EngineConfig; "
        "engine = get_engine('viettts', EngineConfig()); engine.voices(); "
        "print(sorted({'jax', 'haiku'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_missing_files_are_named_in_vietnamese(tmp_path: Path) -> None:
    directory = tmp_path / "voices" / "viettts"
    directory.mkdir(parents=True)
    (directory / "lexicon.txt").write_text("xin\t x i n\n", encoding="utf-8")
    engine = VietTtsEngine(EngineConfig(data_dir=tmp_path))
    assert engine.voices() == ["viettts"]
    with pytest.raises(TtsUnavailable, match="Chưa cài giọng vietTTS") as caught:
        engine.synthesize(SHORT)
    message = str(caught.value)
    missing = message.split("thiếu ", 1)[1].split(" trong thư mục", 1)[0]
    assert missing == "duration_latest_ckpt.pickle, acoustic_latest_ckpt.pickle, hk_hifi.pickle"
    assert str(directory) in message and "docs/viettts.md" in message


def test_missing_jax_is_reported_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "voices" / "viettts"
    directory.mkdir(parents=True)
    for name in (
        "duration_latest_ckpt.pickle",
        "acoustic_latest_ckpt.pickle",
        "hk_hifi.pickle",
        "lexicon.txt",
    ):
        (directory / name).write_bytes(b"")
    # As on a station installed without the extra: one of the modules the engine needs cannot be found.
    monkeypatch.setattr(engine_module, "NEEDED_MODULES", ("jax_not_installed_here", "haiku"))
    with pytest.raises(TtsUnavailable, match="pip install"):
        VietTtsEngine(EngineConfig(data_dir=tmp_path)).synthesize(SHORT)


@needs_jax
def test_damaged_or_mismatched_files_make_the_voice_unavailable(tmp_path: Path) -> None:
    from tests.support.viettts_checkpoints import SMALL_VOCODER_JSON
    from tests.support.viettts_checkpoints import write_voice as write

    directory = write(tmp_path / "voices" / "viettts", [SHORT])
    # A config.json that does not describe the hk_hifi.pickle next to it: twice the channels.
    (directory / "config.json").write_text(
        json.dumps({**SMALL_VOCODER_JSON, "upsample_initial_channel": 64}), encoding="utf-8"
    )
    with pytest.raises(TtsUnavailable, match=r"không khớp mô hình.*generator"):
        VietTtsEngine(EngineConfig(data_dir=tmp_path)).synthesize(SHORT)
    (directory / "config.json").write_text(json.dumps(SMALL_VOCODER_JSON), encoding="utf-8")
    (directory / "acoustic_latest_ckpt.pickle").write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(TtsUnavailable, match=r"acoustic_latest_ckpt\.pickle"):
        VietTtsEngine(EngineConfig(data_dir=tmp_path)).synthesize(SHORT)


@pytest.fixture
def shared_engine() -> VietTtsEngine:
    if not JAX_READY:
        pytest.skip("vietTTS needs jax and dm-haiku (the viettts extra)")
    from tests.support.viettts_checkpoints import shared_voice

    engine = get_engine("viettts", EngineConfig(data_dir=shared_voice((SHORT, LONG))))
    assert isinstance(engine, VietTtsEngine)
    return engine


def test_fixed_weights_give_golden_shapes_and_identical_bytes(shared_engine: VietTtsEngine) -> None:
    from broadcast.tts.engines.viettts.synthesizer import FRAMES_PER_SECOND

    synthesizer = shared_engine._load()
    tokens = text_to_tokens(SHORT, synthesizer.lexicon)
    assert tokens == [0, 24, 11, 15, 3, 6, 10, 26, 16, 3, 5, 26, 3, 6, 16, 15, 3, 0]
    seconds = synthesizer.durations(tokens)
    assert seconds[0] == seconds[-1] == pytest.approx(0.2)  # pauses held at the 0.2 s minimum
    assert np.all(seconds[np.array(tokens) == WORD_END] == 0)
    letters = seconds[np.array(tokens) > WORD_END]
    assert np.allclose(letters, 0.065, rtol=0.05)
    assert int(np.sum(seconds * np.float32(FRAMES_PER_SECOND), dtype=np.float32)) == 73
    mel = synthesizer.mel(tokens, seconds)
    assert mel.shape == (61, 80)  # 73 frames less the 12 of the closing silence
    first = shared_engine.synthesize(SHORT)
    assert (first.sample_rate, first.frame_count) == (16000, 61 * 256)
    assert shared_engine.synthesize(SHORT).samples == first.samples
    assert shared_engine.synthesize(LONG).frame_count == 613 * 256


def test_shape_buckets_do_not_change_the_result(
    shared_engine: VietTtsEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broadcast.tts.engines.viettts import synthesizer as module

    synthesizer = shared_engine._load()
    tokens = text_to_tokens(SHORT, synthesizer.lexicon)
    seconds = synthesizer.durations(tokens)
    mel = synthesizer.mel(tokens, seconds)
    wave = synthesizer.waveform(mel)
    # The original runs every model at the exact length; padding to a bucket must not change real outputs.
    monkeypatch.setattr(module, "bucket", lambda size, floor: size)
    np.testing.assert_allclose(synthesizer.durations(tokens), seconds, atol=1e-6)
    np.testing.assert_allclose(synthesizer.mel(tokens, seconds), mel, atol=1e-5)
    np.testing.assert_allclose(synthesizer.waveform(mel), wave, atol=1e-5)


def test_buckets_are_few_and_waste_at_most_a_quarter() -> None:
    assert [bucket(n, 32) for n in (1, 32, 33, 65, 100, 129, 1000)] == [32, 32, 40, 80, 112, 160, 1024]
    sizes = {bucket(n, 64) for n in range(1, 5000)}
    assert len(sizes) <= 30
    assert all(bucket(n, 64) <= max(64, n * 1.25) for n in range(1, 5000))


def test_concurrent_calls_are_safe_and_timings_sane(shared_engine: VietTtsEngine) -> None:
    shared_engine.synthesize(LONG)  # compiled already by other tests, or now
    started = time.perf_counter()
    expected = shared_engine.synthesize(LONG)
    warm = time.perf_counter() - started
    assert warm < expected.duration_s  # faster than real time, even this small model on two cores
    results: list[bytes] = []

    def speak() -> None:
        results.append(shared_engine.synthesize(LONG).samples)

    threads = [threading.Thread(target=speak) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [expected.samples] * 4
