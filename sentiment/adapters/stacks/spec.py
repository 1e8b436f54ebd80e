"""Stack files (``stacks/*.yaml``) read into :class:`StackSpec`: placeholders filled,
components and secrets parsed. Pure: nothing here talks to ZenML, so a malformed file or a
missing value fails before anything is written (see the package docstring for the format).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sentiment.adapters.workspace import REPO_ROOT, STACKS_DIR, state_dir

_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")
#: ZenML's own syntax for a secret reference: {{secret_name.key}}.
SECRET_REFERENCE = re.compile(r"^\{\{\s*([^.\s]+)\.(\S+?)\s*\}\}$")
_STACK_FILE_KEYS = {"name", "description", "components", "secrets"}

# Asks for one secret value; None when there is no terminal to ask on.
Prompt = Callable[[str], str]


class StackSpecError(ValueError):
    """The stack file is malformed or a placeholder or secret has no value."""


class MissingValuesError(StackSpecError):
    """Placeholders of the stack file have no value (neither --set nor the environment)."""

    def __init__(self, message: str, stack_name: str, missing: list[str]) -> None:
        super().__init__(message)
        self.stack_name = stack_name
        self.missing = missing


@dataclass(frozen=True)
class ComponentSpec:
    type: str
    name: str
    flavor: str
    configuration: dict[str, Any]


@dataclass(frozen=True)
class SecretSpec:
    """A ZenML secret the stack's components reference; values come from the environment."""

    name: str
    keys: dict[str, str]  # secret key -> environment variable holding its value
    optional: bool = False
    description: str = ""

    def variables(self) -> str:
        return ", ".join(f"${var}" for var in self.keys.values())


@dataclass(frozen=True)
class StackSpec:
    name: str
    components: tuple[ComponentSpec, ...]
    extras: dict[str, Any]
    secrets: tuple[SecretSpec, ...] = ()


def _substitute(value: Any, values: Mapping[str, str], missing: set[str]) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            key, default = match.group(1), match.group(2)
            if key in values:
                return values[key]
            if default is not None:
                return default
            missing.add(key)
            return match.group(0)

        return _PLACEHOLDER.sub(repl, value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, values, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, missing) for v in value]
    return value


def _without_empty(value: Any) -> Any:
    """Drop settings that resolved to "" (and mappings left empty by that): unset, not ""."""
    if isinstance(value, Mapping):
        pruned = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v != "" and v != {}}
    return value


def stack_file(name: str) -> Path:
    """``stacks/NAME.yaml``, or ``name`` itself when it is the path of a ``.yaml`` file."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        path = path if path.is_absolute() else REPO_ROOT / path
        if not path.is_file():
            raise StackSpecError(f"no stack file {path}")
        return path
    path = STACKS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in STACKS_DIR.glob("*.yaml"))
        raise StackSpecError(f"no stack file {path}; known stacks: {known}")
    return path


def _read_stack_file(path: Path) -> Mapping[str, Any]:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, Mapping) or "name" not in raw or "components" not in raw:
        raise StackSpecError(f"{path}: needs a 'name' and a 'components' mapping")
    if not isinstance(raw["components"], Mapping):
        raise StackSpecError(f"{path.name}: 'components' must map a component type to a body")
    return raw


def _parse_secrets(path: Path, raw: Any) -> tuple[SecretSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise StackSpecError(f"{path.name}: 'secrets' must map a secret name to its keys")
    secrets = []
    for name, body in raw.items():
        keys = body.get("keys") if isinstance(body, Mapping) else None
        if not isinstance(keys, Mapping) or not keys:
            raise StackSpecError(
                f"{path.name}: secret {name!r} needs 'keys' mapping each key to an "
                "environment variable"
            )
        if unknown := set(body) - {"keys", "optional", "description"}:
            raise StackSpecError(f"{path.name}: secret {name!r} has unknown fields {unknown}")
        secrets.append(
            SecretSpec(
                str(name),
                {str(k): str(v) for k, v in keys.items()},
                bool(body.get("optional", False)),
                str(body.get("description", "")),
            )
        )
    return tuple(secrets)


def load_stack_spec(path: Path, overrides: Mapping[str, str] | None = None) -> StackSpec:
    """Read a stack file, filling ``${NAME}`` from overrides, then the environment."""
    raw = _read_stack_file(path)
    values = {
        **os.environ,
        "REPO_ROOT": str(REPO_ROOT),
        "STATE_DIR": str(state_dir()),
        **(overrides or {}),
    }
    missing: set[str] = set()
    filled = _substitute(dict(raw), values, missing)
    if missing:
        flags = " ".join(f"--set {m}=..." for m in sorted(missing))
        raise MissingValuesError(
            f"{path.name}: no value for {sorted(missing)}; pass {flags} or export them",
            str(raw["name"]),
            sorted(missing),
        )
    components = []
    for ctype, body in filled["components"].items():
        if not isinstance(body, Mapping) or not {"name", "flavor"} <= set(body):
            raise StackSpecError(f"{path.name}: component {ctype!r} needs 'name' and 'flavor'")
        configuration = _without_empty(dict(body.get("configuration") or {}))
        components.append(ComponentSpec(ctype, body["name"], body["flavor"], configuration))
    extras = {k: v for k, v in filled.items() if k not in _STACK_FILE_KEYS}
    secrets = _parse_secrets(path, filled.get("secrets"))
    return StackSpec(filled["name"], tuple(components), extras, secrets)


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """``--set NAME=value`` flags as a mapping (the values of ``${NAME}`` placeholders)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise StackSpecError(f"--set takes NAME=value, got {pair!r}")
        out[key] = value
    return out
