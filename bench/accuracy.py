"""Accuracy benchmark: the tutorial baseline vs the default model, same split, one run.

    .venv/bin/python -m bench.accuracy [--data PATH] [--limit N] [--repeats 3] [--snippets TGZ]

Trains (a) the classic tutorial baseline - ``CountVectorizer(max_features=5000)`` +
``LogisticRegression`` - and (b) ``sentiment.core.model.build_model()`` with its defaults on the
train split, scores both on the test split and prints one table:

- accuracy, F1, ROC AUC, Brier score and expected calibration error (10 equal-width bins)
  of P(positive) on the test split (deterministic: identical on every repeat);
- train time, wall and CPU seconds of this process (median of ``--repeats`` fits; CPU time
  shows how much of the wall time was this job when the machine is shared);
- model size on disk as skops writes it, and the save and load times;
- in-process throughput: ``predict_proba`` on full-length test reviews in a child process
  pinned to one core with BLAS/OpenMP threads = 1 (median of ``--repeats`` passes);
- short texts: accuracy by word-count bucket of the test reviews, and on short-text sets
  (:mod:`bench.short_sets`: last sentences of test reviews; with ``--snippets``, the human-rated
  Rotten Tomatoes and Amazon review sentences shipped in the vaderSentiment source package).

``--data`` defaults to ``$SENTIMENT_DATA``, else ``../shared/data/aclImdb_labeled.tar.gz``
next to the repo. ``--limit N`` trains and tests on a seeded stratified sample of N reviews
per split for a quick look (figures are then not comparable with the full run).
The machine's 1-minute load average is printed with the results: read timings with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "aclImdb_labeled.tar.gz"
THROUGHPUT_REVIEWS = 2000


@dataclass
class Result:
    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    train_wall: list[float] = field(default_factory=list)
    train_cpu: list[float] = field(default_factory=list)
    size_mb: float = float("nan")
    save_s: float = float("nan")
    load_s: float = float("nan")
    reviews_per_s: float = float("nan")
    # bucket or short-set name -> (accuracy, items)
    short: dict[str, tuple[float, int]] = field(default_factory=dict)


def baseline_model() -> Any:
    """The tutorial model everyone starts from: 5,000 most frequent words + LR."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("features", CountVectorizer(max_features=5000)),
            ("classifier", LogisticRegression(max_iter=1000)),
        ]
    )


def default_model() -> Any:
    from sentiment.core.model import build_model

    return build_model()


def load_data(path: str, limit: int | None) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    from sentiment.core.data import DataSpec, load_splits

    train, test = load_splits(path, DataSpec())
    if limit:
        train, test = (_sample(frame, limit) for frame in (train, test))
    return (
        train["text"].tolist(),
        train["label"].to_numpy(),
        test["text"].tolist(),
        test["label"].to_numpy(),
    )


def _sample(frame: Any, n: int) -> Any:
    """Seeded stratified sample of ``n`` rows (all rows if fewer)."""
    if n >= len(frame):
        return frame
    share = n / len(frame)
    return frame.groupby("label", group_keys=False).sample(frac=share, random_state=0)


def measure(
    name: str,
    make: Callable[[], Any],
    data: tuple[list[str], np.ndarray, list[str], np.ndarray],
    repeats: int,
    workdir: Path,
    sets: dict[str, tuple[list[str], np.ndarray]],
) -> Result:
    from sentiment.adapters.serialization import save_model
    from sentiment.core.metrics import compute_metrics
    from sentiment.core.short_texts import accuracy_by_length

    x_train, y_train, x_test, y_test = data
    result = Result(name)
    model = None
    for _ in range(repeats):
        model = make()
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(x_train, y_train)
        result.train_wall.append(time.perf_counter() - wall)
        result.train_cpu.append(time.process_time() - cpu)
        print(f"  {name}: trained in {result.train_wall[-1]:.1f} s", file=sys.stderr, flush=True)
    assert model is not None
    proba = model.predict_proba(x_test)[:, 1]
    result.metrics = compute_metrics(y_test, proba)
    for bucket, row in accuracy_by_length(x_test, y_test, proba).items():
        result.short[f"test {bucket}"] = (row["accuracy"], int(row["n"]))
    for set_name, (texts, labels) in sets.items():
        right = (model.predict_proba(texts)[:, 1] >= 0.5).astype(int) == labels
        result.short[set_name] = (float(right.mean()), len(labels))

    path = workdir / f"{name}.skops"
    started = time.perf_counter()
    save_model(model, path)
    result.save_s = time.perf_counter() - started
    result.size_mb = path.stat().st_size / 1e6
    texts = workdir / f"{name}.reviews.txt"
    # One review per line for the child: newlines inside reviews become spaces (as <br />).
    texts.write_text(
        "\n".join(t.replace("\n", " ") for t in x_test[:THROUGHPUT_REVIEWS]), encoding="utf-8"
    )
    child = _one_core_child(path, texts, repeats, trusted_from_file=(name != "default"))
    result.load_s, result.reviews_per_s = child
    return result


def _one_core_child(
    model_path: Path, texts: Path, repeats: int, *, trusted_from_file: bool
) -> tuple[float, float]:
    """(load seconds, median reviews/s) measured in a fresh process pinned to one core."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    cmd = [
        sys.executable,
        "-m",
        "bench.accuracy",
        "--child-throughput",
        str(model_path),
        str(texts),
        str(repeats),
        "1" if trusted_from_file else "0",
    ]
    out = subprocess.run(
        cmd, cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    load_s, rate = (float(v) for v in out.split())
    return load_s, rate


def child_throughput(model_path: str, texts_path: str, repeats: int, own_types: bool) -> None:
    """Child side: pin to one core, load the model, time ``predict_proba`` passes."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from sentiment.adapters.serialization import load_model

    trusted = None
    if own_types:  # the baseline is not ours: trust what this benchmark itself wrote
        import skops.io as sio

        trusted = sio.get_untrusted_types(file=model_path)
    started = time.perf_counter()
    model = load_model(Path(model_path), trusted=trusted)
    load_s = time.perf_counter() - started
    texts = Path(texts_path).read_text(encoding="utf-8").split("\n")
    model.predict_proba(texts[:50])  # warm caches (stemmer, token hashes, bucket table)
    rates = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        model.predict_proba(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    print(load_s, statistics.median(rates))


def print_table(results: Sequence[Result], n_train: int, n_test: int) -> None:
    rows = [
        ("accuracy", lambda r: f"{r.metrics['accuracy']:.4f}"),
        ("F1", lambda r: f"{r.metrics['f1']:.4f}"),
        ("ROC AUC", lambda r: f"{r.metrics['roc_auc']:.4f}"),
        ("Brier", lambda r: f"{r.metrics['brier']:.4f}"),
        ("ECE (10 bins)", lambda r: f"{r.metrics['ece']:.4f}"),
        ("train s, wall (median)", lambda r: f"{statistics.median(r.train_wall):.1f}"),
        ("train s, CPU (median)", lambda r: f"{statistics.median(r.train_cpu):.1f}"),
        ("model size MB (skops)", lambda r: f"{r.size_mb:.1f}"),
        ("save s", lambda r: f"{r.save_s:.2f}"),
        ("load s", lambda r: f"{r.load_s:.2f}"),
        ("reviews/s, 1 core (median)", lambda r: f"{r.reviews_per_s:,.0f}"),
    ]
    print(
        f"\ntrain {n_train} reviews, test {n_test} reviews; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    width = max(len(label) for label, _ in rows) + 2
    header = "".join(f"{r.name:>14}" for r in results)
    print(f"{'':<{width}}{header}")
    for label, fmt in rows:
        print(f"{label:<{width}}" + "".join(f"{fmt(r):>14}" for r in results))
    print("\naccuracy on short texts and by length (word-count buckets; items)")
    for key in results[-1].short:
        n = results[-1].short[key][1]
        label = f"{key} ({n:,})"
        print(
            f"{label:<{width + 12}}"
            + "".join(f"{r.short.get(key, (float('nan'), 0))[0]:>14.4f}" for r in results)
        )
    base, ours = results[0], results[-1]
    gain = ours.metrics["accuracy"] - base.metrics["accuracy"]
    print(f"\naccuracy gain of default over baseline: {gain:+.4f}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child-throughput"]:
        child_throughput(argv[1], argv[2], int(argv[3]), argv[4] == "1")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=os.environ.get("SENTIMENT_DATA") or str(DEFAULT_DATA),
        help="labelled reviews (archive, folder, CSV/Parquet, s3://...)",
    )
    parser.add_argument("--limit", type=int, default=None, help="reviews per split (quick run)")
    parser.add_argument("--repeats", type=int, default=1, help="fits and throughput passes")
    parser.add_argument(
        "--snippets",
        default=None,
        help="hutto_ICWSM_2014.tar.gz from the vaderSentiment sdist (see bench/short_sets.py)",
    )
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 100:
        parser.error("--limit must be at least 100 reviews")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    from bench.short_sets import short_sets

    data = load_data(args.data, args.limit)
    sets = short_sets(data[2], data[3], args.snippets)
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
        results = [
            measure(name, make, data, args.repeats, Path(tmp), sets)
            for name, make in (("baseline", baseline_model), ("default", default_model))
        ]
    print_table(results, len(data[0]), len(data[2]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
