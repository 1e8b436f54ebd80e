"""The drift report a person reads: token-length and score histograms, and an HTML page.

Kept apart from the statistics (:mod:`sentiment.core.drift`) so the checks can run, and be
tested, without matplotlib, and the page can change without touching a threshold.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.core.drift import DriftReport, TextProfile
from sentiment.reports.figures import pyplot, save_figure


def save_histograms_png(reference: TextProfile, current: TextProfile, path: Path) -> Path:
    """Score and length histograms, reference against batch, side by side."""
    plt = pyplot()
    fig, (ax_score, ax_len) = plt.subplots(1, 2, figsize=(9.5, 3.6), dpi=100)
    bins = np.linspace(0, 1, 21)
    for profile, label, colour in (
        (reference, "reference", "tab:blue"),
        (current, "batch", "tab:orange"),
    ):
        ax_score.hist(
            profile.scores, bins=bins, density=True, alpha=0.55, label=label, color=colour
        )
    ax_score.set_xlabel("P(positive)")
    ax_score.set_ylabel("density")
    ax_score.set_title("Model scores")
    ax_score.legend()
    both = np.maximum(np.concatenate([reference.lengths, current.lengths]), 1)
    low, top = float(both.min()), float(both.max())
    len_bins = np.unique(np.geomspace(low, max(top + 1, low * 2), 30).round())
    for profile, label, colour in (
        (reference, "reference", "tab:blue"),
        (current, "batch", "tab:orange"),
    ):
        # Shares per bin, not densities: log-width bins would make long texts look rare.
        weights = np.full(profile.rows, 1 / max(profile.rows, 1))
        ax_len.hist(
            np.maximum(profile.lengths, 1),
            bins=len_bins,
            weights=weights,
            alpha=0.55,
            label=label,
            color=colour,
        )
    ax_len.set_xscale("log")
    ax_len.set_xlabel("tokens per text (log scale)")
    ax_len.set_ylabel("share of texts")
    ax_len.set_title("Text length")
    ax_len.legend()
    return save_figure(fig, path)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    return html.escape(str(value))


def render_html(
    report: DriftReport,
    reference: TextProfile,
    current: TextProfile,
    image_png: bytes | None = None,
) -> str:
    """A self-contained HTML page (the histogram is inlined) for MLflow and the ZenML UI."""
    colour = "#b00020" if report.drifted else ("#8a6d00" if not report.enough_data else "#1b5e20")
    rows = "".join(
        f"<tr style='background:{'#fde7e9' if c.drifted else 'transparent'}'>"
        f"<td><b>{_fmt(c.name)}</b><br><small>{_fmt(c.description)}</small></td>"
        f"<td>{_fmt(c.statistic)}</td><td>{_fmt(c.threshold)}</td>"
        f"<td>{_fmt(c.p_value) if c.p_value is not None else ''}</td>"
        f"<td>{_fmt(c.current)}</td><td>{_fmt(c.reference)}</td>"
        f"<td>{'DRIFT' if c.drifted else 'ok'}</td></tr>"
        for c in report.checks
    )
    context = "".join(
        f"<tr><th>{_fmt(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in report.context.items()
    )
    profiles = "".join(
        f"<tr><th>{_fmt(k)}</th><td>{_fmt(current.summary()[k])}</td>"
        f"<td>{_fmt(reference.summary()[k])}</td></tr>"
        for k in reference.summary()
    )
    image = ""
    if image_png:
        encoded = base64.b64encode(image_png).decode("ascii")
        image = f"<img alt='score and length histograms' src='data:image/png;base64,{encoded}'>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Drift report</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}
img{{max-width:100%}}</style></head><body>
<h2>Drift report</h2>
<p style="color:{colour};font-size:1.2em"><b>{_fmt(report.headline)}</b></p>
<table><tr><th>check</th><th>statistic</th><th>threshold</th><th>p-value</th><th>batch</th>
<th>reference</th><th>result</th></tr>{rows}</table>
<table><tr><th></th><th>batch</th><th>reference</th></tr>{profiles}</table>
<table>{context}</table>
{image}
</body></html>
"""
