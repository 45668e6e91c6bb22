"""Focused reading tables, one per feature, written by hand as a northern announcer reads them."""

from __future__ import annotations

import pytest

from broadcast.tts import normalize_text

NUMBERS = [
    ("Có 3.000 người", "Có ba nghìn người."),
    ("Có 1.234.567 người", "Có một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy người."),
    ("Dân số 162.505 người", "Dân số một trăm sáu mươi hai nghìn năm trăm linh năm người."),
    ("Còn 1.000.005 đồng", "Còn một triệu không trăm linh năm đồng."),
    ("Tăng 2,5 lần", "Tăng hai phẩy năm lần."),
    ("Còn 0,05 mm", "Còn không phẩy không năm mi li mét."),
    ("Tăng 12,25%", "Tăng mười hai phẩy hai mươi lăm phần trăm."),
    ("CMCN 4.0", "Cách mạng công nghiệp bốn chấm không."),
    ("Phiên bản 2.1.3", "Phiên bản hai chấm một chấm ba."),
    ("Nghị quyết 01 về chuyển đổi số", "Nghị quyết không một về chuyển đổi số."),
    ("với 37 nhiệm vụ trên 03 trụ cột", "Với ba mươi bảy nhiệm vụ trên ba trụ cột."),
    ("Nhiệt độ -2°C", "Nhiệt độ âm hai độ xê."),
]

DATES = [
    ("ngày 31/12/2020", "Ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi."),
    ("Từ 15/4 đến 20/4", "Từ ngày mười lăm tháng tư đến ngày hai mươi tháng tư."),
    ("Ngày 1/10", "Ngày một tháng mười."),
    ("Ngày 26/03/2021", "Ngày hai mươi sáu tháng ba năm hai nghìn không trăm hai mươi mốt."),
    ("ngày 31-12 hằng năm", "Ngày ba mươi mốt tháng mười hai hằng năm."),
    ("Ngày 20.11.2024", "Ngày hai mươi tháng mười một năm hai nghìn không trăm hai mươi tư."),
    ("tháng 4/2024", "Tháng tư năm hai nghìn không trăm hai mươi tư."),
    ("Quý I/2022", "Quý một năm hai nghìn không trăm hai mươi hai."),
    ("quý 2/2023", "Quý hai năm hai nghìn không trăm hai mươi ba."),
    ("Nghị định 15/2020", "Nghị định mười lăm năm hai nghìn không trăm hai mươi."),
    ("Sáng 15/5 họp", "Sáng ngày mười lăm tháng năm họp."),
    ("hôm 30/4/1975", "Hôm ba mươi tháng tư năm một nghìn chín trăm bảy mươi lăm."),
    (
        "các ngày 1, 2/10 và ngày 8, 9/10/2021",
        "Các ngày một, hai tháng mười và ngày tám, chín tháng mười năm hai nghìn không trăm hai mươi mốt.",
    ),
    ("Thứ 2 (13/5)", "Thứ hai (ngày mười ba tháng năm)."),
    ("Từ ngày 15-20/4", "Từ ngày mười lăm đến ngày hai mươi tháng tư."),
    ("tháng 5-6", "Tháng năm đến tháng sáu."),
]

TIMES = [
    ("Lúc 7h30 sáng", "Lúc bảy giờ ba mươi phút sáng."),
    ("từ 14h đến 17h15", "Từ mười bốn giờ đến mười bảy giờ mười lăm phút."),
    ("Bắt đầu 07:00", "Bắt đầu bảy giờ."),
    (
        "22:29, 31/03/2023",
        "Hai mươi hai giờ hai mươi chín phút, ngày ba mươi mốt tháng ba"
        " năm hai nghìn không trăm hai mươi ba.",
    ),
    ("trong 48h tới", "Trong bốn mươi tám giờ tới."),
    (
        "Thứ ba - 10/08/2021 03:21 0",
        "Thứ ba, ngày mười tháng tám năm hai nghìn không trăm hai mươi mốt, ba giờ hai mươi mốt phút.",
    ),
    ("từ 7h30 - 11h", "Từ bảy giờ ba mươi phút đến mười một giờ."),
    ("Lúc 0h30 và 21:00", "Lúc không giờ ba mươi phút và hai mươi mốt giờ."),
]

RANGES_AND_RATIOS = [
    (
        "giai đoạn 2021 - 2025",
        "Giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm.",
    ),
    ("nhiệm kỳ 2020 – 2025", "Nhiệm kỳ hai nghìn không trăm hai mươi đến hai nghìn không trăm hai mươi lăm."),
    (
        "giai đoạn 2021-2025",
        "Giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm.",
    ),
    ("từ 100 đến 200 mm", "Từ một trăm đến hai trăm mi li mét."),
    ("lượng mưa 100-200mm", "Lượng mưa một trăm đến hai trăm mi li mét."),
    ("nhiệt độ 25-27°C", "Nhiệt độ hai mươi lăm đến hai mươi bảy độ xê."),
    ("giảm 10-15%", "Giảm mười đến mười lăm phần trăm."),
    ("tỷ số 2-1", "Tỷ số hai một."),
    ("phương pháp luận 2-3-5", "Phương pháp luận hai ba năm."),
    ("Tỉnh xếp thứ 12/63", "Tỉnh xếp thứ mười hai trên sáu mươi ba."),
    ("đạt 9/12 xã", "Đạt chín trên mười hai xã."),
    ("2/3 số hộ", "Hai phần ba số hộ."),
    ("phục vụ 24/7", "Phục vụ hai mươi tư trên bảy."),
    ("Xếp thứ 1/63", "Xếp thứ nhất trên sáu mươi ba."),
]

ORDINALS = [
    ("Thứ 2 và thứ 4", "Thứ hai và thứ tư."),
    ("lần thứ 1", "Lần thứ nhất."),
    ("Thứ 2, 4, 6 hằng tuần", "Thứ hai, tư, sáu hằng tuần."),
    ("kỳ họp thứ 5", "Kỳ họp thứ năm."),
    ("đứng thứ 14", "Đứng thứ mười bốn."),
    ("giải 1", "Giải nhất."),
    ("tháng 4", "Tháng tư."),
    ("tháng 11", "Tháng mười một."),
]

UNITS_AND_MONEY = [
    ("Đạt 80% kế hoạch", "Đạt tám mươi phần trăm kế hoạch."),
    ("Giá 500.000đ/người", "Giá năm trăm nghìn đồng một người."),
    ("5 tỷ đồng", "Năm tỷ đồng."),
    ("20.000 VNĐ", "Hai mươi nghìn đồng."),
    ("3 triệu đ", "Ba triệu đồng."),
    ("1,2 tỷ đồng", "Một phẩy hai tỷ đồng."),
    ("200 USD", "Hai trăm đô la Mỹ."),
    ("60 km/h", "Sáu mươi ki lô mét một giờ."),
    ("Nhiệt độ 35°C", "Nhiệt độ ba mươi lăm độ xê."),
    ("Năng suất 62 tạ/ha", "Năng suất sáu mươi hai tạ một héc ta."),
    ("lợn hơi 50.000 đồng/kg", "Lợn hơi năm mươi nghìn đồng một ki lô gam."),
    ("Diện tích 120 m2", "Diện tích một trăm hai mươi mét vuông."),
    ("Diện tích 35 m²", "Diện tích ba mươi lăm mét vuông."),
    ("3 m3 nước", "Ba mét khối nước."),
    ("hồ chứa 1,2 triệu m³", "Hồ chứa một phẩy hai triệu mét khối."),
    ("lưu lượng 1.500 m3/s", "Lưu lượng một nghìn năm trăm mét khối trên giây."),
    ("mật độ 1.200 người/km2", "Mật độ một nghìn hai trăm người trên ki lô mét vuông."),
    ("2 km", "Hai ki lô mét."),
    ("rộng 7 m", "Rộng bảy mét."),
    ("1.200 ha", "Một nghìn hai trăm héc ta."),
    ("30 kg", "Ba mươi ki lô gam."),
    ("12.000 tấn", "Mười hai nghìn tấn."),
    ("1 lần/tháng", "Một lần một tháng."),
    ("60 triệu đồng/người/năm", "Sáu mươi triệu đồng một người một năm."),
    ("Điện áp 220V", "Điện áp hai trăm hai mươi vôn."),
]

PHONES = [
    ("Gọi 0912345678", "Gọi không chín một hai, ba bốn năm, sáu bảy tám."),
    ("Liên hệ 0912 345 678", "Liên hệ không chín một hai, ba bốn năm, sáu bảy tám."),
    ("Số máy 0208.3855.123", "Số máy không hai không tám, ba tám năm năm, một hai ba."),
    ("Gọi +84 912 345 678", "Gọi cộng tám tư, chín một hai, ba bốn năm, sáu bảy tám."),
    ("Tổng đài 1900 1234", "Tổng đài một chín không không, một hai ba bốn."),
    ("Khi có cháy gọi 114", "Khi có cháy gọi một một bốn."),
    ("Gọi ngay 113, 115", "Gọi ngay một một ba, một một năm."),
    ("số tài khoản 123456789", "Số tài khoản một hai ba bốn năm sáu bảy tám chín."),
    ("Xã có 113 hộ", "Xã có một trăm mười ba hộ."),
]

CODES = [
    ("Nghị quyết số 01-NQ/TU về chuyển đổi số", "Nghị quyết số không một của Tỉnh ủy về chuyển đổi số."),
    ("Nghị quyết số 01/NQ-TU", "Nghị quyết số không một của Tỉnh ủy."),
    (
        "Thực hiện Nghị định 17/2020/NĐ-CP",
        "Thực hiện Nghị định mười bảy năm hai nghìn không trăm hai mươi của Chính phủ.",
    ),
    (
        "Quyết định số 123/QĐ-UBND ngày 5/3/2024",
        "Quyết định số một trăm hai mươi ba của ủy ban nhân dân"
        " ngày năm tháng ba năm hai nghìn không trăm hai mươi tư.",
    ),
    (
        "UBND huyện ban hành Quyết định số 123/QĐ-UBND",
        "Ủy ban nhân dân huyện ban hành Quyết định số một trăm hai mươi ba.",
    ),
    (
        "Thông tư 39/2020/TT-BTTTT của Bộ Thông tin và Truyền thông",
        "Thông tư ba mươi chín năm hai nghìn không trăm hai mươi của Bộ Thông tin và Truyền thông.",
    ),
    ("Luật số 15/2012/QH13", "Luật số mười lăm năm hai nghìn không trăm mười hai của Quốc hội khóa mười ba."),
    ("Công văn số 456/UBND-VP", "Công văn số bốn trăm năm mươi sáu của ủy ban nhân dân, văn phòng."),
    ("Chỉ thị 05-CT/TW", "Chỉ thị không năm của Trung ương."),
    ("Thực hiện 789/QĐ-TTg", "Thực hiện quyết định số bảy trăm tám mươi chín của Thủ tướng Chính phủ."),
    ("Ca F0, F1", "Ca ép không, ép một."),
    ("Mạng 4G, 5G", "Mạng bốn gờ, năm gờ."),
    ("Đường QL1A", "Đường quốc lộ một a."),
    ("Tuyến ĐT 391", "Tuyến đường tỉnh ba trăm chín mươi mốt."),
    ("Tuyến ĐT.392", "Tuyến đường tỉnh ba trăm chín mươi hai."),
    ("ĐT: 0912345678", "Điện thoại: không chín một hai, ba bốn năm, sáu bảy tám."),
    ("Cúm H5N1", "Cúm hát năm en một."),
    ("Dịch Covid-19 và COVID-19", "Dịch cô vít mười chín và cô vít mười chín."),
]

WEB = [
    (
        "Xem tại https://chuyendoiso.haiduong.gov.vn",
        "Xem tại chuyen doi so chấm hai duong chấm gốp chấm vê en.",
    ),
    ("Địa chỉ OneTouch.edu.vn.", "Địa chỉ oan tát chấm e đu chấm vê en."),
    (
        "Truy cập www.thaibinh.gov.vn/tin-tuc",
        "Truy cập thai binh chấm gốp chấm vê en gạch chéo tin gạch ngang tuc.",
    ),
    (
        "Email: ubndxatanlap@thaibinh.gov.vn",
        "I meo: u bê en dê xa tan lap a còng thai binh chấm gốp chấm vê en.",
    ),
    ("Hộp thư nam.nv@gmail.com", "Hộp thư nam chấm en vê a còng gờ meo chấm com."),
]

ABBREVIATIONS = [
    ("UBND, HĐND, UBMTTQ", "Ủy ban nhân dân, hội đồng nhân dân, ủy ban mặt trận tổ quốc."),
    (
        "TT&TT, CĐS, CMCN, DN, CBCCVC",
        "Thông tin và truyền thông, chuyển đổi số, cách mạng công nghiệp, doanh nghiệp,"
        " cán bộ, công chức, viên chức.",
    ),
    (
        "CNTT, THPT, BHYT, PCCC",
        "Công nghệ thông tin, trung học phổ thông, bảo hiểm y tế, phòng cháy chữa cháy.",
    ),
    (
        "KT-XH, PCTT, TKCN, ATGT",
        "Kinh tế, xã hội, phòng chống thiên tai, tìm kiếm cứu nạn, an toàn giao thông.",
    ),
    ("Họp UBND-HĐND", "Họp ủy ban nhân dân, hội đồng nhân dân."),
    ("Các doanh nghiệp (DN) và chuyển đổi số (CĐS)", "Các doanh nghiệp và chuyển đổi số."),
    ("Trung tâm Điều hành thông minh (IOC)", "Trung tâm Điều hành thông minh (i ô xê)."),
    ("VTV, VNPT, FPT", "Vê tê vê, vê en pê tê, ép pê tê."),
    ("Ban Chỉ huy PCTT và TKCN xã", "Ban Chỉ huy phòng chống thiên tai và tìm kiếm cứu nạn xã."),
    ("BCH Quân sự xã và BCH Đảng bộ xã", "Ban chỉ huy Quân sự xã và ban chấp hành Đảng bộ xã."),
    ("TP.HCM và TP. Hà Nội", "Thành phố Hồ Chí Minh và thành phố Hà Nội."),
    ("đ/c Nguyễn Văn Nam", "Đồng chí Nguyễn Văn Nam."),
    ("V/v tổ chức tiêm chủng", "Về việc tổ chức tiêm chủng."),
    ("P.V: Xin chào", "Phóng viên: Xin chào."),
    ("Ứng dụng Smart Hải Dương trên Internet", "Ứng dụng xờ mát Hải Dương trên in tơ nét."),
    ("THÔNG BÁO KHẨN: BÃO SỐ 3", "Thông báo khẩn: bão số ba."),
    ("Các DN như XYZ tham gia", "Các doanh nghiệp như ích i dài dét tham gia."),
    ("Nhiệt độ 30 độ C", "Nhiệt độ ba mươi độ xê."),
]

ROMAN = [
    ("Lần thứ XX", "Lần thứ hai mươi."),
    ("Thế kỷ XXI", "Thế kỷ hai mươi mốt."),
    ("Khóa XIV", "Khóa mười bốn."),
    ("Quý IV", "Quý bốn."),
    ("Đại hội XIII", "Đại hội mười ba."),
    ("báo động III", "Báo động ba."),
    ("Huân chương Lao động hạng II", "Huân chương Lao động hạng nhì."),
    ("Phụ lục I", "Phụ lục một."),
    ("quý I hoặc quý II/2022", "Quý một hoặc quý hai năm hai nghìn không trăm hai mươi hai."),
]

CLEANUP = [
    (
        "Đảng bộ tỉnh và 178 xã trên địa bàn tỉnh. |",
        "Đảng bộ tỉnh và một trăm bảy mươi tám xã trên địa bàn tỉnh.",
    ),
    ("{keywords}", ""),
    ("Tổng số điểm của bài viết là: 1 trong 1 đánh giá", ""),
    ("Xếp hạng: 1 - 1 phiếu bầu", ""),
    ("Click để đánh giá bài viết", ""),
    ("Ý kiến bạn đọc", ""),
    (
        "Bạn đã không sử dụng Site, Bấm vào đây để duy trì trạng thái đăng nhập."
        " Thời gian chờ: 60 giâyChuyển đổi số",
        "Chuyển đổi số.",
    ),
    ("trả lời phỏng vấn Báo Thái Nguyên. Ảnh: L.K", "Trả lời phỏng vấn Báo Thái Nguyên."),
    ("tổng công ty. (Ảnh minh họa: Internet)", "Tổng công ty."),
    ("<p>Xin&nbsp;chào <b>bà con</b></p>", "Xin chào bà con."),
    ("• Tiêm phòng | ● Vệ sinh ▪ Khử trùng", "Tiêm phòng, Vệ sinh, Khử trùng."),
    ("- Thu hoạch lúa", "Thu hoạch lúa."),
    ("phía Bắc.Nhận định trên", "Phía Bắc. Nhận định trên."),
    ("Hết ./.", "Hết."),
    ("tuyên truyền….", "Tuyên truyền..."),
    ("“an toàn khu”", "An toàn khu."),
    ("kinh tế- xã hội", "Kinh tế, xã hội."),
    ("người dân,doanh nghiệp", "Người dân, doanh nghiệp."),
]

MUNG = [
    ("Ngày 1/10", "Ngày mùng một tháng mười."),
    (
        "các ngày 8, 9/10/2021",
        "Các ngày mùng tám, mùng chín tháng mười năm hai nghìn không trăm hai mươi mốt.",
    ),
    ("Từ 5-7/3", "Từ ngày mùng năm đến ngày mùng bảy tháng ba."),
    ("mùng 4/5", "Mùng bốn tháng năm."),
    ("ngày 10/10 và ngày 11/11", "Ngày mùng mười tháng mười và ngày mười một tháng mười một."),
    ("ngày 3", "Ngày mùng ba."),
    ("Hôm nay 20/11", "Hôm nay ngày hai mươi tháng mười một."),
]

TABLES = {
    "numbers": NUMBERS,
    "dates": DATES,
    "times": TIMES,
    "ranges_and_ratios": RANGES_AND_RATIOS,
    "ordinals": ORDINALS,
    "units_and_money": UNITS_AND_MONEY,
    "phones": PHONES,
    "codes": CODES,
    "web": WEB,
    "abbreviations": ABBREVIATIONS,
    "roman": ROMAN,
    "cleanup": CLEANUP,
}


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        pytest.param(text, spoken, id=f"{name}-{index}")
        for name, rows in TABLES.items()
        for index, (text, spoken) in enumerate(rows)
    ],
)
def test_reading(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


@pytest.mark.parametrize(("text", "spoken"), MUNG)
def test_mung_option_reads_days_one_to_ten_the_northern_way(text: str, spoken: str) -> None:
    assert normalize_text(text, mung=True) == spoken


def test_mung_is_off_by_default() -> None:
    assert normalize_text("Ngày 1/10") == "Ngày một tháng mười."
