"""Abbreviations, letter names and loan words of Vietnamese administrative text, and how to say them."""

from __future__ import annotations

import re
from collections.abc import Callable

ABBREVIATIONS: dict[str, str] = {
    # Government, Party and mass organisations
    "UBND": "ủy ban nhân dân",
    "HĐND": "hội đồng nhân dân",
    "UBMTTQ": "ủy ban mặt trận tổ quốc",
    "MTTQ": "mặt trận tổ quốc",
    "UBKT": "ủy ban kiểm tra",
    "BCĐ": "ban chỉ đạo",
    "BCH": "ban chấp hành",
    "TW": "trung ương",
    "QH": "quốc hội",
    "CHXHCN": "cộng hòa xã hội chủ nghĩa",
    "XHCN": "xã hội chủ nghĩa",
    "CAND": "công an nhân dân",
    "QĐND": "quân đội nhân dân",
    "CSGT": "cảnh sát giao thông",
    "HTX": "hợp tác xã",
    "CBCCVC": "cán bộ, công chức, viên chức",
    "CBCC": "cán bộ, công chức",
    "VN": "Việt Nam",
    "TP": "thành phố",
    "HCM": "Hồ Chí Minh",
    # Ministries and sectors
    "TT&TT": "thông tin và truyền thông",
    "KH&CN": "khoa học và công nghệ",
    "KHCN": "khoa học công nghệ",
    "GD&ĐT": "giáo dục và đào tạo",
    "GDĐT": "giáo dục đào tạo",
    "NN&PTNT": "nông nghiệp và phát triển nông thôn",
    "TN&MT": "tài nguyên và môi trường",
    "LĐ-TB&XH": "lao động, thương binh và xã hội",
    "VH-TT&DL": "văn hóa, thể thao và du lịch",
    "KT-XH": "kinh tế, xã hội",
    "CNTT": "công nghệ thông tin",
    "CĐS": "chuyển đổi số",
    "CMCN": "cách mạng công nghiệp",
    "DN": "doanh nghiệp",
    "DNNVV": "doanh nghiệp nhỏ và vừa",
    # Schools, health, safety
    "THPT": "trung học phổ thông",
    "THCS": "trung học cơ sở",
    "BHYT": "bảo hiểm y tế",
    "BHXH": "bảo hiểm xã hội",
    "PCCC": "phòng cháy chữa cháy",
    "PCTT": "phòng chống thiên tai",
    "TKCN": "tìm kiếm cứu nạn",
    "ATGT": "an toàn giao thông",
    "ATTP": "an toàn thực phẩm",
    "NTM": "nông thôn mới",
    "KCN": "khu công nghiệp",
    "AI": "ây ai",
}
"""All-caps abbreviation -> reading; a hyphenated unknown ("UBND-HĐND") is read part by part."""

PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bTP\.\s?HCM\b", "thành phố Hồ Chí Minh"),
    (r"\bTP\.\s?(?=\w)", "thành phố "),
    (r"\bP\.V\b:?", "phóng viên:"),
)
"""Abbreviations with dots, which the token scan would split: (regex, reading)."""

LOAN_WORDS: dict[str, str] = {
    "covid": "cô vít",
    "internet": "in tơ nét",
    "online": "ôn lai",
    "website": "oép sai",
    "email": "i meo",
    "facebook": "phây búc",
    "zalo": "da lô",
    "wifi": "oai phai",
}
"""Foreign words espeak's Vietnamese rules would mangle, matched case-insensitively."""

LETTER_NAMES: dict[str, str] = {
    "A": "a", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "F": "ép", "G": "giê", "H": "hát",
    "I": "i", "J": "giê", "K": "ca", "L": "lờ", "M": "em", "N": "en", "O": "o", "P": "pê", "Q": "quy",
    "R": "rờ", "S": "ét", "T": "tê", "U": "u", "V": "vê", "W": "vê kép", "X": "ích", "Y": "i dài",
    "Z": "dét",
}  # fmt: skip
"""How announcers name letters when they spell an acronym ("VTV" -> "vê tê vê")."""

_PLAIN_CAPS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZĐ&-")
_TOKEN = re.compile(r"(?<![\w&])[^\W\d_]+(?:[&-][^\W\d_]+)*(?![\w&])")
_PHRASES = tuple((re.compile(pattern), reading) for pattern, reading in PHRASES)
_REPEATED_GLOSS = re.compile(r"\s*\(([A-ZĐ&-]{2,})\)")


def spell(letters: str) -> str:
    """Name each letter of ``letters``: "VNPT" -> "vê en pê tê"."""
    return " ".join(LETTER_NAMES.get(char.upper(), char.lower()) for char in letters if char.isalpha())


def is_abbreviation(token: str) -> bool:
    """Tell whether ``token`` looks like an acronym: 2+ capitals, no Vietnamese diacritics (except Đ)."""
    letters = [char for char in token if char.isalpha()]
    return len(letters) >= 2 and all(char in _PLAIN_CAPS for char in token)


def is_caps_word(token: str) -> bool:
    """Tell whether ``token`` is an ordinary word typed in capitals ("THÔNG", "BÁO")."""
    return sum(char.isalpha() for char in token) >= 2 and token.isupper() and not is_abbreviation(token)


def expand_abbreviations(
    text: str, *, caps_line: bool = False, on_unknown: Callable[[str], None] | None = None
) -> str:
    """Replace acronyms, dotted abbreviations and loan words in one line with their readings.

    Unknown acronyms are spelled letter by letter and reported to ``on_unknown``; in a line typed all in
    capitals (``caps_line``) unknown capital tokens are ordinary words and are lower-cased instead.
    """
    for pattern, reading in _PHRASES:
        text = pattern.sub(reading, text)
    text = _REPEATED_GLOSS.sub(_drop_repeated_gloss, text)

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        return _read_token(token, caps_line=caps_line, on_unknown=on_unknown)

    return _TOKEN.sub(replace, text)


def _drop_repeated_gloss(match: re.Match[str]) -> str:
    """Drop "(CĐS)" right after "chuyển đổi số": the reading would say the same words twice."""
    reading = ABBREVIATIONS.get(match[1])
    if reading and match.string[: match.start()].lower().endswith(reading.lower()):
        return ""
    return match.group(0)


def _read_token(token: str, *, caps_line: bool, on_unknown: Callable[[str], None] | None) -> str:
    """Return the reading of one word-like token."""
    if token in ABBREVIATIONS:
        return ABBREVIATIONS[token]
    loan = LOAN_WORDS.get(token.lower())
    if loan is not None:
        return loan
    if is_caps_word(token) or (caps_line and token.isupper()):
        return token.lower()
    if not is_abbreviation(token):
        return token
    if "-" in token:
        parts = token.split("-")
        return ", ".join(_read_token(part, caps_line=caps_line, on_unknown=on_unknown) for part in parts)
    if on_unknown is not None:
        on_unknown(token)
    return spell(token)
