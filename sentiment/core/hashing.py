"""Content hashes: one implementation for archives, model files, data sources and fingerprints."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

_CHUNK = 1 << 20


class Digest(Protocol):
    """What hashlib's objects offer: enough to stream bytes into any of them."""

    def update(self, data: bytes, /) -> None: ...


D = TypeVar("D", bound=Digest)


def update_from_stream(digest: D, handle: BinaryIO) -> D:
    """Feed ``handle`` into ``digest`` in 1 MiB chunks: archives, models and S3 objects are too
    big to slurp, and a remote object is hashed as it downloads, never stored."""
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest


def stream_sha256(handle: BinaryIO) -> str:
    """Hex SHA-256 of everything left in an open binary stream (local file or fsspec object)."""
    return update_from_stream(hashlib.sha256(), handle).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a local file."""
    with Path(path).open("rb") as handle:
        return stream_sha256(handle)
