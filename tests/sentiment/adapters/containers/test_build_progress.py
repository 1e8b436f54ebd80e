"""Image build progress: Dockerfile steps parsed from the builder's output as it streams."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sentiment.adapters.containers import build_step, streaming_runner


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("STEP 3/12: RUN uv sync", (3, 12)),
        ("#7 [base 2/9] RUN apt-get update", (2, 9)),
        ("#5 [4/7] COPY . .", (4, 7)),
        ("Successfully tagged sentiment:abc", None),
        ("#8 0.512 Collecting numpy", None),
    ],
)
def test_build_step_reads_podman_and_buildkit_lines(line: str, expected: object) -> None:
    assert build_step(line) == expected


def test_streaming_runner_hands_over_each_line_and_returns_the_output() -> None:
    seen: list[str] = []
    run = streaming_runner(seen.append)
    code = "import sys; print('STEP 1/2: FROM x'); print('STEP 2/2: RUN y', file=sys.stderr)"
    proc = run([sys.executable, "-u", "-c", code], env={}, timeout=30, capture_output=True)
    assert proc.returncode == 0
    assert [line.strip() for line in seen] == ["STEP 1/2: FROM x", "STEP 2/2: RUN y"]
    assert "STEP 2/2" in proc.stdout


def test_streaming_runner_keeps_the_timeout() -> None:
    run = streaming_runner(lambda _: None)
    with pytest.raises(subprocess.TimeoutExpired):
        run([sys.executable, "-c", "import time; time.sleep(30)"], env={}, timeout=0.5)
