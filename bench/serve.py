"""Serving benchmark: the Bento vs Flask, FastAPI and ``mlflow models serve``, same model.

    .venv/bin/python -m bench.serve [--model-dir MLFLOW_MODEL_DIR] [--duration 10]

What it does, in one run:

1. Gets a model trained on the real reviews: ``--model-dir`` (an MLflow skops model, as the
   registry holds it), else trains ``sentiment.core.model.build_model()`` on the archive's train
   split and saves it that way (the path is printed: pass it as ``--model-dir`` next time).
2. Measures the in-process ceiling: ``predict_proba`` on batches of ``max_batch_size`` reviews
   in ``--workers`` processes at once (the most the model can do on this machine), and the
   single-review rate of one process (what an unbatched server can approach per worker).
3. Serves the model, one server at a time, as the Bento and as each of its peers
   (:mod:`bench.peers`: Flask + gunicorn, FastAPI + uvicorn, ``mlflow models serve``), all with
   the same number of workers on 127.0.0.1.
4. Drives each with the same closed-loop load from two clients - the asyncio client of
   :mod:`bench.loadgen` and wrk (:mod:`bench.wrk`) - at concurrency 1, 8, 32; one full-length
   test review per request; a short warm-up, then ``--duration`` seconds per cell. It prints
   throughput, p50/p99 latency and errors, the Bento's ratio to each peer, the share of the
   ceiling, how many cores other processes kept busy during each cell ("other load": busy
   CPU time from /proc/stat minus this process's, its servers' and wrk's), since the machine
   may be shared, and issue 13's goals (at concurrency 32: p99 <= 50 ms, 3x Flask, 3x MLflow,
   1.5x FastAPI; never behind a peer at the lower concurrencies) as met or not.

Both clients share the machine's cores with the servers, as every single-host benchmark
does: read the numbers as a comparison on this machine, not as capacity. The asyncio client
is Python and costs the servers more CPU than wrk does; the gap between the two is the
client's own overhead. Servers are stopped by PID.
"""

from __future__ import annotations

import argparse
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

from bench import wrk
from bench.loadgen import Request, drive, percentile_ms
from bench.peers import NAMES, build_bento, peers, serving

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared data sits beside the checkout (../shared), never at a machine's absolute path.
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "aclImdb_labeled.tar.gz"
CONCURRENCY = (1, 8, 32)


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


# --------------------------------------------------------------------------- load


def _machine_busy_seconds() -> float:
    """CPU-seconds all cores have spent busy since boot (/proc/stat; idle and iowait excluded)."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0]
    ticks = [int(v) for v in first.split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _our_cpu_seconds() -> float:
    """CPU-seconds used so far by this process, its live descendants (the servers) and its
    reaped children (wrk, once it has exited)."""
    import psutil

    root = psutil.Process()
    mine = root.cpu_times()
    total = mine.user + mine.system + mine.children_user + mine.children_system
    for proc in root.children(recursive=True):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


@dataclass
class Cell:
    """One measurement: a server under one client at one concurrency."""

    server: str
    client: str  # "asyncio" (bench.loadgen) or "wrk"
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    other_cores: float  # cores busy with processes outside the benchmark

    def line(self) -> str:
        return (
            f"  {self.server:7s} {self.client:7s} c={self.concurrency:<3d} {self.rps:7.1f} req/s"
            f"  p50 {self.p50_ms:7.1f} ms  p99 {self.p99_ms:7.1f} ms  errors {self.errors}  "
            f"other load {self.other_cores:.2f} cores"
        )


@contextmanager
def _other_load() -> Iterator[list[float]]:
    """Yields a list that holds, afterwards, how many cores processes outside this benchmark
    kept busy meanwhile (all busy CPU time minus this process's and its servers')."""
    result: list[float] = []
    busy, ours, start = _machine_busy_seconds(), _our_cpu_seconds(), time.perf_counter()
    yield result
    other = (_machine_busy_seconds() - busy) - (_our_cpu_seconds() - ours)
    result.append(max(0.0, other) / (time.perf_counter() - start))


def asyncio_cell(
    server: str, url: str, requests: list[Request], concurrency: int, seconds: float, warmup: float
) -> Cell:
    """One closed-loop measurement with the asyncio client."""
    latencies: list[float] = []
    errors = 0

    def record(request: Request, status: int | str, elapsed: float) -> None:
        nonlocal errors
        if status == request.expected:
            latencies.append(elapsed)
        else:
            errors += 1

    drive(url, requests, concurrency=concurrency, seconds=warmup)
    with _other_load() as other:
        start = time.perf_counter()
        drive(url, requests, concurrency=concurrency, seconds=seconds, record=record)
        elapsed = time.perf_counter() - start
    return Cell(
        server,
        "asyncio",
        concurrency,
        len(latencies) / elapsed,
        percentile_ms(latencies, 0.5),
        percentile_ms(latencies, 0.99),
        errors,
        other[0],
    )


def wrk_cell(
    server: str,
    url: str,
    inputs: tuple[Path, Path],
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Cell:
    """The same measurement with wrk."""
    wrk.run(url, inputs, concurrency=concurrency, seconds=max(1.0, warmup))
    with _other_load() as other:
        result = wrk.run(url, inputs, concurrency=concurrency, seconds=seconds)
    return Cell(
        server,
        "wrk",
        concurrency,
        result.ok / result.seconds,
        result.p50_ms,
        result.p99_ms,
        result.errors,
        other[0],
    )


# --------------------------------------------------------------------------- report

#: Issue 13's throughput goals at the highest concurrency: Bento/peer at least this.
TARGET_RATIO = {"flask": 3.0, "mlflow": 3.0, "fastapi": 1.5}
TARGET_P99_MS = 50.0


def print_tables(cells: list[Cell], concurrency: Sequence[int], ceiling: float, per: int) -> None:
    """Per client, per concurrency: every server's figures and the Bento's ratio to it; then
    the goals checked at the highest concurrency, and "never behind" at the lower ones."""
    by = {(c.client, c.concurrency, c.server): c for c in cells}
    clients = list(dict.fromkeys(c.client for c in cells))
    servers = [name for name in NAMES if any(c.server == name for c in cells)]
    top = max(concurrency)
    for client in clients:
        print(
            f"\nclient {client}\nconcurrency | server  |   req/s | p50 ms | p99 ms | errors | "
            "bento / server | other load (cores)"
        )
        for conc in concurrency:
            bento = by.get((client, conc, "bento"))
            for i, name in enumerate(servers):
                cell = by.get((client, conc, name))
                if cell is None:
                    continue
                ratio = bento.rps / cell.rps if bento and cell.rps else float("nan")
                print(
                    f"{conc if i == 0 else '':>11} | {name:7s} | {cell.rps:7.1f} | "
                    f"{cell.p50_ms:6.1f} | {cell.p99_ms:6.1f} | {cell.errors:6d} | "
                    f"{ratio:14.2f} | {cell.other_cores:4.2f}"
                )
            if bento:
                share = bento.rps * per / ceiling
                print(f"{'':>11} | bento reviews/s / in-process ceiling: {share:.2f}")
        _print_goals(by, client, servers, concurrency, top)


def _print_goals(
    by: dict[tuple[str, int, str], Cell],
    client: str,
    servers: list[str],
    concurrency: Sequence[int],
    top: int,
) -> None:
    bento = by.get((client, top, "bento"))
    if bento is None:
        return
    p99_ok = _yes(bento.p99_ms <= TARGET_P99_MS)
    checks = [f"p99 {bento.p99_ms:.0f} ms <= {TARGET_P99_MS:.0f}: {p99_ok}"]
    for name in servers[1:]:
        peer = by.get((client, top, name))
        if peer and peer.rps:
            ratio, want = bento.rps / peer.rps, TARGET_RATIO.get(name, 1.0)
            checks.append(f"{ratio:.2f}x {name} (>= {want:g}): {_yes(ratio >= want)}")
    behind = [
        f"c={c} {name} {by[(client, c, 'bento')].rps / by[(client, c, name)].rps:.2f}x"
        for c in concurrency
        if c != top and (client, c, "bento") in by
        for name in servers[1:]
        if (client, c, name) in by and by[(client, c, "bento")].rps < by[(client, c, name)].rps
    ]
    print(f"goals at c={top} ({client}): " + "; ".join(checks))
    print(f"behind a peer at lower concurrency ({client}): {', '.join(behind) or 'never'}")


def _yes(ok: bool) -> str:
    return "met" if ok else "NOT met"


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
    parser.add_argument("--servers", nargs="+", choices=NAMES, default=list(NAMES))
    parser.add_argument(
        "--clients", nargs="+", choices=("asyncio", "wrk"), default=["asyncio", "wrk"]
    )
    parser.add_argument("--reviews", type=int, default=2000, help="distinct test reviews sent")
    parser.add_argument(
        "--texts-per-request", type=int, default=1, help="reviews per request (default: 1)"
    )
    parser.add_argument("--work-dir", type=Path, help="keep model, Bento store and logs here")
    args = parser.parse_args(argv)
    if "wrk" in args.clients and not wrk.available():
        parser.error("wrk is not installed (apt-get install wrk, or --clients asyncio)")

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir or train_model(args.data, work, args.train_limit)
    print(f"model: {model_dir}")
    from sentiment.adapters.serialization import load_model, model_file_in

    model_file = model_file_in(model_dir)
    texts = test_reviews(args.data, args.reviews)
    per = args.texts_per_request
    print(
        f"requests: {per} review(s) each from {len(texts)} distinct test reviews, median "
        f"{statistics.median(map(len, texts)):.0f} characters; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
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
    bento_tag = build_bento(model_dir, home) if "bento" in args.servers else ""
    groups = [texts[i : i + per] for i in range(0, len(texts) - per + 1, per)]
    cells: list[Cell] = []
    for name in args.servers:
        port = free_port()
        peer = peers(model_dir, model_file, bento_tag, home, args.workers, port)[name]
        requests = [peer.request(group) for group in groups]
        inputs = wrk.write_inputs(requests, work / name)
        with serving(peer, port, work) as url:
            for c in args.concurrency:
                for client in args.clients:
                    if client == "wrk":
                        cell = wrk_cell(name, url, inputs, c, args.duration, args.warmup)
                    else:
                        cell = asyncio_cell(name, url, requests, c, args.duration, args.warmup)
                    cells.append(cell)
                    print(cell.line(), flush=True)

    print_tables(cells, args.concurrency, ceiling, per)
    print(f"\nload average after the run: {os.getloadavg()[0]:.1f}")
    print(f"work dir (model, Bento store, server logs): {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
