"""edge-tts engine against a loopback read-aloud websocket server: protocol, errors, pieces, threads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from broadcast.tts import EngineConfig, PcmAudio, TtsError, TtsUnavailable, get_engine
from broadcast.tts.engines.edge import MAX_PIECE_CHARS, EdgeEngine, split_pieces
from tests.support.free_port import free_port
from tests.support.tts_servers import EDGE_FORMAT, EDGE_ORIGIN, EDGE_PATH, EdgeTtsServer, Mode
from tests.tts.contract_edge import local_config

VIETNAMESE = "Giá lúa hôm nay 7.500 đồng/kg & ngô <tăng nhẹ>; Ủy ban xã Đồng Hỷ thông báo."
SENTENCE = "Đề nghị bà con chủ động phòng chống bão, gia cố nhà cửa và di dời tài sản đến nơi an toàn."


@pytest.fixture
def server() -> Iterator[EdgeTtsServer]:
    with EdgeTtsServer() as running:
        yield running


def _engine(tmp_path: Path, server: EdgeTtsServer, timeout_s: float = 10.0) -> EdgeEngine:
    """Return a fresh engine (own memo and pacer) talking to ``server``."""
    return EdgeEngine(local_config(tmp_path, server.url, timeout_s))


def test_the_registry_builds_the_edge_engine(tmp_path: Path, server: EdgeTtsServer) -> None:
    engine = get_engine("edge", local_config(tmp_path, server.url))
    assert isinstance(engine, EdgeEngine)
    assert engine.voices() == ["vi-VN-HoaiMyNeural", "vi-VN-NamMinhNeural"]


@pytest.mark.parametrize("voice", ["vi-VN-HoaiMyNeural", "vi-VN-NamMinhNeural"])
def test_text_and_voice_reach_the_server_exactly(tmp_path: Path, server: EdgeTtsServer, voice: str) -> None:
    audio = _engine(tmp_path, server).synthesize(VIETNAMESE, voice)
    [request] = server.requests
    assert request.text == VIETNAMESE  # UTF-8 and the SSML escaping of & and < survive the round trip
    assert request.voice == voice
    assert request.output_format == EDGE_FORMAT
    assert server.rejected == []
    assert server.handshakes == 1
    assert audio.sample_rate == 24000
    assert audio.duration_s > 2


def test_text_beyond_one_piece_uses_one_connection_per_piece(tmp_path: Path, server: EdgeTtsServer) -> None:
    text = " ".join([SENTENCE] * 12)  # ~1,100 characters
    audio = _engine(tmp_path, server).synthesize(text)
    pieces = [request.text for request in server.requests]
    assert len(pieces) == 2
    assert all(len(piece) <= MAX_PIECE_CHARS for piece in pieces)
    assert " ".join(pieces) == text
    espeak = get_engine("espeak")
    expected = sum(espeak.synthesize(piece).duration_s for piece in pieces)
    assert audio.duration_s == pytest.approx(expected, rel=0.1)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Một câu.", 20, ["Một câu."]),
        ("Câu một. Câu hai. Câu ba.", 18, ["Câu một. Câu hai.", "Câu ba."]),
        ("không có dấu chấm nào cả", 10, ["không có", "dấu chấm", "nào cả"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
        ("  khoảng\n\ntrắng   thừa ", 50, ["khoảng trắng thừa"]),
    ],
)
def test_split_pieces_prefers_sentence_ends(text: str, limit: int, expected: list[str]) -> None:
    assert split_pieces(text, limit) == expected


@pytest.mark.parametrize(("mode", "code"), [("forbidden", "403"), ("quota", "429")])
def test_refused_handshakes_are_unavailable(tmp_path: Path, mode: Mode, code: str) -> None:
    with EdgeTtsServer(mode=mode) as server, pytest.raises(TtsUnavailable, match=f"mã {code}") as caught:
        _engine(tmp_path, server).synthesize(SENTENCE)
    assert "Microsoft" in str(caught.value)
    # edge-tts retries a 403 once after correcting its clock from the server's Date header.
    assert server.handshakes == (2 if mode == "forbidden" else 1)


@pytest.mark.parametrize("mode", ["error", "truncate"])
def test_a_stream_closed_before_turn_end_is_unavailable(tmp_path: Path, mode: Mode) -> None:
    with EdgeTtsServer(mode=mode) as server, pytest.raises(TtsUnavailable, match="ngắt kết nối"):
        _engine(tmp_path, server).synthesize(SENTENCE)
    assert len(server.requests) == 1


def test_a_server_that_does_not_answer_times_out(tmp_path: Path) -> None:
    with EdgeTtsServer(mode="hang") as server:
        started = time.monotonic()
        with pytest.raises(TtsUnavailable, match=r"không trả lời trong 0\.5 giây"):
            _engine(tmp_path, server, timeout_s=0.5).synthesize(SENTENCE)
        assert time.monotonic() - started < 3


def test_a_closed_port_reads_as_offline(tmp_path: Path) -> None:
    engine = EdgeEngine(local_config(tmp_path, f"ws://127.0.0.1:{free_port()}", timeout_s=2))
    with pytest.raises(TtsUnavailable, match=r"^Không kết nối được dịch vụ đọc trực tuyến"):
        engine.synthesize(SENTENCE)


def test_a_quota_refusal_holds_off_calls_for_retry_after(tmp_path: Path) -> None:
    with EdgeTtsServer(mode="quota", retry_after="1") as server:
        engine = _engine(tmp_path, server)
        with pytest.raises(TtsUnavailable, match="1 giây"):
            engine.synthesize(SENTENCE)
        server.mode = "ok"
        with pytest.raises(TtsUnavailable, match="tạm ngừng gọi"):
            engine.synthesize(SENTENCE)
        assert server.handshakes == 1  # the cool-down answered without touching the network
        time.sleep(1.05)
        assert engine.synthesize(SENTENCE).duration_s > 1


def test_a_repeated_request_is_answered_from_memory(tmp_path: Path, server: EdgeTtsServer) -> None:
    engine = _engine(tmp_path, server)
    first = engine.synthesize(SENTENCE)
    assert engine.synthesize(SENTENCE) is first
    engine.synthesize(SENTENCE, "vi-VN-NamMinhNeural")  # another voice is another request
    assert server.handshakes == 2


def test_worker_threads_and_a_running_event_loop_can_both_call_it(
    tmp_path: Path, server: EdgeTtsServer
) -> None:
    engine = _engine(tmp_path, server)
    texts = [f"Thông báo số {n}: {SENTENCE}" for n in range(1, 4)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(engine.synthesize, texts))
    assert all(audio.duration_s > 2 for audio in results)

    async def from_a_coroutine() -> PcmAudio:
        return engine.synthesize("Câu đọc từ trong một vòng lặp sự kiện.")

    assert asyncio.run(from_a_coroutine()).duration_s > 1
    assert set(texts) <= {request.text for request in server.requests}


def test_nothing_is_written_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with EdgeTtsServer(mode="truncate") as server:
        with pytest.raises(TtsUnavailable):
            _engine(tmp_path, server).synthesize(SENTENCE)
        server.mode = "ok"
        _engine(tmp_path, server).synthesize(SENTENCE)
    assert list(tmp_path.iterdir()) == []


def test_a_wss_endpoint_insists_on_tls(tmp_path: Path, server: EdgeTtsServer) -> None:
    engine = EdgeEngine(local_config(tmp_path, server.url.replace("ws://", "wss://"), timeout_s=2))
    with pytest.raises(TtsUnavailable, match=r"^Không kết nối được"):
        engine.synthesize(SENTENCE)  # the loopback server speaks plain ws: the TLS handshake must fail
    assert server.requests == []


def test_the_default_endpoint_leaves_the_connection_to_edge_tts(tmp_path: Path) -> None:
    engine = EdgeEngine(EngineConfig(data_dir=tmp_path))
    assert engine._connector() is None  # edge-tts then applies its own TLS context and proxy settings


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "ws://127.0.0.1:1/relay", "ws://"])
def test_an_endpoint_that_is_not_a_bare_websocket_origin_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(TtsError, match="không hợp lệ"):
        EdgeEngine(EngineConfig(data_dir=tmp_path, edge_url=url))


def test_the_fake_server_checks_the_handshake_like_microsoft(server: EdgeTtsServer) -> None:
    query = "TrustedClientToken=0&ConnectionId=x&Sec-MS-GEC=0&Sec-MS-GEC-Version=1-0"
    with (
        pytest.raises(InvalidStatus) as caught,
        connect(f"{server.url}{EDGE_PATH}?{query}", origin=Origin(EDGE_ORIGIN)),
    ):
        pass
    assert caught.value.response.status_code == 400
    assert "TrustedClientToken" in server.rejected[0]
    assert "ConnectionId" in server.rejected[0]
    assert "Cookie" in server.rejected[0]
