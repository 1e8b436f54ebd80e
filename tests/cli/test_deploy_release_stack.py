"""``run.py deploy`` on a stack that orchestrates remotely runs the release steps here.

Real ZenML store in a temporary config dir. The remote orchestrator is ZenML's Kubernetes
flavor, registered but never run (no cluster here): ``release_stack`` only reads the stack.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sentiment.adapters.stacks.release import RELEASE_ORCHESTRATOR, release_stack

# Registers stacks in a real ZenML store.
pytestmark = pytest.mark.integration


def _ids(components: dict) -> dict:  # type: ignore[type-arg]
    return {kind: sorted(str(c.id) for c in found) for kind, found in components.items() if found}


def test_release_stack_swaps_only_the_orchestrator_and_is_idempotent(
    zenml_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from zenml.client import Client
    from zenml.enums import StackComponentType as Kind

    client = Client()
    default = client.active_stack_model
    eks = client.create_stack_component(
        "eks", "kubernetes", Kind.ORCHESTRATOR, {"kubernetes_context": "arn:aws:eks:test"}
    )
    store = default.components[Kind.ARTIFACT_STORE][0]
    aws = client.create_stack(
        "aws", components={Kind.ORCHESTRATOR: eks.id, Kind.ARTIFACT_STORE: store.id}
    )
    monkeypatch.setenv("ZENML_ACTIVE_STACK_ID", str(aws.id))

    note = release_stack()
    assert note is not None
    assert "'aws-release'" in note
    assert "'kubernetes'" in note
    release = client.get_stack("aws-release", allow_name_prefix_match=False)
    assert os.environ["ZENML_ACTIVE_STACK_ID"] == str(release.id)
    (orchestrator,) = release.components[Kind.ORCHESTRATOR]
    assert (orchestrator.name, orchestrator.flavor_name) == (RELEASE_ORCHESTRATOR, "local")
    expected = _ids(aws.components)
    expected[Kind.ORCHESTRATOR] = [str(orchestrator.id)]
    assert _ids(release.components) == expected

    # Again, from the aws stack: the same sibling, unchanged.
    monkeypatch.setenv("ZENML_ACTIVE_STACK_ID", str(aws.id))
    release_stack()
    again = client.get_stack("aws-release", allow_name_prefix_match=False)
    assert again.id == release.id
    assert _ids(again.components) == expected


def test_a_locally_orchestrated_stack_is_used_as_it_is(zenml_store: Path) -> None:
    from zenml.client import Client

    assert release_stack() is None
    assert [s.name for s in Client().list_stacks()] == ["default"]
