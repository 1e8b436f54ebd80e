"""SIGTERM under load: requests the service has accepted finish with 200, then it exits 0.

This is what Kubernetes does to a pod on a rolling update or scale-down (after the preStop
sleep of deploy/k8s, which takes the pod out of the endpoints first): SIGTERM to the
container's main process, here ``bentoml serve`` itself, not its process group.

Who does what: the arbiter (circus, started by ``bentoml serve``) forwards SIGTERM to the
workers and waits for them (BentoML sets its graceful timeout to a day: the pod's
``terminationGracePeriodSeconds`` is the real bound); each worker is uvicorn, which stops
accepting, lets in-flight requests finish, then runs the service's shutdown hook. This test
checks that chain end to end with this service's gateway, batcher and model in it.
"""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.service.bentos import StartServer
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration

IN_FLIGHT = 12  # heavy requests on the server when the signal arrives
WORDS = ["a", "wonderful", "film", "brilliant", "acting", "terrible", "plot", "awful", "great"]


def heavy_texts(seed: int) -> list[str]:
    """64 reviews of ~19k characters: ~0.8 s of scoring on the test model, so a dozen of them
    keep two workers busy for several seconds."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=3_300))[:19_000] for _ in range(64)]


def predict_in_progress(url: str) -> float:
    """BentoML's own gauge of requests being handled, summed over workers."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    pattern = r'^bentoml_service_request_in_progress\{[^}]*endpoint="/predict"[^}]*\} (\S+)$'
    return sum(float(v) for v in re.findall(pattern, text, flags=re.M))


def test_sigterm_lets_accepted_requests_finish(start_bento_server: StartServer) -> None:
    with start_bento_server("shutdown", config={"service": {"workers": 2}}) as (url, proc):
        bodies = [{"texts": heavy_texts(i)} for i in range(IN_FLIGHT)]

        def heavy(body: dict[str, list[str]]) -> tuple[int, int]:
            # A fresh connection each: an accepted request, not an idle keep-alive one.
            resp = httpx.post(f"{url}/predict", json=body, timeout=120)
            return resp.status_code, len(resp.json().get("predictions", []))

        # Light traffic throughout: the load the signal arrives under.
        stop_light = threading.Event()
        light: Counter[str] = Counter()
        signalled_at: list[float] = []
        failed: list[tuple[float, str]] = []

        def light_client() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                while not stop_light.is_set():
                    started = time.monotonic()
                    try:
                        status = client.post("/predict", json={"texts": ["a great story"]})
                        light[str(status.status_code)] += 1
                        assert status.status_code < 500, status.text
                    except httpx.TransportError as exc:
                        failed.append((started, repr(exc)))
                        light[type(exc).__name__] += 1
                        time.sleep(0.05)

        with ThreadPoolExecutor(IN_FLIGHT + 4) as pool:
            lights = [pool.submit(light_client) for _ in range(4)]
            try:
                time.sleep(1.0)
                heavies = [pool.submit(heavy, body) for body in bodies]
                wait_until(
                    lambda: predict_in_progress(url) >= IN_FLIGHT,
                    timeout=30,
                    interval=0.05,
                    process=proc,
                    what=f"{IN_FLIGHT} requests in flight",
                )
                signalled_at.append(time.monotonic())
                os.kill(proc.pid, signal.SIGTERM)  # the main process only, as kubelet does

                results = [h.result(timeout=120) for h in heavies]
                finished_s = time.monotonic() - signalled_at[0]
                proc.popen.wait(timeout=60)
                exited_s = time.monotonic() - signalled_at[0]
            finally:
                # Also on a failure above: the pool waits for its threads when it closes, and
                # the light clients loop until told to stop.
                stop_light.set()
            for f in lights:
                f.result(timeout=60)

        assert results == [(200, 64)] * IN_FLIGHT, results
        assert light["200"] > 0, light
        # Transport errors only for requests sent after the signal: refused or closed
        # connections of a server that stopped accepting (in Kubernetes the preStop sleep has
        # taken the pod out of the endpoints by then, so no client is routed there). 0.1 s of
        # slack: a request sent a moment before the signal may still sit unread in a socket.
        early = [(round(signalled_at[0] - t, 3), e) for t, e in failed if t < signalled_at[0] - 0.1]
        assert not early, early
        assert not [k for k in light if k.isdigit() and int(k) >= 500], light
        assert proc.popen.returncode == 0, proc.log()
        log = proc.log(tail=1_000_000)
        assert "Traceback" not in log, log[-3000:]
        print(
            f"\n{IN_FLIGHT} in-flight heavy requests all 200, last {finished_s:.1f} s after "
            f"SIGTERM; server exited 0 after {exited_s:.1f} s; light clients: {dict(light)}"
        )
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/livez", timeout=2)
