"""Loading labelled reviews into (train, test) frames from any supported source.

Public interface (import from here; the submodules are an implementation detail):

- :class:`DataSpec` - column names, label names and split rule (the `data:` config section);
- :func:`load_splits` - archive / aclImdb folder / CSV / Parquet / train+test directory,
  local or ``s3://``, into frames with exactly ``text`` (str) and ``label`` (0/1);
- :func:`resolve_source` - ``--data`` > ``$SENTIMENT_DATA`` > config > official archive
  (:mod:`sentiment.core.sources`, light: commands import it before anything heavy);
- :func:`ensure_official_archive` - cached, SHA-256-verified download of aclImdb_v1.tar.gz;
- :func:`data_fingerprint` - SHA-256 identity of the exact rows, for lineage;
- :func:`source_digest` - SHA-256 of the source's raw bytes: changed since last time?
- :class:`DataLoadError` - every loading failure, naming the source and the problem.
"""

from sentiment.core.data.archive import (
    OFFICIAL_SHA256,
    OFFICIAL_URL,
    default_cache_dir,
    ensure_official_archive,
    file_sha256,
)
from sentiment.core.data.digest import source_digest
from sentiment.core.data.frames import data_fingerprint
from sentiment.core.data.readers import load_splits
from sentiment.core.data.spec import DEFAULT_LABEL_MAP, DataLoadError, DataSettings, DataSpec
from sentiment.core.sources import DATA_ENV_VAR, given_source, resolve_source

__all__ = [
    "DATA_ENV_VAR",
    "DEFAULT_LABEL_MAP",
    "OFFICIAL_SHA256",
    "OFFICIAL_URL",
    "DataLoadError",
    "DataSettings",
    "DataSpec",
    "data_fingerprint",
    "default_cache_dir",
    "ensure_official_archive",
    "file_sha256",
    "given_source",
    "load_splits",
    "resolve_source",
    "source_digest",
]
