"""push_image against a real registry (Debian's docker-registry) on 127.0.0.1.

The kubernetes target pushes to ECR, which cannot exist here; a local registry speaks the
same distribution API, so tagging and pushing are exercised for real. A tiny image imported
from a one-file tarball keeps the push fast; push_image does not care what the image holds.
"""

from __future__ import annotations

import json
import secrets
import tarfile
import urllib.request
from pathlib import Path

import pytest

from sentiment.adapters.containers import push_image
from tests.support.podman import Podman

pytestmark = pytest.mark.integration


def _tiny_image(podman: Podman, workdir: Path, ref: str) -> None:
    payload = workdir / "hello.txt"
    payload.write_text("push probe\n")
    archive = workdir / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(payload, arcname="hello.txt")
    podman.run("import", str(archive), ref)


def test_push_image_to_a_local_registry(
    podman: Podman, local_registry: str, tmp_path: Path
) -> None:
    tag = f"t{secrets.token_hex(4)}"
    image = f"localhost/sentiment-push-probe:{tag}"
    _tiny_image(podman, tmp_path, image)
    settings = podman.settings(push_args=("--tls-verify=false",))  # plain-HTTP lab registry
    pushed = ""
    try:
        pushed = push_image(image, local_registry, settings)
        assert pushed == f"{local_registry}/sentiment-push-probe:{tag}"
        url = f"http://{local_registry}/v2/sentiment-push-probe/tags/list"
        with urllib.request.urlopen(url, timeout=10) as resp:  # loopback only
            assert tag in json.loads(resp.read())["tags"]
    finally:
        podman.remove_images([ref for ref in (image, pushed) if ref])
