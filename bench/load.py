"""Load benchmark: the served Bento under a realistic mix for a minute; errors and memory.

    .venv/bin/python -m bench.load [--model-dir MLFLOW_MODEL_DIR | --url URL [--pid PID]]
                                   [--duration 60] [--concurrency 32]

Not a test (it takes minutes and its numbers depend on the machine): it answers "does the
service keep answering, and keep its memory, under sustained mixed load?". Goal: zero
unexpected answers and less than 10 % RSS growth between the start and the end of the run.

What it does:

1. Serves the model: ``--url`` of a running service (its RSS is read from ``--pid``, else from
   the process listening on the URL's port), else ``bentoml serve`` of a Bento built into a
   temporary ``BENTOML_HOME`` from ``--model-dir`` (an MLflow skops model as the registry holds
   it; without it one is trained on the archive, see bench/serve.py), with the shipped
   configs/serving.yaml, on 127.0.0.1, stopped by PID at the end.
2. ``--concurrency`` closed-loop clients (keep-alive HTTP/1.1 over asyncio, in this process)
   send, for ``--duration`` seconds after a ``--warmup``: one full-length test review per
   request (80 %), batches of 64 reviews (15 %), and bad requests (5 %: invalid JSON, wrong
   media type, empty, oversized batch, too-long or blank text), each with its expected status.
3. Prints requests/s, p50/p99 latency (overall and by kind), counts by status, unexpected
   answers (a status other than the one expected for that request, any 5xx, any transport
   error) and the RSS of the server's whole process tree at the start and end of the run.

The clients share the machine with the server: read the rates as this machine's, not as
capacity.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from bench.loadgen import Request, drive, percentile_ms, post, predict

REPO_ROOT = Path(__file__).resolve().parents[1]
MIX = {"single": 0.80, "batch64": 0.15, "bad": 0.05}
BATCH = 64
RSS_GOAL = 0.10


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)

    def record(self, request: Request, status: int | str, seconds: float) -> None:
        self.statuses[str(status)] += 1
        self.latencies.setdefault(request.kind, []).append(seconds)
        if status != request.expected:
            self.unexpected[f"{request.kind}: {status} (expected {request.expected})"] += 1


def bad_requests(texts: list[str], max_batch: int, max_chars: int) -> list[Request]:
    """Client mistakes with the status the service must answer
    (sentiment/adapters/serving/validation)."""
    return [
        Request("bad", post(b'{"texts": ["unterminated'), 400),
        Request(
            "bad", post(json.dumps({"texts": texts[:1]}).encode(), content_type="text/plain"), 415
        ),
        Request("bad", post(b'{"texts": []}'), 422),
        predict(texts[:1] * (max_batch + 1), "bad", 422),
        predict(["x" * (max_chars + 1)], "bad", 422),
        Request("bad", post(b'{"texts": ["   "]}'), 422),
        Request("bad", post(b'{"text": ["typo in the field name"]}'), 422),
    ]


def request_mix(
    texts: list[str], n: int, seed: int, max_batch: int, max_chars: int
) -> list[Request]:
    """``n`` requests drawn by MIX; single reviews and batches cycle through ``texts``."""
    rng = random.Random(seed)
    bad = bad_requests(texts, max_batch, max_chars)
    out = []
    for i in range(n):
        kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        if kind == "single":
            out.append(predict([texts[i % len(texts)]], kind))
        elif kind == "batch64":
            start = rng.randrange(len(texts) - BATCH)
            out.append(predict(texts[start : start + BATCH], kind))
        else:
            out.append(bad[i % len(bad)])
    return out


def tree_rss(pid: int) -> int:
    """RSS of ``pid`` and its descendants (the arbiter and every worker)."""
    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total


def listener_pid(port: int) -> int:
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            # Workers share the arbiter's socket: report the topmost process holding it.
            proc = psutil.Process(conn.pid)
            while proc.parent() and any(
                c.laddr.port == port for c in proc.parent().net_connections("tcp")
            ):
                proc = proc.parent()
            return proc.pid
    raise SystemExit(f"no process listens on port {port}: pass --pid")


@contextmanager
def served_bento(model_dir: Path, work: Path) -> Iterator[tuple[str, int]]:
    """``bentoml serve`` of ``model_dir`` as a Bento (bench/serve.py builds it): (url, pid)."""
    from bench.peers import ENV, build_bento
    from tests.support.processes import free_port, http_ok, running

    home = work / "bentoml_home"
    tag = build_bento(model_dir, home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    with running(
        [bentoml, "serve", tag, "--host", "127.0.0.1", "--port", str(port)],
        log_path=work / "bentoml.log",
        ready=lambda: http_ok(f"{url}/readyz"),
        timeout=900,
        env={**ENV, "BENTOML_HOME": str(home)},
        cwd=REPO_ROOT,
        what="bentoml serve",
    ) as proc:
        print(f"serving {tag} at {url} (pid {proc.pid}, log {work / 'bentoml.log'})")
        yield url, proc.pid


def report(tally: Tally, seconds: float, rss_start: int, rss_end: int) -> bool:
    every = [s for values in tally.latencies.values() for s in values]
    reviews = len(tally.latencies.get("single", [])) + BATCH * len(
        tally.latencies.get("batch64", [])
    )
    print(
        f"\nrequests: {len(every)} in {seconds:.0f} s = {len(every) / seconds:.1f} requests/s "
        f"({reviews / seconds:.0f} reviews/s scored)"
    )
    print(
        f"latency (all): p50 {percentile_ms(every, 0.5):.1f} ms, "
        f"p99 {percentile_ms(every, 0.99):.1f} ms"
    )
    for kind, values in sorted(tally.latencies.items()):
        print(
            f"  {kind:8s} {len(values):7d} requests  p50 {percentile_ms(values, 0.5):8.1f} ms  "
            f"p99 {percentile_ms(values, 0.99):8.1f} ms"
        )
    print("by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses.items())))
    unexpected = sum(tally.unexpected.values())
    print(f"unexpected errors: {unexpected}")
    for what, count in tally.unexpected.most_common(10):
        print(f"  {count} x {what}")
    growth = (rss_end - rss_start) / rss_start
    print(
        f"server RSS (process tree): start {rss_start / 2**20:.0f} MiB, end "
        f"{rss_end / 2**20:.0f} MiB, growth {growth:+.1%} (goal < {RSS_GOAL:.0%})"
    )
    ok = unexpected == 0 and growth < RSS_GOAL
    print("RESULT: " + ("ok" if ok else "goal missed"))
    return ok


def run(url: str, pid: int, args: argparse.Namespace) -> bool:
    from bench.serve import test_reviews
    from sentiment.adapters.serving.settings import load_settings

    limits = load_settings().limits
    texts = test_reviews(args.data, args.reviews)
    requests = request_mix(texts, 2000, args.seed, limits.max_batch_size, limits.max_text_chars)
    kinds = Counter(r.kind for r in requests)
    print(
        f"{args.concurrency} clients, {args.duration:.0f} s after {args.warmup:.0f} s warm-up; "
        f"mix {dict(kinds)} over {len(texts)} test reviews; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"server RSS when ready: {tree_rss(pid) / 2**20:.0f} MiB")
    drive(url, requests, concurrency=args.concurrency, seconds=args.warmup)
    rss_start = tree_rss(pid)
    tally = Tally()
    started = time.perf_counter()
    drive(url, requests, concurrency=args.concurrency, seconds=args.duration, record=tally.record)
    seconds = time.perf_counter() - started
    rss_end = tree_rss(pid)
    return report(tally, seconds, rss_start, rss_end)


def main(argv: Sequence[str] | None = None) -> int:
    from bench.serve import DEFAULT_DATA

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running service (else one is started)")
    parser.add_argument("--pid", type=int, help="its server's PID, for RSS (with --url)")
    parser.add_argument("--model-dir", type=Path, help="MLflow skops model dir (else train one)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled reviews")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    parser.add_argument("--reviews", type=int, default=2000, help="distinct test reviews sent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, help="keep the Bento store and log here")
    args = parser.parse_args(argv)

    if args.url:
        port = urlsplit(args.url).port or 80
        return 0 if run(args.url.rstrip("/"), args.pid or listener_pid(port), args) else 1
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-load-"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir
    if model_dir is None:
        from bench.serve import train_model

        model_dir = train_model(args.data, work, None)
    with served_bento(model_dir, work) as (url, pid):
        return 0 if run(url, pid, args) else 1


if __name__ == "__main__":
    sys.exit(main())
