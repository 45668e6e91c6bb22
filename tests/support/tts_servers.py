"""Loopback servers speaking Google Translate's batchexecute TTS and Edge's read-aloud websocket protocols.

They answer the real client libraries (gTTS, edge-tts) with real MP3 speech made from the request text by
espeak-ng + ffmpeg, so durations track the text; ``mode`` switches them into the failures the services show.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from edge_tts.constants import TRUSTED_CLIENT_TOKEN
from edge_tts.drm import generate_sec_ms_gec_v2
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from broadcast.audio import ffmpeg_exe
from broadcast.tts import get_engine
from tests.support.free_port import free_port

Mode = Literal["ok", "forbidden", "quota", "error", "truncate", "hang"]
"""ok; 403; 429 (+ Retry-After); 500 / websocket closed with 1011; edge only: audio cut before turn.end;
accept the request and never answer."""

HANG_S = 30.0  # a hanging handler gives up by itself, so a test that forgets its timeout still ends
GOOGLE_PATH = "/_/TranslateWebserverUi/data/batchexecute"
GOOGLE_RPC = "jQ1olc"
EDGE_PATH = "/consumer/speech/synthesize/readaloud/edge/v1"
EDGE_ORIGIN = "chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold"
EDGE_FORMAT = "audio-24khz-48kbitrate-mono-mp3"
EDGE_VOICES = {
    "Microsoft Server Speech Text to Speech Voice (vi-VN, HoaiMyNeural)": "vi-VN-HoaiMyNeural",
    "Microsoft Server Speech Text to Speech Voice (vi-VN, NamMinhNeural)": "vi-VN-NamMinhNeural",
}
_SSML = "{http://www.w3.org/2001/10/synthesis}"


def speech_mp3(text: str, bitrate: str) -> bytes:
    """Return real MP3 speech of ``text`` (espeak-ng + ffmpeg), 24 kHz mono as both services send it."""
    pcm = get_engine("espeak").synthesize(text)
    # Bare frames (no ID3 tag, no Xing header) like both services, so joined chunks decode as one stream.
    options = (
        f"-loglevel error -f s16le -ar {pcm.sample_rate} -ac 1 -i pipe: -ar 24000 -ac 1 -b:a {bitrate} "
        "-write_xing 0 -id3v2_version 0 -f mp3 -"
    )
    command = [ffmpeg_exe(None), *options.split()]
    return subprocess.run(command, input=pcm.samples, capture_output=True, check=True, timeout=30).stdout


@dataclass(frozen=True)
class GoogleRequest:
    """One ≤100-character request as Google would read it."""

    text: str
    lang: str
    slow: bool


def parse_batchexecute(body: str, content_type: str) -> GoogleRequest:
    """Validate a batchexecute TTS form like Google does; raise ValueError (-> 400) when malformed."""
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise ValueError(f"content type {content_type!r}")
    fields = parse_qs(body).get("f.req", [])
    if len(fields) != 1:
        raise ValueError("need exactly one f.req field")
    envelope = json.loads(fields[0])
    if not (isinstance(envelope, list) and len(envelope) == 1 and len(envelope[0]) == 1):
        raise ValueError("f.req is not [[[rpc]]]")
    rpc_id, payload, _, kind = envelope[0][0]
    if rpc_id != GOOGLE_RPC or kind != "generic":
        raise ValueError(f"unknown rpc {rpc_id!r}/{kind!r}")
    text, lang, speed, _ = json.loads(payload)
    if not isinstance(text, str) or not text.strip() or len(text) > 100:
        raise ValueError(f"text must be 1-100 characters, got {text!r}")
    if not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", lang):
        raise ValueError(f"language {lang!r}")
    return GoogleRequest(text=text, lang=lang, slow=speed is True)


def batchexecute_response(mp3: bytes) -> bytes:
    """Return Google's `)]}'`-guarded, length-prefixed response carrying ``mp3`` as base64."""
    inner = json.dumps([base64.b64encode(mp3).decode()])
    row = [["wrb.fr", GOOGLE_RPC, inner, None, None, None, "generic"], ["di", 42], ["af.httprm", 41, "-1", 7]]
    first = json.dumps(row, separators=(",", ":"))
    second = json.dumps([["e", 4, None, None, len(first) + 60]], separators=(",", ":"))
    return f")]}}'\n\n{len(first) + 1}\n{first}\n{len(second) + 1}\n{second}\n".encode()


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    owner: GoogleTranslateTtsServer


class _GoogleHandler(BaseHTTPRequestHandler):
    server: _Httpd

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def do_POST(self) -> None:
        """Answer one batchexecute request according to the owner's mode."""
        owner = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
        if urlsplit(self.path).path != GOOGLE_PATH:
            self._reply(404, b"Not Found")
            return
        try:
            request = parse_batchexecute(body, self.headers.get("Content-Type", ""))
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            owner.rejected.append(str(exc))
            self._reply(400, b"Bad Request")
            return
        owner.requests.append(request)
        statuses = {"forbidden": 403, "quota": 429, "error": 500}
        if owner.mode == "hang":
            owner.stopping.wait(HANG_S)
        elif owner.mode in statuses:
            self._reply(statuses[owner.mode], b"Error", retry_after=owner.retry_after)
        else:
            self._reply(200, batchexecute_response(speech_mp3(request.text, "32k")))

    def _reply(self, status: int, body: bytes, retry_after: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if retry_after and status == 429:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(body)


class GoogleTranslateTtsServer:
    """Google Translate's batchexecute TTS endpoint on 127.0.0.1; ``url`` goes into ``gtts_url``."""

    def __init__(self, mode: Mode = "ok", retry_after: str | None = None) -> None:
        self.mode: Mode = mode
        self.retry_after = retry_after
        self.requests: list[GoogleRequest] = []
        self.rejected: list[str] = []
        self.stopping = threading.Event()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._httpd = _Httpd(("127.0.0.1", self.port), _GoogleHandler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> GoogleTranslateTtsServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class EdgeRequest:
    """One synthesis request as the read-aloud service would read it."""

    text: str
    voice: str
    output_format: str
    request_id: str


def _split_message(message: str | bytes, path: str) -> tuple[dict[str, str], str]:
    """Return the headers and body of a client text message, checking its Path."""
    if not isinstance(message, str):
        raise ValueError("expected a text message")
    head, _, body = message.partition("\r\n\r\n")
    headers = dict(line.split(":", 1) for line in head.split("\r\n"))
    if headers.get("Path") != path or "X-Timestamp" not in headers:
        raise ValueError(f"expected Path:{path} with X-Timestamp, got {head!r}")
    return headers, body


def parse_edge_request(config_message: str | bytes, ssml_message: str | bytes) -> EdgeRequest:
    """Validate the speech.config + ssml messages like the service does; raise ValueError when malformed."""
    _, config_body = _split_message(config_message, "speech.config")
    audio = json.loads(config_body)["context"]["synthesis"]["audio"]
    headers, ssml = _split_message(ssml_message, "ssml")
    if headers.get("Content-Type") != "application/ssml+xml" or not re.fullmatch(
        r"[0-9a-f]{32}", headers.get("X-RequestId", "")
    ):
        raise ValueError(f"bad ssml headers {headers!r}")
    speak = ElementTree.fromstring(ssml)  # noqa: S314 - XML from the client under test, on loopback
    voice = speak.find(f"{_SSML}voice")
    prosody = speak.find(f"{_SSML}voice/{_SSML}prosody")
    if speak.tag != f"{_SSML}speak" or voice is None or prosody is None:
        raise ValueError("ssml is not speak/voice/prosody")
    name = voice.get("name", "")
    if name not in EDGE_VOICES:
        raise ValueError(f"unknown voice {name!r}")
    text = "".join(prosody.itertext())
    if not text.strip():
        raise ValueError("no text to speak")
    return EdgeRequest(text, EDGE_VOICES[name], audio["outputFormat"], headers["X-RequestId"])


def _text_frame(request_id: str, path: str, body: str) -> str:
    head = f"X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}"
    return f"{head}\r\n\r\n{body}"


def _audio_frame(request_id: str, stream_id: str, data: bytes) -> bytes:
    kind = "Content-Type:audio/mpeg\r\n" if data else ""  # the closing frame has no type and no data
    head = f"X-RequestId:{request_id}\r\n{kind}X-StreamId:{stream_id}\r\nPath:audio\r\n".encode()
    return struct.pack(">H", len(head)) + head + data


class EdgeTtsServer:
    """Edge's read-aloud websocket service on 127.0.0.1; ``url`` goes into ``edge_url``."""

    def __init__(self, mode: Mode = "ok", retry_after: str | None = None) -> None:
        self.mode: Mode = mode
        self.retry_after = retry_after
        self.handshakes = 0
        self.requests: list[EdgeRequest] = []
        self.rejected: list[str] = []
        self.stopping = threading.Event()
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> EdgeTtsServer:
        self._server = serve(self._handle, "127.0.0.1", self.port, process_request=self._handshake)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)

    def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        """Check the URL, DRM token and browser headers edge-tts sends; fail the handshake on demand."""
        self.handshakes += 1
        url = urlsplit(request.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        now = time.time()
        tokens = {generate_sec_ms_gec_v2(now + shift) for shift in (-300, 0, 300)}  # 5-minute windows
        problems = [
            url.path != EDGE_PATH and "path",
            query.get("TrustedClientToken") != TRUSTED_CLIENT_TOKEN and "TrustedClientToken",
            not re.fullmatch(r"[0-9a-f]{32}", query.get("ConnectionId", "")) and "ConnectionId",
            not query.get("Sec-MS-GEC-Version", "").startswith(("1-", "2-")) and "Sec-MS-GEC-Version",
            request.headers.get("Origin") != EDGE_ORIGIN and "Origin",
            "muid=" not in request.headers.get("Cookie", "") and "Cookie",
        ]
        if any(problems):
            self.rejected.append(", ".join(p for p in problems if p))
            return connection.respond(400, "Bad Request\n")
        if query.get("Sec-MS-GEC") not in tokens or self.mode == "forbidden":
            return connection.respond(403, "Forbidden\n")
        if self.mode == "quota":
            response = connection.respond(429, "Too Many Requests\n")
            if self.retry_after:
                response.headers["Retry-After"] = self.retry_after
            return response
        return None

    def _handle(self, ws: ServerConnection) -> None:
        """Serve one turn: speech.config + ssml in, turn.start, audio frames, metadata, turn.end out."""
        if self.mode == "hang":
            self.stopping.wait(HANG_S)
            return
        try:
            request = parse_edge_request(ws.recv(timeout=5), ws.recv(timeout=5))
        except (ValueError, KeyError, TimeoutError, ElementTree.ParseError, ConnectionClosed) as exc:
            self.rejected.append(str(exc))
            ws.close(1007, "Invalid request")
            return
        self.requests.append(request)
        if self.mode == "error":
            ws.close(1011, "Internal server error")
            return
        rid, stream_id = request.request_id, uuid.uuid4().hex.upper()
        mp3 = speech_mp3(request.text, "48k")
        chunks = [mp3[i : i + 3000] for i in range(0, len(mp3), 3000)]
        ws.send(_text_frame(rid, "turn.start", '{"context":{"serviceTag":"local"}}'))
        ws.send(_text_frame(rid, "response", '{"context":{"serviceTag":"local"},"audio":{"type":"inline"}}'))
        if self.mode == "truncate":
            ws.send(_audio_frame(rid, stream_id, chunks[0]))
            ws.close(1011, "Internal server error")
            return
        for chunk in chunks:
            ws.send(_audio_frame(rid, stream_id, chunk))
        ticks = len(mp3) * 8 * 10_000_000 // 48_000
        boundary = {"Offset": 500_000, "Duration": ticks, "text": {"Text": escape(request.text)}}
        meta = {"Metadata": [{"Type": "SentenceBoundary", "Data": boundary}]}
        ws.send(_text_frame(rid, "audio.metadata", json.dumps(meta, ensure_ascii=False)))
        ws.send(_audio_frame(rid, stream_id, b""))
        ws.send(_text_frame(rid, "turn.end", "{}"))
