"""The `broadcast voices` commands: install an offline voice (mirror, URL or USB copy) and list them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from broadcast.config import Settings
from broadcast.tts.base import EngineConfig
from broadcast.tts.voices import RECOMMENDED_VOICE, install_voice, list_voices


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``voices install`` and ``voices list`` to the ``broadcast`` command."""
    voices = subparsers.add_parser("voices", help="offline voices (Piper)").add_subparsers(
        dest="voices_command", required=True
    )
    install = voices.add_parser("install", help="download (or copy) a voice, check it, install it")
    install.add_argument("name", help=f"voice name, e.g. {RECOMMENDED_VOICE}")
    install.add_argument(
        "--from", dest="source", metavar="URL|PATH", help="URL or folder/USB copy (default: the mirror)"
    )
    install.add_argument("--sha256", metavar="HEX", help="expected sha256 of the .onnx model")
    install.add_argument(
        "--espeak-voice", metavar="VOICE", help="read with this espeak-ng phonemiser voice instead (e.g. vi)"
    )
    install.set_defaults(func=cmd_voices_install)
    listing = voices.add_parser("list", help="show installed voices")
    listing.set_defaults(func=cmd_voices_list)


def voices_dir(settings: Settings) -> Path:
    """Return the folder the Piper engine loads voices from."""
    return EngineConfig(data_dir=settings.data_dir).voices_dir


def cmd_voices_install(args: argparse.Namespace, settings: Settings) -> int:
    """Install voice ``args.name`` into the data dir's voices folder."""
    shown = -1

    def progress(done: int, total: int | None) -> None:
        nonlocal shown
        if total and sys.stderr.isatty() and (percent := done * 100 // total) != shown:
            shown = percent
            print(f"\rĐang tải {args.name}: {percent} %", end="", file=sys.stderr, flush=True)

    try:
        voice = install_voice(
            args.name,
            voices_dir=voices_dir(settings),
            mirror=settings.voices_mirror,  # BROADCAST_VOICES_MIRROR
            source=args.source,
            sha256=args.sha256,
            espeak_voice=args.espeak_voice,
            timeout_s=settings.tts_timeout_s,
            progress=progress,
        )
    except KeyboardInterrupt:  # Ctrl+C, or quickstart's time limit: the partial files are already gone
        if shown >= 0:
            print(file=sys.stderr)  # end the progress line
            shown = -1
        print(f"Đã dừng cài giọng {args.name}; chưa có gì thay đổi.", file=sys.stderr)
        return 130
    finally:
        if shown >= 0:
            print(file=sys.stderr)
    print(
        f"Đã cài giọng {voice.name} ({voice.language}, {voice.sample_rate} Hz, "
        f"{voice.size / 1e6:.1f} MB, sha256 {voice.sha256})."
    )
    return 0


def cmd_voices_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print one line per installed voice."""
    folder = voices_dir(settings)
    voices = list_voices(folder)
    if not voices:
        print(f"Chưa cài giọng nào trong {folder}.")
        print(f"Cài giọng tiếng Việt: broadcast voices install {RECOMMENDED_VOICE}")
        return 0
    width = max(len(voice.name) for voice in voices)
    for voice in voices:
        phonemes = f"  (đọc theo espeak «{voice.espeak_voice}»)" if voice.espeak_voice else ""
        print(
            f"{voice.name:<{width}}  {voice.language:<6} {voice.sample_rate:>5} Hz  "
            f"{voice.size / 1e6:>6.1f} MB  sha256 {voice.sha256}{phonemes}"
        )
    return 0
