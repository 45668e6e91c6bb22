"""One contract for every clip store: the local directory and S3 (moto's S3 server over real HTTP)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from broadcast.clipstore.s3 import S3ClipStore
from broadcast.clipstore.store import ClipNotFound, ClipStorage, ClipStoreError, LocalClipStore, clip_file
from tests.support.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server

CLIP = b"ID3" + bytes(range(256)) * 40  # ~10 kB; content does not matter to the store
BIG = os.urandom(1_000_000)  # about one 167 s bulletin at 48 kbit/s: many stream chunks


@dataclass
class Backend:
    store: ClipStorage
    tamper: Callable[[str, bytes], None]  # overwrite a stored clip's bytes behind the store's back
    count: Callable[[], int]  # how many clips are stored


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def _local(tmp_path: Path) -> Backend:
    store = LocalClipStore(tmp_path / "clips")

    def tamper(sha: str, data: bytes) -> None:
        store.path(sha).write_bytes(data)

    return Backend(store, tamper, lambda: len(list(store.directory.glob("*.mp3"))))


def _s3(server: S3Server) -> Backend:
    bucket = server.new_bucket()
    store = S3ClipStore(
        server.endpoint, bucket, "tinh/xa", access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION
    )
    client = server.client()

    def tamper(sha: str, data: bytes) -> None:
        client.put_object(bucket, store.key(sha), io.BytesIO(data), len(data))

    return Backend(store, tamper, lambda: len(list(client.list_objects(bucket, recursive=True))))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return _local(tmp_path)
    return _s3(request.getfixturevalue("s3"))


def test_put_returns_the_sha256_and_reads_back(backend: Backend) -> None:
    store = backend.store
    store.check()
    sha = store.put(CLIP)
    assert sha == hashlib.sha256(CLIP).hexdigest()
    assert store.exists(sha)
    assert store.size(sha) == len(CLIP)
    assert store.read(sha) == CLIP


def test_put_is_idempotent(backend: Backend) -> None:
    first = backend.store.put(CLIP)
    assert backend.store.put(CLIP) == first
    assert backend.count() == 1
    other = backend.store.put(CLIP + b"\x00")
    assert other != first
    assert backend.count() == 2


def test_a_missing_clip(backend: Backend) -> None:
    store = backend.store
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(sha)
    with pytest.raises(ClipNotFound):
        store.size(sha)
    with pytest.raises(ClipNotFound):
        store.read(sha)
    with pytest.raises(ClipNotFound):
        store.open_stream(sha)
    store.delete(sha)  # deleting what is not there is fine


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "a" * 63, "a" * 64 + ".mp3", ""])
def test_names_that_are_not_a_sha256_are_refused(backend: Backend, name: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        backend.store.exists(name)
    with pytest.raises(ValueError, match="sha256"):
        backend.store.read(name)


def test_stream_gives_the_bytes_in_chunks(backend: Backend) -> None:
    sha = backend.store.put(BIG)
    stream = backend.store.open_stream(sha)
    assert stream.size == len(BIG)
    chunks = list(stream.chunks)
    assert len(chunks) > 1
    assert b"".join(chunks) == BIG


def test_delete(backend: Backend) -> None:
    sha = backend.store.put(CLIP)
    backend.store.delete(sha)
    assert not backend.store.exists(sha)
    assert backend.count() == 0
    assert backend.store.put(CLIP) == sha  # and it can come back


def test_a_clip_changed_in_the_store_is_refused(backend: Backend) -> None:
    sha = backend.store.put(CLIP)
    backend.tamper(sha, CLIP[:-1] + b"\x00")  # one byte differs, same size
    with pytest.raises(ClipStoreError, match="sha256"):
        backend.store.read(sha)
    with pytest.raises(ClipStoreError, match="sha256"), clip_file(backend.store, sha):
        pass


def test_clip_file_gives_tools_a_local_path(backend: Backend) -> None:
    sha = backend.store.put(BIG)
    with clip_file(backend.store, sha) as path:
        assert path.is_file()
        assert path.read_bytes() == BIG
    if backend.store.local_file(sha) is None:
        assert not path.exists()  # a temporary copy is removed afterwards
    with pytest.raises(ClipNotFound), clip_file(backend.store, hashlib.sha256(b"x").hexdigest()):
        pass
