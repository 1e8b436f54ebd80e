"""The Bentos the image tests containerize: what a test needs to know about one.

``BentoUnderTest`` is the seam for plugging in the real service's Bento: any fixture that
builds a Bento into a BentoML store can describe it with one and hand it to the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment.containers import ContainerSettings

HELLO_SOURCES = Path(__file__).parent / "hello_bento"
HELLO_IMAGE_NAME = "sentiment-hello"


@dataclass(frozen=True)
class BentoUnderTest:
    """A Bento in a BentoML store, plus one request that proves the served image works."""

    tag: str
    bentoml_home: Path
    image_name: str
    smoke_path: str
    smoke_payload: Mapping[str, Any]
    smoke_expect: Mapping[str, Any] = field(default_factory=dict)  # subset of the JSON answer

    @property
    def env(self) -> dict[str, str]:
        """Environment for ``bentoml`` CLI calls that must see this store."""
        return {"BENTOML_HOME": str(self.bentoml_home)}


@dataclass(frozen=True)
class BuiltImage:
    """An image built from ``bento`` and the podman settings that built it."""

    ref: str
    bento: BentoUnderTest
    settings: ContainerSettings


def build_hello_bento(workdir: Path, version: str) -> BentoUnderTest:
    """``bentoml build`` the hello-world Bento into ``workdir/bentoml_home``."""
    src = workdir / "src"
    shutil.copytree(HELLO_SOURCES, src, ignore=shutil.ignore_patterns("__pycache__"))
    home = workdir / "bentoml_home"
    proc = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--version", version, str(src)],
        cwd=src,
        env={**os.environ, "BENTOML_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"bentoml build failed:\n{proc.stdout}\n{proc.stderr}"
    return BentoUnderTest(
        tag=f"sentiment_hello:{version}",
        bentoml_home=home,
        image_name=HELLO_IMAGE_NAME,
        smoke_path="/hello",
        smoke_payload={"name": "container"},
        smoke_expect={"hello": "container"},
    )
