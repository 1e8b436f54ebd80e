"""How to build, run and push the service image: the ``container:`` section of
``configs/deployment.yaml``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, StrictInt, StrictStr, field_validator

from sentiment.core.config import Section

#: Builder backend -> the CLI that runs, stops and pushes what it built.
BACKEND_CLI: Mapping[str, str] = {"docker": "docker", "podman": "podman", "buildah": "podman"}


_IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


class ContainerSettings(Section):
    """How to build and run the service image (``configs/deployment.yaml``, ``container:``)."""

    backend: Literal["docker", "podman", "buildah"] = "docker"
    image_name: StrictStr = Field(
        "sentiment-classifier",
        pattern=_IMAGE_NAME.pattern,
        description="image repository: lowercase letters, digits, '.', '_', '-', '/'; no tag",
    )
    host: StrictStr = Field("127.0.0.1", min_length=1)
    host_port: StrictInt = Field(3000, ge=1, le=65535)
    container_port: StrictInt = Field(3000, ge=1, le=65535)
    run_args: tuple[StrictStr, ...] = ()
    env: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    build_args: tuple[StrictStr, ...] = ()
    push_args: tuple[StrictStr, ...] = ()
    ready_path: StrictStr = Field("/readyz", pattern=r"^/")
    ready_timeout_s: float = Field(120.0, gt=0)

    @field_validator("env", mode="before")
    @classmethod
    def _values_as_text(cls, value: object) -> object:
        # YAML reads `WORKERS: 2` as an int; an environment variable is text either way.
        if isinstance(value, Mapping):
            return {
                k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                for k, v in value.items()
            }
        return value

    @property
    def cli(self) -> str:
        """The CLI that runs, stops and pushes images built by :attr:`backend`."""
        return BACKEND_CLI[self.backend]
