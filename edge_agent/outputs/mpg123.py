"""mpg123, the outputs' one adapter for it: decode an MP3 clip to the PCM aplay plays.

On the Pi a clip is decoded by mpg123 when it is installed: Debian's mpg123 is well under a megabyte with
its libraries, where ffmpeg brings hundreds (bench/decoder_cost.py compares their CPU and memory too).
ffmpeg is then needed only to relay live streams. The PCM is exactly ffmpeg's clip decode: signed 16-bit
little-endian mono at SAMPLE_RATE (mpg123 resamples a clip of another rate; its "-e s16" is the host's
byte order, little-endian on every Raspberry Pi OS). Every mpg123 process the agent runs is started here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edge_agent.outputs.ffmpeg import SAMPLE_RATE

_ID3 = b"ID3"


def find_mpg123(name: str = "mpg123") -> str | None:
    """Return the mpg123 executable, or None if it is not installed (ffmpeg then decodes clips)."""
    return shutil.which(name)


def is_mpeg_audio(head: bytes) -> bool:
    """Return True if a file starting with `head` is MP3 (ID3 tag or an MPEG audio frame header).

    mpg123 turns anything else into silence and still exits 0, so only MP3 is given to it: the station's
    clips are MP3; the agent's own test tone is a WAV.
    """
    if head.startswith(_ID3):
        return True
    # 11 sync bits, then a version and a layer that are not "reserved" (as the station's upload sniffer).
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
        return version != 1 and layer != 0
    return False


def decode_command(mpg123: str, clip: Path) -> list[str]:
    """Return the mpg123 command that writes the clip as s16le mono PCM at SAMPLE_RATE to stdout."""
    # -q: no banner or progress; --no-control: never read the terminal (it has none under systemd).
    return [mpg123, "-q", "--no-control", "-m", "-r", str(SAMPLE_RATE), "-e", "s16", "-s", str(clip)]


def start_clip_decoder(mpg123: str, clip: Path) -> subprocess.Popen[bytes]:
    """Start decoding the clip: PCM on the process's stdout pipe, complaints on its stderr pipe."""
    return subprocess.Popen(
        decode_command(mpg123, clip), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
