"""Where the training data comes from when nobody says: the official aclImdb archive, cached.

The download is verified against the published SHA-256 and written atomically (temporary file
in the cache dir, then rename), so an interrupted or tampered download never looks like a
valid cached archive. A cached copy is re-verified on every use for the same reason.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from sentiment.core.data.spec import DataLoadError
from sentiment.core.hashing import file_sha256
from sentiment.core.sources import DATA_ENV_VAR

log = logging.getLogger(__name__)

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
#: Published checksum of aclImdb_v1.tar.gz (84,125,825 bytes).
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
#: Environment variable that overrides the configured data source (below --data).
_APP_NAME = "sentiment-mlops"
_CHUNK = 1 << 20
_DOWNLOAD_TIMEOUT_S = 60


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/sentiment-mlops``, else ``~/.cache/sentiment-mlops`` (XDG layout)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / _APP_NAME


def _check(path: Path, expected: str, what: str, fix: str) -> Path:
    actual = file_sha256(path)
    if actual != expected.lower():
        raise DataLoadError(
            f"{what} {path} has SHA-256 {actual}, expected {expected.lower()}; {fix}"
        )
    return path


#: ``on_progress(bytes_so_far, total_bytes_or_None)``: how callers draw a download's progress
#: (the domain only counts; the bar is the caller's, see sentiment/reports/progress.py).
ProgressCallback = Callable[[int, int | None], None]


def _download(
    url: str, target: Path, expected: str, on_progress: ProgressCallback | None = None
) -> Path:
    """Stream ``url`` into a temp file next to ``target``, verify, then rename into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    done = 0
                    while chunk := response.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if on_progress is not None:
                            on_progress(done, total)
            except (urllib.error.URLError, OSError) as exc:
                raise DataLoadError(
                    f"could not download the dataset from {url}: {exc}; without network "
                    f"access pass --data or set {DATA_ENV_VAR} to a local copy"
                ) from exc
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected.lower():
            raise DataLoadError(
                f"download from {url} has SHA-256 {digest.hexdigest()}, expected "
                f"{expected.lower()}; the file was discarded (truncated or altered download)"
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("downloaded %s to %s (SHA-256 verified)", url, target)
    return target


def ensure_official_archive(
    cache_dir: Path | None = None,
    *,
    url: str = OFFICIAL_URL,
    sha256: str = OFFICIAL_SHA256,
    local_path: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Path to a verified copy of the aclImdb archive, downloading it into the cache if needed.

    ``on_progress`` is called after every downloaded chunk (never for a cached copy).

    With ``local_path`` the given file is verified and used in place (no copy, no network).
    A cached file with the wrong checksum is an error rather than silently replaced: it
    means someone changed it, and that deserves a look before it is deleted.
    """
    if local_path is not None:
        local_path = Path(local_path)
        if not local_path.is_file():
            raise DataLoadError(f"local archive {local_path} does not exist or is not a file")
        return _check(local_path, sha256, "local archive", "is it the right file?")
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    name = posixpath.basename(urllib.parse.urlparse(url).path) or "aclImdb_v1.tar.gz"
    target = cache_dir / name
    if target.exists():
        log.info("using cached archive %s", target)
        return _check(target, sha256, "cached archive", "delete it to download it again")
    return _download(url, target, sha256, on_progress)
