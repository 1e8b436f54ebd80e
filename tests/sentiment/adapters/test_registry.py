"""sentiment.adapters.registry.rollback against a real MLflow registry (sqlite, no server).

What a rollback must guarantee: the alias moves only to a version that exists, the story
(who, when, why, from where) is tagged on both versions, and every refusal leaves the alias
where it was, so a mistyped rollback never takes the serving model away.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sentiment.adapters.registry import (
    PROMOTED_FROM_TAG,
    ModelNotFoundError,
    RollbackError,
    get_alias_version,
    resolve_model,
    rollback,
)

NAME = "sentiment-classifier"
ALIAS = "production"


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One sqlite registry for the module (its schema migration takes a few seconds)."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}"


@pytest.fixture
def registry(tracking_uri: str, tmp_path: Path) -> Iterator[object]:
    """Versions 1-3 of a fresh registered model; v3 holds the alias and was promoted from v2."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    client.create_registered_model(NAME)
    for version in ("1", "2", "3"):
        source = tmp_path / f"v{version}"
        source.mkdir()
        client.create_model_version(NAME, source=str(source))
    client.set_model_version_tag(NAME, "3", PROMOTED_FROM_TAG, "2")
    client.set_registered_model_alias(NAME, ALIAS, "3")
    yield client
    client.delete_registered_model(NAME)


def holder(tracking_uri: str) -> str:
    version = get_alias_version(NAME, ALIAS, tracking_uri=tracking_uri)
    assert version is not None
    return str(version.version)


def test_rollback_goes_to_the_version_it_replaced_and_tags_both(
    registry, tracking_uri: str
) -> None:
    done = rollback(
        NAME, ALIAS, to_version=None, reason="p99 alert", actor="oncall", tracking_uri=tracking_uri
    )
    assert (done.from_version, done.to_version) == ("3", "2")
    assert holder(tracking_uri) == "2"
    restored = registry.get_model_version(NAME, "2").tags
    replaced = registry.get_model_version(NAME, "3").tags
    assert restored["rollback_from"] == "3"
    assert restored["rollback_by"] == "oncall"
    assert restored["rollback_reason"] == "p99 alert"
    assert replaced["rolled_back_to"] == "2"
    assert replaced["rolled_back_at"] == restored["rollback_at"]


def test_rollback_to_a_named_version(registry, tracking_uri: str) -> None:
    rollback(NAME, ALIAS, to_version="1", reason="r", actor="a", tracking_uri=tracking_uri)
    assert holder(tracking_uri) == "1"


@pytest.mark.parametrize(
    ("to_version", "message"),
    [("3", "already points at v3"), ("9", "has no version 9")],
)
def test_a_refused_rollback_leaves_the_alias_where_it_was(
    registry, tracking_uri: str, to_version: str, message: str
) -> None:
    with pytest.raises(RollbackError, match=message):
        rollback(
            NAME, ALIAS, to_version=to_version, reason="r", actor="a", tracking_uri=tracking_uri
        )
    assert holder(tracking_uri) == "3"
    assert "rolled_back_to" not in registry.get_model_version(NAME, "3").tags


def test_a_version_that_does_not_record_its_predecessor_needs_a_target(
    registry, tracking_uri: str
) -> None:
    registry.delete_model_version_tag(NAME, "3", PROMOTED_FROM_TAG)
    with pytest.raises(RollbackError, match="name one with --to VERSION"):
        rollback(NAME, ALIAS, to_version=None, reason="r", actor="a", tracking_uri=tracking_uri)
    assert holder(tracking_uri) == "3"


def test_no_alias_nothing_to_roll_back(registry, tracking_uri: str) -> None:
    registry.delete_registered_model_alias(NAME, ALIAS)
    with pytest.raises(RollbackError, match="has no 'production' version"):
        rollback(NAME, ALIAS, to_version=None, reason="r", actor="a", tracking_uri=tracking_uri)


def test_resolve_model_without_a_registered_model_says_what_to_do(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with pytest.raises(ModelNotFoundError, match=r"no 'production' version.*run.py train"):
        resolve_model("sentiment-classifier", tracking_uri=uri)
    with pytest.raises(ModelNotFoundError, match="has no version '3'"):
        resolve_model("sentiment-classifier", version="3", tracking_uri=uri)
