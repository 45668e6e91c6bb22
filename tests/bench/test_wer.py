"""Word error rate of the intelligibility benchmark: word-level Levenshtein, case and punctuation aside."""

from __future__ import annotations

import unicodedata

import pytest

from bench.wer import edit_distance, word_error_rate, word_errors, words


def test_words_are_lower_case_without_punctuation() -> None:
    assert words("Bão số ba, giật cấp mười hai!  (Khẩn)") == [
        "bão",
        "số",
        "ba",
        "giật",
        "cấp",
        "mười",
        "hai",
        "khẩn",
    ]


def test_decomposed_letters_equal_composed_ones() -> None:
    decomposed = unicodedata.normalize("NFD", "Mưa lũ")
    assert decomposed != "Mưa lũ"
    assert word_errors("mưa lũ", decomposed) == (0, 2)


def test_tones_are_different_words() -> None:
    assert word_errors("mưa to", "mua to") == (1, 2)


@pytest.mark.parametrize(
    ("reference", "hypothesis", "errors"),
    [
        ("a b c", "a b c", 0),
        ("a b c", "a x c", 1),  # substitution
        ("a b c", "a c", 1),  # deletion
        ("a b c", "a b b c", 1),  # insertion
        ("a b c", "", 3),
        ("", "a b", 2),
        ("a b c d", "b c d a", 2),  # a moved: one deletion, one insertion
        ("mười sáu phẩy tám", "mười sáu tám phẩy", 2),
    ],
)
def test_edit_distance_counts_substitutions_deletions_and_insertions(
    reference: str, hypothesis: str, errors: int
) -> None:
    assert edit_distance(reference.split(), hypothesis.split()) == errors


def test_the_rate_pools_errors_over_all_reference_words() -> None:
    pairs = [("một hai ba bốn", "một hai ba bốn"), ("năm sáu", "năm bảy tám")]
    assert word_error_rate(pairs) == pytest.approx(2 / 6)  # not the mean of 0 and 1


def test_a_rate_above_one_when_the_recogniser_invents_words() -> None:
    assert word_error_rate([("loa", "loa xã thông báo")]) == 3.0


def test_no_reference_words_is_an_error() -> None:
    with pytest.raises(ValueError, match="undefined"):
        word_error_rate([("", "loa"), ("...", "")])
