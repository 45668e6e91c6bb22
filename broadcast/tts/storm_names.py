"""Say the international names of storms in the Western North Pacific as Vietnamese radio says them.

Data first, so the list is easy to update each season: ``STORM_NAMES`` holds the names of the ESCAP/WMO
Typhoon Committee list (140 names, 10 from each of the 14 members, used in turn), with the names the
Committee has since replaced kept on, because bulletins and notices about past storms still use them.
Update it when the Committee meets (new names added, the replaced ones kept).

How a name is written for the engine (one convention for every entry; readings are lower case):
- a name Vietnam contributed is the Vietnamese word it was made from, with its marks: SAOLA -> "sao la",
  SON-TINH -> "sơn tinh", BANG-LANG -> "bằng lăng";
- any other name is cut into the syllables its own language says, and each syllable is written as the
  Vietnamese syllable that sounds nearest: Y -> "d" (YAGI -> "da gi"), W -> "u"/"o" (WIPHA -> "uýp pha",
  WUTIP -> "u típ"), S -> "x" (NESAT -> "nê xát"), J -> "ch" (JEBI -> "chê bi"), F -> "ph", Z -> "d";
  "e" is "ê" unless the name says an open "e" (GAEMI -> "ke mi"); a syllable that ends in p, t or c
  (k is written c, ch after i and ê) carries the sắc mark ("xát", "típ", "búc"), every other syllable has
  no mark; a consonant the name doubles across a syllable is written on both sides ("uýp pha").

A capitalised word is read as a storm only where the text says it is one: right after "bão", "cơn bão",
"siêu bão", "áp thấp nhiệt đới" or "ATNĐ" (a "số ..." and a "(" may come between: "bão số 5 (NESAT)"),
or right before "(bão ...)". Anywhere else "MUN", "LAN" or "MARIA" stay what the other passes make of them.
Only names written in capitals are claimed; a name written "Bualoi" is left to the engine as written.
"""

from __future__ import annotations

import re

STORM_NAMES: dict[str, str] = {
    "AERE": "a ê rê", "AMPIL": "am pin", "AMUYAO": "a mu dao", "ATSANI": "át xa ni", "BAILU": "bai lu",
    "BANG-LANG": "bằng lăng", "BANYAN": "ban dan", "BARIJAT": "ba ri chát", "BAVI": "ba vì",
    "BEBINCA": "bê bin ca", "BOLAVEN": "bô la vên", "BORI": "bô ri", "BUALOI": "bua loi",
    "BURAPHA": "bu ra pha", "CEMPAKA": "chem pa ca", "CHABA": "cha ba", "CHAMPI": "cham pi",
    "CHAN-HOM": "chan hôm", "CHANTHU": "chan thu", "CHOI-WAN": "choi oan", "CIMARON": "xi ma rôn",
    "CO-MAY": "cỏ may", "CONSON": "côn sơn", "DAMREY": "đam rây", "DANAS": "đa nát", "DIANMU": "điên mu",
    "DIM-SUM": "đim xăm", "DOKSURI": "đốc xu ri", "DOLPHIN": "đôn phin", "DUJUAN": "đu chuan",
    "ETAU": "ê tau", "EWINIAR": "ê uy ni a", "FAXAI": "pha xai", "FENGSHEN": "phâng sân",
    "FRANCISCO": "phran xít cô", "FUNG-WONG": "phung oong", "GAEGURI": "ke gu ri", "GAEMI": "ke mi",
    "GAENARI": "ke na ri", "GONI": "gô ni", "GOSARI": "cô xa ri", "GUCHOL": "gu chôn",
    "HAGIBIS": "ha gi bít", "HAGUPIT": "ha gu pít", "HAIKUI": "hai cui", "HAISHEN": "hai sân",
    "HAITANG": "hai tang", "HAIYAN": "hải yến", "HALONG": "hạ long", "HEBI": "hê bi", "HIGOS": "hi gốt",
    "HINNAMNOR": "hin nam no", "HOABAN": "hoa ban", "HODU": "hô đu", "IN-FA": "in pha",
    "JAMJARI": "cham cha ri", "JANGMI": "chang mi", "JEBI": "chê bi", "JELAWAT": "chê la oát",
    "JONGDARI": "chông đa ri", "KAJIKI": "ca chi ki", "KALMAEGI": "can me gi", "KAMMURI": "cam mu ri",
    "KETSANA": "kết xa na", "KHANUN": "kha nun", "KIROGI": "ki rô gi", "KOGUMA": "cô gu ma",
    "KOINU": "côi nu", "KOKI": "cô ki", "KOMPASU": "côm pa xu", "KONG-REY": "công rây", "KOTO": "cô tô",
    "KRATHON": "cra thon", "KROSA": "crô xa", "KROVANH": "crô van", "KUJIRA": "cu chi ra",
    "KULAP": "cu láp", "LAN": "lan", "LEEPI": "li pi", "LEKIMA": "lê ki ma", "LINFA": "lin pha",
    "LINGLING": "linh linh", "LIONROCK": "lai ơn rốc", "LUC-BINH": "lục bình", "LUPIT": "lu pít",
    "MA-ON": "ma ôn", "MALAKAS": "ma la cát", "MALIKSI": "ma lích xi", "MALOU": "ma lâu",
    "MAN-YI": "man di", "MANGKHUT": "măng khút", "MARIA": "ma ri a", "MATMO": "mát mô", "MAWAR": "ma oa",
    "MAYSAK": "mai xác", "MEARI": "mê a ri", "MEGI": "mê gi", "MEKKHALA": "mếch kha la", "MERBOK": "mơ bốc",
    "MINDULLE": "min đu lê", "MIRINAE": "mi ri ne", "MITAG": "mi tác", "MOLAVE": "mô la vê",
    "MUIFA": "mui pha", "MULAN": "mu lan", "MUN": "mun", "NAKRI": "nác ri", "NALGAE": "nan ke",
    "NAMTHEUN": "nam thưn", "NANGKA": "nang ca", "NANMADOL": "nan ma đôn", "NARAE": "na re",
    "NARI": "na ri", "NARRA": "na ra", "NEOGURI": "nê ô gu ri", "NEPARTAK": "nê pác tác", "NESAT": "nê xát",
    "NIDA": "ni đa", "NOCK-TEN": "nốc ten", "NOKAEN": "nô ken", "NONGFA": "nông pha", "NORU": "nô ru",
    "NOUL": "nô un", "NURI": "nu ri", "NYATOH": "nha tô", "OMAIS": "ô mai", "ONG-MANG": "ông mang",
    "PABUK": "pa búc", "PAKHAR": "pa kha", "PEILOU": "pây lâu", "PEIPAH": "pây pa", "PENHA": "pên ha",
    "PHANFONE": "phan phôn", "PODUL": "pô đun", "PRAPIROON": "pra pi run", "PULASAN": "pu la xan",
    "RAGASA": "ra ga xa", "RAI": "rai", "ROKE": "rô kê", "SANBA": "xan ba", "SANVU": "xan vu",
    "SAOLA": "sao la", "SARBUL": "xa bun", "SAUDEL": "xau đen", "SEPAT": "xê pát", "SHANSHAN": "san san",
    "SINLAKU": "xin la cu", "SON-TINH": "sơn tinh", "SONCA": "sơn ca", "SONGDA": "sông đà",
    "SOULIK": "xu lích", "SURIGAE": "xu ri gê", "TALAS": "ta lát", "TALIM": "ta lim", "TAPAH": "ta pa",
    "TIROU": "ti râu", "TOKAGE": "tô ca gê", "TOKEI": "tô kê", "TOMO": "tô mô", "TORAJI": "tô ra chi",
    "TRAMI": "trà mi", "TRASES": "tra xét", "TSING-DA": "xinh đa", "USAGI": "u xa gi", "VAMCO": "vàm cỏ",
    "VONGFONG": "vông phông", "WIPHA": "uýp pha", "WUKONG": "u cung", "WUTIP": "u típ",
    "XANGSANE": "xang xan", "YAGI": "da gi", "YAMANEKO": "da ma nê cô", "YINXING": "din xinh",
    "YUN-YEUNG": "dun dương",
}  # fmt: skip
"""Name as written in capitals (hyphens as the Committee writes them) -> what the announcer says."""

_LOOKUP = {re.sub(r"[-\s]", "", name): reading for name, reading in STORM_NAMES.items()}
"""The same readings keyed without hyphens: bulletins write "SONTINH", "SON-TINH" and "SON TINH"."""
PART_READINGS = {part: reading for name, reading in STORM_NAMES.items() for part in name.split("-")}
"""Each piece of a hyphenated name -> the whole reading, for the editor's coverage check."""

_NUMBER_WORD = r"(?:một|hai|ba|bốn|tư|năm|lăm|sáu|bảy|tám|chín|mười|mươi|mốt|linh|\d+)"
_STORM_WORD = r"(?:[Bb]ão|BÃO|[Áá]p thấp nhiệt đới|ÁP THẤP NHIỆT ĐỚI|ATNĐ)"
_NAME = r"[A-Z]{2,}(?:[- ][A-Z]{2,})?"
_AFTER = re.compile(
    rf"(?P<lead>{_STORM_WORD}(?:\s+(?:số|SỐ)(?:\s+{_NUMBER_WORD})+)?\s*\(?\s*)(?P<name>{_NAME})(?![\w-])"
)
"""A name right after a storm word: "bão YAGI", "tâm bão WIPHA", "bão số năm (NESAT)"."""
_BEFORE = re.compile(rf"(?<![\w-])(?P<name>{_NAME})(?P<tail>\s*\(\s*(?:cơn\s+|siêu\s+)?{_STORM_WORD})")
"""A name right before its storm: "YAGI (bão số ba)"."""
HINT = re.compile(r"[Bb]ão|BÃO|[Áá]p thấp|ÁP THẤP|ATNĐ")
"""A cheap search telling whether a line may name a storm."""


def storm_reading(name: str) -> str | None:
    """Return how a storm name written in capitals is said, or None when it is not on the list."""
    return _LOOKUP.get(re.sub(r"[-\s]", "", name))


def read_storm_names(line: str) -> str:
    """Replace the storm names ``line`` names as storms with their spoken form."""
    line = _AFTER.sub(lambda match: _replace(match, "lead", before=True), line)
    return _BEFORE.sub(lambda match: _replace(match, "tail", before=False), line)


def _replace(match: re.Match[str], context: str, *, before: bool) -> str:
    """Say the name of ``match`` when it is a storm's; keep the words around it."""
    reading = storm_reading(match["name"])
    if reading is None:
        return match[0]
    return match[context] + reading if before else reading + match[context]
