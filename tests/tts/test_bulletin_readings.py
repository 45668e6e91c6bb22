"""What real hydro-meteorological bulletins and commune notices write, read as an announcer reads it."""

from __future__ import annotations

import pytest

from broadcast.tts import normalize_text, unknown_abbreviations

ALARM_LEVELS = [
    ("Mực nước ở mức BĐ1.", "Mực nước ở mức báo động một."),
    (
        "Lũ lên mức BĐ2-BĐ3, có sông trên BĐ3.",
        "Lũ lên mức báo động hai đến báo động ba, có sông trên báo động ba.",
    ),
    ("Lũ lên mức BĐ2 - BĐ3.", "Lũ lên mức báo động hai đến báo động ba."),
    ("Đỉnh lũ trên BĐ3+0,5m.", "Đỉnh lũ trên báo động ba cộng không phẩy năm mét."),
    ("Lũ xuống mức báo động 2 - báo động 3.", "Lũ xuống mức báo động hai đến báo động ba."),
    ("Mực nước vượt báo động (BĐ) 3.", "Mực nước vượt báo động ba."),
    ("Mực nước dưới BĐII.", "Mực nước dưới báo động hai."),
]

COORDINATES = [
    (
        "Tâm bão ở khoảng 16,8N-115,3E.",
        "Tâm bão ở khoảng mười sáu phẩy tám độ vĩ bắc, một trăm mười lăm phẩy ba độ kinh đông.",
    ),
    (
        "Tâm bão ở khoảng 16,8N–115,3E.",
        "Tâm bão ở khoảng mười sáu phẩy tám độ vĩ bắc, một trăm mười lăm phẩy ba độ kinh đông.",
    ),
    (
        "Tâm bão ở khoảng 16.8N 115.3E.",
        "Tâm bão ở khoảng mười sáu phẩy tám độ vĩ bắc, một trăm mười lăm phẩy ba độ kinh đông.",
    ),
    (
        "Tâm bão ở khoảng 20,5°N – 119,0°E.",
        "Tâm bão ở khoảng hai mươi phẩy năm độ vĩ bắc, một trăm mười chín phẩy không độ kinh đông.",
    ),
    (
        "Vị trí tâm bão ở khoảng 16,8 độ Vĩ Bắc; 115,3 độ Kinh Đông.",
        "Vị trí tâm bão ở khoảng mười sáu phẩy tám độ vĩ bắc, một trăm mười lăm phẩy ba độ kinh đông.",
    ),
    (
        "Vùng nguy hiểm trong khoảng 10–13 độ Vĩ Bắc.",
        "Vùng nguy hiểm trong khoảng mười đến mười ba độ vĩ bắc.",
    ),
    (
        "Phía Bắc vĩ tuyến 19,5N; kinh tuyến 108,0-116.0E.",
        "Phía Bắc vĩ tuyến mười chín phẩy năm độ vĩ bắc, kinh tuyến một trăm linh tám phẩy không đến "
        "một trăm mười sáu phẩy không độ kinh đông.",
    ),
    # A letter after a number is a hemisphere only in a position: elsewhere it is left (and flagged).
    ("Xe số 5N đỗ ở đây.", "Xe số năm en đỗ ở đây."),
    ("Nhóm 12E học buổi chiều.", "Nhóm mười hai e học buổi chiều."),
]

RANGES = [
    (
        "Gió mạnh cấp 6 (39-49km/giờ), giật cấp 8.",
        "Gió mạnh cấp sáu (ba mươi chín đến bốn mươi chín ki lô mét một giờ), giật cấp tám.",
    ),
    ("Gió cấp 6 (39 - 49 km/h).", "Gió cấp sáu (ba mươi chín đến bốn mươi chín ki lô mét một giờ)."),
    (
        "Giá lợn hơi 50.000đ-55.000đ/kg.",
        "Giá lợn hơi năm mươi nghìn đồng đến năm mươi lăm nghìn đồng một ki lô gam.",
    ),
    ("Giá 50.000-55.000 đồng/kg.", "Giá năm mươi nghìn đến năm mươi lăm nghìn đồng một ki lô gam."),
    ("Lượng mưa 100-200mm.", "Lượng mưa một trăm đến hai trăm mi li mét."),
    ("Độ ẩm 70-80%.", "Độ ẩm bảy mươi đến tám mươi phần trăm."),
    (
        "Lưu lượng 1.200-1.500 m3/s.",
        "Lưu lượng một nghìn hai trăm đến một nghìn năm trăm mét khối trên giây.",
    ),
    ("Covid-19 vẫn còn.", "Cô vít mười chín vẫn còn."),
]

DATES = [
    ("Đêm 29.11 trời rét.", "Đêm ngày hai mươi chín tháng mười một trời rét."),
    (
        "Ngày 29.11.2026 có mưa.",
        "Ngày hai mươi chín tháng mười một năm hai nghìn không trăm hai mươi sáu có mưa.",
    ),
    ("Đêm 29-12 có mưa.", "Đêm ngày hai mươi chín tháng mười hai có mưa."),
    ("Ngày 29-12 có mưa.", "Ngày hai mươi chín tháng mười hai có mưa."),
    ("Sáng 30.11 trời rét.", "Sáng ngày ba mươi tháng mười một trời rét."),
    ("Từ ngày 3 - 31.12 khám tuyển.", "Từ ngày ba đến ngày ba mươi mốt tháng mười hai khám tuyển."),
    (
        "Trong các ngày từ 21.6 đến 24.6.",
        "Trong các ngày từ ngày hai mươi mốt tháng sáu đến ngày hai mươi tư tháng sáu.",
    ),
    ("Ngày mai (26-12) trời rét.", "Ngày mai (ngày hai mươi sáu tháng mười hai) trời rét."),
    ("Rét từ cuối tháng 12.2018.", "Rét từ cuối tháng mười hai năm hai nghìn không trăm mười tám."),
    ("Thu hoạch từ ngày 10-5 đến 10-6.", "Thu hoạch từ ngày mười tháng năm đến ngày mười tháng sáu."),
    ("Vải về chợ từ 22-5.", "Vải về chợ từ ngày hai mươi hai tháng năm."),
    (
        "Khám tuyển từ ngày 26/11-28/11/2019.",
        "Khám tuyển từ ngày hai mươi sáu tháng mười một đến ngày hai mươi tám tháng mười một năm hai nghìn "
        "không trăm mười chín.",
    ),
    # Not dates: a score, a range, a clock range after a part of the day, an English decimal.
    ("Tỷ số 2-3.", "Tỷ số hai đến ba."),
    ("Sáng 7-9 giờ mở cửa.", "Sáng bảy đến chín giờ mở cửa."),
    ("Mỗi nhóm từ 5-3 người.", "Mỗi nhóm từ năm ba người."),
    ("Tăng từ 2.5 đến 3.5 mét.", "Tăng từ hai chấm năm đến ba chấm năm mét."),
    ("Mã 29.11 của lô hàng.", "Mã hai mươi chín chấm một một của lô hàng."),
]

SIGNS_AND_UNITS = [
    ("Nhiệt độ 25±2 độ C.", "Nhiệt độ hai mươi lăm cộng trừ hai độ xê."),
    ("Giá 20.000 đồng/người.", "Giá hai mươi nghìn đồng một người."),
    ("Giá 35.000 đồng/kg.", "Giá ba mươi lăm nghìn đồng một ki lô gam."),
    ("Tốc độ 20 km/giờ.", "Tốc độ hai mươi ki lô mét một giờ."),
]

COMMUNE_ABBREVIATIONS = [
    ("CA xã làm việc.", "Công an xã làm việc."),
    ("Thi ĐH, CĐ năm nay.", "Thi đại học, cao đẳng năm nay."),
    ("Khám NVQS cho thanh niên.", "Khám nghĩa vụ quân sự cho thanh niên."),
    ("Học sinh THCS và THPT.", "Học sinh trung học cơ sở và trung học phổ thông."),
    (
        "Ủy ban MTTQ, Ban chỉ huy PCTT và TKCN.",
        "Ủy ban mặt trận tổ quốc, Ban chỉ huy phòng chống thiên tai và tìm kiếm cứu nạn.",
    ),
    ("BCH quân sự xã và BCĐ.", "Ban chỉ huy quân sự xã và ban chỉ đạo."),
    ("HTX, LHPN và Đoàn TNCS.", "Hợp tác xã, liên hiệp phụ nữ và Đoàn thanh niên cộng sản."),
    ("Theo QĐ của UBND xã.", "Theo quyết định của ủy ban nhân dân xã."),
    ("TCty Điện lực báo.", "Tổng công ty Điện lực báo."),
    ("Sở GD-ĐT và vùng ĐBSCL.", "Sở giáo dục và đào tạo và vùng đồng bằng sông Cửu Long."),
    ("Thanh niên SSNN, Hội LHTN.", "Thanh niên sẵn sàng nhập ngũ, Hội liên hiệp thanh niên."),
    # A gloss right after its own expansion is not said twice, whatever the punctuation between.
    ("Công tác phòng, chống cháy nổ (PCCN).", "Công tác phòng, chống cháy nổ."),
    (
        "Ban chỉ huy phòng, chống thiên tai và tìm kiếm cứu nạn (PCTT - TKCN) xã.",
        "Ban chỉ huy phòng, chống thiên tai và tìm kiếm cứu nạn xã.",
    ),
]

DOCUMENTS = [
    (
        "Số 123/QĐ-UBND ngày 2/3/2024.",
        "Quyết định số một trăm hai mươi ba của ủy ban nhân dân ngày hai tháng ba năm hai nghìn "
        "không trăm hai mươi tư.",
    ),
    ("Số: 1649/QĐ-UBND.", "Quyết định số một nghìn sáu trăm bốn mươi chín của ủy ban nhân dân."),
    (
        "Quyết định số 45/2024/QĐ-UBND của UBND tỉnh.",
        "Quyết định số bốn mươi lăm năm hai nghìn không trăm hai mươi tư của ủy ban nhân dân tỉnh.",
    ),
    ("Công văn 12/UBND-VP về việc họp.", "Công văn mười hai của ủy ban nhân dân, văn phòng về việc họp."),
    (
        "Nghị quyết số 653/2019/UBTVQH14 của Ủy ban Thường vụ Quốc hội.",
        "Nghị quyết số sáu trăm năm mươi ba năm hai nghìn không trăm mười chín "
        "của Ủy ban Thường vụ Quốc hội.",
    ),
    (
        "Theo Nghị định số 200/2025 của Chính phủ.",
        "Theo Nghị định số hai trăm năm hai nghìn không trăm hai mươi lăm của Chính phủ.",
    ),
    ("Thực hiện văn bản số 7/QĐ-UBND.", "Thực hiện văn bản quyết định số bảy của ủy ban nhân dân."),
]

NUMBERS_TO_CALL_AND_PRICES = [
    (
        "Số điện thoại báo cháy trong cả nước là: 114.",
        "Số điện thoại báo cháy trong cả nước là: một một bốn.",
    ),
    ("Các số khẩn cấp 113, 114, 115.", "Các số khẩn cấp một một ba, một một bốn, một một năm."),
    ("Khẩn cấp: di dời 114 hộ.", "Khẩn cấp: di dời một trăm mười bốn hộ."),
    ("Xã phát lệnh gọi 234 công dân.", "Xã phát lệnh gọi hai trăm ba mươi tư công dân."),
    ("Đường dây nóng: 0383.598828.", "Đường dây nóng: không ba tám ba, năm chín tám, tám hai tám."),
    ("Giá 32,500đồng/kg.", "Giá ba mươi hai nghìn năm trăm đồng một ki lô gam."),
    ("Giá 10,000 – 20,000đồng/kg.", "Giá mười nghìn đến hai mươi nghìn đồng một ki lô gam."),
    ("Còn 12-15,000 đồng/kg.", "Còn mười hai đến mười lăm nghìn đồng một ki lô gam."),
    ("Tăng 2,5 tấn.", "Tăng hai phẩy năm tấn."),
    ("Nắng từ Thanh Hóa-Phú Yên.", "Nắng từ Thanh Hóa đến Phú Yên."),
    ("Mưa từ Bà Rịa-Vũng Tàu đến Cà Mau.", "Mưa từ Bà Rịa Vũng Tàu đến Cà Mau."),
    ("Siêu thị Saigon Co.op mua vải.", "Siêu thị Sài Gòn cô óp mua vải."),
]

TABLES = {
    "alarm": ALARM_LEVELS,
    "coordinates": COORDINATES,
    "ranges": RANGES,
    "dates": DATES,
    "signs": SIGNS_AND_UNITS,
    "abbreviations": COMMUNE_ABBREVIATIONS,
    "documents": DOCUMENTS,
    "calls-prices": NUMBERS_TO_CALL_AND_PRICES,
}


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        pytest.param(text, spoken, id=f"{name}-{index}")
        for name, rows in TABLES.items()
        for index, (text, spoken) in enumerate(rows)
    ],
)
def test_bulletin_reading(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


@pytest.mark.parametrize(
    "text",
    [
        text
        for name in ("alarm", "ranges", "dates", "signs", "abbreviations", "documents", "calls-prices")
        for text, _ in TABLES[name]
    ]
    + [text for text, _ in COORDINATES[:-2]],
)
def test_what_is_read_properly_is_not_flagged(text: str) -> None:
    assert unknown_abbreviations(text) == []


def test_an_unknown_drafting_unit_is_spelled_and_flagged() -> None:
    assert normalize_text("Công văn 5/UBND-KTX.") == "Công văn năm của ủy ban nhân dân, ca tê ích."
    assert unknown_abbreviations("Công văn 5/UBND-KTX.") == ["KTX"]
