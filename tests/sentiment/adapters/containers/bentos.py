"""The Bentos the image tests containerize: what a test needs to know about one.

``BentoUnderTest`` is the seam for plugging in the real service's Bento: any fixture that
builds a Bento into a BentoML store can describe it with one and hand it to the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment.adapters.containers import ContainerSettings


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
