"""Strip what a pasted web page leaves around an article before anything is read (pure functions).

Editors paste from provincial portals: HTML, "{keywords}" template holes, rating widgets, comment boxes,
photo credits, bullets and pipes. Nobody should hear those, and they confuse the later passes.
"""

from __future__ import annotations

import html
import re
import unicodedata

BOILERPLATE_LINES: tuple[str, ...] = (
    r"Tổng số điểm của bài viết là:.*",
    r"Xếp hạng:.*phiếu bầu",
    r"Click để đánh giá bài viết",
    r"Ý kiến bạn đọc",
    r"(?:Gửi |Viết )?bình luận|Chia sẻ(?: bài viết)?|Bài viết liên quan|Tin liên quan|(?:Các )?tin khác",
    r"Tin cùng chuyên mục|Xem thêm|In bài viết|Bản in|(?:Lên|Về) đầu trang|Quay lại|Đánh giá bài viết",
    r"Facebook|Twitter|Zalo|Email|Print|Share|Tweet|Like",
    r"(?:Từ khó[aá]|Tags?|Lượt xem|Số lượt xem|Lượt đọc|Cỡ chữ)\s*:.*",
    r"(?=.*[-+])(?:A[-+]?\s*){2,}",  # font-size widget "A- A A+" (not a bare "AA")
)
"""Whole lines that pages add around an article and nobody should hear."""

BOILERPLATE_SPANS: tuple[str, ...] = (
    r"Bạn đã không sử dụng Site, Bấm vào đây để duy trì trạng thái đăng nhập\. Thời gian chờ: \d+ giây",
    r"\(\s*Ảnh(?: minh h[oọ]a)?\s*:[^()\n]*\)",  # "(Ảnh minh họa: Internet)"
    r"(?:(?<=[.!?])|^)\s*Ảnh(?: minh h[oọ]a)?\s*:\s*\S[^\n]{0,40}$",  # a photo credit ending a caption
)
"""Pieces of a line that are page furniture: session widgets, photo credits."""

_LINES = re.compile("|".join(f"(?:{line})" for line in BOILERPLATE_LINES), re.IGNORECASE)
_SPANS = re.compile("|".join(f"(?:{span})" for span in BOILERPLATE_SPANS), re.MULTILINE)
_HIDDEN = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK_TAGS = re.compile(r"<\s*(?:br|p|/p|div|/div|li|/li|h\d|/h\d|tr|/tr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_TEMPLATE_HOLE = re.compile(r"\{[^{}\n]*\}")
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]+\d*);")
"""Only entities with their ";": "TT&GT" must not become "TT>"."""
_DROPPED = re.compile(r"[\"“”„«»‘’`*#^\u200b-\u200d\u00ad\ufeff]")
_SEPARATORS = re.compile(r"\s*[|•·●▪■□◆◇►▶❖✓✔☐]+\s*")
"""Pipes and bullets inside a line separate items: a pause, never a new line (one line in, one out)."""
_VIEW_COUNT = re.compile(r"(\d{1,2}:\d{2})\s+\d+\s*$", re.MULTILINE)
_DATE_THEN_TIME = re.compile(r"(\d{4})\s+(?=\d{1,2}[:h]\d{2}\b)")
_GLUED_SENTENCE = re.compile(r"(?<=[a-zà-ỹđ])([.!?])(?=[A-ZĐÀ-Ỹ][a-zà-ỹ])")


def clean_lines(text: str) -> list[str]:
    """Strip HTML, template holes, page boilerplate and stray symbols; return the non-empty lines."""
    text = unicodedata.normalize("NFC", text)
    if "<" in text:
        text = _HIDDEN.sub(" ", text)
        text = _BLOCK_TAGS.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = _ENTITY.sub(lambda match: html.unescape(match[0]), text)
    text = _TEMPLATE_HOLE.sub(" ", text)
    text = text.replace("./.", ".").replace("…", "...").replace("\xa0", " ")
    text = _DROPPED.sub(" ", text)
    text = _SEPARATORS.sub(" , ", text)
    text = _SPANS.sub(" ", text)
    text = _VIEW_COUNT.sub(r"\1", text)  # "03:21 0": the 0 is the page's view counter
    text = _DATE_THEN_TIME.sub(r"\1, ", text)  # "10/08/2021 03:21": a pause between date and time
    text = _GLUED_SENTENCE.sub(r"\1 ", text)  # "phía Bắc.Nhận định": a lost space
    lines = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        line = _strip_bullet(line)
        if line and not _LINES.fullmatch(line):
            lines.append(line)
    return lines


def _strip_bullet(line: str) -> str:
    """Drop a list bullet ("- ", "+ ", "– ") at the start of a line; keep a minus sign ("-5")."""
    if line[:1] in "-–—+" and not line[1:2].isdigit():
        return line.lstrip("-–—+ ")
    return line
