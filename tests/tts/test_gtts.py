"""gTTS engine against a loopback Google Translate batchexecute server: chunking, errors, pacing, memo."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from broadcast.tts import EngineConfig, TtsError, TtsUnavailable, get_engine
from broadcast.tts.engines.gtts import MAX_CHARS, GttsEngine, pack_clauses
from tests.support.free_port import free_port
from tests.support.tts_servers import GOOGLE_PATH, GoogleRequest, GoogleTranslateTtsServer, Mode
from tests.tts.contract_gtts import local_config

VIETNAMESE = "Ủy ban nhân dân xã Đồng Hỷ thông báo: bão số 3 đổ bộ, bà con gia cố nhà cửa ngay!"
BULLETIN = (
    "Thực hiện kế hoạch của Ủy ban nhân dân huyện về phòng chống thiên tai năm hai nghìn không trăm "
    "hai mươi tư, Ban chỉ huy phòng chống thiên tai và tìm kiếm cứu nạn xã đề nghị các thôn rà soát "
    "các hộ dân sống ven sông, ven suối, vùng trũng thấp có nguy cơ ngập lụt, sạt lở đất; chuẩn bị sẵn "
    "sàng lương thực, nước uống, thuốc men và phương tiện để sơ tán khi có lệnh."
)


@pytest.fixture
def server() -> Iterator[GoogleTranslateTtsServer]:
    with GoogleTranslateTtsServer() as running:
        yield running


def _engine(tmp_path: Path, server: GoogleTranslateTtsServer, timeout_s: float = 10.0) -> GttsEngine:
    """Return a fresh engine (own memo and pacer) talking to ``server``."""
    return GttsEngine(local_config(tmp_path, server.url, timeout_s))


def test_the_registry_builds_the_gtts_engine(tmp_path: Path, server: GoogleTranslateTtsServer) -> None:
    engine = get_engine("gtts", local_config(tmp_path, server.url))
    assert isinstance(engine, GttsEngine)
    assert engine.voices() == ["vi"]
    assert engine.endpoint == f"{server.url}{GOOGLE_PATH}"


def test_vietnamese_text_reaches_the_server_exactly(tmp_path: Path, server: GoogleTranslateTtsServer) -> None:
    audio = _engine(tmp_path, server).synthesize(VIETNAMESE)
    assert server.requests == [GoogleRequest(text=VIETNAMESE, lang="vi", slow=False)]
    assert audio.sample_rate == 24000
    assert server.rejected == []


def test_long_text_goes_out_in_requests_of_at_most_100_characters_and_comes_back_whole(
    tmp_path: Path, server: GoogleTranslateTtsServer
) -> None:
    audio = _engine(tmp_path, server).synthesize(BULLETIN)
    parts = [request.text for request in server.requests]
    assert len(parts) >= 4
    assert all(len(part) <= MAX_CHARS for part in parts)
    assert " ".join(parts) == BULLETIN  # nothing lost, punctuation kept for Google's pauses
    # Every part's audio is in the result, not only the first: compare with the parts spoken one by one.
    espeak = get_engine("espeak")
    expected = sum(espeak.synthesize(part).duration_s for part in parts)
    assert audio.duration_s == pytest.approx(expected, rel=0.1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ngắn.", ["Ngắn."]),
        ("Một, hai, ba.", ["Một, hai, ba."]),
        (("a" * 60 + ", ") + "b" * 60 + ".", ["a" * 60 + ",", "b" * 60 + "."]),
        (". ".join(["x" * 30] * 4) + ".", [". ".join(["x" * 30] * 3) + ".", "x" * 30 + "."]),
    ],
)
def test_clauses_are_packed_up_to_the_request_limit(text: str, expected: list[str]) -> None:
    assert pack_clauses(text) == expected


@pytest.mark.parametrize(("mode", "code"), [("forbidden", "403"), ("quota", "429"), ("error", "500")])
def test_service_refusals_are_unavailable_with_a_vietnamese_message(
    tmp_path: Path, mode: Mode, code: str
) -> None:
    with GoogleTranslateTtsServer(mode=mode) as server, pytest.raises(TtsUnavailable) as caught:
        _engine(tmp_path, server).synthesize(VIETNAMESE)
    message = str(caught.value)
    assert f"mã {code}" in message
    assert "Google" in message
    assert any(word in message for word in ("từ chối", "quá nhiều", "sự cố"))


def test_a_server_that_does_not_answer_times_out(tmp_path: Path) -> None:
    with GoogleTranslateTtsServer(mode="hang") as server:
        started = time.monotonic()
        with pytest.raises(TtsUnavailable, match=r"không trả lời trong 0\.5 giây"):
            _engine(tmp_path, server, timeout_s=0.5).synthesize(VIETNAMESE)
        assert time.monotonic() - started < 3


def test_a_closed_port_reads_as_offline(tmp_path: Path) -> None:
    engine = GttsEngine(local_config(tmp_path, f"http://127.0.0.1:{free_port()}", timeout_s=2))
    with pytest.raises(TtsUnavailable, match=r"^Không kết nối được dịch vụ đọc trực tuyến"):
        engine.synthesize(VIETNAMESE)


def test_a_changed_protocol_lets_the_fallback_chain_read(
    tmp_path: Path, server: GoogleTranslateTtsServer
) -> None:
    engine = GttsEngine(local_config(tmp_path, f"{server.url}/sai-duong-dan"))
    with pytest.raises(TtsUnavailable, match="mã 404"):
        engine.synthesize(VIETNAMESE)


def test_punctuation_only_text_is_refused_without_a_request(
    tmp_path: Path, server: GoogleTranslateTtsServer
) -> None:
    with pytest.raises(TtsError, match="không có chữ"):
        _engine(tmp_path, server).synthesize("… !")
    assert server.requests == []


def test_a_quota_refusal_holds_off_every_call_until_the_cool_down_ends(tmp_path: Path) -> None:
    with GoogleTranslateTtsServer(mode="quota") as server:
        engine = _engine(tmp_path, server)
        with pytest.raises(TtsUnavailable, match=r"mã 429.* 120 giây"):
            engine.synthesize(VIETNAMESE)
        server.mode = "ok"  # recovered, but the engine must not find out by hammering it
        started = time.monotonic()
        with pytest.raises(TtsUnavailable, match="tạm ngừng gọi"):
            engine.synthesize("Một câu khác.")
        assert time.monotonic() - started < 0.1
        assert len(server.requests) == 1


def test_retry_after_sets_the_cool_down(tmp_path: Path) -> None:
    with GoogleTranslateTtsServer(mode="quota", retry_after="1") as server:
        engine = _engine(tmp_path, server)
        with pytest.raises(TtsUnavailable, match="1 giây"):
            engine.synthesize(VIETNAMESE)
        server.mode = "ok"
        with pytest.raises(TtsUnavailable):
            engine.synthesize(VIETNAMESE)
        time.sleep(1.05)
        assert engine.synthesize(VIETNAMESE).duration_s > 1
        assert len(server.requests) == 2


def test_requests_are_paced(tmp_path: Path, server: GoogleTranslateTtsServer) -> None:
    engine = _engine(tmp_path, server)
    engine.pacer.interval_s = 0.25
    started = time.monotonic()
    engine.synthesize(BULLETIN)  # four or more requests
    engine.synthesize(VIETNAMESE)  # and the next call waits its turn too
    elapsed = time.monotonic() - started
    assert elapsed >= 0.25 * len(server.requests[:-1]) - 0.02


def test_a_repeated_request_is_answered_from_memory(tmp_path: Path, server: GoogleTranslateTtsServer) -> None:
    engine = _engine(tmp_path, server)
    first = engine.synthesize(VIETNAMESE)
    assert engine.synthesize(VIETNAMESE) is first
    assert len(server.requests) == 1
    engine.synthesize(VIETNAMESE + " Xin cảm ơn.")
    assert len(server.requests) == 2


def test_nothing_is_written_to_disk_on_failure_or_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with GoogleTranslateTtsServer(mode="hang") as server:
        with pytest.raises(TtsUnavailable):
            _engine(tmp_path, server, timeout_s=0.3).synthesize(BULLETIN)
        server.mode = "ok"
        _engine(tmp_path, server).synthesize(VIETNAMESE)
    assert list(tmp_path.iterdir()) == []


def test_a_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="không hợp lệ"):
        GttsEngine(EngineConfig(data_dir=tmp_path, gtts_url="ftp://127.0.0.1"))


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("f.req=%5B%5B%5B%22XXXXXX%22%2C%22%5B%5D%22%2Cnull%2C%22generic%22%5D%5D%5D&", "form", 400),
        ("f.req=not-json&", "form", 400),
        ("", "form", 400),
        ('{"text": "xin chào"}', "application/json", 400),
    ],
)
def test_the_fake_server_rejects_what_google_would(
    server: GoogleTranslateTtsServer, body: str, content_type: str, status: int
) -> None:
    kind = "application/x-www-form-urlencoded;charset=utf-8" if content_type == "form" else content_type
    response = requests.post(
        f"{server.url}{GOOGLE_PATH}", data=body.encode(), headers={"Content-Type": kind}, timeout=5
    )
    assert response.status_code == status
    assert server.requests == []
    assert len(server.rejected) == 1
