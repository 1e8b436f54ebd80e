"""ContainerSettings: defaults are the standard Docker build; bad config names what is wrong."""

from __future__ import annotations

import re

import pytest
import yaml

from sentiment.adapters.containers import ContainerSettings
from tests.support.paths import REPO_ROOT

DEPLOYMENT_CONFIG = REPO_ROOT / "configs" / "deployment.yaml"


def test_defaults_are_the_standard_docker_build() -> None:
    settings = ContainerSettings()
    assert settings.backend == "docker"
    assert settings.cli == "docker"
    assert settings.image_name == "sentiment-classifier"
    assert (settings.host, settings.host_port, settings.container_port) == ("127.0.0.1", 3000, 3000)
    assert settings.run_args == settings.build_args == settings.push_args == ()
    assert dict(settings.env) == {}


def test_from_mapping_none_gives_defaults() -> None:
    assert ContainerSettings.from_mapping(None) == ContainerSettings()


def test_from_mapping_converts_yaml_types() -> None:
    settings = ContainerSettings.from_mapping(
        {
            "backend": "podman",
            "image_name": "registry.example/team/sentiment",
            "host_port": 18080,
            "run_args": ["--ulimit", "nofile=20000:20000"],
            "env": {"CONTAINERS_CONF": "/etc/ci/containers.conf", "WORKERS": 2},
            "build_args": ["network=host"],
            "push_args": ["--tls-verify=false"],
            "ready_timeout_s": 30,
        }
    )
    assert settings.cli == "podman"
    assert settings.run_args == ("--ulimit", "nofile=20000:20000")
    assert settings.build_args == ("network=host",)
    assert settings.push_args == ("--tls-verify=false",)
    assert dict(settings.env) == {"CONTAINERS_CONF": "/etc/ci/containers.conf", "WORKERS": "2"}
    assert settings.ready_timeout_s == 30.0


def test_buildah_images_are_run_with_podman() -> None:
    assert ContainerSettings(backend="buildah").cli == "podman"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"backend": "kaniko"}, "container.backend 'kaniko' is not supported"),
        ({"image": "x"}, "unknown key(s) ['image']"),
        ({"host_port": 0}, "container.host_port must be an integer in 1..65535"),
        ({"host_port": 70000}, "container.host_port must be an integer in 1..65535"),
        ({"container_port": "3000"}, "container.container_port must be an integer"),
        ({"host_port": True}, "container.host_port must be an integer"),
        ({"run_args": "--ulimit nofile=1:1"}, "container.run_args must be a list of strings"),
        ({"build_args": ["ok", 3]}, "not strings: [3]"),
        ({"env": ["A=1"]}, "container.env must be a mapping"),
        ({"env": {"A": None}}, "container.env: 'A' must map to a string"),
        ({"image_name": "Sentiment"}, "container.image_name 'Sentiment' is not a valid"),
        ({"image_name": "sentiment:v1"}, "no tag"),
        ({"backend": 3}, "container.backend must be a string"),
        ({"ready_path": "readyz"}, "container.ready_path must start with '/'"),
        ({"ready_timeout_s": 0}, "container.ready_timeout_s must be > 0"),
        ({"ready_timeout_s": "soon"}, "container.ready_timeout_s must be a number"),
    ],
)
def test_bad_settings_name_the_problem(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ContainerSettings.from_mapping(mapping)


def test_from_mapping_rejects_a_non_mapping() -> None:
    with pytest.raises(ValueError, match="container: expected a mapping, got list"):
        ContainerSettings.from_mapping(["docker"])  # type: ignore[arg-type]


def test_the_shipped_deployment_config_is_valid_and_standard() -> None:
    """configs/deployment.yaml must parse, and ship the standard Docker build by default."""
    config = yaml.safe_load(DEPLOYMENT_CONFIG.read_text())
    settings = ContainerSettings.from_mapping(config["parameters"]["container"])
    assert settings.backend == "docker"
    assert settings.host == "127.0.0.1"
