"""The normaliser end to end: API contract, golden corpus readings, whole corpus, commune dictionary."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest

from broadcast.tts import normalize_text, split_sentences, unknown_abbreviations
from broadcast.tts.lexicon import ABBREVIATIONS

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
GOLDEN = Path(__file__).with_name("golden") / "corpus_sentences.tsv"


def _golden() -> list[tuple[str, str]]:
    """Read (input, expected reading) pairs written by hand for real corpus sentences."""
    with GOLDEN.open(encoding="utf-8", newline="") as handle:
        return [(row[0], row[1]) for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]


GOLDEN_ROWS = _golden()


def _corpus_text() -> str:
    """Return the whole shared corpus with whitespace collapsed, or skip when it is not present."""
    files = sorted(CORPUS.glob("*.txt"))
    if not files:
        pytest.skip("shared corpus not present")
    return " ".join(" ".join(path.read_text(encoding="utf-8").split()) for path in files)


def test_golden_file_has_a_few_hundred_distinct_real_sentences() -> None:
    inputs = [text for text, _ in GOLDEN_ROWS]
    assert len(inputs) >= 300
    assert len(set(inputs)) == len(inputs)
    corpus = _corpus_text()
    assert [text for text in inputs if text not in corpus] == []


@pytest.mark.parametrize(("text", "spoken"), GOLDEN_ROWS, ids=[f"golden{i}" for i in range(len(GOLDEN_ROWS))])
def test_golden_corpus_sentence(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


def test_every_corpus_file_reads_without_digits_or_leftovers() -> None:
    files = sorted(CORPUS.glob("*.txt"))
    if not files:
        pytest.skip("shared corpus not present")
    for path in files:
        text = path.read_text(encoding="utf-8")
        spoken = normalize_text(text)
        assert not re.search(r"[0-9]", spoken), path.name
        for leftover in ("UBND", "TT&TT", "CĐS", "{keywords}", "  ", "|", "Ý kiến bạn đọc", "phiếu bầu"):
            assert leftover not in spoken, (path.name, leftover)
        assert unknown_abbreviations(text) == [], (
            path.name
        )  # every acronym in the corpus is in the dictionary


def test_one_spoken_line_per_paragraph_and_blank_lines_dropped() -> None:
    assert normalize_text("UBND xã thông báo\n\n  \nHọp lúc 7h30") == (
        "Ủy ban nhân dân xã thông báo.\nHọp lúc bảy giờ ba mươi phút."
    )
    assert normalize_text("") == ""
    assert normalize_text("{keywords}\n|") == ""


def test_pasted_html_page_is_cleaned() -> None:
    page = (
        "<div><h1>Thông báo</h1><script>var x = 1;</script><p>Xin&nbsp;chào <b>bà con</b> &amp; du khách</p>"
        "<ul><li>Tiêm phòng</li><li>Vệ sinh</li></ul></div>\nÝ kiến bạn đọc\nChia sẻ\nTừ khóa: tiêm, phòng"
    )
    assert normalize_text(page) == "Thông báo.\nXin chào bà con và du khách.\nTiêm phòng.\nVệ sinh."


UNKNOWN = [
    ("Các DN như VNPT, ABC và XYZ, lại ABC; UBND, THÔNG BÁO, Covid và F0 thì đã biết.", None, ["ABC", "XYZ"]),
    ("Nghị quyết số 01-NQ/TU của Đại hội XIII, quý II/2022", None, []),
    ("Ban quản lý HTX họp tại nhà văn hoá KDC số 3.", None, ["KDC"]),
    ("Ban quản lý HTX họp tại nhà văn hoá KDC số 3.", {"KDC": "khu dân cư"}, []),
    ("Công văn 12/XYZ-ABC của xã", None, ["XYZ", "ABC"]),  # the drafting unit is read too (was dropped)
    ("BÃO SỐ 3 ĐANG VÀO BỜ, BA CON CAN CHU Y", None, []),
    ("Họp UBND-QLDA", None, ["QLDA"]),
]


@pytest.mark.parametrize(("text", "extra", "unknown"), UNKNOWN)
def test_unknown_abbreviations_in_order_without_duplicates(
    text: str, extra: dict[str, str] | None, unknown: list[str]
) -> None:
    assert unknown_abbreviations(text, extra) == unknown


EXTRA = [
    ("Họp tại nhà văn hoá KDC số 3", {"KDC": "khu dân cư"}, "Họp tại nhà văn hoá khu dân cư số ba."),
    ("HTX Tân Lập", {"HTX": "hợp tác xã nông nghiệp"}, "Hợp tác xã nông nghiệp Tân Lập."),
    ("UBND-HĐND xã", {"UBND": "ủy ban"}, "Ủy ban, hội đồng nhân dân xã."),
    ("Kế hoạch 12/KH-UBND", {"UBND": "ủy ban xã"}, "Kế hoạch mười hai của ủy ban xã."),
    ("khu dân cư (KDC) số 2", {"KDC": "khu dân cư"}, "Khu dân cư số hai."),
    ("Dịch Covid-19", {"Covid": "dịch cô vít"}, "Dịch dịch cô vít mười chín."),
    ("Đến Q.1 và xã TL", {"xã TL": "xã Tân Lập"}, "Đến quận một và xã Tân Lập."),
    ("Ứng dụng Smart Xã", {"Smart Xã": "xờ mát xã"}, "Ứng dụng xờ mát xã."),
    ("Ứng dụng Smart", {"Smart": "thông minh"}, "Ứng dụng thông minh."),
    ("liên hệ ubnd xã", {"ubnd": "ủy ban"}, "Liên hệ ủy ban xã."),
]


@pytest.mark.parametrize(("text", "extra", "spoken"), EXTRA)
def test_commune_dictionary_overrides_built_ins(text: str, extra: dict[str, str], spoken: str) -> None:
    assert normalize_text(text, extra) == spoken


def test_commune_dictionary_is_not_kept_between_calls() -> None:
    assert normalize_text("KDC", {"KDC": "khu dân cư"}) == "Khu dân cư."
    assert normalize_text("KDC") == "Ca dê xê."


def test_dictionary_is_big_and_well_formed() -> None:
    assert len(ABBREVIATIONS) >= 150
    for term, reading in ABBREVIATIONS.items():
        assert term == term.strip() and reading == reading.strip() and reading, term
        assert not re.search(r"[0-9]", reading), term
    assert "KDC" not in ABBREVIATIONS  # left to communes: the web form's example of a local entry


def test_random_garbage_never_raises_and_leaves_no_digits() -> None:
    rng = random.Random(3)
    alphabet = "0123456789 ./-:,;%°C²hgkmđĐ&()@+ABDHIKLMNPQSTUVXYaehinotuyàâêôơưđ\n|{}<>“”–…"
    pieces = [
        "ngày",
        "thứ",
        "quý",
        "số",
        "gọi",
        "UBND",
        "km/h",
        "tạ/ha",
        "QĐ-UBND",
        "www.",
        "gov.vn",
        "@gmail.com",
    ]
    pieces += [
        "XX",
        "IV",
        "F0",
        "4G",
        "Covid-19",
        "0912345678",
        "1.000",
        "2,5",
        "14h30",
        "31/12/2020",
        "2021-2025",
    ]
    for _ in range(1500):
        parts = [
            rng.choice(pieces)
            if rng.random() < 0.5
            else "".join(rng.choices(alphabet, k=rng.randrange(1, 8)))
            for _ in range(rng.randrange(1, 12))
        ]
        text = rng.choice([" ", "", " - ", "/"]).join(parts)
        spoken = normalize_text(text)
        assert not re.search(r"[0-9]", spoken), (text, spoken)
        unknown_abbreviations(text)


def test_normalised_corpus_splits_back_into_the_same_words() -> None:
    spoken = normalize_text(" ".join(text for text, _ in GOLDEN_ROWS[:60]))
    pieces = split_sentences(spoken, max_chars=120)
    assert " ".join(pieces).split() == spoken.split()
    assert all(len(piece) <= 120 for piece in pieces)
