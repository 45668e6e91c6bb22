"""The bulletin form says which voice will read, and how to get a natural one."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import pytest

from broadcast import bulletins
from broadcast.config import Settings
from broadcast.tts.voices import RECOMMENDED_VOICE
from broadcast.web import bulletin_pages
from tests.api.conftest import Api

HINT = re.compile(r'<p class="hint" id="reader">(.*?)</p>', re.S)


def _hint(api: Api) -> str:
    response = api.client.post(
        "/login", data={"name": "canbo", "password": "mat-khau-bien-tap"}, follow_redirects=False
    )
    assert response.status_code == 303
    page = api.client.get("/bulletins")
    assert page.status_code == 200
    match = HINT.search(page.text)
    assert match, page.text
    return " ".join(html.unescape(match.group(1)).split())


def test_the_form_names_the_machine_voice_and_the_command_for_a_natural_one(api: Api) -> None:
    assert _hint(api) == (
        "Giọng đọc: espeak-ng (giọng máy). Để có giọng tự nhiên hơn: chạy "
        f"«broadcast voices install {RECOMMENDED_VOICE}» khi máy có mạng, rồi khởi động lại trạm."
    )


def test_the_form_names_the_natural_voice_when_it_reads(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulletin_pages, "default_reader", lambda _: ("piper", RECOMMENDED_VOICE))
    assert _hint(api) == f"Giọng đọc: Piper «{RECOMMENDED_VOICE}» (giọng tự nhiên)."


def _voice(voices_dir: Path, name: str) -> None:
    voices_dir.mkdir(parents=True, exist_ok=True)
    (voices_dir / f"{name}.onnx").write_bytes(b"\x08model")
    config = {"espeak": {"voice": "vi"}, "language": {"code": "vi_VN"}, "audio": {"sample_rate": 22050}}
    (voices_dir / f"{name}.onnx.json").write_text(json.dumps(config), encoding="utf-8")


def test_the_reader_is_the_voice_that_really_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BROADCAST_TTS_ENGINE", "BROADCAST_TTS_VOICE"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "var"
    assert bulletin_pages.default_reader(Settings(data_dir=data_dir).speech) == ("espeak", "vi")
    # Piper asked for, but no voice installed: espeak-ng reads (the fallback), and the form says so.
    assert bulletin_pages.default_reader(Settings(data_dir=data_dir, tts_engine="piper").speech) == (
        "espeak",
        "",
    )
    _voice(data_dir / "voices", RECOMMENDED_VOICE)
    assert bulletin_pages.default_reader(Settings(data_dir=data_dir).speech) == ("piper", RECOMMENDED_VOICE)
    online = Settings(data_dir=data_dir, tts_engine="edge", tts_voice="vi-VN-HoaiMyNeural").speech
    assert bulletin_pages.default_reader(online) == ("edge", "vi-VN-HoaiMyNeural")


def test_another_engine_chosen_in_the_form_gets_its_own_default_voice(api: Api) -> None:
    speech = api.station.settings.model_copy(
        update={"tts_engine": "piper", "tts_voice": RECOMMENDED_VOICE}
    ).speech
    draft = bulletins.BulletinDraft("Họp", "Họp dân lúc 8 giờ.", "normal", ["thon-1"], "espeak", "")
    with api.station.db.session() as session:
        chosen = bulletins.validate_draft(session, draft, speech, api.station.settings.limits)
        default = bulletins.validate_draft(
            session, dataclasses.replace(draft, engine=""), speech, api.station.settings.limits
        )
    assert (chosen.engine, chosen.voice) == ("espeak", "")  # not a Piper voice name handed to espeak-ng
    assert (default.engine, default.voice) == ("piper", RECOMMENDED_VOICE)
