"""The Bento's OCI image, built with real podman and run on 127.0.0.1.

Uses ``bento_image`` (conftest): the Bento from ``bento_under_test`` containerized through
``sentiment.containers.containerize`` with ``--backend podman``.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from dataclasses import replace

import pytest

from sentiment.containers import (
    ContainerError,
    containerize,
    remove_container,
    run_container,
    stop_container,
)
from tests.containers.bentos import BentoUnderTest, BuiltImage
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


def test_image_serves_as_non_root_and_stops_cleanly(
    bento_image: BuiltImage, podman: Podman
) -> None:
    port = free_port()
    settings = replace(bento_image.settings, host_port=port)
    name = f"sentiment-test-{secrets.token_hex(4)}"
    try:
        container_id = run_container(bento_image.ref, settings, name=name)
        assert container_id

        assert http_ok(f"http://127.0.0.1:{port}/readyz")
        bento = bento_image.bento
        status, body = _post_json(f"http://127.0.0.1:{port}{bento.smoke_path}", bento.smoke_payload)
        assert status == 200
        assert isinstance(body, dict)
        assert {k: body.get(k) for k in bento.smoke_expect} == dict(bento.smoke_expect)

        uid = podman.run("exec", name, "id", "-u").stdout.strip()
        assert uid.isdigit(), uid
        assert int(uid) != 0, "the service must not run as root in its container"

        exit_code = stop_container(name, settings, timeout_s=10)
        assert exit_code == 0, f"server did not shut down cleanly on SIGTERM (exit {exit_code})"
        assert podman.run("container", "exists", name, check=False).returncode != 0
    finally:
        remove_container(name, settings)


def test_container_that_fails_to_start_reports_its_logs(
    bento_image: BuiltImage, podman: Podman
) -> None:
    settings = replace(bento_image.settings, host_port=free_port())
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
