"""First run on a fresh machine: one admin with a random password, a demo zone and agent, then serve."""

from __future__ import annotations

import os
import secrets
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
from edge_agent.config import ConfigError, load_config

DEMO_DEVICE = "loa-demo"
DEMO_ZONE = "thon-1"


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
