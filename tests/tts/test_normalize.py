"""Table-driven tests of the text normaliser, including real sentences from the shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcast.tts import normalize_text, unknown_abbreviations
from broadcast.tts.numbers import read_number, roman_value

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

NUMBERS = [
    (0, "không"),
    (4, "bốn"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (101, "một trăm linh một"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (191, "một trăm chín mươi mốt"),
    (1005, "một nghìn không trăm linh năm"),
    (2020, "hai nghìn không trăm hai mươi"),
    (2021, "hai nghìn không trăm hai mươi mốt"),
    (3000, "ba nghìn"),
    (162505, "một trăm sáu mươi hai nghìn năm trăm linh năm"),
    (1234567, "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy"),
    (1000005, "một triệu không trăm linh năm"),
    (1005000, "một triệu không trăm linh năm nghìn"),
    (1000000000, "một tỷ"),
    (2000000021, "hai tỷ không trăm hai mươi mốt"),
    (1000000000000, "một nghìn tỷ"),
]


@pytest.mark.parametrize(("number", "spoken"), NUMBERS)
def test_read_number(number: int, spoken: str) -> None:
    assert read_number(number) == spoken


@pytest.mark.parametrize(("numeral", "value"), [("I", 1), ("IV", 4), ("XX", 20), ("XIII", 13), ("IIX", None)])
def test_roman_value(numeral: str, value: int | None) -> None:
    assert roman_value(numeral) == value


PATTERNS = [
    ("Có 3.000 người.", "Có ba nghìn người."),
    ("Có 1.234.567 người", "Có một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy người."),
    ("Tăng 2,5 lần", "Tăng hai phẩy năm lần."),
    ("Còn 0,05 mm", "Còn không phẩy không năm mi li mét."),
    ("ngày 31/12/2020", "Ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi."),
    ("Từ 15/4 đến 20/4", "Từ ngày mười lăm tháng tư đến ngày hai mươi tháng tư."),
    ("Lúc 7h30 sáng", "Lúc bảy giờ ba mươi phút sáng."),
    ("từ 14h đến 17h15", "Từ mười bốn giờ đến mười bảy giờ mười lăm phút."),
    ("Bắt đầu 07:00", "Bắt đầu bảy giờ."),
    ("Đạt 80% kế hoạch", "Đạt tám mươi phần trăm kế hoạch."),
    ("Tăng 10-15%", "Tăng mười đến mười lăm phần trăm."),
    ("Tỷ lệ 3/4 dân số", "Tỷ lệ ba trên bốn dân số."),
    ("tháng 4/2024", "Tháng tư năm hai nghìn không trăm hai mươi tư."),
    ("Thứ 2 và thứ 4, lần thứ 1", "Thứ hai và thứ tư, lần thứ nhất."),
    (
        "Khóa XV, thế kỷ XXI, quý IV/2023",
        "Khóa mười lăm, thế kỷ hai mươi mốt, quý bốn năm hai nghìn không trăm hai mươi ba.",
    ),
    ("Gọi 0912345678", "Gọi không chín một hai ba bốn năm sáu bảy tám."),
    ("Liên hệ 0912 345 678", "Liên hệ không chín một hai, ba bốn năm, sáu bảy tám."),
    ("Khi có cháy gọi 114", "Khi có cháy gọi một một bốn."),
    ("Năng suất 62 tạ/ha", "Năng suất sáu mươi hai tạ mỗi héc ta."),
    ("Giá 500.000đ/người", "Giá năm trăm nghìn đồng mỗi người."),
    ("Nhiệt độ 35°C, gió 60 km/h", "Nhiệt độ ba mươi lăm độ xê, gió sáu mươi ki lô mét một giờ."),
    ("Trường THPT và HĐND xã", "Trường trung học phổ thông và hội đồng nhân dân xã."),
    ("UBMTTQ, PCCC, BHYT", "Ủy ban mặt trận tổ quốc, phòng cháy chữa cháy, bảo hiểm y tế."),
    ("TP. Hà Nội và TP.HCM", "Thành phố Hà Nội và thành phố Hồ Chí Minh."),
    ("Họp UBND-HĐND", "Họp ủy ban nhân dân, hội đồng nhân dân."),
    ("THÔNG BÁO KHẨN: BÃO SỐ 3", "Thông báo khẩn: bão số ba."),
    ("<p>Xin&nbsp;chào</p><br>  bà   con", "Xin chào.\nBà con."),
    ("{keywords}\n\n  Hẹn gặp lại  ", "Hẹn gặp lại."),
    ("Hết ./.", "Hết."),
    ("Mở đầu\n — \n|\nKết thúc", "Mở đầu.\nKết thúc."),
]


@pytest.mark.parametrize(("text", "spoken"), PATTERNS)
def test_patterns(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


# Fragments copied from ../shared/corpus with the reading a northern announcer would give.
CORPUS_FRAGMENTS = [
    (
        "Ngày 1/10, UBND tỉnh Thái Nguyên và Bộ TT&TT đã khai mạc",
        "Ngày một tháng mười, ủy ban nhân dân tỉnh Thái Nguyên và Bộ thông tin và truyền thông đã khai mạc.",
    ),
    (
        "với hơn 3.000 đại biểu tại 191 điểm cầu kết nối",
        "Với hơn ba nghìn đại biểu tại một trăm chín mươi mốt điểm cầu kết nối.",
    ),
    (
        "Đảng bộ tỉnh và 178 xã trên địa bàn tỉnh. |",
        "Đảng bộ tỉnh và một trăm bảy mươi tám xã trên địa bàn tỉnh.",
    ),
    (
        "cuộc cách mạng công nghiệp lần thứ tư (CMCN 4.0)",
        "Cuộc cách mạng công nghiệp lần thứ tư (cách mạng công nghiệp bốn chấm không).",
    ),
    (
        "Đại hội Đảng bộ tỉnh lần thứ XX nhiệm kỳ 2020 – 2025",
        "Đại hội Đảng bộ tỉnh lần thứ hai mươi nhiệm kỳ hai nghìn không trăm hai mươi"
        " đến hai nghìn không trăm hai mươi lăm.",
    ),
    (
        "ngày 31/12/2020, Ban chấp hành Đảng bộ tỉnh đã ban hành Nghị quyết 01",
        "Ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi,"
        " Ban chấp hành Đảng bộ tỉnh đã ban hành Nghị quyết không một.",
    ),
    (
        "giai đoạn 2021 - 2025, định hướng đến năm 2030.",
        "Giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm,"
        " định hướng đến năm hai nghìn không trăm ba mươi.",
    ),
    ("đó là ngày 31/12 hằng năm.", "Đó là ngày ba mươi mốt tháng mười hai hằng năm."),
    (
        "vẫn là một “an toàn khu” trước đại dịch Covid-19.",
        "Vẫn là một an toàn khu trước đại dịch cô vít mười chín.",
    ),
    (
        "Thái Nguyên mới ghi nhận 19 ca F0. Các F0 đều được khoanh vùng cách ly ngay.",
        "Thái Nguyên mới ghi nhận mười chín ca ép không. Các ép không đều được khoanh vùng cách ly ngay.",
    ),
    (
        "diễn ra trong các ngày 1, 2/10 và ngày 8, 9/10/2021 với 5 chuyên đề",
        "Diễn ra trong các ngày một, hai tháng mười và ngày tám, chín tháng mười"
        " năm hai nghìn không trăm hai mươi mốt với năm chuyên đề.",
    ),
    ("Chuyển đổi số và phương pháp luận 2-3-5;", "Chuyển đổi số và phương pháp luận hai ba năm."),
    (
        "tổ chức vào ngày 16/12.\n\n{keywords}\nThứ trưởng Bộ TT&TT Nguyễn Huy Dũng phát biểu",
        "Tổ chức vào ngày mười sáu tháng mười hai.\n"
        "Thứ trưởng Bộ thông tin và truyền thông Nguyễn Huy Dũng phát biểu.",
    ),
    (
        "Ngay từ tháng 10/2020, Đại hội Đảng bộ tỉnh Bắc Giang đã quyết nghị",
        "Ngay từ tháng mười năm hai nghìn không trăm hai mươi, Đại hội Đảng bộ tỉnh Bắc Giang đã quyết nghị.",
    ),
    ("cơ sở hạ tầng CNTT và truyền thông", "Cơ sở hạ tầng công nghệ thông tin và truyền thông."),
    (
        "Bắc Giang đứng thứ 10 trên cả nước, trong đó chỉ số xếp hạng chính quyền số đứng thứ 7",
        "Bắc Giang đứng thứ mười trên cả nước, trong đó chỉ số xếp hạng chính quyền số đứng thứ bảy.",
    ),
    (
        "thể chế và chính sách. Công nghệ chỉ chiếm 20%. Nếu",
        "Thể chế và chính sách. Công nghệ chỉ chiếm hai mươi phần trăm. Nếu.",
    ),
    ("có tới 80% phụ thuộc", "Có tới tám mươi phần trăm phụ thuộc."),
    ("bồi dưỡng cho 10.000 cán bộ", "Bồi dưỡng cho mười nghìn cán bộ."),
    ("tại địa chỉ OneTouch.edu.vn.", "Tại địa chỉ OneTouch chấm edu chấm vê en."),
    (
        "ngay trong quý I hoặc quý II/2022”, Thứ trưởng đề xuất.",
        "Ngay trong quý một hoặc quý hai năm hai nghìn không trăm hai mươi hai, Thứ trưởng đề xuất.",
    ),
    ("07:00, 24/12/2021", "Bảy giờ, ngày hai mươi tư tháng mười hai năm hai nghìn không trăm hai mươi mốt."),
    (
        "dẫn đầu cả nước về chuyển đổi số (CĐS).",
        "Dẫn đầu cả nước về chuyển đổi số.",
    ),
    (
        "Nghị quyết số 01-NQ/TU về Chương trình CĐS của tỉnh giai đoạn 2021-2025",
        "Nghị quyết số không một en quy tê u về Chương trình chuyển đổi số của tỉnh giai đoạn"
        " hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm.",
    ),
    (
        "lấy ngày 31-12 hằng năm là Ngày CĐS tỉnh Thái Nguyên",
        "Lấy ngày ba mươi mốt tháng mười hai hằng năm là Ngày chuyển đổi số tỉnh Thái Nguyên.",
    ),
    (
        "Tỉnh xếp thứ 12/63 địa phương về CĐS",
        "Tỉnh xếp thứ mười hai trên sáu mươi ba địa phương về chuyển đổi số.",
    ),
    ("P.V: Nhìn vào thực tế", "Phóng viên: Nhìn vào thực tế."),
    ("dịch COVID-19 diễn biến phức tạp", "Dịch cô vít mười chín diễn biến phức tạp."),
    ("phát triển kinh tế - xã hội.", "Phát triển kinh tế, xã hội."),
    (
        "Kế hoạch số 80/KH-UBND ngày 20/4/2021",
        "Kế hoạch số tám mươi ca hát u bê en dê ngày hai mươi tháng tư"
        " năm hai nghìn không trăm hai mươi mốt.",
    ),
    ("với 37 nhiệm vụ trên 03 trụ cột", "Với ba mươi bảy nhiệm vụ trên ba trụ cột."),
    (
        "Triển khai thực hiện tốt 100% dịch vụ công trực tuyến mức độ 4.",
        "Triển khai thực hiện tốt một trăm phần trăm dịch vụ công trực tuyến mức độ bốn.",
    ),
    ("Tổng số điểm của bài viết là: 1 trong 1 đánh giá\n\nXếp hạng: 1 - 1 phiếu bầu", ""),
    (
        "Chuyển đổi số - Ngày đăng : 22:29, 31/03/2023",
        "Chuyển đổi số, Ngày đăng: hai mươi hai giờ hai mươi chín phút,"
        " ngày ba mươi mốt tháng ba năm hai nghìn không trăm hai mươi ba.",
    ),
    (
        "toàn thể cán bộ, công chức, viên chức (CBCCVC) trong Tỉnh",
        "Toàn thể cán bộ, công chức, viên chức trong Tỉnh.",
    ),
    (
        "Thực hiện Nghị định 47/2020/NĐ-CP",
        "Thực hiện Nghị định bốn mươi bảy năm hai nghìn không trăm hai mươi en đê xê pê.",
    ),
    (
        "162.505 hộ sản xuất nông nghiệp",
        "Một trăm sáu mươi hai nghìn năm trăm linh năm hộ sản xuất nông nghiệp.",
    ),
    (
        "tại địa chỉ https://chuyendoiso.haiduong.gov.vn, đến nay",
        "Tại địa chỉ chuyendoiso chấm haiduong chấm gov chấm vê en, đến nay.",
    ),
    ("(tần suất 1 lần/tháng).", "(tần suất một lần mỗi tháng)."),
    (
        "phê duyệt ngày CĐS Quốc gia - ngày 10/10.",
        "Phê duyệt ngày chuyển đổi số Quốc gia, ngày mười tháng mười.",
    ),
    (
        "có lực lượng DN đông đảo với 5000 DN.",
        "Có lực lượng doanh nghiệp đông đảo với năm nghìn doanh nghiệp.",
    ),
    (
        "Quyết định số 505/QĐ-TTg ngày 22/4/2022",
        "Quyết định số năm trăm linh năm quy đê tê tê giê ngày hai mươi hai tháng tư"
        " năm hai nghìn không trăm hai mươi hai.",
    ),
    ("công tác của Bộ TT&TT./.", "Công tác của Bộ thông tin và truyền thông."),
]


@pytest.mark.parametrize(("text", "spoken"), CORPUS_FRAGMENTS)
def test_corpus_fragments(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


def test_fragments_are_real_corpus_text() -> None:
    corpus = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in CORPUS.glob("*.txt"))
    if not corpus:
        pytest.skip("shared corpus not present")
    missing = [text for text, _ in CORPUS_FRAGMENTS if " ".join(text.split()) not in corpus]
    assert missing == []


def test_unknown_abbreviations_lists_unknown_caps_tokens_once_in_order() -> None:
    text = "Các DN như VNPT, FPT và VNPT tham gia; UBND, HĐND, THÔNG BÁO, Covid và F0 thì đã biết."
    assert unknown_abbreviations(text) == ["VNPT", "FPT"]


def test_unknown_abbreviations_ignores_document_codes_and_roman_numerals() -> None:
    assert unknown_abbreviations("Nghị quyết số 01-NQ/TU của Đại hội XIII, quý II/2022") == []


def test_corpus_normalises_without_digits_or_known_abbreviations() -> None:
    files = sorted(CORPUS.glob("*.txt"))
    if not files:
        pytest.skip("shared corpus not present")
    for path in files:
        spoken = normalize_text(path.read_text(encoding="utf-8"))
        assert not any(char.isdigit() for char in spoken), path.name
        for token in ("UBND", "TT&TT", "CĐS", "{keywords}", "  "):
            assert token not in spoken, (path.name, token)
