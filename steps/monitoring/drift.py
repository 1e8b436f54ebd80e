"""Drift: compare the scored batch sample with the training data the model came from."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from PIL import Image
from zenml import log_metadata, step
from zenml.integrations.pillow.materializers.pillow_image_materializer import (
    PillowImageMaterializer,
)
from zenml.types import HTMLString

from sentiment.adapters.registry import DATA_FINGERPRINT_TAG, ZENML_RUN_TAG
from sentiment.core.batch import ModelRef
from sentiment.core.data import data_fingerprint, load_splits, resolve_source
from sentiment.core.drift import (
    DriftSettings,
    TextProfile,
    build_reference,
    compare,
)
from sentiment.reports.drift import render_html, save_histograms_png
from steps.inference.models import load_registered
from steps.tracking import log_artifact, log_metrics

log = logging.getLogger(__name__)


def training_source(ref: ModelRef) -> str | None:
    """The data source the model version was trained on, from its ZenML training run.

    The registry tags each version with the ZenML run that produced it, and that run's
    locate step recorded the source it read: the natural reference when nobody names one.
    """
    run_id = ref.tags.get(ZENML_RUN_TAG)
    if not run_id:
        return None
    try:
        from zenml.client import Client

        run = Client().get_pipeline_run(run_id)
        # locate_source runs on every run; ingest_reviews only when the bytes changed (and
        # before locate_source existed, it was the step that recorded the source).
        step_name = "locate_source" if "locate_source" in run.steps else "ingest_reviews"
        source = run.steps[step_name].run_metadata.get("source")
    except Exception as exc:  # another ZenML store, a deleted run: fall back, don't fail
        log.info(
            "could not read the training source of %s v%s from ZenML run %s: %s",
            ref.name,
            ref.version,
            run_id,
            exc,
        )
        return None
    return str(source) if source else None


def _reference_source(ref: ModelRef, cli_value: str | None, configured: str | None) -> str:
    """--reference-data or $SENTIMENT_DATA (passed in by the CLI), then the config, then the
    model's own training source, then the official archive: the data-source order of
    :func:`sentiment.core.data.resolve_source` with the training source as its fallback."""
    return resolve_source(
        cli_value,
        {},
        configured,
        fallbacks=(
            (f"the training source of {ref.name} v{ref.version}", lambda: training_source(ref)),
        ),
    )


@step(
    enable_cache=False,  # the reference source is read again: it may have changed
    output_materializers={"drift_histograms": PillowImageMaterializer},
)
def detect_drift(
    sample: pd.DataFrame,
    model_ref: dict[str, Any],
    batch_summary: dict[str, Any],
    drift: DriftSettings,
    reference_source: str | None = None,
) -> tuple[
    Annotated[dict[str, Any], "drift_report"],
    Annotated[HTMLString, "drift_report_html"],
    Annotated[Image.Image, "drift_histograms"],
]:
    """Build the reference profile on demand and compare the batch sample with it.

    The reference is computed here rather than stored at training time because its scores
    must come from the very model version being checked, on held-out reviews; recomputing
    costs seconds and needs no extra artifact kept in sync with every registered version.
    """
    settings, thresholds = drift.reference, drift.thresholds
    ref = ModelRef.from_dict(model_ref)
    threshold = float(batch_summary.get("threshold", 0.5))
    source = _reference_source(ref, reference_source, settings.source)
    train, test = load_splits(source, settings.data, storage_options=settings.storage_options)
    fingerprint = data_fingerprint(train, test)
    trained_on = ref.tags.get(DATA_FINGERPRINT_TAG)
    same_data = trained_on == fingerprint if trained_on else None
    if same_data is False:
        log.warning(
            "the reference data %s is not the data %s v%s was trained on (fingerprint "
            "%s vs %s): the comparison is against other data",
            source,
            ref.name,
            ref.version,
            fingerprint[:12],
            trained_on[:12] if trained_on else "?",
        )
    model = load_registered(ref)

    def predict(texts: list[str]) -> Any:
        return model.predict_proba(texts)[:, 1]

    vocabulary, reference = build_reference(
        train["text"].tolist(), test["text"].tolist(), predict, settings, threshold
    )
    current = TextProfile.of(
        sample["text"].tolist(), sample["score"].to_numpy(), vocabulary, threshold
    )
    report = compare(
        reference,
        current,
        thresholds,
        context={
            "model": f"{ref.name} v{ref.version}",
            "batch input": batch_summary.get("input"),
            "batch rows (sampled)": f"{batch_summary.get('rows')} ({current.rows})",
            "reference source": source,
            "reference is the model's training data": "unknown" if same_data is None else same_data,
            "vocabulary": f"{len(vocabulary.tokens)} tokens (>= {vocabulary.min_count} times in "
            f"{vocabulary.documents} train reviews)",
        },
    )
    result = report.to_dict()
    if report.drifted:
        log.warning("%s", report.verdict)
    else:
        log.info("%s", report.verdict)
    with tempfile.TemporaryDirectory() as tmp:
        png = save_histograms_png(reference, current, Path(tmp) / "drift_histograms.png")
        page = render_html(report, reference, current, png.read_bytes())
        html_path = Path(tmp) / "drift_report.html"
        html_path.write_text(page, encoding="utf-8")
        for path in (png, html_path):
            log_artifact(path, artifact_path="drift")
        image = Image.open(png).copy()
    log_metrics(
        {**{c.name: c.statistic for c in report.checks}, "detected": float(report.drifted)},
        prefix="drift_",
    )
    log_metadata(
        metadata={
            "drift": {
                "drifted": report.drifted,
                "verdict": report.verdict,
                "drifted_checks": ", ".join(report.drifted_checks),
                **{c.name: c.statistic for c in report.checks},
            }
        }
    )
    return result, HTMLString(page), image
