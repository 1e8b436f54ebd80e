"""Stable 64-bit hashes of word n-grams: the vocabulary keys of ``NgramCounter``.

Apart from the estimators so :mod:`sentiment.core.model` stays readable; only functions live
here, none of which is stored in a saved model, so moving them changed no skops file.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

U64 = np.uint64
# splitmix64 constants: a cheap, well-mixing bijection on 64-bit words.
_MIX_1 = U64(0xBF58476D1CE4E5B9)
_MIX_2 = U64(0x94D049BB133111EB)
_COMBINE = U64(0x9E3779B97F4A7C15)
# 2^21 buckets for ~10^6 vocabulary hashes: ~0.5 entries per bucket, 16 MB table.
BUCKET_BITS = 21


@lru_cache(maxsize=1_000_000)
def token_hash(token: str) -> int:
    """A stable 64-bit hash of one token (Python's ``hash`` is salted per process).

    Cached: blake2b costs ~0.5 us, and review vocabularies are Zipfian.
    """
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> U64(30))) * _MIX_1
    z = (z ^ (z >> U64(27))) * _MIX_2
    return z ^ (z >> U64(31))


def ngram_hashes(
    docs: Iterable[str], ngram_range: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, int]:
    """64-bit hashes of every word n-gram of ``docs`` (space-separated tokens).

    Returns (document index per n-gram, hash per n-gram, number of documents). Vectorised
    over the whole batch: tokens are hashed once (cached), n-grams are combined with numpy
    arithmetic, and n-grams that would straddle two documents are masked out.
    """
    lo, hi = ngram_range
    token_lists = [doc.split() for doc in docs]
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    n_tokens = int(lengths.sum())
    hashes = np.fromiter(
        map(token_hash, itertools.chain.from_iterable(token_lists)), dtype=U64, count=n_tokens
    )
    doc_of = np.repeat(np.arange(len(token_lists), dtype=np.int32), lengths)
    out_docs, out_hashes = [], []
    acc = hashes
    with np.errstate(over="ignore"):
        for n in range(1, hi + 1):
            if n > 1:
                # n-gram at i = mix(hash of (n-1)-gram at i, token i+n-1): order-sensitive.
                acc = _mix(acc[:-1] * _COMBINE + hashes[n - 1 :])
            if n >= lo and len(acc):
                same_doc = doc_of[: len(acc)] == doc_of[n - 1 :]
                out_docs.append(doc_of[: len(acc)][same_doc])
                out_hashes.append(acc[same_doc])
    if not out_hashes:
        return np.zeros(0, np.int32), np.zeros(0, U64), len(token_lists)
    return np.concatenate(out_docs), np.concatenate(out_hashes), len(token_lists)
