"""How to build, run and push the service image: the ``container:`` section of
``configs/deployment.yaml``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

#: Builder backend -> the CLI that runs, stops and pushes what it built.
BACKEND_CLI: Mapping[str, str] = {"docker": "docker", "podman": "podman", "buildah": "podman"}


_IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


@dataclass(frozen=True)
class ContainerSettings:
    """How to build and run the service image (``configs/deployment.yaml``, ``container:``)."""

    backend: str = "docker"
    image_name: str = "sentiment-classifier"
    host: str = "127.0.0.1"
    host_port: int = 3000
    container_port: int = 3000
    run_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    build_args: tuple[str, ...] = ()
    push_args: tuple[str, ...] = ()
    ready_path: str = "/readyz"
    ready_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.backend not in BACKEND_CLI:
            raise ValueError(
                f"container.backend {self.backend!r} is not supported; "
                f"expected one of {sorted(BACKEND_CLI)}"
            )
        if not _IMAGE_NAME.match(self.image_name):
            raise ValueError(
                f"container.image_name {self.image_name!r} is not a valid image repository "
                "(lowercase letters, digits, '.', '_', '-', '/' separated; no tag)"
            )
        for name in ("host_port", "container_port"):
            port = getattr(self, name)
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"container.{name} must be an integer in 1..65535, got {port!r}")
        if not self.host:
            raise ValueError("container.host must not be empty")
        if not self.ready_path.startswith("/"):
            raise ValueError(f"container.ready_path must start with '/', got {self.ready_path!r}")
        if self.ready_timeout_s <= 0:
            raise ValueError(f"container.ready_timeout_s must be > 0, got {self.ready_timeout_s!r}")

    @property
    def cli(self) -> str:
        """The CLI that runs, stops and pushes images built by :attr:`backend`."""
        return BACKEND_CLI[self.backend]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> ContainerSettings:
        """Settings from the ``container:`` section of a YAML config; unknown keys are errors."""
        if mapping is None:
            return cls()
        if not isinstance(mapping, Mapping):
            raise ValueError(f"container: expected a mapping, got {type(mapping).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(
                f"container: unknown key(s) {unknown}; allowed keys are {sorted(known)}"
            )
        values: dict[str, Any] = dict(mapping)
        for key in ("run_args", "build_args", "push_args"):
            if key in values:
                values[key] = _str_tuple(values[key], key)
        if "env" in values:
            values["env"] = _str_mapping(values["env"], "env")
        for key in ("backend", "image_name", "host", "ready_path"):
            if key in values and not isinstance(values[key], str):
                raise ValueError(f"container.{key} must be a string, got {values[key]!r}")
        if "ready_timeout_s" in values:
            timeout = values["ready_timeout_s"]
            if isinstance(timeout, bool) or not isinstance(timeout, int | float):
                raise ValueError(f"container.ready_timeout_s must be a number, got {timeout!r}")
            values["ready_timeout_s"] = float(timeout)
        return cls(**values)


def _str_tuple(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"container.{key} must be a list of strings, got {value!r}")
    bad = [item for item in value if not isinstance(item, str)]
    if bad:
        raise ValueError(f"container.{key} must be a list of strings; not strings: {bad!r}")
    return tuple(value)


def _str_mapping(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"container.{key} must be a mapping of names to values, got {value!r}")
    out: dict[str, str] = {}
    for name, item in value.items():
        if (
            not isinstance(name, str)
            or isinstance(item, bool)
            or not isinstance(item, str | int | float)
        ):
            raise ValueError(f"container.{key}: {name!r} must map to a string, got {item!r}")
        out[name] = str(item)
    return out
