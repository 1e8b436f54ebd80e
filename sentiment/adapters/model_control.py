"""Mirror the MLflow serving alias into ZenML's Model Control Plane.

MLflow's registry decides what is served (the ``production`` alias); ZenML's model versions
(its client, its API, ZenML Pro's Models page) are where people look at runs, artifacts and
metrics together. Both must tell the same story, so whatever moves the alias (the register
step's gate, ``run.py rollback``) calls :func:`mirror_alias` afterwards, and the ZenML model
version trained by the same pipeline run gets the same stage. The link between the two is
the ``zenml_run_id`` tag every registered MLflow version carries: no second mapping to keep
in sync.

Only real moves call this, so an unchanged rerun (nothing registered) changes no stage.
"""

from __future__ import annotations

import logging
from typing import Any

from sentiment.adapters.registry import ZENML_RUN_TAG, get_alias_version

log = logging.getLogger(__name__)


def zenml_stage(alias: str) -> Any | None:
    """ZenML's stage for an MLflow alias, when ZenML has one (its stages are a fixed set)."""
    from zenml.enums import ModelStages

    try:
        stage = ModelStages(alias)
    except ValueError:
        return None
    return None if stage == ModelStages.LATEST else stage


def stage_run_model_version(zenml_run_id: str, alias: str) -> str | None:
    """Give the ZenML model version of pipeline run ``zenml_run_id`` the stage ``alias``.

    Returns the ZenML version name, or ``None`` when there is nothing to mirror: no such
    stage, a run from before the Model Control Plane wiring, or a run from another store.
    ``force`` archives the previous holder, as the alias moving away from it does in MLflow.
    """
    from zenml.client import Client

    stage = zenml_stage(alias)
    if stage is None:
        return None
    client = Client()
    try:
        version = client.get_pipeline_run(zenml_run_id).model_version
    except KeyError:
        return None
    if version is None:
        return None
    if version.stage != stage.value:
        client.update_model_version(
            model_name_or_id=version.model.id,
            version_name_or_id=version.id,
            stage=stage,
            force=True,
        )
    log.info("ZenML model %s version %s is now %r", version.model.name, version.name, alias)
    return str(version.name)


def mirror_alias(name: str, alias: str, *, tracking_uri: str | None = None) -> str | None:
    """Stage the ZenML model version that trained the MLflow version holding ``alias``.

    Reads the alias back from MLflow rather than trusting the caller, so the mirror shows
    what the registry says after the move. Returns the staged ZenML version name, or None.
    """
    holder = get_alias_version(name, alias, tracking_uri=tracking_uri)
    if holder is None:
        return None
    run_id = dict(holder.tags).get(ZENML_RUN_TAG)
    return stage_run_model_version(run_id, alias) if run_id else None
