"""Clips in S3-compatible object storage (MinIO, Ceph RGW, AWS S3), through the `minio` client (extra `s3`).

Objects are named PREFIX/<sha256>.mp3 and carry their sha256 as metadata; every read is checked against it.
Agents never talk to the object store: the station streams clips to them from its own /clips URL (see
SCALING.md, "Object storage for clips").
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from broadcast.clipstore.store import (
    CHUNK,
    ClipNotFound,
    ClipStoreError,
    ClipStream,
    check_digest,
    check_sha256,
    verified,
)
from broadcast.config import ClipStoreSettings

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_MISSING = ("NoSuchKey", "NoSuchObject")


def parse_location(url: str) -> tuple[str, str]:
    """Return (bucket, prefix) of s3://bucket[/prefix]; raise ClipStoreError if it is not one."""
    parts = urlsplit(url)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if parts.scheme != "s3" or not _BUCKET.fullmatch(bucket) or parts.query or parts.fragment:
        raise ClipStoreError(f"BROADCAST_CLIP_STORE không hợp lệ: {url!r} (dạng s3://bucket/thu-muc).")
    return bucket, prefix


def parse_endpoint(url: str) -> tuple[str, bool]:
    """Return (host:port, secure) of an http(s)://host[:port] endpoint; raise ClipStoreError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ClipStoreError(f"BROADCAST_S3_ENDPOINT không hợp lệ: {url!r} (dạng https://host:port).")
    return parts.netloc, parts.scheme == "https"


def minio_client(
    endpoint: str,
    *,
    access_key: str | None,
    secret_key: str | None,
    region: str | None,
    timeout_s: float,
    pool: int,
) -> Minio:
    """Return a client of the store at `endpoint` (ClipStoreError if the URL is bad).

    Few retries and short connect timeouts: an unreachable store must fail a request in seconds, not hang
    an officer's form (the library's default retries for minutes).
    """
    host, secure = parse_endpoint(endpoint)
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(timeout_s, 5.0), read=timeout_s),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        maxsize=pool,
    )
    return Minio(
        host, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http
    )


class S3ClipStore:
    """Content-addressed clips in one bucket under one prefix."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        prefix: str = "",
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.endpoint, self.bucket, self.prefix = endpoint, bucket, prefix.strip("/")
        self._client = minio_client(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            timeout_s=timeout_s,
            pool=16,
        )

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} tại {self.endpoint}"

    def key(self, sha256: str) -> str:
        name = f"{check_sha256(sha256)}.mp3"
        return f"{self.prefix}/{name}" if self.prefix else name

    @contextmanager
    def _errors(self, sha256: str | None = None) -> Iterator[None]:
        """Turn client errors into ClipNotFound / ClipStoreError with a message that says where."""
        try:
            yield
        except S3Error as exc:
            if sha256 is not None and exc.code in _MISSING:
                raise ClipNotFound(sha256) from None
            if exc.code == "NoSuchBucket":
                raise ClipStoreError(
                    f"Kho âm thanh {self.describe()}: chưa có bucket {self.bucket!r}."
                ) from exc
            raise ClipStoreError(f"Kho âm thanh {self.describe()} từ chối: {exc.code} {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClipStoreError(f"Không kết nối được kho âm thanh {self.describe()}: {exc}") from exc

    def check(self) -> None:
        with self._errors():
            found = self._client.bucket_exists(self.bucket)
        if not found:
            raise ClipStoreError(f"Kho âm thanh {self.describe()}: chưa có bucket {self.bucket!r}.")

    def exists(self, sha256: str) -> bool:
        try:
            self.size(sha256)
        except ClipNotFound:
            return False
        return True

    def size(self, sha256: str) -> int:
        with self._errors(sha256):
            stat = self._client.stat_object(self.bucket, self.key(sha256))
        return int(stat.size or 0)

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha):  # same name, same bytes: nothing to upload again
            return sha
        with self._errors():
            self._client.put_object(
                self.bucket,
                self.key(sha),
                io.BytesIO(data),
                len(data),
                content_type="audio/mpeg",
                metadata={"sha256": sha},
            )
        return sha

    def read(self, sha256: str) -> bytes:
        with self._errors(sha256):
            response = self._client.get_object(self.bucket, self.key(sha256))
            try:
                data = response.read()
            finally:
                response.close()
                response.release_conn()
        return verified(sha256, data)

    def open_stream(self, sha256: str) -> ClipStream:
        with self._errors(sha256):
            response = self._client.get_object(self.bucket, self.key(sha256))
        size = int(response.headers.get("Content-Length", "0"))

        def chunks() -> Iterator[bytes]:
            digest = hashlib.sha256()
            try:
                with self._errors(sha256):
                    for block in response.stream(CHUNK):
                        digest.update(block)
                        yield block
            finally:
                response.close()
                response.release_conn()
            # Served over HTTP, the headers are gone by now: failing cuts the response short, and the
            # agent, which checks the sha256 too, refuses it.
            check_digest(sha256, digest)

        return ClipStream(size, chunks())

    def delete(self, sha256: str) -> None:
        with self._errors():
            self._client.remove_object(self.bucket, self.key(sha256))

    def local_file(self, sha256: str) -> Path | None:
        return None


def s3_store(storage: ClipStoreSettings) -> S3ClipStore:
    """Return the S3 store named by BROADCAST_CLIP_STORE with the BROADCAST_S3_* connection storage."""
    bucket, prefix = parse_location(storage.clip_store or "")
    if not storage.s3_endpoint:
        raise ClipStoreError(
            "BROADCAST_CLIP_STORE=s3://… cần BROADCAST_S3_ENDPOINT (ví dụ https://host:9000)."
        )
    secret = storage.s3_secret_key.get_secret_value() if storage.s3_secret_key else None
    return S3ClipStore(
        storage.s3_endpoint,
        bucket,
        prefix,
        access_key=storage.s3_access_key,
        secret_key=secret,
        region=storage.s3_region,
        timeout_s=storage.s3_timeout_s,
    )
