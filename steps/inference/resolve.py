"""Resolve which registered model version scores this run (the alias is read once)."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import log_metadata, step

from sentiment.adapters.registry import resolve_model
from sentiment.core.batch import ModelSelector


@step(enable_cache=False)  # the alias moves between runs: never replay an old answer
def resolve_model_version(
    model: ModelSelector, model_version: str | None = None
) -> Annotated[dict[str, Any], "model_ref"]:
    """``model_version`` when given, else the version holding ``model.alias``.

    Resolving once, up front, means every later step uses the same version even if the
    alias is moved while the batch is being scored.
    """
    ref = resolve_model(model.registered_model_name, alias=model.alias, version=model_version)
    log_metadata(
        metadata={
            "model_name": ref.name,
            "model_version": ref.version,
            "model_alias": ref.alias or "",
        }
    )
    return ref.to_dict()
