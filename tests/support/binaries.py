"""Locate a system binary a test needs (podman, prometheus, chromium...).

On a developer's machine without it the test skips with the reason; under ``CI=true``
it fails instead, because ``.ci/run`` installs every binary the suite needs and a skip
there would hide a missing install step.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str, *, why: str = "", alternatives: tuple[str, ...] = ()) -> str:
    """Return the absolute path of ``name`` (else of the first of ``alternatives`` found, e.g.
    Google Chrome where Chromium is a snap) or skip (locally) / fail (under CI=true)."""
    for candidate in (name, *alternatives):
        path = shutil.which(candidate)
        if path:
            return path
    reason = f"system binary {name!r} not found on PATH" + (f" ({why})" if why else "")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; .ci/run must install it", pytrace=False)
    pytest.skip(reason)
    raise AssertionError("unreachable")  # pytest.skip raises
