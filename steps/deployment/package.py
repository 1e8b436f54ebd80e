"""Package: the model holding the serving alias, verified, as a Bento and a .bento archive."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated

from zenml import log_metadata, step

from sentiment.adapters.registry import MODEL_SHA256_TAG, download_model, get_alias_version
from sentiment.adapters.serialization import load_model, model_file_in

log = logging.getLogger(__name__)


@step(enable_cache=False)  # the alias may have moved: always look it up
def package_bento(
    registered_model_name: str, alias: str, bentofile: str
) -> tuple[
    Annotated[str, "bento_tag"],
    Annotated[str, "model_version"],
    Annotated[Path, "bento_archive"],
]:
    """Fetch ``models:/NAME@ALIAS``, check its digest, import it into the BentoML model
    store, build the Bento from ``bentofile`` and export it as a portable archive."""
    from sentiment.adapters.bento import build_bento, export_bento, import_model

    version = get_alias_version(registered_model_name, alias)
    if version is None:
        raise RuntimeError(
            f"no '{alias}' version of {registered_model_name} in the registry: train and "
            "promote a model first (python run.py train)"
        )
    model_version = str(version.version)
    sha256 = version.tags.get(MODEL_SHA256_TAG)
    if not sha256:
        raise RuntimeError(
            f"{registered_model_name} v{model_version} has no {MODEL_SHA256_TAG} "
            "tag: it was not registered by this project's pipeline"
        )
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = download_model(registered_model_name, model_version, Path(tmp) / "model")
        load_model(model_file_in(model_dir), expected_sha256=sha256)  # refuse a tampered file
        model_tag = import_model(
            model_dir,
            name=registered_model_name,
            model_version=model_version,
            sha256=sha256,
            metadata={"alias": alias, "run_id": version.run_id or ""},
        )
    bento = build_bento(bentofile=Path(bentofile), model_tag=model_tag)
    out_dir = Path(tempfile.mkdtemp(prefix="bento-export-"))
    archive = export_bento(bento.tag, out_dir)
    log.info("built Bento %s serving %s v%s", bento.tag, registered_model_name, model_version)
    log_metadata(
        metadata={
            "bento_tag": str(bento.tag),
            "model_version": model_version,
            "model_sha256": sha256,
        }
    )
    return str(bento.tag), model_version, archive
