"""Read what hydro-meteorological bulletins write in shorthand: flood alarm levels and storm positions.

Alarm levels: "BĐ1" -> "báo động một", "BĐ2-BĐ3" -> "báo động hai đến báo động ba", "trên BĐ3+0,5m" ->
"trên báo động ba cộng không phẩy năm mét" (the "+" and the height are left to the later passes). Only the
three official levels (1-3, or I-III) are claimed: "BĐ9X" is left alone and flagged to the editor.

Storm centres: "16,8N-115,3E", "16.8N 115.3E", "16,8°N; 115,3°E" and "16,8 độ Vĩ Bắc; 115,3 độ Kinh Đông"
-> "mười sáu phẩy tám độ vĩ bắc, một trăm mười lăm phẩy ba độ kinh đông". N/S/E/W are read as a
hemisphere only right after a coordinate number: in a latitude/longitude pair, or alone after words that
announce a position ("tọa độ", "vĩ độ", "tâm bão"...). In a coordinate a "." is a decimal point.
"""

from __future__ import annotations

import re

from broadcast.tts.numbers import read_numeral, roman_value
from broadcast.tts.rules import Context, Rule, text_before

HEMISPHERES = {"N": "vĩ bắc", "S": "vĩ nam", "E": "kinh đông", "W": "kinh tây"}
_POSITION_WORDS = re.compile(r"tọa độ|toạ độ|vĩ độ|kinh độ|vĩ tuyến|kinh tuyến|tâm bão|tâm áp thấp|vị trí")
_LEVEL = r"[1-3]|I{1,3}(?![IVX])"
_ALARM = r"(?:BĐ\s?|[Bb]áo động\s+)"
_DEGREE = r"\s?(?:°|độ)?\s?"
_COORD = r"\d{1,3}(?:[.,]\d{1,3})?"
_SEMI = r"(?P<semi>\s*;)?"


def _level(written: str) -> str:
    """Read one alarm level, Arabic or Roman: "2" / "II" -> "báo động hai"."""
    value = int(written) if written.isdigit() else roman_value(written)
    return f"báo động {read_numeral(str(value))}"


def _alarm(match: re.Match[str], ctx: Context) -> str:
    """Read "BĐ2" and "BĐ2-BĐ3" / "BĐ2-3"."""
    spoken = _level(match["a"])
    if match["b"]:
        spoken += " đến " + _level(match["b"])
    return f" {spoken} "


def _coordinate(number: str, hemisphere: str) -> str:
    """Read "16.8" + "N" as "mười sáu phẩy tám độ vĩ bắc" (a "." in a coordinate is a decimal point)."""
    return f"{read_numeral(number.replace('.', ','))} độ {HEMISPHERES[hemisphere]}"


def _pause(match: re.Match[str], hemisphere: str) -> str:
    """A ";" between a latitude and its longitude ("19,5N; kinh tuyến 108E") is a "," inside one position;
    after a longitude it ends a clause and stays."""
    if not match["semi"]:
        return ""
    return "," if hemisphere in "NS" else ";"


def _pair(match: re.Match[str], ctx: Context) -> str:
    """Read a latitude/longitude pair written with letters: "16,8N-115,3E" (whole degrees: in a position)."""
    decimals = all(re.search(r"[.,]", match[name]) for name in ("lat", "lon"))
    if not decimals and not _gives_position(match):
        return match[0]
    latitude, longitude = _coordinate(match["lat"], match["ns"]), _coordinate(match["lon"], match["ew"])
    return f" {latitude}, {longitude}{_pause(match, match['ew'])} "


def _span(match: re.Match[str], ctx: Context) -> str:
    """Read a band of latitude or longitude: "18,5N-23,0N", and "108,0-116.0E" where a position is given."""
    if not match["ha"] and not _gives_position(match):
        return match[0]
    low = _coordinate(match["a"], match["ha"]) if match["ha"] else read_numeral(match["a"].replace(".", ","))
    return f" {low} đến {_coordinate(match['b'], match['hb'])}{_pause(match, match['hb'])} "


def _lone(match: re.Match[str], ctx: Context) -> str:
    """Read one decimal coordinate with a letter ("17,5N") only where its sentence gives a position."""
    if not _gives_position(match):
        return match[0]
    return f" {_coordinate(match['n'], match['h'])}{_pause(match, match['h'])} "


def _gives_position(match: re.Match[str]) -> bool:
    """Tell whether the sentence before ``match`` announces a position ("tâm bão", "vĩ tuyến"...)."""
    before = text_before(match, 60)
    return _POSITION_WORDS.search(before[max(before.rfind(". "), 0) :]) is not None


def _spelled_out(match: re.Match[str], ctx: Context) -> str:
    """Read "115,3 độ Kinh Đông" / "10–13 độ Vĩ Bắc": the hemisphere in lower case inside the sentence."""
    number = read_numeral(match["n"].replace(".", ","))
    if match["low"]:
        number = f"{read_numeral(match['low'].replace('.', ','))} đến {number}"  # "10–13 độ Vĩ Bắc"
    return f" {number} độ {match['axis'].lower()} {match['side'].lower()}{',' if match['sep'] else ''} "


HINT = re.compile(r"BĐ|áo động|\d\s?(?:°|độ)?\s?[NSEW](?!\w)|độ\s*(?:[Vv]ĩ|VĨ|[Kk]inh|KINH)\s")
"""A cheap search telling whether a line may hold anything these rules read."""

HYDROMET_RULES: tuple[Rule, ...] = (
    (
        re.compile(rf"(?<!\w){_ALARM}(?P<a>{_LEVEL})(?:\s*[-–—]\s*(?:{_ALARM})?(?P<b>{_LEVEL}))?(?![^\W_])"),
        _alarm,
    ),
    (
        re.compile(
            rf"(?<![\w.,])(?P<lat>{_COORD}){_DEGREE}(?P<ns>[NS])\s*(?:[-–—,;/]|và)?\s*"
            rf"(?P<lon>{_COORD}){_DEGREE}(?P<ew>[EW])(?!\w){_SEMI}"
        ),
        _pair,
    ),
    (
        re.compile(
            rf"(?<![\w.,])(?P<a>{_COORD})(?:{_DEGREE}(?P<ha>[NSEW]))?\s*[-–—]\s*"
            rf"(?P<b>{_COORD}){_DEGREE}(?P<hb>[NSEW])(?!\w){_SEMI}"
        ),
        _span,
    ),
    (re.compile(rf"(?<![\w.,])(?P<n>\d{{1,3}}[.,]\d{{1,3}}){_DEGREE}(?P<h>[NSEW])(?!\w){_SEMI}"), _lone),
    (
        re.compile(
            rf"(?<![\w.,])(?:(?P<low>{_COORD})\s*[-–—]\s*)?(?P<n>{_COORD})\s*(?:°|độ)\s*(?P<axis>[Vv]ĩ|VĨ|[Kk]inh|KINH)\s+"
            r"(?P<side>[Bb]ắc|BẮC|[Nn]am|NAM|[Đđ]ông|ĐÔNG|[Tt]ây|TÂY)(?!\w)(?P<sep>\s*[;,-](?=\s*\d))?"
        ),
        _spelled_out,
    ),
)
"""Run before the code pass, which would read "BĐ2" letter by letter and "8N" as a code."""
