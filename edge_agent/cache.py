"""Content-addressed clip cache: download over HTTP, verify size and sha256, keep by hash."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from broadcast.protocol import ClipRef
from edge_agent._files import atomic_file, describe

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_PART_PREFIX = ".part-"


class ClipError(Exception):
    """A clip could not be fetched; the text says why."""


class ClipIntegrityError(ClipError):
    """The server sent bytes that are not the announced clip (retrying will not help)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: clips come from the station URL and nowhere else."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class ClipCache:
    """Clips stored as DIR/<sha256>; a verified cached clip is reused without download."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        *,
        timeout_s: float = 20.0,
        attempts: int = 4,
        backoff_s: float = 1.0,
        in_use: Callable[[], Collection[str]] = frozenset,
        on_date: Callable[[str, float, float], None] | None = None,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._in_use = in_use
        self._on_date = on_date
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._evict_lock = threading.Lock()
        self._incoming: dict[int, int] = {}  # downloads in progress (by thread) -> bytes they will add
        self._pinned: frozenset[str] = frozenset()  # alert sounds the programme asks to keep: never evicted
        directory.mkdir(parents=True, exist_ok=True)
        for part in directory.glob(_PART_PREFIX + "*"):
            part.unlink(missing_ok=True)  # left by a power cut mid-download

    def path_for(self, sha256: str) -> Path:
        """Return where the clip with this hash lives (whether or not it is cached)."""
        return self.directory / sha256

    def pin(self, shas: Collection[str]) -> None:
        """Keep these clips (the programmes' prefetch list) whatever the cache bound says."""
        with self._evict_lock:
            self._pinned = frozenset(shas)

    def pinned(self) -> frozenset[str]:
        """Return the clips that are never evicted."""
        with self._evict_lock:
            return self._pinned

    def has(self, clip: ClipRef) -> bool:
        """Return True if the clip is cached (by name and size; ensure() verifies the content)."""
        path = self.path_for(clip.sha256)
        return path.exists() and path.stat().st_size == clip.size

    def put(self, clip: ClipRef, data: bytes) -> Path:
        """Store inline bytes (an alert's audio) as the clip, verified and atomically; return its path."""
        path = self.path_for(clip.sha256)
        if path.exists() and _file_matches(path, clip):
            os.utime(path)
            return path
        if len(data) != clip.size or hashlib.sha256(data).hexdigest() != clip.sha256:
            raise ClipIntegrityError("inline audio does not match its clip reference")
        with self._writing(clip, path) as out:
            out.write(data)
        return path

    def ensure(
        self, clip: ClipRef, deadline: float | None = None, stop: threading.Event | None = None
    ) -> Path:
        """Return the path of the verified clip, downloading it (with retries until deadline) if needed."""
        path = self.path_for(clip.sha256)
        if path.exists():
            if _file_matches(path, clip):
                os.utime(path)  # most recently used: evicted last
                return path
            log.warning("cached clip %s is corrupt; fetching it again", clip.sha256[:12])
            path.unlink(missing_ok=True)
        if clip.size > self.max_bytes:
            raise ClipError(f"clip of {clip.size} bytes exceeds the cache size {self.max_bytes}")
        last_error: Exception | None = None
        for attempt in range(self.attempts):
            try:
                with self._writing(clip, path) as out:
                    self._download(clip, out)
                return path
            except ClipIntegrityError:
                raise
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    raise ClipError(f"HTTP {exc.code} for {clip.url}") from exc
                last_error = exc
            except (OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
                if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    # Not the network: retrying now fills the card again (a programme entry is retried later).
                    raise ClipError(f"cannot store {clip.sha256[:12]}: {describe(exc)}") from exc
                last_error = exc
            delay = self.backoff_s * 2**attempt
            if attempt + 1 == self.attempts or (deadline is not None and time.time() + delay > deadline):
                break
            log.info("fetch of %s failed (%s); retrying in %.0f s", clip.url, last_error, delay)
            if (stop or threading.Event()).wait(delay):
                break
        raise ClipError(f"could not fetch {clip.url}: {last_error}")

    @contextlib.contextmanager
    def _writing(self, clip: ClipRef, path: Path) -> Iterator[BinaryIO]:
        """Make room for the clip and yield its file, written atomically (fsync, rename, directory fsync)."""
        try:
            self._make_room(clip.size)
            with atomic_file(path, prefix=_PART_PREFIX) as out:
                yield out
        finally:
            with self._evict_lock:
                self._incoming.pop(threading.get_ident(), None)

    def _download(self, clip: ClipRef, out: BinaryIO) -> None:
        """Download into the open temporary file, checking size and sha256."""
        digest = hashlib.sha256()
        total = 0
        # The handler checked the url is under station_url (http/https); redirects are refused.
        request = urllib.request.Request(clip.url, headers={"User-Agent": "loa-edge-agent"})  # noqa: S310
        sent_at = time.time()
        with self._opener.open(request, timeout=self.timeout_s) as response:
            date = response.headers.get("Date")
            if date and self._on_date is not None:
                # The station's clock, to the second: a coarse check of ours (see clock.py).
                self._on_date(date, sent_at, time.time())
            while chunk := response.read(_CHUNK):
                total += len(chunk)
                if total > clip.size:
                    raise ClipIntegrityError(f"clip is larger than the announced {clip.size} bytes")
                digest.update(chunk)
                out.write(chunk)
        if total != clip.size:
            raise ClipIntegrityError(f"clip has {total} bytes, announced {clip.size}")
        if digest.hexdigest() != clip.sha256:
            raise ClipIntegrityError(f"clip sha256 is {digest.hexdigest()}, announced {clip.sha256}")

    def _make_room(self, incoming: int) -> None:
        """Evict least recently used clips not needed by pending plays until incoming fits."""
        with self._evict_lock:
            files = [p for p in self.directory.iterdir() if p.is_file() and not p.name.startswith(".")]
            stats = {p: p.stat() for p in files}
            # Parallel downloads count too, or two of them could each find room for itself only.
            total = sum(s.st_size for s in stats.values()) + sum(self._incoming.values())
            self._incoming[threading.get_ident()] = incoming
            keep = set(self._in_use()) | self._pinned
            for candidate in sorted(files, key=lambda p: stats[p].st_mtime):
                if total + incoming <= self.max_bytes:
                    return
                if candidate.name in keep:
                    continue
                log.info("evicting cached clip %s", candidate.name[:12])
                candidate.unlink(missing_ok=True)
                total -= stats[candidate].st_size


def _file_matches(path: Path, clip: ClipRef) -> bool:
    """Return True if the file has the clip's size and sha256 (SD cards do corrupt files)."""
    if path.stat().st_size != clip.size:
        return False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == clip.sha256
