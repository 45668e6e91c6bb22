"""Sentence splitting for parallel synthesis: boundaries, long sentences, and no word ever cut."""

from __future__ import annotations

import random

import pytest

from broadcast.tts import split_sentences

SPLITS = [
    ("", []),
    ("   \n  ", []),
    ("Một câu.", ["Một câu."]),
    (
        "Câu một. Câu hai! Câu ba? Câu bốn; câu năm",
        ["Câu một.", "Câu hai!", "Câu ba?", "Câu bốn;", "câu năm"],
    ),
    ("Dòng một\nDòng hai.", ["Dòng một", "Dòng hai."]),
    ("Xã hội... Đây là", ["Xã hội...", "Đây là"]),
    ("Ông nói (xin chào.) Rồi đi.", ["Ông nói (xin chào.)", "Rồi đi."]),
    ("Ba phẩy năm mét, chấm hết.", ["Ba phẩy năm mét, chấm hết."]),
]


@pytest.mark.parametrize(("spoken", "pieces"), SPLITS)
def test_split_at_sentence_ends_and_line_breaks(spoken: str, pieces: list[str]) -> None:
    assert split_sentences(spoken) == pieces


def test_long_sentence_is_cut_at_commas_first() -> None:
    sentence = "Bà con thôn một, thôn hai, thôn ba, thôn bốn chú ý, mưa to kéo dài, không ra đồng."
    assert split_sentences(sentence, max_chars=40) == [
        "Bà con thôn một, thôn hai, thôn ba,",
        "thôn bốn chú ý, mưa to kéo dài,",
        "không ra đồng.",
    ]


def test_clause_without_commas_is_cut_at_spaces() -> None:
    pieces = split_sentences("một hai ba bốn năm sáu bảy tám chín mười.", max_chars=12)
    assert pieces == ["một hai ba", "bốn năm sáu", "bảy tám chín", "mười."]


def test_a_word_longer_than_the_limit_stays_whole() -> None:
    assert split_sentences("ngắn siêuuuuuuuuuuudài ngắn", max_chars=5) == [
        "ngắn",
        "siêuuuuuuuuuuudài",
        "ngắn",
    ]


def test_max_chars_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_sentences("x", max_chars=0)


def test_random_text_keeps_every_word_and_respects_the_limit() -> None:
    rng = random.Random(7)
    vocabulary = [
        "bà",
        "con",
        "xã",
        "thôn",
        "ủy",
        "ban",
        "nhân",
        "dân",
        "họp,",
        "mưa.",
        "gió!",
        "lũ?",
        "bão;",
    ]
    for _ in range(300):
        words = [rng.choice(vocabulary) for _ in range(rng.randrange(0, 120))]
        text = " ".join(words)
        if rng.random() < 0.3:
            text = text.replace(" thôn ", "\nthôn ", 2)
        limit = rng.randrange(8, 200)
        pieces = split_sentences(text, max_chars=limit)
        assert " ".join(pieces).split() == text.split()
        assert all(piece == piece.strip() and piece for piece in pieces)
        assert all(len(piece) <= limit for piece in pieces)
