"""Memory of a server under test: the RSS of its whole process tree.

``bentoml serve`` is an arbiter plus one process per worker, and the workers hold the
model and the request buffers, so only the sum over the tree says whether a request made
the service grow.
"""

from __future__ import annotations

import contextlib

import psutil


def tree_rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` and all its descendants (processes gone meanwhile: 0)."""
    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total
