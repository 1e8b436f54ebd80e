"""A real S3 API on 127.0.0.1: moto's standalone server, with buckets and fake credentials.

moto keeps everything in memory: stopping the server loses the buckets, which is what a
test that kills S3 mid-run wants, and why anything that must survive uses its own server.
The credentials are fake but required: botocore refuses to sign a request without any.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.paths import REPO_ROOT
from tests.support.processes import RunningProcess, free_port, http_ok, running

MOTO_SERVER = REPO_ROOT / ".venv" / "bin" / "moto_server"


@dataclass
class S3Server:
    """A running moto server and how to reach it."""

    endpoint: str
    process: RunningProcess
    access_key: str = "testing"
    # moto accepts any key pair; a distinctive secret lets tests grep logs and output for it
    # (tests/aws: the training run never prints it). "testing" would match ordinary words.
    secret_key: str = "moto-secret-5f3c9a7e41d2b8"
    region: str = "us-east-1"

    @property
    def env(self) -> dict[str, str]:
        """Credentials for processes that use the default AWS chain (e.g. an MLflow server).

        No endpoint variable: each client names the endpoint itself, so a test proves that
        the stack's or config's endpoint setting is what routes requests here.
        """
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    @property
    def storage_options(self) -> dict[str, Any]:
        """fsspec/s3fs options (``storage_options:`` of a data config) for this server."""
        return {
            "key": self.access_key,
            "secret": self.secret_key,
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": self.region},
        }

    @property
    def port(self) -> int:
        return int(urlsplit(self.endpoint).port or 0)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def create_bucket(self, name: str) -> str:
        """Create ``name`` (idempotent); return ``s3://name``."""
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)
        return f"s3://{name}"

    def upload(self, path: Path, bucket: str, key: str) -> str:
        """Upload a local file; return its ``s3://`` URI."""
        self.client().upload_file(str(path), bucket, key)
        return f"s3://{bucket}/{key}"

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` (paginated)."""
        paginator = self.client().get_paginator("list_objects_v2")
        return sorted(
            obj["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        )


@contextlib.contextmanager
def moto_s3(
    log_dir: Path,
    *,
    buckets: tuple[str, ...] = (),
    port: int | None = None,
    host: str = "127.0.0.1",
) -> Iterator[S3Server]:
    """Start moto on ``port`` (default: a free one), create ``buckets``; stop it by PID.

    ``host``: the address it listens on (the local cluster's pod gateway, for pods).

    Passing the port of a server that was killed brings an (empty) S3 back at the same
    endpoint, so that clients configured with it keep working.
    """
    if not MOTO_SERVER.exists():
        raise RuntimeError(f"{MOTO_SERVER} missing: moto[server] is a dev dependency (uv sync)")
    port = port or free_port(host)
    endpoint = f"http://{host}:{port}"
    with running(
        [str(MOTO_SERVER), "-H", host, "-p", str(port)],
        log_path=log_dir / f"moto-{port}.log",
        ready=lambda: http_ok(f"{endpoint}/moto-api/"),
        timeout=60,
        what="moto_server",
    ) as process:
        server = S3Server(endpoint=endpoint, process=process)
        for bucket in buckets:
            server.create_bucket(bucket)
        yield server
