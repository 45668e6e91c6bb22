"""Backups in an S3-compatible bucket (MinIO, Ceph RGW, AWS S3), through `minio` like the clip store.

The connection settings are the clip store's (BROADCAST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY, _REGION):
one object store, two uses. Objects are PREFIX/<key>; one PUT is atomic, so a key present is whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import urllib3
from minio.error import MinioException, S3Error

from broadcast.backup.destination import DestinationError, MissingKey, check_key
from broadcast.clipstore.s3 import minio_client, parse_location
from broadcast.clipstore.store import ClipStoreError
from broadcast.config import Settings

_MISSING = ("NoSuchKey", "NoSuchObject")


class S3Destination:
    """Backup keys as objects under one prefix of one bucket."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        prefix: str = "",
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.endpoint, self.bucket, self.prefix = endpoint, bucket, prefix.strip("/")
        try:
            self._client = minio_client(
                endpoint,
                access_key=access_key,
                secret_key=secret_key,
                region=region,
                timeout_s=timeout_s,
                pool=8,
            )
        except ClipStoreError as exc:
            raise DestinationError(str(exc)) from None

    @classmethod
    def from_settings(cls, url: str, settings: Settings) -> S3Destination:
        try:
            bucket, prefix = parse_location(url)
        except ClipStoreError:
            raise DestinationError(f"bad S3 backup destination {url!r} (s3://bucket/prefix)") from None
        if not settings.s3_endpoint:
            raise DestinationError(f"{url} needs BROADCAST_S3_ENDPOINT (e.g. https://host:9000)")
        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
        return cls(
            settings.s3_endpoint,
            bucket,
            prefix,
            access_key=settings.s3_access_key,
            secret_key=secret,
            region=settings.s3_region,
            timeout_s=max(settings.s3_timeout_s, 30.0),
        )

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint}"

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            if key is not None and exc.code in _MISSING:
                raise MissingKey(key) from None
            raise DestinationError(f"{self.describe()} refused: {exc.code} {exc.message}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise DestinationError(f"cannot reach {self.describe()}: {exc}") from exc

    def put_file(self, key: str, path: Path) -> None:
        with self._errors():
            self._client.fput_object(self.bucket, self._key(key), str(path))

    def put_bytes(self, key: str, data: bytes) -> None:
        import io

        with self._errors():
            self._client.put_object(self.bucket, self._key(key), io.BytesIO(data), len(data))

    def get_file(self, key: str, path: Path) -> None:
        with self._errors(key):
            self._client.fget_object(self.bucket, self._key(key), str(path))

    def get_bytes(self, key: str) -> bytes:
        with self._errors(key):
            response = self._client.get_object(self.bucket, self._key(key))
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            with self._errors(key):
                self._client.stat_object(self.bucket, self._key(key))
        except MissingKey:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        with self._errors():
            names = [
                str(obj.object_name)[len(base) :]
                for obj in self._client.list_objects(self.bucket, prefix=base + prefix, recursive=True)
            ]
        return sorted(names)

    def delete(self, key: str) -> None:
        with self._errors():
            self._client.remove_object(self.bucket, self._key(key))
