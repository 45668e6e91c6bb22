"""First run on a fresh machine: the best voice the machine can have, one admin with a random password, a
demo zone and agent, then serve."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from broadcast import bulletins
from broadcast.bulletins.samples import parse_bulletin_file, sample_files
from broadcast.clipstore import open_clip_storage
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.mqtt.setup import agent_broker
from broadcast.people import accounts, audit
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Bulletin, Device, User
from broadcast.tts.voices import RECOMMENDED_VOICE, natural_voice, remove_partial_install
from edge_agent.config import ConfigError, load_config

DEMO_DEVICE = "loa-demo"
DEMO_ZONE = "thon-1"
SKIP_VOICE_ENV = "BROADCAST_SKIP_VOICE_INSTALL"
VOICE_BUDGET_S = 60.0
"""The longest a start waits for the natural voice (~63 MB): then it goes on with espeak-ng."""
MIN_FREE_BYTES = 256 * 1024 * 1024
"""Free space a voice install needs: the model, and room left on an SD card for the database and clips."""
ESPEAK_NOTE = (
    "Trạm vẫn chạy, đọc bản tin bằng espeak-ng (giọng máy). Để có giọng tự nhiên hơn: khi máy có mạng, "
    f"chạy «broadcast voices install {RECOMMENDED_VOICE}» rồi khởi động lại trạm."
)


def install_natural_voice(settings: Settings, budget_s: float = VOICE_BUDGET_S) -> Settings:
    """Install the recommended Vietnamese Piper voice if none is, and return the settings to serve with.

    Never fails and never waits more than ``budget_s`` (+5 s to stop): without network, with the mirror down
    or the disk full it says why and keeps espeak-ng. ``BROADCAST_SKIP_VOICE_INSTALL=1`` skips it (tests,
    CI, a station that must not download). An installed voice is the default from then on (config.py).
    """
    chosen = {"tts_engine", "tts_voice"} & settings.model_fields_set
    if natural_voice(settings.voices_dir) is not None or (chosen and settings.tts_engine != "piper"):
        return settings  # a natural voice is there already, or the operator chose the engine
    if os.environ.get(SKIP_VOICE_ENV, "").strip() not in ("", "0"):
        print(f"Bỏ qua cài giọng đọc tự nhiên ({SKIP_VOICE_ENV}). {ESPEAK_NOTE}", flush=True)
        return settings
    print(f"Đang cài giọng đọc tự nhiên {RECOMMENDED_VOICE} (tối đa {budget_s:g} giây)...", flush=True)
    reason = _install(settings, budget_s)
    if reason is not None or natural_voice(settings.voices_dir) is None:
        why = reason or "giọng tải về không phải tiếng Việt"
        print(f"Không cài được giọng đọc tự nhiên: {why}. {ESPEAK_NOTE}", flush=True)
        return settings
    print(f"Từ nay trạm đọc bản tin bằng giọng tự nhiên {RECOMMENDED_VOICE} (Piper).", flush=True)
    return settings if chosen else settings.model_copy(update={"tts_engine": "piper", "tts_voice": ""})


def _install(settings: Settings, budget_s: float) -> str | None:
    """Run `broadcast voices install` in a child process bounded by ``budget_s``; return why it failed."""
    try:
        settings.voices_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(settings.voices_dir).free
    except OSError as exc:
        return f"không ghi được vào {settings.voices_dir}: {exc.strerror or exc}"
    if free < MIN_FREE_BYTES:
        return f"ổ đĩa chỉ còn {free // 2**20} MB trống, cần {MIN_FREE_BYTES // 2**20} MB"
    env = {
        **os.environ,
        "BROADCAST_DATA_DIR": str(settings.data_dir.resolve()),
        "BROADCAST_VOICES_MIRROR": settings.voices_mirror,
        "BROADCAST_TTS_TIMEOUT_S": str(settings.tts_timeout_s),  # per connect or read; budget_s bounds all
    }
    command = [sys.executable, "-m", "broadcast.cli", "voices", "install", RECOMMENDED_VOICE]
    try:
        child = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)  # its progress and errors show
    except OSError as exc:
        return f"không chạy được lệnh cài giọng: {exc.strerror or exc}"
    try:
        code = child.wait(timeout=budget_s)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGINT)  # the install stops cleanly and deletes its partial files
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            # Killed before it could delete its partial files (a loaded machine): they are ours to remove.
            remove_partial_install(settings.voices_dir, RECOMMENDED_VOICE)
        return f"quá {budget_s:g} giây (mạng chậm hoặc không trả lời)"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if code != 0:
        return "xem lỗi ở dòng trên (không có mạng, máy chủ giọng đọc không trả lời, hay tệp tải về hỏng)"
    return None


def first_run_setup(settings: Settings) -> Path | None:
    """Create the first admin (random password, printed once) and a demo agent; return its config."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database)
    db = Database(settings.database)
    demo_dir = (settings.data_dir / "demo-agent").resolve()
    config = demo_dir / "agent.toml"
    try:
        with db.session() as session:
            if not session.scalar(select(func.count()).select_from(User)):
                password = secrets.token_urlsafe(12)
                accounts.add_user(session, "admin", "admin", password)
                audit.record(session, "quickstart", "user.add", "user:admin", "cli", role="admin")
                note = settings.secrets_dir / "first-admin.txt"
                note.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(f"admin {password}\n")
                print(f"Tài khoản quản trị đầu tiên: admin / {password}  (đã lưu ở {note})", flush=True)
            demo = session.get(Device, DEMO_DEVICE)
            if demo is None or (not demo.revoked and _outdated(config, settings)):
                demo_dir.mkdir(parents=True, exist_ok=True)
                enrolment = devices.add_device(
                    session,
                    settings.broker,
                    DEMO_DEVICE,
                    DEMO_ZONE,
                    Path("state"),
                    "file:plays",
                    "quickstart",
                    replace=demo is not None,  # e.g. a data dir from before the broker spoke TLS
                )
                fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(enrolment.agent_toml)
            empty = not session.scalar(select(func.count()).select_from(Bulletin))
        if empty:  # read aloud after the accounts are stored, with no transaction open
            _load_samples(db, settings)
    finally:
        db.dispose()
    return config if config.exists() else None


def _outdated(config: Path, settings: Settings) -> bool:
    """Return True if the demo agent's config is missing or points at another broker than the station's."""
    try:
        agent = load_config(config)
    except ConfigError:
        return True
    broker = agent_broker(settings.broker)
    have = (agent.mqtt_host, agent.mqtt_port, agent.mqtt_tls, agent.mqtt_ca_pem)
    return have != (broker.host, broker.port, broker.tls, broker.ca_pem)


def _load_samples(db: Database, settings: Settings) -> None:
    """Add the sample bulletins as drafts so a newcomer has something to listen to and approve."""
    with db.session() as session:
        admin = session.scalar(select(User).where(User.role == "admin"))
    if admin is None:
        return
    author = accounts.Principal(admin.id, admin.name, admin.role)
    clips = open_clip_storage(settings.clip_storage)
    for path in sample_files():
        draft = parse_bulletin_file(path.read_text(encoding="utf-8"))
        bulletins.create_bulletin(db, clips, settings.speech, settings.limits, author, draft, "quickstart")
        print(f"Đã thêm bản tin mẫu: {draft.title}", flush=True)


def start_demo_agent(config: Path) -> subprocess.Popen[bytes]:
    """Start the demo edge agent (file sink under the data dir) as a child process."""
    log = (config.parent / "agent.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "--config", str(config)], stdout=log, stderr=log
    )
