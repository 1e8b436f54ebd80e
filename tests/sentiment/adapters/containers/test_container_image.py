"""The Bento's OCI image, built with real podman and run on 127.0.0.1.

Uses ``bento_image`` (conftest): the service's Bento from ``bento_under_test`` containerized
through ``sentiment.adapters.containers.containerize`` with ``--backend podman``. The containers run
the way deploy/k8s/base/deployment.yaml runs them where that can be mirrored here: as the
image's non-root user, on a read-only root filesystem with writable tmpfs mounts, and
stopped with SIGTERM while requests are in flight. What only a cluster does (the preStop
delay, endpoint removal) is not exercised.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import pytest

from sentiment.adapters.containers import (
    ContainerError,
    ContainerSettings,
    containerize,
    remove_container,
    run_container,
    stop_container,
)
from tests.sentiment.adapters.containers.bentos import BentoUnderTest, BuiltImage
from tests.service.bentos import ServiceModel
from tests.support.podman import Podman
from tests.support.processes import free_port, http_ok

pytestmark = pytest.mark.integration


def _post_json(url: str, payload: object) -> tuple[int, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as resp:  # loopback only
        return resp.status, json.loads(resp.read())


# deploy/k8s/base/deployment.yaml: the image's BENTOML_HOME is on the read-only root
# filesystem, so BentoML's runtime state goes to an emptyDir, and caches to /tmp.
K8S_ENV = {"BENTOML_HOME": "/home/bentoml/runtime", "XDG_CACHE_HOME": "/tmp/.cache"}
# podman's --read-only adds tmpfs on /tmp, /run and /var/tmp by itself; a pod's root
# filesystem has no such mounts, so only the two emptyDir volumes are given here.
READ_ONLY_ARGS = (
    "--read-only",
    "--read-only-tmpfs=false",
    "--tmpfs=/tmp:rw,size=256m",
    "--tmpfs=/home/bentoml/runtime:rw,size=256m",
)


@contextlib.contextmanager
def serving(
    bento_image: BuiltImage,
    *,
    run_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, str, ContainerSettings]]:
    """Run the image until ready; yield (container name, base URL, settings); remove it."""
    port = free_port()
    settings = bento_image.settings.model_copy(
        update={"host_port": port, "run_args": (*bento_image.settings.run_args, *run_args)}
    )
    name = f"sentiment-test-{secrets.token_hex(4)}"
    try:
        run_container(bento_image.ref, settings, name=name, env=env)
        yield name, f"http://127.0.0.1:{port}", settings
    finally:
        remove_container(name, settings)


def test_image_serves_predictions_as_non_root_and_stops_cleanly(
    bento_image: BuiltImage, podman: Podman, service_model: ServiceModel
) -> None:
    bento = bento_image.bento
    with serving(bento_image) as (name, url, settings):
        assert http_ok(f"{url}/readyz")
        status, body = _post_json(f"{url}{bento.smoke_path}", bento.smoke_payload)
        assert status == 200
        assert isinstance(body, dict)
        assert {k: body.get(k) for k in bento.smoke_expect} == dict(bento.smoke_expect)
        # The model inside the image answers exactly as the model that was packaged.
        texts = list(bento.smoke_payload["texts"])
        scores = [p["score"] for p in body["predictions"]]
        assert scores == pytest.approx(service_model.predict_proba(texts), rel=1e-9)

        uid = podman.run("exec", name, "id", "-u").stdout.strip()
        assert uid.isdigit(), uid
        assert int(uid) != 0, "the service must not run as root in its container"

        exit_code = stop_container(name, settings, timeout_s=10)
        assert exit_code == 0, f"server did not shut down cleanly on SIGTERM (exit {exit_code})"
        assert podman.run("container", "exists", name, check=False).returncode != 0


def test_image_serves_from_a_read_only_root_filesystem(
    bento_image: BuiltImage, podman: Podman
) -> None:
    """securityContext.readOnlyRootFilesystem with the manifest's env and writable mounts."""
    bento = bento_image.bento
    with serving(bento_image, run_args=READ_ONLY_ARGS, env=K8S_ENV) as (name, url, _):
        status, body = _post_json(f"{url}{bento.smoke_path}", bento.smoke_payload)
        assert status == 200
        assert isinstance(body, dict)
        assert {k: body.get(k) for k in bento.smoke_expect} == dict(bento.smoke_expect)
        # The root filesystem really is read-only; the mounts are where state went.
        probe = podman.run("exec", name, "touch", "/home/bentoml/probe", check=False)
        assert probe.returncode != 0
        assert "Read-only file system" in probe.stderr
        runtime = podman.run("exec", name, "ls", "/home/bentoml/runtime").stdout.split()
        assert "prometheus_multiproc_dir" in runtime, runtime
        assert int(podman.run("exec", name, "id", "-u").stdout.strip()) != 0


@dataclass
class Outcome:
    started: float
    finished: float
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    error: str = ""


def _predict_until(url: str, payload: bytes, stop: threading.Event, out: list[Outcome]) -> None:
    """One client: /predict requests back to back until ``stop`` is set."""
    while not stop.is_set():
        started = time.monotonic()
        request = urllib.request.Request(
            f"{url}/predict",
            data=payload,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:  # loopback only
                resp.read()
                outcome = Outcome(started, time.monotonic(), resp.status)
        except urllib.error.HTTPError as exc:
            outcome = Outcome(started, time.monotonic(), exc.code, str(exc))
        except OSError as exc:  # refused or reset: the server is going away, stop here
            out.append(Outcome(started, time.monotonic(), None, repr(exc)))
            return
        out.append(outcome)


def test_sigterm_lets_in_flight_requests_finish(bento_image: BuiltImage) -> None:
    """``podman stop`` (SIGTERM, as the kubelet sends) while clients keep the workers busy.

    A request counts as in flight when it was sent at least ``margin`` seconds before
    SIGTERM and had not been answered by then: each must get a 200, none a 5xx or a reset.
    Requests sent after SIGTERM may be refused or reset (the server takes no new work; in a
    cluster, the endpoint removal and the preStop delay keep them away). Large requests from
    more clients than workers keep several requests queued at any moment.
    """
    margin = 0.2
    texts = [f"review {i}: " + "a wonderful film with a dull plot " * 500 for i in range(64)]
    payload = json.dumps({"texts": texts}).encode()
    outcomes: list[Outcome] = []
    stop = threading.Event()
    with serving(bento_image) as (name, url, settings):
        clients = [
            threading.Thread(target=_predict_until, args=(url, payload, stop, outcomes))
            for _ in range(12)
        ]
        for client in clients:
            client.start()
        try:
            deadline = time.monotonic() + 60
            while sum(o.status == 200 for o in outcomes) < 12 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert all(o.status == 200 for o in outcomes), [o for o in outcomes if o.status != 200]
            sigterm = time.monotonic()
            exit_code = stop_container(name, settings, timeout_s=30, remove=False)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=90)
    in_flight = [o for o in outcomes if o.started <= sigterm - margin < sigterm < o.finished]
    assert in_flight, "no request was in flight at SIGTERM: the test proved nothing"
    assert [o for o in in_flight if o.status != 200] == []
    assert not [o for o in outcomes if o.status is not None and o.status >= 500]
    assert exit_code == 0, f"server did not shut down cleanly on SIGTERM (exit {exit_code})"


def test_container_that_fails_to_start_reports_its_logs(
    bento_image: BuiltImage, podman: Podman
) -> None:
    settings = bento_image.settings.model_copy(update={"host_port": free_port()})
    name = f"sentiment-test-{secrets.token_hex(4)}"
    try:
        with pytest.raises(ContainerError, match="exited before") as excinfo:
            # BentoML refuses to start with a config file that does not exist.
            run_container(
                bento_image.ref,
                settings,
                name=name,
                env={"BENTOML_CONFIG": "/nonexistent/bentoml.yaml"},
            )
        assert "/nonexistent/bentoml.yaml" in str(excinfo.value)
        assert podman.run("container", "exists", name, check=False).returncode != 0
    finally:
        remove_container(name, settings)


def test_containerize_unknown_bento_names_it(
    podman: Podman, bento_under_test: BentoUnderTest
) -> None:
    settings = podman.settings(
        image_name="sentiment-missing", env={**podman.env, **bento_under_test.env}
    )
    with pytest.raises(ContainerError, match="no_such_bento"):
        containerize("no_such_bento:latest", settings)


def test_image_drops_test_suites_unused_bytecode_and_uv(
    bento_image: BuiltImage, podman: Podman
) -> None:
    """deploy/image/slim.sh ran in the build (bentofile.yaml: docker.setup_script)."""
    survey = (
        "cd /app/.venv/lib/python3*/site-packages"
        " && echo tests=$(find . -mindepth 2 -type d -name tests | wc -l)"
        " && echo sparse_pyc=$(ls scipy/sparse/__pycache__ | grep -c '^_base\\.')"
        " && echo signal_pyc=$(find scipy/signal -name '*.pyc' | wc -l)"
        " && echo uv=$(command -v uv || echo none)"
    )
    out = podman.run("run", "--rm", "--entrypoint", "sh", bento_image.ref, "-c", survey)
    facts = dict(line.split("=", 1) for line in out.stdout.split())
    assert facts["tests"] == "0"
    assert facts["uv"] == "none"
    # What the server imports keeps its bytecode (scipy.sparse); what it never imports has
    # none (scipy.signal).
    assert facts["sparse_pyc"] == "1"
    assert facts["signal_pyc"] == "0"
