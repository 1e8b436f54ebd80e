"""``run.py stack``: register the stacks described in ``stacks/*.yaml``, idempotently.

ZenML's own ``stack import`` refuses to update a component whose configuration differs,
so registration compares each component with the file and creates, updates or leaves it,
saying which.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cli.project import REPO_ROOT, STACKS_DIR, STATE_DIR

_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


class StackSpecError(ValueError):
    """The stack file is malformed or a placeholder has no value."""


@dataclass(frozen=True)
class ComponentSpec:
    type: str
    name: str
    flavor: str
    configuration: dict[str, Any]


@dataclass(frozen=True)
class StackSpec:
    name: str
    components: tuple[ComponentSpec, ...]
    extras: dict[str, Any]


def _substitute(value: Any, values: Mapping[str, str], missing: set[str]) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                missing.add(key)
                return match.group(0)
            return values[key]

        return _PLACEHOLDER.sub(repl, value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, values, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, missing) for v in value]
    return value


def stack_file(name: str) -> Path:
    path = STACKS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in STACKS_DIR.glob("*.yaml"))
        raise StackSpecError(f"no stack file {path}; known stacks: {known}")
    return path


def load_stack_spec(path: Path, overrides: Mapping[str, str] | None = None) -> StackSpec:
    """Read a stack file, filling ``${NAME}`` from overrides, then the environment."""
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, Mapping) or "name" not in raw or "components" not in raw:
        raise StackSpecError(f"{path}: needs a 'name' and a 'components' mapping")
    values = {
        **os.environ,
        "REPO_ROOT": str(REPO_ROOT),
        "STATE_DIR": os.environ.get("SENTIMENT_STATE_DIR") or str(STATE_DIR),
        **(overrides or {}),
    }
    missing: set[str] = set()
    filled = _substitute(dict(raw), values, missing)
    if missing:
        flags = " ".join(f"--set {m}=..." for m in sorted(missing))
        raise StackSpecError(
            f"{path.name}: no value for {sorted(missing)}; pass {flags} or export them"
        )
    components = []
    for ctype, body in filled["components"].items():
        if not {"name", "flavor"} <= set(body):
            raise StackSpecError(f"{path.name}: component {ctype!r} needs 'name' and 'flavor'")
        components.append(
            ComponentSpec(
                ctype, body["name"], body["flavor"], dict(body.get("configuration") or {})
            )
        )
    extras = {k: v for k, v in filled.items() if k not in {"name", "components", "description"}}
    return StackSpec(filled["name"], tuple(components), extras)


def _differences(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    return sorted(k for k, v in desired.items() if existing.get(k) != v)


def register_stack(spec: StackSpec) -> list[str]:
    """Create or update the components and the stack; return one line per change."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    client = Client()
    lines: list[str] = []
    component_names: dict[Any, str] = {}
    for comp in spec.components:
        ctype = StackComponentType(comp.type)
        component_names[ctype] = comp.name
        try:
            current = client.get_stack_component(ctype, comp.name, allow_name_prefix_match=False)
        except KeyError:
            client.create_stack_component(comp.name, comp.flavor, ctype, comp.configuration)
            lines.append(f"created {comp.type} {comp.name!r} ({comp.flavor})")
            continue
        if current.flavor_name != comp.flavor:
            raise StackSpecError(
                f"{comp.type} {comp.name!r} exists with flavor {current.flavor_name!r}, the "
                f"file says {comp.flavor!r}: delete it first (zenml {comp.type.replace('_', '-')}"
                f" delete {comp.name})"
            )
        changed = _differences(current.configuration, comp.configuration)
        if changed:
            client.update_stack_component(comp.name, ctype, configuration=comp.configuration)
            lines.append(f"updated {comp.type} {comp.name!r}: {', '.join(changed)}")
        else:
            lines.append(f"unchanged {comp.type} {comp.name!r}")
    try:
        stack = client.get_stack(spec.name, allow_name_prefix_match=False)
    except KeyError:
        client.create_stack(spec.name, components=component_names)
        lines.append(f"created stack {spec.name!r}")
    else:
        current_names = {ctype: comps[0].name for ctype, comps in stack.components.items() if comps}
        if current_names != component_names:
            client.update_stack(spec.name, component_updates=component_names)
            lines.append(f"updated stack {spec.name!r}")
        else:
            lines.append(f"unchanged stack {spec.name!r}")
    _prepare_extras(spec)
    return lines


def _prepare_extras(spec: StackSpec) -> None:
    """Side resources a stack file asks for (the local MLflow experiment's artifact root)."""
    root = spec.extras.get("mlflow_artifact_root")
    tracker = next((c for c in spec.components if c.type == "experiment_tracker"), None)
    if root and tracker and tracker.configuration.get("tracking_uri", "").startswith("sqlite:"):
        ensure_local_mlflow(tracker.configuration["tracking_uri"], Path(root))


def ensure_local_mlflow(
    tracking_uri: str, artifact_root: Path, experiments: tuple[str, ...] = ("sentiment_training",)
) -> None:
    """Create the sqlite store and experiments with artifacts under ``artifact_root``."""
    from mlflow.tracking import MlflowClient

    db_path = Path(tracking_uri.removeprefix("sqlite:///"))
    db_path.parent.mkdir(parents=True, exist_ok=True)
    artifact_root.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=tracking_uri)
    for name in experiments:
        if client.get_experiment_by_name(name) is None:
            client.create_experiment(name, artifact_location=(artifact_root / name).as_uri())


def ensure_stack(name: str, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Register ``name`` from its file (no-op when unchanged) and make it the active stack."""
    from zenml.client import Client

    lines = register_stack(load_stack_spec(stack_file(name), overrides))
    Client().activate_stack(name)
    return lines


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise StackSpecError(f"--set takes NAME=value, got {pair!r}")
        out[key] = value
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="stack_command", required=True)
    reg = sub.add_parser("register", help="register or update a stack from stacks/NAME.yaml")
    reg.add_argument("name", help="stack file name without .yaml (local, aws, ...)")
    reg.add_argument(
        "--set",
        action="append",
        metavar="NAME=value",
        help="value for a ${NAME} placeholder in the stack file",
    )
    reg.add_argument("--activate", action="store_true", help="also make it the active stack")
    sub.add_parser("list", help="list registered stacks and their components")


def main(args: argparse.Namespace) -> int:
    from zenml.client import Client

    if args.stack_command == "register":
        spec = load_stack_spec(stack_file(args.name), parse_sets(args.set))
        for line in register_stack(spec):
            print(line)
        if args.activate:
            Client().activate_stack(spec.name)
            print(f"active stack: {spec.name}")
        return 0
    client = Client()
    active = client.active_stack_model.name
    for stack in client.list_stacks(size=100).items:
        marker = "*" if stack.name == active else " "
        parts = ", ".join(f"{t.value}={c[0].name}" for t, c in stack.components.items() if c)
        print(f"{marker} {stack.name}: {parts}")
    return 0
