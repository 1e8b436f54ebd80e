"""What the ZenML dashboard shows when someone opens an artifact: review frames, validation
reports, tuning trials and the trained pipeline.

Materializers and steps only hand the returned HTML/Markdown to ZenML; the rendering lives
here so it is plain functions of plain data, testable without a ZenML store. Every page is
self-contained (inline CSS, no scripts from the network): the dashboard shows it in a
sandboxed frame, often on machines without internet access.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;font-size:13px;margin:12px}"
    "table{border-collapse:collapse;margin:6px 0 14px}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}td.num{text-align:right}h3{margin:12px 0 4px}</style>"
)
_PREVIEW_CHARS = 160


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:,.4g}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def html_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain HTML table; numbers right-aligned, everything else escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_page(title: str, *sections: str) -> str:
    """Wrap sections into one standalone page with the shared style."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"{_STYLE}</head><body><h2>{html.escape(title)}</h2>{''.join(sections)}</body></html>"
    )


def split_statistics(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Per split: rows, label balance and review lengths (characters).

    A frame with a ``split`` column is broken down by it; the project's frames are one split
    each, so they show as one ``all`` row.
    """
    groups = frame.groupby("split", sort=True) if "split" in frame else [("all", frame)]
    rows = []
    for name, part in groups:
        lengths = part["text"].astype(str).str.len() if "text" in part else pd.Series([0])
        labels = part["label"] if "label" in part else pd.Series(dtype=int)
        positive = int((labels == 1).sum())
        rows.append(
            (
                str(name),
                len(part),
                positive,
                len(part) - positive,
                positive / len(part) if len(part) else 0.0,
                float(lengths.mean()) if len(part) else 0.0,
                int(lengths.median()) if len(part) else 0,
                int(lengths.max()) if len(part) else 0,
            )
        )
    return rows


def review_frame_html(frame: pd.DataFrame, head: int = 10) -> str:
    """Statistics per split, then the first ``head`` reviews (texts shortened)."""
    stats = html_table(
        (
            "split",
            "rows",
            "positive",
            "negative",
            "positive share",
            "mean chars",
            "median chars",
            "max chars",
        ),
        split_statistics(frame),
    )
    preview = frame.head(head)
    rows = [
        [_shorten(str(v)) if k == "text" else v for k, v in row.items()]
        for row in preview.to_dict(orient="records")
    ]
    return html_page(
        f"Reviews: {len(frame):,} rows",
        "<h3>Per-split statistics</h3>",
        stats,
        f"<h3>First {len(preview)} rows</h3>",
        html_table([str(c) for c in preview.columns], rows),
    )


def _shorten(text: str) -> str:
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


def validation_markdown(report: Mapping[str, Any]) -> str:
    """The validation report as Markdown: verdict, per-split measurements, failed rules."""
    verdict = "passed" if report.get("passed", not report.get("failures")) else "FAILED"
    splits = sorted(report.get("rows", {}))
    lines = [f"# Data validation: {verdict}", "", "| measure | " + " | ".join(splits) + " |"]
    lines.append("|---|" + "---|" * len(splits))
    for key in ("rows", "empty_texts", "duplicates", "duplicate_fraction", "conflicting_labels"):
        values = report.get(key, {})
        lines.append(f"| {key} | " + " | ".join(str(values.get(s, "")) for s in splits) + " |")
    counts = report.get("label_counts", {})
    lines.append(
        "| label counts | " + " | ".join(_label_counts(counts.get(s, {})) for s in splits) + " |"
    )
    lines += ["", f"Reviews in both splits (leaked): **{report.get('leaked', 0)}**", ""]
    failures = report.get("failures", [])
    if failures:
        lines.append("## Failed rules")
        for failure in failures:
            lines.append(f"- **{failure['rule']}** ({failure['count']}): {failure['detail']}")
    else:
        lines.append("Every rule passed.")
    return "\n".join(lines) + "\n"


def _label_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{label}: {n}" for label, n in sorted(counts.items()))


def trials_html(results: Mapping[str, Any]) -> str:
    """The tuning trials as one table, best first by the selection metric."""
    trials = list(results.get("trials", []))
    metric = f"val_{results.get('metric', 'accuracy')}"
    names = sorted({k for t in trials for k in t.get("metrics", {})})
    ordered = sorted(trials, key=lambda t: -float(t["metrics"].get(metric, float("-inf"))))
    best = results.get("best", {}).get("trial")
    rows = [
        [
            f"{t['trial']}{' (best)' if t['trial'] == best else ''}",
            ", ".join(f"{k}={v}" for k, v in t.get("overrides", {}).items()) or "(base)",
            *(float(t["metrics"].get(n, float("nan"))) for n in names),
        ]
        for t in ordered
    ]
    data = results.get("data", {})
    note = (
        f"<p>{len(trials)} trials ({html.escape(str(results.get('strategy', '')))} search), "
        f"ranked by {html.escape(metric)}; fitted on {data.get('fit_rows', '?')} and scored on "
        f"{data.get('validation_rows', '?')} reviews.</p>"
    )
    return html_page("Tuning trials", note, html_table(["trial", "overrides", *names], rows))


def model_diagram_html(model: Any) -> str:
    """scikit-learn's interactive diagram of the fitted pipeline (every step's parameters)."""
    from sklearn.utils import estimator_html_repr

    return html_page("Trained pipeline", estimator_html_repr(model))
