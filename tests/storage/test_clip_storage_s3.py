"""The S3 backend's edges: settings, object layout, and clear errors when the store is not there."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from broadcast.clipstore import open_clip_storage
from broadcast.clipstore.s3 import S3ClipStore, parse_endpoint, parse_location
from broadcast.clipstore.store import ClipStoreError, LocalClipStore
from broadcast.config import Settings
from tests.support.free_port import free_port
from tests.support.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def _store(endpoint: str, bucket: str, prefix: str = "clips") -> S3ClipStore:
    return S3ClipStore(
        endpoint, bucket, prefix, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, timeout_s=2
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://loa-clips", ("loa-clips", "")),
        ("s3://loa-clips/", ("loa-clips", "")),
        ("s3://loa-clips/hai-phong/xa-an-binh/", ("loa-clips", "hai-phong/xa-an-binh")),
    ],
)
def test_locations(url: str, expected: tuple[str, str]) -> None:
    assert parse_location(url) == expected


@pytest.mark.parametrize("url", ["s3://", "s3://A_B/x", "http://bucket/x", "s3://b/x?versionId=1", "s3://ab"])
def test_bad_locations(url: str) -> None:
    with pytest.raises(ClipStoreError, match="BROADCAST_CLIP_STORE"):
        parse_location(url)


def test_endpoints() -> None:
    assert parse_endpoint("http://127.0.0.1:9000") == ("127.0.0.1:9000", False)
    assert parse_endpoint("https://s3.example.vn") == ("s3.example.vn", True)
    for bad in ("127.0.0.1:9000", "ftp://host", "https://host/path"):
        with pytest.raises(ClipStoreError, match="BROADCAST_S3_ENDPOINT"):
            parse_endpoint(bad)


def test_settings_pick_the_backend(tmp_path: Path, s3: S3Server) -> None:
    assert isinstance(open_clip_storage(Settings(data_dir=tmp_path).clip_storage), LocalClipStore)
    local = open_clip_storage(Settings(data_dir=tmp_path, clip_store=str(tmp_path / "shared")).clip_storage)
    assert local.describe() == str((tmp_path / "shared").resolve())
    with pytest.raises(ClipStoreError, match="BROADCAST_S3_ENDPOINT"):
        open_clip_storage(Settings(data_dir=tmp_path, clip_store="s3://loa-clips/x").clip_storage)
    with pytest.raises(ClipStoreError, match="BROADCAST_CLIP_STORE"):
        open_clip_storage(Settings(data_dir=tmp_path, clip_store="gs://loa-clips").clip_storage)
    bucket = s3.new_bucket()
    store = open_clip_storage(
        Settings(
            data_dir=tmp_path,
            clip_store=f"s3://{bucket}/tinh",
            s3_endpoint=s3.endpoint,
            s3_access_key=ACCESS_KEY,
            s3_secret_key=SecretStr(SECRET_KEY),
        ).clip_storage
    )
    assert isinstance(store, S3ClipStore)
    store.check()
    assert store.read(store.put(b"abc")) == b"abc"
    assert SECRET_KEY not in repr(Settings(s3_secret_key=SecretStr(SECRET_KEY)))


def test_objects_are_named_by_sha256_and_carry_it(s3: S3Server) -> None:
    bucket = s3.new_bucket()
    store = _store(s3.endpoint, bucket, "hai-phong")
    sha = store.put(b"clip bytes")
    stat = s3.client().stat_object(bucket, f"hai-phong/{sha}.mp3")
    assert sha == hashlib.sha256(b"clip bytes").hexdigest()
    assert stat.content_type == "audio/mpeg"
    assert stat.metadata is not None and stat.metadata["x-amz-meta-sha256"] == sha


def test_a_missing_bucket_is_named(s3: S3Server) -> None:
    store = _store(s3.endpoint, "khong-co-bucket")
    with pytest.raises(ClipStoreError, match="khong-co-bucket"):
        store.check()
    with pytest.raises(ClipStoreError, match="khong-co-bucket"):
        store.put(b"abc")


def test_an_unreachable_store_fails_fast_and_says_where() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = _store(endpoint, "loa-clips")
    started = time.monotonic()
    for call in (store.check, lambda: store.put(b"abc"), lambda: store.read("a" * 64)):
        with pytest.raises(ClipStoreError, match=endpoint):
            call()
    assert time.monotonic() - started < 10
