"""The station's built-in abbreviation dictionary: what commune bulletins abbreviate and how it is said.

Data only. Readings are lower-case except proper names, so they sit naturally inside a sentence (the
normaliser capitalises sentence starts). A commune adds or overrides entries with its own dictionary.
"""

from __future__ import annotations

GOVERNMENT: dict[str, str] = {
    "UBND": "ủy ban nhân dân", "HĐND": "hội đồng nhân dân", "UBMTTQ": "ủy ban mặt trận tổ quốc",
    "UBMTTQVN": "ủy ban mặt trận tổ quốc Việt Nam", "MTTQ": "mặt trận tổ quốc",
    "MTTQVN": "mặt trận tổ quốc Việt Nam", "UBKT": "ủy ban kiểm tra", "BCĐ": "ban chỉ đạo",
    "BCH": "ban chấp hành", "BTV": "ban thường vụ", "UVBTV": "ủy viên ban thường vụ",
    "BTC": "ban tổ chức", "BQL": "ban quản lý", "BQLDA": "ban quản lý dự án", "TW": "trung ương",
    "TƯ": "trung ương", "QH": "quốc hội", "ĐBQH": "đại biểu quốc hội", "UBTVQH": "ủy ban thường vụ quốc hội",
    "CHXHCN": "cộng hòa xã hội chủ nghĩa", "XHCN": "xã hội chủ nghĩa", "CAND": "công an nhân dân",
    "QĐND": "quân đội nhân dân", "CSGT": "cảnh sát giao thông", "CSCĐ": "cảnh sát cơ động",
    "TAND": "tòa án nhân dân", "VKSND": "viện kiểm sát nhân dân", "THADS": "thi hành án dân sự",
    "HTX": "hợp tác xã", "THT": "tổ hợp tác", "CBCCVC": "cán bộ, công chức, viên chức",
    "CBCC": "cán bộ, công chức", "CCVC": "công chức, viên chức", "CB": "cán bộ", "ĐV": "đảng viên",
    "VN": "Việt Nam", "TP": "thành phố", "TX": "thị xã", "HCM": "Hồ Chí Minh",
    "TPHCM": "thành phố Hồ Chí Minh",
    "TDP": "tổ dân phố", "BĐD": "ban đại diện", "CT": "chủ tịch", "PCT": "phó chủ tịch",
    "BT": "bí thư", "PBT": "phó bí thư", "GĐ": "giám đốc", "PGĐ": "phó giám đốc", "TGĐ": "tổng giám đốc",
    "TCCS": "tổ chức cơ sở", "TCCSĐ": "tổ chức cơ sở đảng", "CCHC": "cải cách hành chính",
    "TTHC": "thủ tục hành chính", "DVC": "dịch vụ công", "DVCTT": "dịch vụ công trực tuyến",
    "NSNN": "ngân sách nhà nước", "KBNN": "kho bạc nhà nước", "NHCSXH": "ngân hàng chính sách xã hội",
    "NHNN": "ngân hàng nhà nước", "ANQP": "an ninh quốc phòng", "QP-AN": "quốc phòng, an ninh",
    "QPAN": "quốc phòng an ninh", "ANTT": "an ninh trật tự", "TTATXH": "trật tự an toàn xã hội",
    "ANCT": "an ninh chính trị", "KT-XH": "kinh tế, xã hội", "KTXH": "kinh tế xã hội",
    "VH-XH": "văn hóa, xã hội", "VHXH": "văn hóa xã hội", "CCCD": "căn cước công dân",
    "CMND": "chứng minh nhân dân", "SĐT": "số điện thoại", "ĐT": "điện thoại", "GCN": "giấy chứng nhận",
    "QSDĐ": "quyền sử dụng đất", "GPMB": "giải phóng mặt bằng", "XDCB": "xây dựng cơ bản",
    "TNHH": "trách nhiệm hữu hạn", "CP": "cổ phần", "CTCP": "công ty cổ phần", "MTV": "một thành viên",
    "ĐKKD": "đăng ký kinh doanh", "SXKD": "sản xuất kinh doanh", "QL": "quốc lộ", "TL": "tỉnh lộ",
    "CLB": "câu lạc bộ", "PV": "phóng viên", "BTV-UBND": "ban thường vụ, ủy ban nhân dân",
    "QĐ": "quyết định", "VP": "văn phòng", "CAX": "công an xã", "NVQS": "nghĩa vụ quân sự",
    "QS": "quân sự", "CHQS": "chỉ huy quân sự", "BCHQS": "ban chỉ huy quân sự", "DQTV": "dân quân tự vệ",
    "DQ": "dân quân", "QNDB": "quân nhân dự bị",
    "TCty": "tổng công ty", "Cty": "công ty", "CTy": "công ty", "SSNN": "sẵn sàng nhập ngũ",
    "EVNHCMC": "e vê en thành phố Hồ Chí Minh", "EVNHANOI": "e vê en Hà Nội",
}  # fmt: skip
"""Party, state, mass organisations, administration and documents."""

MINISTRIES: dict[str, str] = {
    "TT&TT": "thông tin và truyền thông", "TTTT": "thông tin truyền thông",
    "BTTTT": "Bộ Thông tin và Truyền thông", "KH&CN": "khoa học và công nghệ", "KHCN": "khoa học công nghệ",
    "KH&ĐT": "kế hoạch và đầu tư", "GD&ĐT": "giáo dục và đào tạo", "GDĐT": "giáo dục đào tạo",
    "NN&PTNT": "nông nghiệp và phát triển nông thôn", "NNPTNT": "nông nghiệp và phát triển nông thôn",
    "TN&MT": "tài nguyên và môi trường", "TNMT": "tài nguyên môi trường",
    "LĐ-TB&XH": "lao động, thương binh và xã hội", "LĐTBXH": "lao động thương binh và xã hội",
    "VH-TT&DL": "văn hóa, thể thao và du lịch", "VHTTDL": "văn hóa thể thao và du lịch",
    "VH&TT": "văn hóa và thông tin", "GTVT": "giao thông vận tải", "BYT": "Bộ Y tế", "BCA": "Bộ Công an",
    "BQP": "Bộ Quốc phòng", "VPCP": "Văn phòng Chính phủ", "CNTT": "công nghệ thông tin",
    "CĐS": "chuyển đổi số", "CMCN": "cách mạng công nghiệp", "CQĐT": "chính quyền điện tử",
    "CQS": "chính quyền số", "KTS": "kinh tế số", "XHS": "xã hội số", "TMĐT": "thương mại điện tử",
    "CSDL": "cơ sở dữ liệu", "ATTT": "an toàn thông tin", "DN": "doanh nghiệp",
    "DNNVV": "doanh nghiệp nhỏ và vừa", "DNNN": "doanh nghiệp nhà nước", "KCN": "khu công nghiệp",
    "CCN": "cụm công nghiệp", "BHXH": "bảo hiểm xã hội", "BHYT": "bảo hiểm y tế",
    "BHTN": "bảo hiểm thất nghiệp", "LĐLĐ": "liên đoàn lao động", "CĐCS": "công đoàn cơ sở",
    "DTI": "đê tê i", "IOC": "i ô xê", "LGSP": "lờ giê ét pê", "GDP": "giê đê pê", "GRDP": "giê rờ đê pê",
    "FDI": "ép đê i", "ODA": "ô đê a", "PCI": "pê xê i", "PAPI": "pa pi", "SIPAS": "xi pát",
    "USD": "đô la Mỹ", "VNĐ": "đồng", "VND": "đồng", "ATM": "a tê em", "SMS": "ét em ét", "GPS": "giê pê ét",
    "AI": "ây ai", "IT": "ai ti", "VTV": "vê tê vê", "VOV": "vê ô vê", "VTC": "vê tê xê",
    "TTXVN": "thông tấn xã Việt Nam",
    "VNPT": "vê en pê tê", "FPT": "ép pê tê", "VNG": "vê en giê", "MISA": "mi sa", "EVN": "e vê en",
    "WHO": "tổ chức y tế thế giới", "UNICEF": "u ni xép", "ASEAN": "a xê an", "OCOP": "ô cốp",
}  # fmt: skip
"""Ministries, sectors, digital transformation, economy, and names that appear in news."""

WELFARE: dict[str, str] = {
    "THPT": "trung học phổ thông", "THCS": "trung học cơ sở", "TH": "tiểu học", "MN": "mầm non",
    "GDTX": "giáo dục thường xuyên", "GDNN": "giáo dục nghề nghiệp", "HSSV": "học sinh, sinh viên",
    "HS": "học sinh", "GV": "giáo viên", "ĐH": "đại học", "CĐ": "cao đẳng", "GD": "giáo dục",
    "GD-ĐT": "giáo dục và đào tạo", "LHTN": "liên hiệp thanh niên",
    "TCCN": "trung cấp chuyên nghiệp", "SGK": "sách giáo khoa", "THPTQG": "trung học phổ thông quốc gia",
    "TYT": "trạm y tế", "TTYT": "trung tâm y tế", "BVĐK": "bệnh viện đa khoa", "BV": "bệnh viện",
    "CDC": "xê đê xê", "KCB": "khám chữa bệnh", "TCMR": "tiêm chủng mở rộng", "SXH": "sốt xuất huyết",
    "TCM": "tay chân miệng", "Td": "tê đê", "YTDP": "y tế dự phòng", "ATTP": "an toàn thực phẩm",
    "VSATTP": "vệ sinh an toàn thực phẩm", "ATVSTP": "an toàn vệ sinh thực phẩm",
    "KHHGĐ": "kế hoạch hóa gia đình", "DS-KHHGĐ": "dân số, kế hoạch hóa gia đình",
    "CSSKBĐ": "chăm sóc sức khỏe ban đầu", "SDD": "suy dinh dưỡng", "PHCN": "phục hồi chức năng",
    "HIV": "hát i vê", "AIDS": "ết", "NCT": "người cao tuổi", "NKT": "người khuyết tật",
    "HLHPN": "hội liên hiệp phụ nữ", "LHPN": "liên hiệp phụ nữ", "HND": "hội nông dân",
    "HCCB": "hội cựu chiến binh", "CCB": "cựu chiến binh", "ĐTN": "đoàn thanh niên",
    "TNCS": "thanh niên cộng sản", "HCTĐ": "hội chữ thập đỏ", "CTĐ": "chữ thập đỏ",
    "LĐ": "lao động", "LĐTB": "lao động thương binh", "NTM": "nông thôn mới",
    "NTMNC": "nông thôn mới nâng cao", "NTMKM": "nông thôn mới kiểu mẫu",
}  # fmt: skip
"""Schools, health, social welfare and mass organisations."""

LAND_AND_WEATHER: dict[str, str] = {
    "NN": "nông nghiệp", "BVTV": "bảo vệ thực vật", "NTTS": "nuôi trồng thủy sản",
    "KHKT": "khoa học kỹ thuật", "CNC": "công nghệ cao", "NNCNC": "nông nghiệp công nghệ cao",
    "KTTT": "kinh tế tập thể", "GTSX": "giá trị sản xuất", "DTLCP": "dịch tả lợn châu Phi",
    "LMLM": "lở mồm long móng", "CGC": "cúm gia cầm", "BVMT": "bảo vệ môi trường",
    "VSMT": "vệ sinh môi trường", "NSH": "nước sinh hoạt", "BĐKH": "biến đổi khí hậu",
    "KTTV": "khí tượng thủy văn", "BĐ": "báo động", "ĐBSCL": "đồng bằng sông Cửu Long",
    "PCCN": "phòng chống cháy nổ", "ATNĐ": "áp thấp nhiệt đới", "KKL": "không khí lạnh",
    "PCTT": "phòng chống thiên tai", "TKCN": "tìm kiếm cứu nạn",
    "PCTT&TKCN": "phòng chống thiên tai và tìm kiếm cứu nạn",
    "PCLB": "phòng chống lụt bão", "PCCC": "phòng cháy chữa cháy", "PCCR": "phòng cháy chữa rừng",
    "CNCH": "cứu nạn cứu hộ", "PCCC&CNCH": "phòng cháy chữa cháy và cứu nạn cứu hộ",
    "ATGT": "an toàn giao thông", "TTATGT": "trật tự an toàn giao thông", "TNGT": "tai nạn giao thông",
    "GTNT": "giao thông nông thôn", "ATLĐ": "an toàn lao động", "TTCN": "tiểu thủ công nghiệp",
    "KDDV": "kinh doanh dịch vụ", "NS&VSMTNT": "nước sạch và vệ sinh môi trường nông thôn",
}  # fmt: skip
"""Farming, livestock disease, environment, weather and disaster response, safety."""

ABBREVIATIONS: dict[str, str] = {**GOVERNMENT, **MINISTRIES, **WELFARE, **LAND_AND_WEATHER}
"""All-caps abbreviation -> reading; a hyphenated unknown ("UBND-HĐND") is read part by part."""

DOCUMENT_TYPES: dict[str, str] = {
    "NQ": "nghị quyết", "QĐ": "quyết định", "NĐ": "nghị định", "TT": "thông tư", "TTLT": "thông tư liên tịch",
    "CT": "chỉ thị", "KH": "kế hoạch", "TB": "thông báo", "BC": "báo cáo", "CV": "công văn",
    "HD": "hướng dẫn", "CĐ": "công điện", "TTr": "tờ trình", "QC": "quy chế", "KL": "kết luận",
    "L": "luật", "PL": "pháp lệnh", "CTr": "chương trình",
}  # fmt: skip
"""The document-kind part of a Vietnamese document code ("01-NQ/TU": a resolution)."""

ISSUERS: dict[str, str] = {
    "TW": "Trung ương", "TU": "Tỉnh ủy", "HU": "Huyện ủy", "TrU": "Thành ủy", "ĐU": "Đảng ủy",
    "CP": "Chính phủ", "TTg": "Thủ tướng Chính phủ", "QH": "Quốc hội", "UBTVQH": "Ủy ban Thường vụ Quốc hội",
    "UBND": "ủy ban nhân dân", "HĐND": "hội đồng nhân dân", "BCĐ": "ban chỉ đạo", "BTV": "Ban Thường vụ",
    "VPCP": "Văn phòng Chính phủ", "BTTTT": "Bộ Thông tin và Truyền thông", "BYT": "Bộ Y tế",
    "BTC": "Bộ Tài chính", "BCA": "Bộ Công an", "BQP": "Bộ Quốc phòng", "BNV": "Bộ Nội vụ",
    "BGDĐT": "Bộ Giáo dục và Đào tạo", "BNNPTNT": "Bộ Nông nghiệp và Phát triển nông thôn",
    "BTNMT": "Bộ Tài nguyên và Môi trường", "BLĐTBXH": "Bộ Lao động, Thương binh và Xã hội",
    "BKHĐT": "Bộ Kế hoạch và Đầu tư", "BXD": "Bộ Xây dựng", "BGTVT": "Bộ Giao thông vận tải",
    "BVHTTDL": "Bộ Văn hóa, Thể thao và Du lịch", "BCT": "Bộ Công Thương", "BTP": "Bộ Tư pháp",
    "NHNN": "Ngân hàng Nhà nước", "SYT": "Sở Y tế", "MTTQ": "mặt trận tổ quốc", "BCH": "ban chỉ huy",
}  # fmt: skip
"""Who issued a document ("…/QĐ-TTg": the Prime Minister); departments after it are not read."""

DRAFTING_UNITS: dict[str, str] = {
    "KH": "kế hoạch", "TH": "tổng hợp", "KHTC": "kế hoạch tài chính", "TCCB": "tổ chức cán bộ",
    "PC": "pháp chế", "NC": "nội chính", "KGVX": "khoa giáo văn xã", "QHQT": "quan hệ quốc tế",
    "KTTH": "kinh tế tổng hợp",
}  # fmt: skip
"""The drafting unit after the issuer of a code ("428/VP-KH": the planning unit of the office)."""

PREFIXES_IN_CONTEXT: dict[str, tuple[str, str]] = {
    "NT": ("nông trường", r"(?i:nông trường|cao su)"),
}  # fmt: skip
"""Letters before a number read as a word only where the line says what they stand for: "NT6" is
"nông trường sáu" in a line about a farm or a rubber estate (numbered farms), else spelled and flagged."""

LOAN_WORDS: dict[str, str] = {
    "covid": "cô vít", "internet": "in tơ nét", "online": "ôn lai", "website": "oép sai", "web": "oép",
    "email": "i meo", "e-mail": "i meo", "facebook": "phây búc", "zalo": "da lô", "wifi": "oai phai",
    "youtube": "diu túp", "google": "gu gồ", "smartphone": "xờ mát phôn", "smart": "xờ mát", "app": "áp",
    "hotline": "hót lai", "fanpage": "phan pết", "livestream": "lai xờ trim", "camera": "ca mê ra",
    "top": "tốp", "onetouch": "oan tát", "moocs": "múc", "mooc": "múc", "vnpost": "vê en pốt",
    "viettel": "vi ét teo", "mobifone": "mô bi phôn", "vinaphone": "vi na phôn", "vneid": "vê en ai đi",
    "vietgap": "việt gáp", "globalgap": "gờ lô bồ gáp", "thainguyen": "Thái Nguyên", "sars": "sát",
    "ncov": "en cô vi", "fax": "phắc", "gmail": "gờ meo", "tiktok": "tích tốc",
    "saigon": "Sài Gòn", "co.op": "cô óp",
}  # fmt: skip
"""Foreign words espeak's Vietnamese rules would mangle, matched case-insensitively."""

LETTER_NAMES: dict[str, str] = {
    "A": "a", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "F": "ép", "G": "giê", "H": "hát",
    "I": "i", "J": "gi", "K": "ca", "L": "lờ", "M": "em", "N": "en", "O": "o", "P": "pê", "Q": "quy",
    "R": "rờ", "S": "ét", "T": "tê", "U": "u", "V": "vê", "W": "vê kép", "X": "ích", "Y": "i dài",
    "Z": "dét",
}  # fmt: skip
"""How announcers name letters when they spell an acronym ("VTV" -> "vê tê vê")."""
