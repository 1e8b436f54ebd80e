"""ContainerSettings: defaults are the standard Docker build; bad config names what is wrong."""

from __future__ import annotations

import re

import pytest
import yaml

from sentiment.adapters.containers import ContainerSettings
from sentiment.core.config import ConfigError, parse_section
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


def parse(mapping: object) -> ContainerSettings:
    return parse_section(ContainerSettings, mapping, source="deployment.yaml", prefix="container")


def test_an_absent_section_gives_defaults() -> None:
    assert parse(None) == ContainerSettings()


def test_yaml_types_are_converted() -> None:
    settings = parse(
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
    assert settings.ready_timeout_s == 30


def test_buildah_images_are_run_with_podman() -> None:
    assert ContainerSettings(backend="buildah").cli == "podman"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"backend": "kaniko"}, "container.backend: Input should be 'docker', 'podman' or"),
        ({"image": "x"}, "unknown key 'container.image'"),
        ({"host_port": 0}, "container.host_port: Input should be greater than or equal to 1"),
        ({"host_port": 70000}, "container.host_port: Input should be less than or equal"),
        ({"container_port": "3000"}, "container.container_port: Input should be a valid int"),
        ({"host_port": True}, "container.host_port: Input should be a valid integer"),
        ({"run_args": "--ulimit nofile=1:1"}, "container.run_args: Input should be a valid tuple"),
        ({"build_args": ["ok", 3]}, "container.build_args.1: Input should be a valid string"),
        ({"env": ["A=1"]}, "container.env: Input should be a valid dictionary"),
        ({"env": {"A": None}}, "container.env.A: Input should be a valid string"),
        ({"image_name": "Sentiment"}, "container.image_name: String should match pattern"),
        ({"image_name": "sentiment:v1"}, "container.image_name: String should match pattern"),
        ({"backend": 3}, "container.backend: Input should be 'docker'"),
        ({"ready_path": "readyz"}, "container.ready_path: String should match pattern '^/'"),
        ({"ready_timeout_s": 0}, "container.ready_timeout_s: Input should be greater than 0"),
        ({"ready_timeout_s": "soon"}, "container.ready_timeout_s: Input should be a valid number"),
        (["docker"], "Input should be a valid dictionary"),
    ],
)
def test_bad_settings_name_the_file_and_the_key(mapping: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        parse(mapping)
    assert str(info.value).startswith("deployment.yaml: ")


def test_the_shipped_deployment_config_is_valid_and_standard() -> None:
    """configs/deployment.yaml must parse, and ship the standard Docker build by default."""
    config = yaml.safe_load(DEPLOYMENT_CONFIG.read_text())
    settings = parse(config["parameters"]["container"])
    assert settings.backend == "docker"
    assert settings.host == "127.0.0.1"
