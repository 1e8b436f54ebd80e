"""``run.py stack``: register the stacks described in ``stacks/*.yaml``, idempotently.

ZenML's own ``stack import`` refuses to update a component whose configuration differs,
so registration compares each component with the file and creates, updates or leaves it,
saying which. The same goes for the ZenML secrets a stack file declares: components only
ever hold ``{{secret.key}}`` references, and the values come from environment variables
(or a prompt on a terminal), so no credential is written to the repository.

A stack file (see ``stacks/local.yaml`` and ``stacks/aws.yaml``)::

    name: aws
    secrets:                        # optional
      sentiment_mlflow:
        keys: {username: MLFLOW_TRACKING_USERNAME, password: MLFLOW_TRACKING_PASSWORD}
      sentiment_s3:
        optional: true              # not created when none of its variables is set
        keys: {aws_access_key_id: S3_ACCESS_KEY_ID, ...}
    components:
      artifact_store: {name: ..., flavor: s3, configuration: {path: "s3://${AWS_BUCKET}"}}

``${NAME}`` must get a value (``--set NAME=value``, else the environment), ``${NAME:-x}``
defaults to ``x``. A component setting whose value ends up empty, or that references an
optional secret which does not exist, is left unset so that the flavor's default applies.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cli.project import REPO_ROOT, STACKS_DIR, state_dir

_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")
# ZenML's own syntax for a secret reference: {{secret_name.key}}.
_SECRET_REFERENCE = re.compile(r"^\{\{\s*([^.\s]+)\.(\S+?)\s*\}\}$")
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


# --------------------------------------------------------------------------- secrets


def terminal_prompt() -> Prompt | None:
    """Ask on the terminal without echo; None when stdin is not a TTY (CI, pipes)."""
    if not sys.stdin.isatty():
        return None
    return lambda label: getpass.getpass(f"{label}: ")


def sync_secret(
    secret: SecretSpec,
    environ: Mapping[str, str],
    prompt: Prompt | None,
) -> tuple[str, bool]:
    """Create or update one ZenML secret from the environment; return (line, exists).

    Values already stored are kept unless the environment gives a different one; a missing
    value is asked for on a terminal, else it is an error naming the variables to export.
    An optional secret for which no variable is set is not created. Values are never
    printed, only key names.
    """
    from zenml.client import Client

    client = Client()
    given = {key: environ[var] for key, var in secret.keys.items() if environ.get(var)}
    try:
        existing = client.get_secret_by_name_and_private_status(secret.name, private=False)
        stored = dict(existing.secret_values)
    except KeyError:
        existing, stored = None, {}
    if secret.optional and not given and existing is None:
        return (
            f"skipped optional secret {secret.name!r} ({secret.description or 'not needed'}; "
            f"export {secret.variables()} to create it)",
            False,
        )
    for key, var in secret.keys.items():
        if key in given or stored.get(key):
            continue
        if prompt is None:
            needed = ", ".join(
                f"${v}" for k, v in secret.keys.items() if k not in given and not stored.get(k)
            )
            raise StackSpecError(
                f"secret {secret.name!r} ({secret.description or 'used by the stack'}) needs "
                f"{needed}: export them (no terminal to ask on)"
            )
        value = prompt(f"{secret.name}.{key} (${var})")
        if not value:
            raise StackSpecError(f"secret {secret.name!r}: no value given for {key!r}")
        given[key] = value
    if existing is None:
        client.create_secret(secret.name, given, private=False)
        return f"created secret {secret.name!r} (keys: {', '.join(sorted(given))})", True
    changed = sorted(k for k, v in given.items() if stored.get(k) != v)
    if not changed:
        return f"unchanged secret {secret.name!r}", True
    client.update_secret(
        secret.name, private=False, add_or_update_values={k: given[k] for k in changed}
    )
    return f"updated secret {secret.name!r}: {', '.join(changed)}", True


# Marks a setting to leave out (None is a legitimate value).
_DROP = object()


def _secret_exists(name: str) -> bool:
    from zenml.client import Client

    try:
        Client().get_secret_by_name_and_private_status(name)
    except KeyError:
        return False
    return True


def _references(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(setting path, secret name) of every ``{{secret.key}}`` in a configuration."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _references(item, f"{where}.{key}")
    elif isinstance(value, str) and (match := _SECRET_REFERENCE.match(value)):
        yield where, match.group(1)


def _check_references(spec: StackSpec) -> None:
    """A reference to an undeclared secret must name one that ZenML has, so that a typo
    fails here rather than in a pod halfway through a run."""
    declared = {s.name for s in spec.secrets}
    for comp in spec.components:
        for where, secret in _references(comp.configuration, f"{comp.type}.{comp.name}"):
            if secret not in declared and not _secret_exists(secret):
                raise StackSpecError(
                    f"{where} references secret {secret!r}, which the stack file does not "
                    "declare under 'secrets:' and ZenML does not have"
                )


def _without_missing_optional_secrets(
    spec: StackSpec, available: Mapping[str, bool]
) -> tuple[ComponentSpec, ...]:
    """Leave out settings that reference an optional secret that does not exist."""
    skipped = {s.name for s in spec.secrets if s.optional and not available.get(s.name)}

    def walk(value: Any) -> Any:
        if isinstance(value, Mapping):
            kept = {k: walk(v) for k, v in value.items()}
            return {k: v for k, v in kept.items() if v is not _DROP}
        match = _SECRET_REFERENCE.match(value) if isinstance(value, str) else None
        return _DROP if match and match.group(1) in skipped else value

    return tuple(
        ComponentSpec(c.type, c.name, c.flavor, walk(c.configuration)) for c in spec.components
    )


def _refuse_plain_credentials(comp: ComponentSpec) -> None:
    """A credential setting (a ZenML ``SecretField``) must hold a ``{{secret.key}}``."""
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack.flavor import Flavor
    from zenml.utils.secret_utils import is_secret_field, is_secret_reference

    model = Client().get_flavor_by_name_and_type(
        name=comp.flavor, component_type=StackComponentType(comp.type)
    )
    fields = Flavor.from_model(model).config_class.model_fields
    for key, value in comp.configuration.items():
        field = fields.get(key)
        if field is not None and is_secret_field(field) and not is_secret_reference(value):
            raise StackSpecError(
                f"{comp.type} {comp.name!r}: {key!r} is a credential; put it in a ZenML secret "
                f"and write {{{{secret_name.{key}}}}} instead of the value"
            )


# --------------------------------------------------------------------------- components


def _differences(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    changed = {k for k, v in desired.items() if existing.get(k) != v}
    return sorted(changed | (set(existing) - set(desired)))


def register_stack(
    spec: StackSpec,
    *,
    prompt: Prompt | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Create or update the secrets, components and the stack; return one line per item."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    client = Client()
    # Everything that can be refused is checked before anything is written.
    for comp in spec.components:
        _refuse_plain_credentials(comp)
    _check_references(spec)
    lines: list[str] = []
    available: dict[str, bool] = {}
    for secret in spec.secrets:
        line, exists = sync_secret(secret, os.environ if environ is None else environ, prompt)
        lines.append(line)
        available[secret.name] = exists
    components = _without_missing_optional_secrets(spec, available)
    component_names: dict[Any, str] = {}
    for comp in components:
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
            # None removes a setting the file no longer has (ZenML merges updates).
            removed = {k: None for k in current.configuration if k not in comp.configuration}
            client.update_stack_component(
                comp.name, ctype, configuration={**removed, **comp.configuration}
            )
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
            updates: dict[Any, Any] = {ctype: [] for ctype in current_names}
            updates.update(component_names)
            client.update_stack(spec.name, component_updates=updates)
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


# One MLflow experiment per pipeline (ZenML's tracker names it after the pipeline).
EXPERIMENTS = ("sentiment_training", "sentiment_tuning", "sentiment_inference")


def ensure_local_mlflow(
    tracking_uri: str, artifact_root: Path, experiments: tuple[str, ...] = EXPERIMENTS
) -> None:
    """Create the sqlite store and experiments with artifacts under ``artifact_root``."""
    db_path = Path(tracking_uri.removeprefix("sqlite:///"))
    if set(experiments) <= _existing_experiments(db_path):
        return  # every run after the first: no MLflow import, no schema check (~3 s)
    from mlflow.tracking import MlflowClient

    db_path.parent.mkdir(parents=True, exist_ok=True)
    artifact_root.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=tracking_uri)
    for name in experiments:
        if client.get_experiment_by_name(name) is None:
            client.create_experiment(name, artifact_location=(artifact_root / name).as_uri())


def _existing_experiments(db_path: Path) -> set[str]:
    """Experiment names in an MLflow sqlite store, read with sqlite3 (empty if there is none).

    Read-only and without MLflow: what ``ensure_local_mlflow`` needs to see that there is
    nothing to do. Any surprise (no file, no table, a lock) means "let MLflow look".
    """
    import sqlite3

    if not db_path.is_file():
        return set()
    try:
        with sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=5) as db:
            return {row[0] for row in db.execute("SELECT name FROM experiments")}
    except sqlite3.Error:
        return set()


def ensure_stack(name: str, overrides: Mapping[str, str] | None = None) -> list[str]:
    """Register ``name`` from its file (no-op when unchanged); this process then uses it.

    ``name`` is a file in ``stacks/`` or the path of a stack file. When the file's
    placeholders have no value here (e.g. ``train --stack aws`` after ``stack register aws
    --set ...``) but the stack is registered, the registered stack is used as it is.

    The rest of this process uses the stack by ID (``ZENML_ACTIVE_STACK_ID``): the active
    stack otherwise lives in the repository's ``.zen/config.yaml``, which every process
    working in this checkout shares, whatever ZenML store it talks to.
    """
    from zenml.client import Client

    try:
        spec = load_stack_spec(stack_file(name), overrides)
    except MissingValuesError as exc:
        try:
            Client().get_stack(exc.stack_name, allow_name_prefix_match=False)
        except KeyError:
            raise exc from None
        _activate(exc.stack_name)
        return [
            f"using the registered stack {exc.stack_name!r} as it is (not compared with its "
            f"file: no value for {', '.join(exc.missing)})"
        ]
    lines = register_stack(spec, prompt=terminal_prompt())
    _activate(spec.name)
    return lines


def _activate(name: str) -> None:
    """Use ``name`` for the rest of this process only, by ID.

    Not ``Client().activate_stack``: that writes the checkout's ``.zen/config.yaml``, so a
    run against another ZenML store (a test sandbox, a CI job) would leave the checkout
    pointing at a stack its own store does not have. ``stack register --activate`` is the
    command that changes the checkout's active stack.
    """
    from zenml.client import Client

    os.environ["ZENML_ACTIVE_STACK_ID"] = str(
        Client().get_stack(name, allow_name_prefix_match=False).id
    )


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
    reg = sub.add_parser(
        "register",
        help="register or update a stack (and its secrets) from stacks/NAME.yaml",
        description="Create or update the stack's ZenML secrets (from the environment "
        "variables its file names, or a prompt on a terminal), components and stack.",
    )
    reg.add_argument("name", help="stack name (stacks/NAME.yaml: local, aws) or a .yaml path")
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
        try:
            spec = load_stack_spec(stack_file(args.name), parse_sets(args.set))
            lines = register_stack(spec, prompt=terminal_prompt())
        except StackSpecError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for line in lines:
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
