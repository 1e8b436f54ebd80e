"""Fixtures for the image tests: a Bento to containerize and its image, built with podman.

The tests take whichever Bento ``bento_under_test`` returns: the real service's Bento
(``built_bento`` from tests/service/fixtures.py: the repo's bentofile with a small model
trained here), so ``/predict`` in the running container answers with that model's
predictions and version.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sentiment.adapters.containers import containerize
from tests.sentiment.adapters.containers.bentos import BentoUnderTest, BuiltImage
from tests.service.bentos import SMOKE_EXPECT, SMOKE_PATH, SMOKE_PAYLOAD, BuiltBento
from tests.support.binaries import require_binary
from tests.support.podman import Podman, keep_build_cache, prepare_podman
from tests.support.processes import free_port, http_ok, running


@pytest.fixture(scope="session")
def podman() -> Podman:
    """Rootful podman prepared for this machine (skips locally / fails on CI without it)."""
    return prepare_podman()


SERVICE_IMAGE_NAME = "sentiment-classifier-test"


@pytest.fixture(scope="session")
def bento_under_test(built_bento: BuiltBento) -> BentoUnderTest:
    """The Bento whose image the integration tests build: the real service's."""
    return BentoUnderTest(
        tag=built_bento.tag,
        bentoml_home=built_bento.bentoml_home,
        image_name=SERVICE_IMAGE_NAME,
        smoke_path=SMOKE_PATH,
        smoke_payload=SMOKE_PAYLOAD,
        smoke_expect=SMOKE_EXPECT,
    )


@pytest.fixture(scope="session")
def bento_image(podman: Podman, bento_under_test: BentoUnderTest) -> Iterator[BuiltImage]:
    """Containerize ``bento_under_test`` with podman; remove the image afterwards.

    The layers stay cached under ``<name>:build-cache`` (see ``keep_build_cache``), so the
    next session's build only redoes the last, Bento-specific layers.
    """
    settings = podman.settings(
        image_name=bento_under_test.image_name,
        env={**podman.env, **bento_under_test.env},
    )
    image = containerize(bento_under_test.tag, settings)
    try:
        yield BuiltImage(ref=image, bento=bento_under_test, settings=settings)
    finally:
        keep_build_cache(podman, image)
        podman.remove_images([image])


@pytest.fixture
def local_registry(tmp_path: Path) -> Iterator[str]:
    """A real OCI registry (Debian's ``docker-registry``) on 127.0.0.1; yields ``host:port``."""
    binary = require_binary("docker-registry", why="a local registry for push_image")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'storage'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    with running(
        [binary, "serve", str(config)],
        log_path=tmp_path / "registry.log",
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/v2/"),
        timeout=30,
        what="docker-registry",
    ):
        yield f"127.0.0.1:{port}"
