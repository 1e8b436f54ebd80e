"""The MLflow model registry: register a trained pipeline and move the serving alias.

ZenML's ``mlflow_register_model_step`` registers the wrong URI under MLflow 3, so models are
registered with ``mlflow.sklearn.log_model(..., registered_model_name=...)`` and promoted
with aliases (stages are deprecated). The alias is the last thing written: if anything
before it fails, the current ``production`` version keeps serving.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentiment.core.hashing import file_sha256
from sentiment.core.identity import RUNTIME_PACKAGES, TRAINING_KEY_TAG

if TYPE_CHECKING:
    from sentiment.core.batch import ModelRef
    from sentiment.core.promotion import Champion

log = logging.getLogger(__name__)

MODEL_SHA256_TAG = "model_sha256"
DATA_FINGERPRINT_TAG = "data_fingerprint"
ZENML_RUN_TAG = "zenml_run_id"
METRIC_TAG_PREFIX = "metric."
PROMOTED_FROM_TAG = "promoted_from"
# What loading the model needs. Listing it skips MLflow's requirement inference, which
# re-imports the model in a subprocess and adds ~10 s to every registration.
MODEL_RUNTIME_PACKAGES = RUNTIME_PACKAGES


def model_pip_requirements() -> list[str]:
    """Pinned requirements for the logged model, from the versions installed here."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in MODEL_RUNTIME_PACKAGES]


def _client(tracking_uri: str | None = None) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def get_alias_version(name: str, alias: str, *, tracking_uri: str | None = None) -> Any | None:
    """The model version holding ``alias``, or None when the model or alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return _client(tracking_uri).get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
            return None
        raise


def find_twins(name: str, key: str, *, tracking_uri: str | None = None) -> list[Any]:
    """Registered versions of ``name`` trained from the same ``training_key``, oldest first.

    One indexed registry query; empty when the model or such a version does not exist.
    """
    if "'" in key:
        raise ValueError(f"training key {key!r} must not contain quotes")
    versions = _client(tracking_uri).search_model_versions(
        f"name='{name}' and tags.{TRAINING_KEY_TAG} = '{key}'"
    )
    return sorted(versions, key=lambda v: int(v.version))


def recorded_metrics(tags: Mapping[str, str]) -> dict[str, float]:
    """Metrics stored as ``metric.<name>`` version tags at registration."""
    return {
        key[len(METRIC_TAG_PREFIX) :]: float(value)
        for key, value in tags.items()
        if key.startswith(METRIC_TAG_PREFIX)
    }


def read_champion(name: str, alias: str, *, tracking_uri: str | None = None) -> Champion | None:
    """The version holding ``alias`` with the metrics and data fingerprint it was registered
    with (version tags), or None when no version holds it."""
    from sentiment.core.promotion import Champion

    version = get_alias_version(name, alias, tracking_uri=tracking_uri)
    if version is None:
        return None
    tags = dict(version.tags)
    return Champion(
        str(version.version), recorded_metrics(tags), tags.get(DATA_FINGERPRINT_TAG), tags=tags
    )


def comparable_champion(
    name: str,
    alias: str,
    data_fingerprint: str,
    score: Callable[[Any], Mapping[str, float]],
    *,
    tracking_uri: str | None = None,
) -> Champion | None:
    """The alias holder with metrics comparable to a new model's.

    Metrics recorded on other data are not comparable (:func:`needs_rescoring` decides), so
    such a champion is loaded and scored with ``score`` on this run's test split. A champion that
    cannot be loaded keeps its recorded metrics: it must not block a registration.
    """
    from sentiment.core.promotion import needs_rescoring, rescored

    champion = read_champion(name, alias, tracking_uri=tracking_uri)
    if champion is None or not needs_rescoring(champion, data_fingerprint):
        return champion
    try:
        model = load_version(name, champion.version, tracking_uri=tracking_uri)
        champion = rescored(champion, score(model))
        log.info("re-scored '%s' v%s on this test split: %s", alias, champion.version,
                 champion.metrics)  # fmt: skip
    except Exception as exc:
        log.warning("could not re-score '%s' v%s (%s); comparing recorded metrics", alias,
                    champion.version, exc)  # fmt: skip
    return champion


def download_model(name: str, version: str, dest: Path, *, tracking_uri: str | None = None) -> Path:
    """Download a registered version's MLflow model directory into ``dest``."""
    import mlflow.artifacts

    uri = f"models:/{name}/{version}"
    return Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=str(dest), tracking_uri=tracking_uri
        )
    )


def load_version(name: str, version: str, *, tracking_uri: str | None = None) -> Any:
    """Load a registered version through the safe loader, checking its recorded digest."""
    from sentiment.adapters.serialization import load_model, model_file_in

    mv = _client(tracking_uri).get_model_version(name, version)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = download_model(name, version, Path(tmp), tracking_uri=tracking_uri)
        return load_model(model_file_in(model_dir), expected_sha256=mv.tags.get(MODEL_SHA256_TAG))


def log_and_register(
    model: Any,
    *,
    name: str,
    input_example: Any,
    tags: Mapping[str, str],
    metrics: Mapping[str, float],
    code_paths: list[str] | None = None,
) -> tuple[str, str]:
    """Log ``model`` to the active MLflow run, register it, tag the version.

    Returns (version, SHA-256 of the stored skops file). The digest is taken from what the
    registry actually stores (downloaded back), so the service can verify exactly that.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from sentiment.core.model import TRUSTED_TYPES

    signature = infer_signature(input_example, model.predict_proba(input_example)[:, 1])
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        registered_model_name=name,
        serialization_format="skops",
        skops_trusted_types=TRUSTED_TYPES,
        signature=signature,
        input_example=input_example,
        code_paths=code_paths,
        pyfunc_predict_fn="predict_proba",
        pip_requirements=model_pip_requirements(),
    )
    version = str(info.registered_model_version)
    with tempfile.TemporaryDirectory() as tmp:
        from sentiment.adapters.serialization import model_file_in

        model_dir = download_model(name, version, Path(tmp))
        sha256 = file_sha256(model_file_in(model_dir))
    client = _client()
    all_tags = {
        **tags,
        MODEL_SHA256_TAG: sha256,
        **{f"{METRIC_TAG_PREFIX}{k}": f"{v:.6f}" for k, v in metrics.items()},
    }
    for key, value in all_tags.items():
        client.set_model_version_tag(name, version, key, str(value))
    return version, sha256


def set_alias(
    name: str,
    version: str,
    alias: str,
    *,
    reason: str,
    tracking_uri: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
) -> None:
    """Point ``alias`` at ``version`` and record why, and which version it replaced, on it.

    ``promoted_from`` is what ``rollback`` without a target goes back to.
    """
    client = _client(tracking_uri)
    previous = get_alias_version(name, alias, tracking_uri=tracking_uri)
    tags = {"promotion": "promoted", "promotion_reason": reason[:4000], **(extra_tags or {})}
    if previous is not None and str(previous.version) != str(version):
        tags[PROMOTED_FROM_TAG] = str(previous.version)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value))
    client.set_registered_model_alias(name, alias, version)
    log.info("alias %r of %s now points at version %s", alias, name, version)


@dataclass(frozen=True)
class Rollback:
    """What a rollback did: the alias moved from one version to another."""

    alias: str
    from_version: str
    to_version: str


def rollback(
    name: str,
    alias: str,
    *,
    to_version: str | None,
    reason: str,
    actor: str,
    tracking_uri: str | None = None,
) -> Rollback:
    """Move ``alias`` back to ``to_version`` or to the version it was promoted from.

    Who, when and why are recorded as tags on both versions, so the registry alone tells
    the story of every release and rollback.
    """
    import datetime

    client = _client(tracking_uri)
    current = get_alias_version(name, alias, tracking_uri=tracking_uri)
    if current is None:
        raise RollbackError(f"model {name!r} has no {alias!r} version to roll back")
    current_version = str(current.version)
    target = to_version or current.tags.get(PROMOTED_FROM_TAG)
    if not target:
        raise RollbackError(
            f"{name} v{current_version} does not record the version it replaced; "
            "name one with --to VERSION"
        )
    if str(target) == current_version:
        raise RollbackError(f"{alias!r} already points at v{current_version}")
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(name, str(target))
    except MlflowException as exc:
        raise RollbackError(f"{name} has no version {target}") from exc
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    for key, value in {
        "rollback_by": actor,
        "rollback_at": when,
        "rollback_reason": reason,
        "rollback_from": current_version,
    }.items():
        client.set_model_version_tag(name, str(target), key, value[:4000])
    for key, value in {
        "rolled_back_by": actor,
        "rolled_back_at": when,
        "rolled_back_reason": reason,
        "rolled_back_to": str(target),
    }.items():
        client.set_model_version_tag(name, current_version, key, value[:4000])
    client.set_registered_model_alias(name, alias, str(target))
    log.info("alias %r of %s rolled back from v%s to v%s", alias, name, current_version, target)
    return Rollback(alias, current_version, str(target))


class RollbackError(RuntimeError):
    """A rollback that cannot be done as asked (no alias, no previous version, same version)."""


def record_rejection(name: str, version: str, reason: str) -> None:
    """Tag a version that did not take the alias, so the registry says why."""
    client = _client()
    client.set_model_version_tag(name, version, "promotion", "rejected")
    client.set_model_version_tag(name, version, "promotion_reason", reason[:4000])


class ModelNotFoundError(LookupError):
    """The registry has no model version matching the request."""


def resolve_model(
    name: str,
    *,
    alias: str | None = "production",
    version: str | None = None,
    tracking_uri: str | None = None,
) -> ModelRef:
    """The version to score with: ``version`` when given, else the one holding ``alias``."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from sentiment.core.batch import ModelRef

    if version:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        try:
            mv = client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise ModelNotFoundError(f"model {name!r} has no version {version!r}") from exc
        return ModelRef(name, str(mv.version), None, dict(mv.tags))
    if not alias:
        raise ModelNotFoundError("name a model version or an alias to score with")
    holder = get_alias_version(name, alias, tracking_uri=tracking_uri)
    if holder is None:
        raise ModelNotFoundError(
            f"model {name!r} has no {alias!r} version; train and promote one first "
            "(python run.py train) or pass --model-version"
        )
    return ModelRef(name, str(holder.version), alias, dict(holder.tags))
