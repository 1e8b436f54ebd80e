"""Create, update or leave each secret, component and the stack, as its file says.

ZenML's own ``stack import`` refuses to update a component whose configuration differs, so
registration compares each component with the file and says what it did with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sentiment.adapters.stacks.mlflow_store import prepare_extras
from sentiment.adapters.stacks.secrets import (
    check_references,
    refuse_plain_credentials,
    sync_secret,
    terminal_prompt,
    without_missing_optional_secrets,
)
from sentiment.adapters.stacks.spec import (
    MissingValuesError,
    Prompt,
    StackSpec,
    StackSpecError,
    load_stack_spec,
    stack_file,
)


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
        refuse_plain_credentials(comp)
    check_references(spec)
    lines: list[str] = []
    available: dict[str, bool] = {}
    for secret in spec.secrets:
        line, exists = sync_secret(secret, os.environ if environ is None else environ, prompt)
        lines.append(line)
        available[secret.name] = exists
    components = without_missing_optional_secrets(spec, available)
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
    prepare_extras(spec)
    return lines


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
