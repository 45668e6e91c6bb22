"""Nothing is silently dropped: every piece of a bulletin is read, or flagged to the editor first."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.tts import normalize_text, unknown_abbreviations, unread_tokens
from broadcast.tts.coverage import unread_in_line
from broadcast.tts.lexicon import ABBREVIATIONS
from broadcast.tts.rules import Context

_WORD = re.compile(r"[^\W_]+")


@pytest.mark.parametrize(
    ("text", "unread"),
    [
        ("Mực nước BĐ9X tại trạm.", ["BĐ9X"]),
        ("Phòng A3b và kho 12kgx.", ["A3b", "12kgx"]),
        ("Mực nước BĐ4 là sai.", ["BĐ4"]),  # only three alarm levels exist
        ("Xe số 5N và 12E.", ["5N", "12E"]),  # no position given: not hemispheres
        ("Giá 50€ một suất, § 3.", ["€", "§"]),  # symbols no engine says
    ],
)
def test_letters_glued_to_digits_and_unspeakable_symbols_are_flagged(text: str, unread: list[str]) -> None:
    assert unread_tokens(text) == unread
    assert unknown_abbreviations(text) == unread


@pytest.mark.parametrize(
    "text",
    [
        "Lúc 7h30 ngày 2/3, nhiệt độ 25oC, mưa 20mm, gió 40km/h, 20m³ nước, giá 7.500đồng/kg.",
        "Quốc lộ QL1A, F0, H5N1, lớp 12A1, mạng 4G, điện 220V, khóa QH14, Covid-19.",
        "Tâm bão ở 16,8N-115,3E, mực nước trên BĐ3, có nơi BĐ2-BĐ3.",
        "TP.HCM, Đ/c Nam, v.v. và TT&TT, KT-XH, PCTT&TKCN.",
        "Địa chỉ www.ubnd-xa.gov.vn, thư ubndxa123@gmail.com.",
        "THÔNG BÁO KHẨN: CANH BAO MUA LU.",
        "Đại hội XIII và quý II/2022.",
    ],
)
def test_what_the_rules_read_is_not_flagged(text: str) -> None:
    assert unread_tokens(text) == []


def test_a_commune_entry_makes_a_glued_code_known() -> None:
    extra = {"BĐ9X": "bến đò số chín"}
    assert normalize_text("Ra BĐ9X.", extra) == "Ra bến đò số chín."
    assert unread_tokens("Ra BĐ9X.", extra) == []


def test_a_word_missing_from_the_reading_is_reported() -> None:
    assert unread_in_line("Họp tại nhà văn hóa", "Họp tại nhà.", Context()) == ["văn", "hóa"]
    assert unread_in_line("Họp tại UBND", "Họp tại ủy ban nhân dân.", Context()) == []
    assert unread_in_line("Họp tại UBND", "Họp tại.", Context()) == ["UBND"]


def test_spelled_abbreviations_come_first_then_unread_pieces() -> None:
    assert unknown_abbreviations("QXZ họp ở BĐ9X, QXZ.") == ["QXZ", "BĐ9X"]


_WORDS = ["họp", "xã", "nước", "mưa", "lũ", "đường", "nhà", "văn", "hóa", "dân", "bản", "thôn", "khẩn", "rét"]
_ABBREVIATIONS = sorted(key for key in ABBREVIATIONS if key.isalpha())
_PIECES = st.one_of(
    st.sampled_from(_WORDS).map(lambda word: ("word", word)),
    st.sampled_from(_ABBREVIATIONS).map(lambda key: ("caps", key)),
    st.from_regex(r"[A-Z]{2,4}", fullmatch=True).map(lambda key: ("caps", key)),
    st.from_regex(r"[A-Za-zĐđ]{1,3}[0-9]{1,3}[A-Za-z]{0,2}|[0-9]{1,3}[A-Za-zđ]{1,3}", fullmatch=True).map(
        lambda token: ("mixed", token)
    ),
    st.integers(0, 99_999).map(lambda number: ("number", str(number))),
    st.sampled_from(["€", "$", "§", "±", "%", "&", "+", "="]).map(lambda symbol: ("symbol", symbol)),
)


def _heard(piece: str, spoken_words: str) -> bool:
    """Tell whether ``piece``'s own reading (read alone) is heard in ``spoken_words``."""
    alone = " ".join(_WORD.findall(normalize_text(f"là {piece} là").lower()))
    alone = alone.removeprefix("là ").removesuffix(" là").strip()
    return bool(alone) and f" {alone} " in spoken_words


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, min_size=1, max_size=10), st.sampled_from([" ", ", ", " và "]))
def test_the_normaliser_never_silently_drops_a_piece(pieces: list[tuple[str, str]], joiner: str) -> None:
    text = joiner.join(piece for _, piece in pieces)
    spoken = normalize_text(text)
    flagged = set(unknown_abbreviations(text))
    spoken_words = " " + " ".join(_WORD.findall(spoken.lower())) + " "
    assert not re.search(r"\d", spoken)  # every number is read
    for kind, piece in pieces:
        if kind == "number":
            continue
        if kind == "word":
            assert f" {piece} " in spoken_words, (text, spoken)
        elif kind == "symbol":
            assert piece in flagged or piece not in spoken, (text, spoken, flagged)
        else:
            assert piece in flagged or _heard(piece, spoken_words) or piece.lower() in spoken_words, (
                text,
                spoken,
                flagged,
            )
