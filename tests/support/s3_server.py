"""A local S3-compatible server for tests: moto's S3 service over real HTTP (MinIO has no package here)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from minio import Minio
from moto.server import ThreadedMotoServer

ACCESS_KEY = "loa-test"
SECRET_KEY = "loa-test-secret"  # moto accepts any signature; the client still signs every request
REGION = "us-east-1"


@dataclass
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    server: ThreadedMotoServer
    running: bool = True

    def stop(self) -> None:
        """Stop serving (a test of an unreachable store); safe to call twice."""
        if self.running:
            self.running = False
            self.server.stop()

    def client(self) -> Minio:
        return Minio(
            self.endpoint.removeprefix("http://"),
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            secure=False,
            region=REGION,
        )

    def new_bucket(self) -> str:
        """Create and return an empty bucket with a fresh name (one per test keeps tests apart)."""
        name = f"clips-{secrets.token_hex(4)}"
        self.client().make_bucket(name)
        return name

    def env(self, bucket: str, prefix: str = "clips") -> dict[str, str]:
        """Return the station settings that put its clips in `bucket` on this server."""
        return {
            "BROADCAST_CLIP_STORE": f"s3://{bucket}/{prefix}",
            "BROADCAST_S3_ENDPOINT": self.endpoint,
            "BROADCAST_S3_ACCESS_KEY": ACCESS_KEY,
            "BROADCAST_S3_SECRET_KEY": SECRET_KEY,
            "BROADCAST_S3_REGION": REGION,
        }


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """Run moto's S3 server on a free port in a thread of this process."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    running = S3Server(f"http://{host}:{port}", server)
    try:
        yield running
    finally:
        running.stop()
