"""The ZenML secrets a stack file declares, and the checks on the references to them.

Components only ever hold ``{{secret.key}}`` references; the values come from environment
variables (or a prompt on a terminal), so no credential is written to the repository.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from sentiment.adapters.stacks.spec import (
    SECRET_REFERENCE,
    ComponentSpec,
    Prompt,
    SecretSpec,
    StackSpec,
    StackSpecError,
)


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
    elif isinstance(value, str) and (match := SECRET_REFERENCE.match(value)):
        yield where, match.group(1)


def check_references(spec: StackSpec) -> None:
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


def without_missing_optional_secrets(
    spec: StackSpec, available: Mapping[str, bool]
) -> tuple[ComponentSpec, ...]:
    """Leave out settings that reference an optional secret that does not exist."""
    skipped = {s.name for s in spec.secrets if s.optional and not available.get(s.name)}

    def walk(value: Any) -> Any:
        if isinstance(value, Mapping):
            kept = {k: walk(v) for k, v in value.items()}
            return {k: v for k, v in kept.items() if v is not _DROP}
        match = SECRET_REFERENCE.match(value) if isinstance(value, str) else None
        return _DROP if match and match.group(1) in skipped else value

    return tuple(
        ComponentSpec(c.type, c.name, c.flavor, walk(c.configuration)) for c in spec.components
    )


def refuse_plain_credentials(comp: ComponentSpec) -> None:
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
