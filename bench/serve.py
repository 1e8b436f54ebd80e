"""Serving benchmark: the Bento vs a classic Flask + gunicorn app, same model, same load.

    .venv/bin/python -m bench.serve [--model-dir MLFLOW_MODEL_DIR] [--duration 10]

What it does, in one run:

1. Gets a model trained on the real reviews: ``--model-dir`` (an MLflow skops model, as the
   registry holds it), else trains ``sentiment.core.model.build_model()`` on the archive's train
   split and saves it that way (the path is printed: pass it as ``--model-dir`` next time).
2. Measures the in-process ceiling: ``predict_proba`` on batches of ``max_batch_size`` reviews
   in ``--workers`` processes at once (the most the model can do on this machine), and the
   single-review rate of one process (what an unbatched server can approach per worker).
3. Serves the model (a) as the Bento (``bentoml serve``, built into a temporary
   ``BENTOML_HOME`` by sentiment.adapters.bento) and (b) as a Flask app under gunicorn's default
   sync workers, like the classic tutorials: one ``/predict`` route, the same request checks and
   JSON, the same model file and the same number of workers. Both listen on 127.0.0.1.
4. Drives each with the same closed-loop load - concurrency 1, 8, 32; one full-length test
   review per request; a short warm-up, then ``--duration`` seconds per cell - and prints
   throughput, p50/p99 latency and errors, the Bento/Flask ratio, the share of the ceiling,
   and how many cores other processes kept busy during each cell ("other load": busy CPU time
   from /proc/stat minus this process's and its servers'), since the machine may be shared.

The load generator is a minimal asyncio HTTP/1.1 client in this process (keep-alive where the
server allows it; gunicorn's sync workers close every connection, so Flask requests include a
connect). It shares the machine's cores with the servers, as every single-host benchmark does:
read the numbers as a comparison on this machine, not as capacity. Servers are stopped by PID.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loadgen import Request, drive, percentile_ms, predict

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared data sits beside the checkout (../shared), never at a machine's absolute path.
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "aclImdb_labeled.tar.gz"
CONCURRENCY = (1, 8, 32)
ENV = {"BENTOML_DO_NOT_TRACK": "true", "ZENML_ANALYTICS_OPT_IN": "false"}
MODEL_FILE_ENV = "BENCH_MODEL_FILE"
MODEL_VERSION = "bench"


# --------------------------------------------------------------------------- model


def train_model(data: Path, out_dir: Path, limit: int | None) -> Path:
    """Fit build_model() on the archive's train split; save it as the registry would."""
    import mlflow.sklearn

    from sentiment.core.data import load_splits
    from sentiment.core.model import TRUSTED_TYPES, build_model

    train, _ = load_splits(data)
    if limit:
        train = train.sample(n=min(limit, len(train)), random_state=0)
    start = time.perf_counter()
    model = build_model().fit(train["text"].tolist(), train["label"].to_numpy())
    print(f"trained on {len(train)} reviews in {time.perf_counter() - start:.0f} s")
    target = out_dir / "mlflow_model"
    mlflow.sklearn.save_model(
        model,
        str(target),
        serialization_format="skops",
        skops_trusted_types=TRUSTED_TYPES,
        pip_requirements=["scikit-learn", "skops"],
    )
    return target


def test_reviews(data: Path, n: int) -> list[str]:
    from sentiment.core.data import load_splits

    _, test = load_splits(data)
    return test["text"].sample(n=min(n, len(test)), random_state=1).tolist()


_MODEL: Any = None  # set before forking the ceiling processes: loaded once, inherited


def _rate(texts: Sequence[str], batch: int, seconds: float) -> int:
    """Reviews scored by the inherited model in ``seconds``, ``batch`` at a time."""
    _MODEL.predict_proba(list(texts[:batch]))  # warm-up
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        chunk = [texts[(done + k) % len(texts)] for k in range(batch)]
        _MODEL.predict_proba(chunk)
        done += batch
    return done


def in_process_rates(
    model: Any, texts: list[str], workers: int, batch: int, seconds: float
) -> tuple[float, float]:
    """(reviews/s of `workers` processes on batches, reviews/s of one process one by one)."""
    global _MODEL
    _MODEL = model
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_rate, texts, batch, seconds) for _ in range(workers)]
        batched = sum(f.result() for f in futures) / seconds
    single = _rate(texts, 1, seconds) / seconds
    return batched, single


# --------------------------------------------------------------------------- servers


def flask_app() -> Any:
    """The classic tutorial app (gunicorn 'bench.serve:flask_app()'), same checks and JSON."""
    from flask import Flask, jsonify, request

    from sentiment.adapters.serialization import load_model
    from sentiment.adapters.serving.settings import load_settings
    from sentiment.adapters.serving.validation import RequestRejectedError, parse_predict_request

    model = load_model(Path(os.environ[MODEL_FILE_ENV]))
    settings = load_settings()
    app = Flask("sentiment-flask")

    @app.post("/predict")
    def predict() -> Any:
        try:
            texts = parse_predict_request(request.content_type, request.get_data(), settings.limits)
        except RequestRejectedError as rejected:
            return jsonify(rejected.body()), rejected.status
        scores = model.predict_proba(texts)[:, 1].tolist()
        threshold = settings.model.positive_threshold
        return jsonify(
            predictions=[
                {"label": "positive" if s >= threshold else "negative", "score": s} for s in scores
            ],
            model_version=MODEL_VERSION,
        )

    @app.get("/readyz")
    def ready() -> str:
        return "ok"

    return app


def build_bento(model_dir: Path, home: Path) -> str:
    """Import the model and build the Bento in ``home`` (subprocesses: clean BentoML state)."""
    import subprocess

    from sentiment.adapters.serialization import model_file_in
    from sentiment.core.hashing import file_sha256

    env = {**os.environ, **ENV, "BENTOML_HOME": str(home)}

    def cli(*args: str) -> dict[str, str]:
        out = subprocess.run(
            [sys.executable, "-m", "sentiment.adapters.bento", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    sha = file_sha256(model_file_in(model_dir))
    tag = cli("import-model", str(model_dir), "--model-version", MODEL_VERSION, "--sha256", sha)
    return cli("build", "--model-tag", tag["model_tag"])["bento_tag"]


@contextmanager
def serving(
    kind: str, args: list[str], env: dict[str, str], port: int, logs: Path
) -> Iterator[str]:
    from tests.support.processes import http_ok, running

    url = f"http://127.0.0.1:{port}"
    with running(
        args,
        log_path=logs / f"{kind}.log",
        ready=lambda: http_ok(f"{url}/readyz"),
        timeout=900,  # each worker loads the model before answering
        env={**ENV, **env},
        cwd=REPO_ROOT,
        what=kind,
    ):
        yield url


# --------------------------------------------------------------------------- load


def _machine_busy_seconds() -> float:
    """CPU-seconds all cores have spent busy since boot (/proc/stat; idle and iowait excluded)."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0]
    ticks = [int(v) for v in first.split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _our_cpu_seconds() -> float:
    """CPU-seconds used so far by this process and its live descendants (the servers)."""
    import psutil

    total = 0.0
    root = psutil.Process()
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


@dataclass
class Cell:
    server: str
    concurrency: int
    seconds: float
    latencies: list[float]
    errors: int
    other_cores: float = float("nan")  # cores busy with processes outside the benchmark

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        return percentile_ms(self.latencies, q)

    def record(self, request: Request, status: int | str, seconds: float) -> None:
        if status == request.expected:
            self.latencies.append(seconds)
        else:
            self.errors += 1


def load_cell(
    server: str, url: str, requests: list[Request], concurrency: int, seconds: float, warmup: float
) -> Cell:
    """One closed-loop measurement, and how busy the rest of the machine was meanwhile
    (all busy CPU time minus this process's and its servers')."""
    cell = Cell(server, concurrency, seconds, [], 0)
    drive(url, requests, concurrency=concurrency, seconds=warmup)
    busy, ours, start = _machine_busy_seconds(), _our_cpu_seconds(), time.perf_counter()
    drive(url, requests, concurrency=concurrency, seconds=seconds, record=cell.record)
    other = (_machine_busy_seconds() - busy) - (_our_cpu_seconds() - ours)
    cell.other_cores = max(0.0, other) / (time.perf_counter() - start)
    return cell


def http_requests(texts: list[str], per_request: int = 1) -> list[Request]:
    return [
        predict(texts[i : i + per_request])
        for i in range(0, len(texts) - per_request + 1, per_request)
    ]


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    from sentiment.adapters.serving.settings import load_settings
    from tests.support.processes import free_port

    settings = load_settings()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="labelled reviews (archive)"
    )
    parser.add_argument("--model-dir", type=Path, help="MLflow skops model dir (else train one)")
    parser.add_argument("--train-limit", type=int, default=None, help="train on N reviews only")
    parser.add_argument("--workers", type=int, default=settings.service.workers)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    parser.add_argument("--reviews", type=int, default=2000, help="distinct test reviews sent")
    parser.add_argument(
        "--texts-per-request", type=int, default=1, help="reviews per request (default: 1)"
    )
    parser.add_argument("--work-dir", type=Path, help="keep model, Bento store and logs here")
    args = parser.parse_args(argv)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir or train_model(args.data, work, args.train_limit)
    print(f"model: {model_dir}")
    from sentiment.adapters.serialization import model_file_in

    model_file = model_file_in(model_dir)
    texts = test_reviews(args.data, args.reviews)
    print(
        f"requests: {args.texts_per_request} review(s) each from {len(texts)} distinct test "
        f"reviews, median {statistics.median(map(len, texts)):.0f} characters; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    per_request = args.texts_per_request
    requests = http_requests(texts, per_request)

    from sentiment.adapters.serialization import load_model

    start = time.perf_counter()
    model = load_model(model_file)
    print(f"skops load of the model file: {time.perf_counter() - start:.1f} s")
    batch = settings.limits.max_batch_size
    ceiling, single = in_process_rates(model, texts, args.workers, batch, args.duration / 2)
    del model
    print(
        f"in-process ceiling: {ceiling:.0f} reviews/s ({args.workers} processes, batches of "
        f"{batch}); one process one review at a time: {single:.0f} reviews/s"
    )

    home = work / "bentoml_home"
    bento_tag = build_bento(model_dir, home)
    cells: list[Cell] = []
    servers = {
        "bento": (
            [
                str(Path(sys.executable).with_name("bentoml")),
                "serve",
                bento_tag,
                "--host",
                "127.0.0.1",
            ],
            {"BENTOML_HOME": str(home)},
        ),
        "flask": (
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "--workers",
                str(args.workers),
                "--backlog",
                "2048",
                "--log-level",
                "warning",
                "bench.serve:flask_app()",
            ],
            {MODEL_FILE_ENV: str(model_file), "PYTHONPATH": str(REPO_ROOT)},
        ),
    }
    for name, (cmd, env) in servers.items():
        port = free_port()
        cmd = (
            [*cmd, "--port", str(port)]
            if name == "bento"
            else [*cmd, "--bind", f"127.0.0.1:{port}"]
        )
        with serving(name, cmd, env, port, work) as url:
            for c in args.concurrency:
                cell = load_cell(name, url, requests, c, args.duration, args.warmup)
                cells.append(cell)
                print(
                    f"  {name:5s} c={c:<3d} {cell.rps:7.1f} req/s  p50 {cell.pct(0.5):7.1f} ms  "
                    f"p99 {cell.pct(0.99):7.1f} ms  errors {cell.errors}  "
                    f"other load {cell.other_cores:.2f} cores",
                    flush=True,
                )

    print(
        "\nconcurrency | bento req/s | flask req/s | ratio | bento p50/p99 ms | "
        "flask p50/p99 ms | bento reviews/s / ceiling | other load (cores) bento / flask"
    )
    by = {(c.server, c.concurrency): c for c in cells}
    for c in args.concurrency:
        b, f = by[("bento", c)], by[("flask", c)]
        ratio = b.rps / f.rps if f.rps else float("inf")
        print(
            f"{c:11d} | {b.rps:11.1f} | {f.rps:11.1f} | {ratio:5.2f} | "
            f"{b.pct(0.5):6.1f} / {b.pct(0.99):6.1f} | {f.pct(0.5):6.1f} / {f.pct(0.99):6.1f} | "
            f"{b.rps * per_request / ceiling:5.2f} | "
            f"{b.other_cores:4.2f} / {f.other_cores:4.2f}"
        )
    print(f"\nwork dir (model, Bento store, server logs): {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
