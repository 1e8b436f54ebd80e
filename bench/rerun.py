"""Rerun benchmark: how long ``run.py train`` takes when nothing changed, and where it goes.

    .venv/bin/python -m bench.rerun [--repeats 3] [--data PATH] [-- EXTRA run.py ARGS]

Runs ``python run.py train --stack local`` ``--repeats`` times against the checkout's own
ZenML store and MLflow registry (train once first, e.g. ``make run``, so the reruns have
something to be identical to) and prints the median and the spread of:

- ``wall``: start of the process to its exit;
- ``first line``: start to the first byte on stdout or stderr (what a person waits for);
- ``exit after summary``: the summary's last line to the process exit;
- ``pipeline``: ZenML's own "Pipeline run has finished in" figure;

then ``run.py --help`` and ``import pipelines.training`` in fresh processes, the import also
without compiled bytecode (``PYTHONPYCACHEPREFIX`` set to an empty folder: with
PYTHONDONTWRITEBYTECODE=1, that is a venv installed without ``--compile-bytecode``, which
compiles every module from source in every process). The machine is shared: the 1-minute
load average is read before every measurement and printed with it.
Environment: what the calling shell exports (ZENML_CONFIG_PATH, PYTHONDONTWRITEBYTECODE).
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "aclImdb_labeled.tar.gz"
# The last line the CLI prints for a finished run (run.py train's format_summary/--summary-json).
_SUMMARY_END = re.compile(r"^(summary written to |ZenML:  run )")
_PIPELINE_TIME = re.compile(r"Pipeline run has finished in (?:(\d+)m)?([\d.]+)s")


@dataclass
class Timed:
    """One timed child process: the seconds of each milestone, and its combined output."""

    load: float
    wall: float
    first_line: float
    after_summary: float
    pipeline: float
    output: str


def _load() -> float:
    return os.getloadavg()[0]


def _python() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def timed_run(argv: Sequence[str], env: dict[str, str] | None = None) -> Timed:
    """Run ``argv`` from the repo root, timestamping output as it arrives (both streams)."""
    load = _load()
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    first = float("nan")
    summary_at = float("nan")
    chunks: list[str] = []
    pending = ""
    selector = selectors.DefaultSelector()
    assert proc.stdout is not None
    assert proc.stderr is not None
    for stream in (proc.stdout, proc.stderr):
        selector.register(stream, selectors.EVENT_READ)
    open_streams = 2
    while open_streams:
        for key, _ in selector.select():
            data = os.read(key.fd, 65536)
            now = time.perf_counter() - started
            if not data:
                selector.unregister(key.fileobj)
                open_streams -= 1
                continue
            if first != first:  # NaN: nothing seen yet
                first = now
            text = data.decode("utf-8", "replace")
            chunks.append(text)
            pending += text
            *lines, pending = pending.split("\n")
            if any(_SUMMARY_END.match(line) for line in lines):
                summary_at = now
    proc.wait()
    wall = time.perf_counter() - started
    output = "".join(chunks)
    match = _PIPELINE_TIME.search(re.sub(r"\x1b\[[0-9;]*m", "", output))
    pipeline = float(match.group(1) or 0) * 60 + float(match.group(2)) if match else float("nan")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{output[-4000:]}")
    return Timed(load, wall, first, wall - summary_at, pipeline, output)


def _row(name: str, values: Sequence[float], loads: Sequence[float]) -> str:
    shown = ", ".join(f"{v:.2f}" for v in values)
    return (
        f"{name:<24} median {statistics.median(values):6.2f} s   [{shown}]   "
        f"load1 before each: {', '.join(f'{x:.2f}' for x in loads)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=os.environ.get("SENTIMENT_DATA") or str(DEFAULT_DATA))
    parser.add_argument("--skip-train", action="store_true", help="only --help and the import")
    parser.add_argument("extra", nargs="*", help="more run.py train arguments (after --)")
    args = parser.parse_args(argv)
    py = _python()
    print(f"python {py}; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE')}")
    if not args.skip_train:
        runs = [
            timed_run([py, "run.py", "train", "--stack", "local", "--data", args.data, *args.extra])
            for _ in range(args.repeats)
        ]
        last = [line for line in runs[-1].output.splitlines() if line.strip()][-6:]
        print("last run ended with:\n  " + "\n  ".join(last))
        loads = [r.load for r in runs]
        print(_row("rerun wall", [r.wall for r in runs], loads))
        print(_row("first line", [r.first_line for r in runs], loads))
        print(_row("exit after summary", [r.after_summary for r in runs], loads))
        print(_row("pipeline (ZenML)", [r.pipeline for r in runs], loads))
    helps = [timed_run([py, "run.py", "--help"]) for _ in range(args.repeats)]
    print(_row("run.py --help", [h.wall for h in helps], [h.load for h in helps]))
    imports = [timed_run([py, "-c", "import pipelines.training"]) for _ in range(args.repeats)]
    print(_row("import pipelines.training", [i.wall for i in imports], [i.load for i in imports]))
    with tempfile.TemporaryDirectory() as empty:
        cold = [
            timed_run([py, "-c", "import pipelines.training"], env={"PYTHONPYCACHEPREFIX": empty})
            for _ in range(args.repeats)
        ]
    print(_row("  ... without bytecode", [c.wall for c in cold], [c.load for c in cold]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
