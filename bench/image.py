"""The served image: its size, its cold start to ``/readyz`` and its memory under load.

    .venv/bin/python -m bench.image [--model-dir DIR] [--repeats 3] [--duration 20]

In one run, with podman (the offline stand-in for ``python:3.11-slim`` is built first if it
is missing, as the container tests do):

1. gets the full model (``--model-dir``, an MLflow skops model as ``bench.serve`` saves it;
   else it trains one on the archive's train split), builds its Bento and containerizes it
   exactly as ``python run.py deploy --target container --backend podman`` does;
2. prints the image's size next to its base image's, and the build time;
3. cold start: ``podman run`` to the first 200 from ``/readyz``, ``--repeats`` times (median):
   what a new pod or a restarted container costs before it takes traffic;
4. memory under load: concurrency 32 of one full-length test review per request for
   ``--duration`` seconds, sampling every process of the container every 0.25 s; prints the
   peak RSS and PSS (RSS counts pages the processes share once per process; PSS splits them)
   of the two workers and of the whole container (the ``bentoml serve`` supervisor too).

The machine's 1-minute load average is printed with the figures. Containers and the image
are removed by ID afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.loadgen import drive, predict
from bench.peers import build_bento
from bench.serve import DEFAULT_DATA, test_reviews, train_model
from sentiment.adapters.containers import ContainerSettings, containerize
from sentiment.adapters.containers.build import cli_env
from sentiment.adapters.containers.running import http_ready, remove_container, run_command

IMAGE_NAME = "sentiment-classifier-bench"


def _load1() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.0f} MB"


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (through /proc/PID/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _memory(pid: int) -> tuple[int, int, str]:
    """(RSS, PSS) in bytes and the command line of ``pid``; zeros once it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return 0, 0, ""
    fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in rollup[1:]}
    return fields.get("Rss", 0), fields.get("Pss", 0), cmdline


def _is_worker(cmdline: str) -> bool:
    return "_bentoml_impl.worker" in cmdline or "--worker-id" in cmdline


@contextmanager
def container(settings: ContainerSettings, image: str) -> Iterator[str]:
    """A container of ``image`` started as ``deploy --target container`` starts it (the same
    command line, without its 0.5 s readiness polling); yields its name, removes it."""
    name = f"bench-image-{os.getpid()}"
    subprocess.run(
        run_command(image, settings, name=name),
        env=cli_env(settings),
        capture_output=True,
        text=True,
        check=True,
    )
    try:
        yield name
    finally:
        remove_container(name, settings)


def cold_start(settings: ContainerSettings, image: str) -> float:
    """Seconds from the container's start command to the first 200 from ``/readyz``."""
    url = f"http://127.0.0.1:{settings.host_port}"
    start = time.perf_counter()
    with container(settings, image):
        while not http_ready(f"{url}/readyz"):
            if time.perf_counter() - start > 300:
                raise TimeoutError(f"{image} not ready after 300 s")
            time.sleep(0.05)
        return time.perf_counter() - start


def memory_under_load(
    settings: ContainerSettings, image: str, texts: list[str], seconds: float
) -> dict[str, int]:
    """Peak RSS/PSS of the workers and of the whole container under concurrency 32."""
    url = f"http://127.0.0.1:{settings.host_port}"
    with container(settings, image) as name:
        while not http_ready(f"{url}/readyz"):
            time.sleep(0.1)
        pid = int(
            subprocess.run(
                [settings.cli, "inspect", "--format", "{{.State.Pid}}", name],
                env=cli_env(settings),
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        requests = [predict([t]) for t in texts]
        load = threading.Thread(
            target=drive, args=(url, requests), kwargs={"concurrency": 32, "seconds": seconds}
        )
        peak = {"workers_rss": 0, "workers_pss": 0, "all_rss": 0, "all_pss": 0, "workers": 0}
        load.start()
        while load.is_alive():
            samples = [_memory(p) for p in _descendants(pid)]
            workers = [s for s in samples if _is_worker(s[2])]
            current = {
                "workers_rss": sum(s[0] for s in workers),
                "workers_pss": sum(s[1] for s in workers),
                "all_rss": sum(s[0] for s in samples),
                "all_pss": sum(s[1] for s in samples),
                "workers": len(workers),
            }
            peak = {k: max(v, current[k]) for k, v in peak.items()}
            time.sleep(0.25)
        load.join()
        return peak


def main(argv: Sequence[str] | None = None) -> int:
    from tests.support.podman import prepare_podman
    from tests.support.processes import free_port

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("SENTIMENT_DATA", DEFAULT_DATA))
    )
    parser.add_argument("--model-dir", type=Path, help="MLflow skops model dir (else train one)")
    parser.add_argument("--repeats", type=int, default=3, help="cold starts measured")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds under load")
    args = parser.parse_args(argv)

    podman = prepare_podman()
    with tempfile.TemporaryDirectory(prefix="bench-image-") as tmp:
        work = Path(tmp)
        model_dir = args.model_dir or train_model(args.data, work, None)
        home = work / "bentoml"
        tag = build_bento(model_dir, home)
        settings = podman.settings(
            image_name=IMAGE_NAME, env={**podman.env, "BENTOML_HOME": str(home)}
        )
        print(f"load average before the build: {_load1()}")
        start = time.perf_counter()
        image = containerize(tag, settings)
        built_s = time.perf_counter() - start
        try:
            size = int(podman.run("image", "inspect", "--format", "{{.Size}}", image).stdout)
            base = int(
                podman.run(
                    "image",
                    "inspect",
                    "--format",
                    "{{.Size}}",
                    "docker.io/library/python:3.11-slim",
                ).stdout
            )
            print(
                f"image {image}: {_mb(size)} (base python:3.11-slim stand-in {_mb(base)}, "
                f"added {_mb(size - base)}); built in {built_s:.0f} s"
            )
            starts = []
            for _ in range(args.repeats):
                load1 = _load1()
                starts.append(
                    cold_start(settings.model_copy(update={"host_port": free_port()}), image)
                )
                print(f"cold start to /readyz: {starts[-1]:.2f} s (load {load1})")
            print(f"cold start median {statistics.median(starts):.2f} s over {len(starts)}")
            texts = test_reviews(args.data, 2000)
            load1 = _load1()
            peak = memory_under_load(
                settings.model_copy(update={"host_port": free_port()}), image, texts, args.duration
            )
            print(
                f"under load (concurrency 32, {args.duration:.0f} s, load {load1}): "
                f"{peak['workers']} workers peak RSS {_mb(peak['workers_rss'])} "
                f"(PSS {_mb(peak['workers_pss'])}); whole container RSS "
                f"{_mb(peak['all_rss'])} (PSS {_mb(peak['all_pss'])})"
            )
        finally:
            podman.remove_images([image])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
