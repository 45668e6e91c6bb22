"""Install and list offline Piper voices: ``<name>.onnx`` + ``<name>.onnx.json`` in the voices directory.

A voice comes from the configured mirror (Piper's voice-repository layout), from a URL, or from a local copy
(a USB stick). Files are downloaded next to their final place, checked, then renamed, so a power cut or a bad
link never leaves a half-written voice that the engine would try to load. Each installed voice also gets a
small ``<name>.install.json`` recording its checksum, its source and an optional espeak-ng voice override.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from broadcast.tts.base import TtsError

RECOMMENDED_VOICE = "vi_VN-vais1000-medium"
"""The Vietnamese Piper voice the station suggests and `quickstart` installs. Of the three in Piper's
repository it is the one "medium" voice: 22.05 kHz from one speaker (the VAIS-1000 corpus). The others:
vi_VN-25hours_single-low (one speaker, more hours, but 16 kHz "low") and vi_VN-vivos-x_low (the smallest
model, trained on 65 speakers of a speech-recognition corpus, few minutes each). On a horn speaker one
clear, steady voice matters most. Not measured here: the word-error benchmark compares every installed
voice."""

QUALITIES = ("x_low", "low", "medium", "high")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
_LANG_REGION = re.compile(r"[a-z]{2,3}_[A-Z]{2}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_ESPEAK_VOICE = re.compile(r"[A-Za-z0-9_+-]{1,40}")
_CHUNK = 1 << 20
_STALE_PART_S = 3600.0  # a .part file this old belongs to an install that died (power cut), not a running one
_REQUIRED_KEYS = ("num_symbols", "num_speakers", "phoneme_id_map")

_log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
"""Called with (bytes copied so far, total bytes or None) while a model file is fetched."""


class VoiceInstallError(TtsError):
    """A voice could not be installed; the message tells the operator what to do."""


@dataclass(frozen=True)
class InstalledVoice:
    """A Piper voice ready for the engine."""

    name: str
    language: str  # the model's language code, e.g. vi_VN
    espeak_voice: str  # the phonemiser voice actually used (after any override)
    sample_rate: int
    size: int  # bytes of the .onnx model
    sha256: str  # of the .onnx model
    model_path: Path

    @property
    def vietnamese(self) -> bool:
        """Return whether the voice reads Vietnamese (its own language or an overridden phonemiser)."""
        return _is_vietnamese(self.language, self.espeak_voice)


def mirror_path(name: str) -> str:
    """Return ``name``'s place in Piper's voice repository, e.g. vi/vi_VN/vais1000/medium/NAME.onnx."""
    parts = name.split("-")
    if len(parts) < 3 or not _LANG_REGION.fullmatch(parts[0]) or parts[-1] not in QUALITIES:
        raise VoiceInstallError(
            f"Tên giọng «{name}» không theo mẫu ngôn-ngữ_VÙNG-bộ-dữ-liệu-chất-lượng "
            f"(ví dụ {RECOMMENDED_VOICE}); hãy chỉ rõ nguồn bằng --from URL hoặc thư mục."
        )
    lang_region, dataset, quality = parts[0], "-".join(parts[1:-1]), parts[-1]
    return f"{lang_region.split('_')[0]}/{lang_region}/{dataset}/{quality}/{name}.onnx"


def install_voice(
    name: str,
    *,
    voices_dir: Path,
    mirror: str,
    source: str | None = None,
    sha256: str | None = None,
    espeak_voice: str | None = None,
    timeout_s: float = 20.0,
    progress: Progress | None = None,
) -> InstalledVoice:
    """Fetch voice ``name`` from ``source`` (URL or path; default the mirror), check it, install atomically.

    ``sha256`` is the checksum of the .onnx model; when the installed model already has it, nothing is
    fetched. ``espeak_voice`` overrides the phonemiser voice of the model's config (e.g. ``vi``).
    """
    _check_arguments(name, sha256, espeak_voice)
    voices_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(voices_dir, name)
    expected = sha256.lower() if sha256 else None
    if expected is not None:
        current = _installed(voices_dir, name)
        if current is not None and current.sha256 == expected and _override(voices_dir, name) == espeak_voice:
            return current  # already there: a re-run over a slow 3G link should not download 60 MB again
    model_src, config_src = _sources(name, mirror, source)
    with _part(voices_dir, name, ".onnx") as model_part, _part(voices_dir, name, ".onnx.json") as config_part:
        digest, size = _fetch(model_src, model_part, timeout_s, name, progress)
        if expected is not None and digest != expected:
            raise VoiceInstallError(
                f"Mã kiểm tra sha256 của {name}.onnx không khớp: cần {expected}, tệp nhận được có {digest}. "
                "Tệp tải về đã bị bỏ; kiểm tra lại nguồn hoặc mã sha256."
            )
        _check_model(model_part, size, model_src)
        _fetch(config_src, config_part, timeout_s, name, None)
        _check_config(config_part, config_src)
        record = {
            "name": name,
            "sha256": digest,
            "size": size,
            "source": str(model_src),
            "espeak_voice": espeak_voice,
            "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with _part(voices_dir, name, ".install.json") as record_part:
            record_part.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            _fsync(record_part)
            # The model goes last: a voice counts as installed once its .onnx exists, so it appears whole.
            os.replace(record_part, _record_path(voices_dir, name))
            os.replace(config_part, voices_dir / f"{name}.onnx.json")
            os.replace(model_part, voices_dir / f"{name}.onnx")
    _fsync(voices_dir)
    installed = _installed(voices_dir, name)
    if installed is None:  # pragma: no cover - we just wrote both files
        raise VoiceInstallError(f"Cài giọng {name} không thành công.")
    return installed


def list_voices(voices_dir: Path) -> list[InstalledVoice]:
    """Return the installed voices, Vietnamese first, then by name."""
    found = (_installed(voices_dir, name) for name in _names(voices_dir))
    return sorted((voice for voice in found if voice is not None), key=lambda v: (not v.vietnamese, v.name))


def voice_names(voices_dir: Path) -> list[str]:
    """Return installed voice names, Vietnamese first (the recommended one leading), without hashing any
    model (cheap, for the engine: its first name is Piper's default voice)."""
    return [name for _, name in _ranked(voices_dir)]


def natural_voice(voices_dir: Path) -> str | None:
    """Return the Vietnamese voice Piper reads with by default, or None when none is installed."""
    ranked = _ranked(voices_dir)
    if not ranked:
        return None
    (foreign, _), name = ranked[0]
    return None if foreign else name


def _ranked(voices_dir: Path) -> list[tuple[tuple[bool, bool], str]]:
    """Return ((not Vietnamese, not the recommended voice), name) of each readable voice, best first."""
    entries = []
    for name in _names(voices_dir):
        try:
            config = voice_config(voices_dir, name)
        except VoiceInstallError:
            continue
        foreign = not _is_vietnamese(_language(config, name), _espeak_voice(config))
        entries.append(((foreign, name != RECOMMENDED_VOICE), name))
    return sorted(entries)


def voice_config(voices_dir: Path, name: str) -> dict[str, Any]:
    """Return the Piper config of installed voice ``name`` with the station's espeak override applied."""
    path = voices_dir / f"{name}.onnx.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VoiceInstallError(f"Không đọc được cấu hình giọng {path}: {exc}.") from exc
    if not isinstance(config, dict):
        raise VoiceInstallError(f"Cấu hình giọng {path} không hợp lệ.")
    override = _override(voices_dir, name)
    if override:
        espeak = config.get("espeak")
        config["espeak"] = {**(espeak if isinstance(espeak, dict) else {}), "voice": override}
    return config


def _check_arguments(name: str, sha256: str | None, espeak_voice: str | None) -> None:
    """Refuse names that are not plain file names and malformed checksums before touching anything."""
    if not _NAME.fullmatch(name) or name.endswith((".onnx", ".json")):
        raise VoiceInstallError(f"Tên giọng «{name}» không hợp lệ: chỉ dùng chữ, số, dấu gạch và dấu chấm.")
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        raise VoiceInstallError("Mã sha256 phải gồm đúng 64 chữ số thập lục phân (0-9, a-f).")
    if espeak_voice is not None and not _ESPEAK_VOICE.fullmatch(espeak_voice):
        raise VoiceInstallError(f"Tên giọng espeak «{espeak_voice}» không hợp lệ.")


def _is_url(source: str) -> bool:
    """Return whether ``source`` is an http(s) URL rather than a local path."""
    return urllib.parse.urlsplit(source).scheme in ("http", "https")


def _sources(name: str, mirror: str, source: str | None) -> tuple[str | Path, str | Path]:
    """Return where the model and its config come from."""
    if source is None:
        model_url = f"{mirror.rstrip('/')}/{mirror_path(name)}"
        return model_url, model_url + ".json"
    if _is_url(source):
        parts = urllib.parse.urlsplit(source)
        path = parts.path if parts.path.endswith(".onnx") else f"{parts.path.rstrip('/')}/{name}.onnx"
        return parts._replace(path=path).geturl(), parts._replace(path=path + ".json").geturl()
    where = Path(source).expanduser()
    if where.is_dir():
        candidates = [where / f"{name}.onnx"]
        with contextlib.suppress(VoiceInstallError):
            candidates.append(where / mirror_path(name))  # a USB copy of the whole voice repository
        model = next((path for path in candidates if path.is_file()), None)
        if model is None:
            raise VoiceInstallError(f"Không thấy tệp {name}.onnx trong thư mục {where}.")
    elif where.is_file():
        model = where
    else:
        raise VoiceInstallError(f"Không thấy {where}: cần thư mục chứa {name}.onnx và {name}.onnx.json.")
    config = model.with_name(model.name + ".json")
    if not config.is_file():
        raise VoiceInstallError(f"Thiếu tệp cấu hình {config} đi kèm mô hình {model.name}.")
    return model, config


@contextlib.contextmanager
def _part(voices_dir: Path, name: str, suffix: str) -> Iterator[Path]:
    """Yield a temporary file beside the final one (same file system: rename is atomic); remove it on exit."""
    fd, raw = tempfile.mkstemp(dir=voices_dir, prefix=f".{name}{suffix}.", suffix=".part")
    os.close(fd)
    path = Path(raw)
    path.chmod(0o644)  # mkstemp makes it 0600; the station may run as another user than the installer
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _remove_stale_parts(voices_dir: Path, name: str, older_than_s: float = _STALE_PART_S) -> None:
    """Delete leftovers of an interrupted install of ``name``: tens of MB that an SD card cannot spare."""
    cutoff = time.time() - older_than_s
    for leftover in voices_dir.glob(f".{name}.*.part"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime <= cutoff:
                leftover.unlink()


def remove_partial_install(voices_dir: Path, name: str) -> None:
    """Delete every partial file of ``name``: its installer was killed and cannot clean up itself."""
    _remove_stale_parts(voices_dir, name, older_than_s=-60.0)


def _fetch(
    source: str | Path, dest: Path, timeout_s: float, name: str, progress: Progress | None
) -> tuple[str, int]:
    """Copy ``source`` into ``dest``; return its sha256 and size."""
    if isinstance(source, Path):
        try:
            with source.open("rb") as reader:
                return _copy(reader, dest, source.stat().st_size, progress)
        except OSError as exc:
            raise VoiceInstallError(f"Không đọc được {source}: {exc.strerror or exc}.") from exc
    request = urllib.request.Request(source, headers={"User-Agent": "loa-xa voices"})  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only
            length = response.headers.get("Content-Length")
            return _copy(response, dest, int(length) if length and length.isdigit() else None, progress)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise VoiceInstallError(
                f"Không tìm thấy tệp giọng đọc tại {source} (HTTP 404): kiểm tra tên giọng «{name}» "
                "và địa chỉ máy chủ chứa giọng đọc."
            ) from exc
        raise VoiceInstallError(f"Máy chủ trả lỗi HTTP {exc.code} khi tải {source}.") from exc
    except (TimeoutError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
            raise VoiceInstallError(
                f"Hết thời gian chờ ({timeout_s:g} giây) khi tải {source}: mạng chậm hoặc mất kết nối; "
                "hãy thử lại, hoặc chép giọng đọc từ USB với --from THƯ_MỤC."
            ) from exc
        raise VoiceInstallError(
            f"Không kết nối được tới {urllib.parse.urlsplit(source).netloc} ({reason}); "
            "máy không có mạng thì chép giọng đọc từ USB với --from THƯ_MỤC."
        ) from exc
    except OSError as exc:  # connection reset mid-download, disk full
        raise VoiceInstallError(f"Tải {source} bị gián đoạn: {exc}.") from exc


def _copy(reader: IO[bytes], dest: Path, total: int | None, progress: Progress | None) -> tuple[str, int]:
    """Stream ``reader`` into ``dest`` while hashing it; return (sha256 hex, size)."""
    digest = hashlib.sha256()
    size = 0
    with dest.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
            if progress is not None:
                progress(size, total)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest(), size


def _check_model(path: Path, size: int, source: str | Path) -> None:
    """Refuse an empty file or one that is not an ONNX model (a captive portal's HTML page, say)."""
    if size == 0:
        raise VoiceInstallError(f"Tệp mô hình tải từ {source} rỗng.")
    with path.open("rb") as handle:
        first = handle.read(1)
    # An ONNX ModelProto starts with field 1 (ir_version, a varint): the byte 0x08.
    if first != b"\x08":
        raise VoiceInstallError(f"Tệp tải từ {source} không phải mô hình ONNX của Piper.")


def _check_config(path: Path, source: str | Path) -> None:
    """Refuse a config Piper could not load."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VoiceInstallError(f"Tệp cấu hình tải từ {source} không phải JSON hợp lệ: {exc}.") from exc
    if not isinstance(config, dict):
        raise VoiceInstallError(f"Tệp cấu hình tải từ {source} không hợp lệ.")
    missing = [key for key in _REQUIRED_KEYS if key not in config]
    if not isinstance(config.get("audio"), dict) or not isinstance(config["audio"].get("sample_rate"), int):
        missing.append("audio.sample_rate")
    if not isinstance(config.get("espeak"), dict) or "voice" not in config["espeak"]:
        missing.append("espeak.voice")
    if missing:
        raise VoiceInstallError(f"Tệp cấu hình tải từ {source} thiếu mục: {', '.join(missing)}.")


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a directory after renames) to disk: the Pi may lose power any time."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _names(voices_dir: Path) -> list[str]:
    """Return names having both a model and its config; hidden files are unfinished installs."""
    if not voices_dir.is_dir():
        return []
    return sorted(
        model.name.removesuffix(".onnx")
        for model in voices_dir.glob("*.onnx")
        if not model.name.startswith(".") and model.with_name(model.name + ".json").is_file()
    )


def _record_path(voices_dir: Path, name: str) -> Path:
    return voices_dir / f"{name}.install.json"


def _record(voices_dir: Path, name: str) -> dict[str, Any]:
    """Return what the install recorded, or {} for a voice copied in by hand."""
    try:
        record = json.loads(_record_path(voices_dir, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _override(voices_dir: Path, name: str) -> str | None:
    """Return the espeak voice the install asked for, if any."""
    value = _record(voices_dir, name).get("espeak_voice")
    return str(value) if value else None


def _language(config: dict[str, Any], name: str) -> str:
    """Return the model's language code, from its config or else from the name's prefix."""
    language = config.get("language")
    if isinstance(language, dict) and language.get("code"):
        return str(language["code"])
    return name.split("-", 1)[0]


def _espeak_voice(config: dict[str, Any]) -> str:
    """Return the phonemiser voice named by a Piper config."""
    espeak = config.get("espeak")
    return str(espeak.get("voice", "")) if isinstance(espeak, dict) else ""


def _is_vietnamese(language: str, espeak_voice: str) -> bool:
    """Return whether a voice of ``language`` phonemised by ``espeak_voice`` reads Vietnamese."""
    return language.lower().startswith("vi") or espeak_voice.lower().startswith("vi")


def _installed(voices_dir: Path, name: str) -> InstalledVoice | None:
    """Describe installed voice ``name``, or None when it is missing or unreadable."""
    model = voices_dir / f"{name}.onnx"
    try:
        config = voice_config(voices_dir, name)
        size = model.stat().st_size
    except (VoiceInstallError, OSError) as exc:
        _log.debug("skipping voice %s: %s", name, exc)
        return None
    record = _record(voices_dir, name)
    digest = record.get("sha256") if record.get("size") == size else None
    if not isinstance(digest, str):
        with model.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    audio = config.get("audio", {})
    return InstalledVoice(
        name=name,
        language=_language(config, name),
        espeak_voice=_espeak_voice(config),
        sample_rate=int(audio.get("sample_rate", 0)) if isinstance(audio, dict) else 0,
        size=size,
        sha256=digest,
        model_path=model,
    )
