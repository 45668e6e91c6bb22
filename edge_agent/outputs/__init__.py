"""Speaker outputs: the Output interface, the file sink, ALSA, and parse_output to pick one."""

from __future__ import annotations

from pathlib import Path

from edge_agent.outputs.base import AlertPart, Output, OutputError, PlayRequest

__all__ = ["AlertPart", "Output", "OutputError", "PlayRequest", "parse_output"]


def parse_output(spec: str, *, ffmpeg: str = "", device: str = "") -> Output:
    """Return the output named by spec: "file:DIR", or "alsa" on device (raises OutputError if unusable)."""
    if spec.startswith("file:") and spec != "file:":
        from edge_agent.outputs.file import FileSink

        return FileSink(Path(spec.removeprefix("file:")), ffmpeg=ffmpeg)
    if spec == "alsa":
        from edge_agent.outputs.alsa import AlsaOutput

        return AlsaOutput(ffmpeg=ffmpeg, device=device)
    raise OutputError(f"unknown output {spec!r}: use file:DIR or alsa")
