"""Microsoft Edge's online neural voices through the ``edge-tts`` package, at a configurable endpoint."""

from __future__ import annotations

import asyncio
import math
import ssl
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import certifi
import edge_tts
from edge_tts import exceptions as edge_errors

from broadcast.tts.base import EngineConfig, TtsError, TtsUnavailable
from broadcast.tts.engines._online import OnlineEngine

if TYPE_CHECKING:
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.tracing import Trace

VOICES: tuple[str, ...] = ("vi-VN-HoaiMyNeural", "vi-VN-NamMinhNeural")
"""Northern Vietnamese neural voices: Hoài My (female, default) and Nam Minh (male)."""

REQUESTS_PER_S = 5.0
"""Edge's read-aloud service is meant for one browser reading one page; stay near that pace."""

COOL_DOWN_S = 120.0
"""How long to stop calling after a 429 that gives no Retry-After."""

MAX_PIECE_CHARS = 800
"""edge-tts splits text above 4096 escaped UTF-8 bytes into several connections; 800 characters stay under
that (3 bytes a Vietnamese letter, 5 for an escaped "&"), so each piece is one connection of our own."""

SERVICE = "Microsoft Edge"
_BUILT_IN = ("wss", "speech.platform.bing.com", 443)  # where edge-tts connects on its own
_T = TypeVar("_T")


class _EndpointConnector(aiohttp.BaseConnector):
    """Open every connection to one endpoint, whatever host the request URL names.

    edge-tts hard-codes Microsoft's URL. Like aiohttp's own UnixConnector this swaps only the transport,
    so the library's handshake (token, headers, path) and protocol run unchanged against a relay or a
    local test server, and no global of the library is touched.
    """

    def __init__(self, host: str, port: int, tls: bool) -> None:
        super().__init__(force_close=True)
        self.host, self.port, self.tls = host, port, tls

    async def _create_connection(
        self, req: aiohttp.ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        """Connect to the endpoint (TLS verified against its own name when it is wss)."""
        context = ssl.create_default_context(cafile=certifi.where()) if self.tls else None
        try:
            async with asyncio.timeout(timeout.sock_connect):
                _, protocol = await self._loop.create_connection(
                    self._factory,
                    self.host,
                    self.port,
                    ssl=context,
                    server_hostname=self.host if context else None,
                )
        except OSError as exc:  # refused, unreachable, DNS, connect timeout
            raise aiohttp.ClientConnectorError(req.connection_key, exc) from exc
        return protocol

    async def close(self, *, abort_ssl: bool = False) -> None:
        """Stay open when an edge-tts session ends; the engine calls ``release`` when its call is over.

        edge-tts retries a 403 on a new ClientSession with the same connector, and every session closes
        its connector on exit: a real close here would fail that retry with "Session is closed".
        """

    async def release(self) -> None:
        """Close the connections for real."""
        await super().close()


class EdgeEngine(OnlineEngine):
    """Neural Vietnamese voices from Microsoft Edge's read-aloud service; needs the internet."""

    name = "edge"
    service = SERVICE
    requests_per_s = REQUESTS_PER_S

    def __init__(self, config: EngineConfig | None = None) -> None:
        super().__init__(config)
        parts = urlsplit(self.config.edge_url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname or parts.path.strip("/"):
            raise TtsError(
                f"Địa chỉ dịch vụ Edge «{self.config.edge_url}» không hợp lệ (cần ws:// hoặc wss://)."
            )
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        self._endpoint = (parts.scheme, parts.hostname, port)

    def voices(self) -> list[str]:
        """Return the two Vietnamese neural voices, default first."""
        return list(VOICES)

    def _fetch_mp3(self, text: str, voice: str) -> bytes:
        """Stream the MP3 for ``text`` in a private event loop (callers are worker threads)."""
        try:
            return _run_in_private_loop(self._stream(text, voice))
        except (aiohttp.ClientError, edge_errors.EdgeTTSException, TimeoutError) as exc:
            raise self._explain(exc) from exc

    async def _stream(self, text: str, voice: str) -> bytes:
        """Return the MP3 of every piece of ``text``, one paced websocket session per piece."""
        audio = bytearray()
        seconds = max(1, math.ceil(self.config.timeout_s))  # edge-tts insists on whole seconds
        connector = self._connector()
        try:
            for piece in split_pieces(text, MAX_PIECE_CHARS):
                await asyncio.sleep(self.pacer.reserve())
                self.pacer.check()  # another thread may have been told to back off while we waited
                communicate = edge_tts.Communicate(
                    piece, voice, connector=connector, connect_timeout=seconds, receive_timeout=seconds
                )
                received = 0
                # edge-tts sets no deadline once the websocket is open: a silent server would hang us forever.
                async with asyncio.timeout(self.config.timeout_s):
                    async for chunk in communicate.stream():
                        if chunk["type"] == "audio" and "data" in chunk:
                            audio += chunk["data"]
                            received += len(chunk["data"])
                # edge-tts counts a piece's bytes as complete only on turn.end; a stream that stopped early
                # is otherwise accepted silently and would broadcast a bulletin cut mid-sentence.
                if communicate.state["cumulative_audio_bytes"] != received:
                    raise edge_errors.WebSocketError("stream closed before turn.end")
        finally:
            if connector is not None:
                await connector.release()
        return bytes(audio)

    def _connector(self) -> _EndpointConnector | None:
        """Return a connector to the configured endpoint, or None to let edge-tts reach Microsoft itself."""
        if self._endpoint == _BUILT_IN:
            return None
        scheme, host, port = self._endpoint
        return _EndpointConnector(host, port, tls=scheme == "wss")

    def _explain(self, exc: Exception) -> TtsError:
        """Turn a client failure into a message for commune staff; service outages become TtsUnavailable."""
        if isinstance(exc, aiohttp.ClientResponseError):  # includes a refused websocket handshake
            status = exc.status
            if status == 429:
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                wait = self.pacer.back_off(retry_after, COOL_DOWN_S)
                return TtsUnavailable(
                    f"Microsoft báo đã gọi quá nhiều lần (mã 429); trạm tạm ngừng dùng giọng Edge "
                    f"{wait:.0f} giây."
                )
            if status == 403:
                return TtsUnavailable(
                    "Microsoft từ chối yêu cầu đọc (mã 403): địa chỉ mạng bị chặn "
                    "hoặc thư viện edge-tts đã cũ."
                )
            if status >= 500:
                return TtsUnavailable(
                    f"Máy chủ đọc của Microsoft đang gặp sự cố (mã {status}); hãy thử lại sau."
                )
            return TtsUnavailable(f"Microsoft không nhận yêu cầu đọc (mã {status}).")
        if isinstance(exc, TimeoutError):  # before ClientConnectionError: aiohttp's read timeouts are both
            return TtsUnavailable(
                f"Dịch vụ đọc trực tuyến Microsoft Edge không trả lời trong {self.config.timeout_s:g} giây "
                "(mạng chậm hoặc dịch vụ quá tải)."
            )
        if isinstance(exc, aiohttp.ClientConnectionError):
            return TtsUnavailable(
                "Không kết nối được dịch vụ đọc trực tuyến Microsoft Edge: "
                "trạm mất mạng hoặc địa chỉ bị chặn."
            )
        if isinstance(exc, edge_errors.NoAudioReceived | edge_errors.WebSocketError):
            return TtsUnavailable("Dịch vụ đọc Microsoft Edge ngắt kết nối trước khi gửi đủ âm thanh.")
        if isinstance(exc, edge_errors.SkewAdjustmentError):  # a 403 without a Date to correct the clock by
            return TtsUnavailable("Microsoft từ chối yêu cầu đọc (mã 403); kiểm tra đồng hồ của máy chủ.")
        # Most likely Microsoft changed its protocol: let the fallback chain read instead.
        return TtsUnavailable(f"Dịch vụ đọc Microsoft Edge trả lời không đúng giao thức: {exc}")


def split_pieces(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at a sentence end or else a space."""
    pieces: list[str] = []
    rest = " ".join(text.split())
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind(". "), window.rfind("! "), window.rfind("? "), window.rfind("; "))
        cut = cut + 1 if cut > 0 else window.rfind(" ")
        if cut <= 0:  # one enormous "word": cut it where it must be
            cut = limit
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _run_in_private_loop(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` in a fresh event loop, on a helper thread if this thread already runs one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:  # asyncio.run refuses to nest inside a running loop
        return pool.submit(asyncio.run, coroutine).result()
