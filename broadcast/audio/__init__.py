"""Audio: the clip pipeline (chime + speech -> loudness-normalised mono MP3) and the one ffmpeg adapter.

`ffmpeg.py` is the only module of the station that runs ffmpeg; `clip.py` makes broadcast clips with it.
The names below are the package's face for `from broadcast.audio import ...` callers.
"""

from broadcast.audio.base import SAMPLE_WIDTH, AudioError, DecodedRecording, EncodedClip, PcmAudio
from broadcast.audio.clip import assemble, chime, decode_duration, measure_loudness, render_clip
from broadcast.audio.ffmpeg import Mp3Recorder, analyse, binary_identity, decode_recording, ffmpeg_exe

__all__ = [
    "SAMPLE_WIDTH",
    "AudioError",
    "DecodedRecording",
    "EncodedClip",
    "Mp3Recorder",
    "PcmAudio",
    "analyse",
    "assemble",
    "binary_identity",
    "chime",
    "decode_duration",
    "decode_recording",
    "ffmpeg_exe",
    "measure_loudness",
    "render_clip",
]
