"""Backup and restore of a year of one commune's bulletins: time and size, full and incremental; prints JSON.

The year: --per-day bulletins a day (default 4) for --days days (365), each with its own clip, texts cut
from the real Vietnamese articles in /work/shared/corpus (title + 400–1,800 characters). Each clip lasts as
long as a reader takes over its text (~14 characters a second, the pace tests/integration/test_spine.py
checks) and has the size the station's MP3 encoder gives that duration (48 kbit/s mono: 6,000 bytes a
second); its bytes are random after an ID3 header: MP3 audio does not compress either, and encoding 1,460
real clips would take this machine an hour for no difference in what a backup copies. Around them: the
signed command and the slot of each play, a play report per loudspeaker (--devices, default 20) per
bulletin, an audit entry per bulletin, the station's keys.

Then, with the station's own code (`run_backup`, `restore_backup`, as `broadcast backup/restore` run them)
to a directory destination: a full backup; one more day's bulletins and an incremental backup (clips
already at the destination are not copied again); a restore of the newest into a new data directory.
SQLite by default; --database postgresql+psycopg://... (an empty database) for PostgreSQL (pg_dump).

Usage: python -m bench.backup_year [--days N] [--per-day N] [--devices N] [--database URL] [--keep-dir]
Written to bench/results/backup_year[_postgresql].json as well as stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from broadcast.backup import open_destination, restore_backup, run_backup
from broadcast.clipstore.store import LocalClipStore
from broadcast.config import Settings
from broadcast.people import accounts, audit
from broadcast.protocol.base import ClipRef
from broadcast.protocol.commands import PlayCommand
from broadcast.signing import commands
from broadcast.signing.keys import StationKeys
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Bulletin, Clip, Play, Slot, SlotItem

CORPUS = Path("/work/shared/corpus")
RESULTS = Path(__file__).resolve().parent / "results"
BYTES_PER_S = 6000  # 48 kbit/s mono MP3, the station's encoder (broadcast/audio/clip.py)
CHARS_PER_S = 14.0
PASSPHRASE = "trâu vàng đồng lúa 2026"  # noqa: S105 (a benchmark's throwaway backups)
ZONES = ["thon-1", "thon-2", "thon-3"]


def _texts() -> list[str]:
    return " ".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))).split()


def _bulletin_text(words: list[str], rng: random.Random) -> tuple[str, str]:
    length = rng.randint(60, 300)  # words: 400–1,800 characters
    start = rng.randrange(0, max(1, len(words) - length))
    body = " ".join(words[start : start + length])
    return " ".join(body.split()[:10])[:200], body


def add_day(
    db: Database, store: LocalClipStore, key: bytes, day: datetime, per_day: int, devices: int,
    rng: random.Random, words: list[str], author: int,
) -> int:  # fmt: skip
    """Add one day's bulletins (clip, bulletin, slot, signed command, plays, audit); return clip bytes."""
    total = 0
    with db.session() as session:
        for n in range(per_day):
            title, text = _bulletin_text(words, rng)
            duration = round(len(text) / CHARS_PER_S, 1)
            data = b"ID3\x04\x00\x00\x00\x00\x00\x00" + rng.randbytes(int(duration * BYTES_PER_S))
            sha = store.put(data)
            total += len(data)
            at = day + timedelta(hours=6 + 5 * n)
            session.add(
                Clip(sha256=sha, size=len(data), duration_s=duration, loudness_lufs=-16.0, created_at=at)
            )
            session.flush()  # the bulletin refers to it (no ORM relationship orders the inserts)
            bulletin = Bulletin(
                title=title, text=text, spoken_text=text.lower(), priority="normal", zones=ZONES,
                status="ready", clip_sha256=sha, engine="espeak", voice="vi", created_by=author,
                created_at=at - timedelta(hours=2), approved_by=author, approved_at=at - timedelta(hours=1),
            )  # fmt: skip
            session.add(bulletin)
            session.flush()
            slot = Slot(zones=ZONES, start_at=at, title=title, active=False, created_by=author, created_at=at)
            session.add(slot)
            session.flush()
            session.add(SlotItem(slot_id=slot.id, position=0, kind="bulletin", bulletin_id=bulletin.id))
            ref = ClipRef(f"http://10.0.0.5:8080/clips/{sha}.mp3", sha, len(data), duration)
            body = PlayCommand(
                str(uuid.uuid4()), commands.next_seq(session), at.timestamp() - 3600, at.timestamp() + 3600,
                at.timestamp(), "normal", tuple(ZONES), ref, title=title, bulletin_id=bulletin.id,
            ).to_body()  # fmt: skip
            commands.store_signed(session, body, key, start_at=at, slot_id=slot.id, bulletin_id=bulletin.id)
            for d in range(devices):
                session.add(
                    Play(
                        device_id=f"loa-{d:02d}", command_id=body["id"], bulletin_id=bulletin.id,
                        clip_sha256=sha, started_at=at, duration_s=duration,
                    )
                )  # fmt: skip
            audit.record(session, "canbo", "bulletin.approve", f"bulletin:{bulletin.id}", "10.0.0.7")
    return total


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=4)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--database", default="", help="an empty PostgreSQL database URL (default SQLite)")
    parser.add_argument("--restore-database", default="", help="another empty one, for the restore")
    parser.add_argument("--keep-dir", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="backup-year-"))
    try:
        result = run(root, args)
    finally:
        if not args.keep_dir:
            shutil.rmtree(root, ignore_errors=True)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    name = "backup_year_postgresql.json" if args.database else "backup_year.json"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(text + "\n", encoding="utf-8")


def run(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(2026)
    words = _texts()
    settings = Settings(data_dir=root / "station", database_url=args.database or None)
    settings.data_dir.mkdir(parents=True)
    migrate(settings.database)
    key = StationKeys(settings.secrets_dir).signing_key_raw()
    StationKeys(settings.secrets_dir).broker_password()
    store = LocalClipStore(settings.clips_dir)
    db = Database(settings.database)
    started = time.perf_counter()
    first = datetime(2025, 12, 1, tzinfo=UTC)
    with db.session() as session:
        author = accounts.add_user(session, "canbo", "editor", "Cot-loa-ben-song-Hong-2026").id
    clip_bytes = sum(
        add_day(db, store, key, first + timedelta(days=d), args.per_day, args.devices, rng, words, author)
        for d in range(args.days)
    )
    generated_s = time.perf_counter() - started
    dest_dir = root / "usb"
    # The baseline, in the same run on the same disk: a plain copy of the data dir (no snapshot, no
    # encryption, no checksums), what `cp -r var /media/usb` would cost.
    began = time.perf_counter()
    shutil.copytree(settings.data_dir, root / "plain-copy")
    plain_copy_s = time.perf_counter() - began
    shutil.rmtree(root / "plain-copy")
    dest = open_destination(str(dest_dir), settings)
    full = run_backup(settings, dest, PASSPHRASE)
    full_size = _size(dest_dir)
    day_bytes = add_day(
        db, store, key, first + timedelta(days=args.days), args.per_day, args.devices, rng, words, author
    )
    db.dispose()
    time.sleep(1.1)  # backup ids are whole seconds
    incremental = run_backup(settings, dest, PASSPHRASE)
    target = Settings(data_dir=root / "restored", database_url=args.restore_database or None)
    began = time.perf_counter()
    restored = restore_backup(target, dest, PASSPHRASE)
    restore_s = time.perf_counter() - began
    db_file = settings.data_dir / "broadcast.db"
    return {
        "what": "backup and restore of a year of one commune's bulletins (directory destination)",
        "database": "postgresql" if args.database else "sqlite",
        "days": args.days,
        "bulletins": args.days * args.per_day,
        "devices": args.devices,
        "plays": args.days * args.per_day * args.devices,
        "clips_bytes": clip_bytes,
        "database_bytes": db_file.stat().st_size if db_file.exists() else None,
        "generate_s": round(generated_s, 1),
        "plain_copy_baseline_s": round(plain_copy_s, 2),
        "full": {
            "seconds": round(full.seconds, 2),
            "bytes_written": full.bytes_written,
            "new_clips": full.new_clips,
            "destination_bytes": full_size,
        },
        "incremental_after_one_day": {
            "new_bulletins": args.per_day,
            "new_clip_bytes": day_bytes,
            "seconds": round(incremental.seconds, 2),
            "bytes_written": incremental.bytes_written,
            "new_clips": incremental.new_clips,
            "reused_clips": incremental.reused_clips,
            "destination_bytes": _size(dest_dir),
        },
        "restore": {"seconds": round(restore_s, 2), "backup_id": restored.manifest.backup_id},
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
    }


if __name__ == "__main__":
    main()
