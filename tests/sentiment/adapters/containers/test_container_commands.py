"""Command lines for each backend, and how failures are reported.

A recording runner stands in for the CLIs here: there is no Docker daemon on these machines,
and failure modes (a build that breaks, a container that never gets ready) are cheaper to
provoke this way. The podman path runs for real in ``test_container_image.py`` and
``test_container_push.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from sentiment.adapters.containers import (
    BENTOML_CLI,
    ContainerError,
    ContainerSettings,
    containerize,
    containerize_command,
    push_commands,
    push_image,
    ready_url,
    remote_ref,
    run_command,
    run_container,
    stop_container,
)

Reply = tuple[int, str] | Callable[[list[str]], tuple[int, str]]


@dataclass
class RecordingRunner:
    """Records every command; answers from ``replies`` keyed by the command's first words."""

    replies: dict[tuple[str, ...], Reply] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)
    envs: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        cmd = list(cmd)
        self.calls.append(cmd)
        self.envs.append(dict(kwargs.get("env") or {}))
        reply: Reply = (0, "")
        for prefix, answer in self.replies.items():
            if tuple(cmd[: len(prefix)]) == prefix:
                reply = answer
                break
        code, out = reply(cmd) if callable(reply) else reply
        return subprocess.CompletedProcess(cmd, code, stdout=out, stderr="")

    def commands(self) -> list[list[str]]:
        """Calls with the bentoml interpreter prefix shortened to ``bentoml``."""
        n = len(BENTOML_CLI)
        return [["bentoml", *c[n:]] if tuple(c[:n]) == BENTOML_CLI else c for c in self.calls]


@pytest.mark.parametrize(
    ("backend", "cli"), [("docker", "docker"), ("podman", "podman"), ("buildah", "podman")]
)
def test_containerize_command_for_each_backend(backend: str, cli: str) -> None:
    settings = ContainerSettings(backend=backend, build_args=("network=host", "no-cache"))
    cmd = containerize_command("sentiment_classifier:abc123", settings, "sentiment-classifier:abc")
    assert cmd[:3] == [sys.executable, "-m", "bentoml"]
    assert cmd[3:] == [
        "containerize",
        "sentiment_classifier:abc123",
        "--backend",
        backend,
        "--image-tag",
        "sentiment-classifier:abc",
        *(["--opt", "squash"] if backend in ("podman", "buildah") else []),
        "--opt",
        "network=host",
        "--opt",
        "no-cache",
    ]
    assert settings.cli == cli


@pytest.mark.parametrize("backend", ["docker", "podman", "buildah"])
def test_containerize_names_the_image_after_the_bento_version(backend: str) -> None:
    runner = RecordingRunner()
    settings = ContainerSettings(backend=backend, env={"CONTAINERS_CONF": "/x.conf"})
    image = containerize("sentiment_classifier:V1abc", settings, runner=runner)
    assert image == "sentiment-classifier:v1abc"
    squash = [] if backend == "docker" else ["--opt", "squash"]
    assert runner.commands() == [
        ["bentoml", "containerize", "sentiment_classifier:V1abc", "--backend", backend,
         "--image-tag", image, *squash],
        [settings.cli, "image", "inspect", "--format", "{{.Id}}", image],
    ]  # fmt: skip
    assert all(env["CONTAINERS_CONF"] == "/x.conf" for env in runner.envs)


def test_containerize_latest_asks_the_store_for_the_version() -> None:
    answer = json.dumps({"name": "sentiment_classifier", "version": "q7"})
    runner = RecordingRunner({(*BENTOML_CLI, "get"): (0, answer)})
    image = containerize("sentiment_classifier:latest", ContainerSettings(), runner=runner)
    assert image == "sentiment-classifier:q7"
    assert runner.commands()[0] == [
        "bentoml", "get", "sentiment_classifier:latest", "--output", "json",
    ]  # fmt: skip


def test_containerize_failure_shows_the_tail_of_the_build_log() -> None:
    log = "\n".join(f"build line {i}" for i in range(500)) + "\nERROR: base image not found"
    runner = RecordingRunner({(*BENTOML_CLI, "containerize"): (1, log)})
    with pytest.raises(ContainerError) as excinfo:
        containerize("svc:v1", ContainerSettings(backend="podman"), runner=runner)
    message = str(excinfo.value)
    assert "exit code 1" in message
    assert "ERROR: base image not found" in message
    assert "build line 499" in message
    assert "build line 10\n" not in message  # only the tail, not the whole log


def test_containerize_fails_when_no_image_was_produced() -> None:
    runner = RecordingRunner({("docker", "image", "inspect"): (1, "No such image")})
    with pytest.raises(ContainerError, match="checking that image sentiment-classifier:v1 exists"):
        containerize("svc:v1", ContainerSettings(), runner=runner)


def test_containerize_rejects_a_tag_without_name() -> None:
    with pytest.raises(ValueError, match="has no name"):
        containerize(":v1", ContainerSettings(), runner=RecordingRunner())


def test_run_command_publishes_on_the_configured_host_only() -> None:
    settings = ContainerSettings(
        backend="podman", host_port=18080, run_args=("--ulimit", "nofile=20000:20000")
    )
    cmd = run_command("img:v1", settings, name="svc-1", env={"BENTOML_PORT": "3000"})
    assert cmd == [
        "podman", "run", "--detach", "--name", "svc-1", "--publish", "127.0.0.1:18080:3000",
        "--env", "BENTOML_PORT=3000", "--ulimit", "nofile=20000:20000", "img:v1",
    ]  # fmt: skip


def test_run_command_rejects_a_bad_container_name() -> None:
    with pytest.raises(ValueError, match="container name 'a b' is invalid"):
        run_command("img:v1", ContainerSettings(), name="a b")


def test_ready_url() -> None:
    assert ready_url(ContainerSettings(host_port=8000)) == "http://127.0.0.1:8000/readyz"
    assert ready_url(ContainerSettings(host="0.0.0.0")) == "http://127.0.0.1:3000/readyz"
    assert ready_url(ContainerSettings(host="::1", ready_path="/healthz")) == (
        "http://[::1]:3000/healthz"
    )


def test_run_container_waits_for_readiness() -> None:
    runner = RecordingRunner(
        {("docker", "run"): (0, "abc123\n"), ("docker", "inspect"): (0, "true")}
    )
    answers = iter([False, False, True])
    cid = run_container(
        "img:v1", ContainerSettings(), name="svc", runner=runner, probe=lambda _: next(answers)
    )
    assert cid == "abc123"
    assert ["docker", "inspect", "--format", "{{.State.Running}}", "svc"] in runner.calls


def test_run_container_that_exits_reports_its_logs_and_is_removed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = RecordingRunner(
        {
            ("docker", "run"): (0, "abc123\n"),
            ("docker", "inspect"): (0, "false\n"),
            ("docker", "logs"): (0, "Traceback: model not found\n"),
        }
    )
    with pytest.raises(ContainerError, match="exited before") as excinfo:
        run_container(
            "img:v1", ContainerSettings(), name="svc", runner=runner, probe=lambda _: False
        )
    assert "Traceback: model not found" in str(excinfo.value)
    assert "Traceback: model not found" in capsys.readouterr().err
    assert runner.calls[-1] == ["docker", "rm", "--force", "svc"]


def test_run_container_not_ready_in_time_is_removed() -> None:
    runner = RecordingRunner({("docker", "inspect"): (0, "true\n")})
    settings = ContainerSettings(ready_timeout_s=0.01)
    with pytest.raises(ContainerError, match=r"not ready at http://127.0.0.1:3000/readyz"):
        run_container("img:v1", settings, name="svc", runner=runner, probe=lambda _: False)
    assert runner.calls[-1] == ["docker", "rm", "--force", "svc"]


def test_run_container_start_failure_is_reported() -> None:
    runner = RecordingRunner({("docker", "run"): (125, "port is already allocated")})
    with pytest.raises(ContainerError, match="port is already allocated"):
        run_container("img:v1", ContainerSettings(), name="svc", runner=runner)


def test_stop_container_returns_the_exit_code_and_removes_it() -> None:
    runner = RecordingRunner({("podman", "inspect"): (0, "0\n")})
    settings = ContainerSettings(backend="buildah")
    assert stop_container("svc", settings, runner=runner) == 0
    assert runner.calls == [
        ["podman", "stop", "-t", "10", "svc"],
        ["podman", "inspect", "--format", "{{.State.ExitCode}}", "svc"],
        ["podman", "rm", "--force", "svc"],
    ]


def test_stop_container_can_keep_the_container() -> None:
    runner = RecordingRunner({("docker", "inspect"): (0, "137\n")})
    assert stop_container("svc", ContainerSettings(), 3, remove=False, runner=runner) == 137
    assert runner.calls[0] == ["docker", "stop", "-t", "3", "svc"]
    assert all(call[1] != "rm" for call in runner.calls)


@pytest.mark.parametrize(
    ("image", "registry", "expected"),
    [
        ("sentiment-classifier:v1", "123.dkr.ecr.eu-west-1.amazonaws.com",
         "123.dkr.ecr.eu-west-1.amazonaws.com/sentiment-classifier:v1"),
        ("localhost/sentiment-classifier:v1", "registry.local:5000/ml/",
         "registry.local:5000/ml/sentiment-classifier:v1"),
        ("docker.io/team/sentiment:v2", "ghcr.io/org", "ghcr.io/org/team/sentiment:v2"),
    ],
)  # fmt: skip
def test_remote_ref(image: str, registry: str, expected: str) -> None:
    assert remote_ref(image, registry) == expected


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ("https://ecr.example", "without a scheme"),
        ("", "is not a valid"),
        ("a b", "is not a valid"),
    ],
)
def test_remote_ref_rejects_bad_registries(registry: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        remote_ref("img:v1", registry)


@pytest.mark.parametrize(("backend", "cli"), [("docker", "docker"), ("buildah", "podman")])
def test_push_image_tags_then_pushes(backend: str, cli: str) -> None:
    runner = RecordingRunner()
    settings = ContainerSettings(backend=backend, push_args=("--quiet",))
    pushed = push_image("sentiment-classifier:v1", "reg.example:5000", settings, runner=runner)
    assert pushed == "reg.example:5000/sentiment-classifier:v1"
    assert runner.calls == push_commands("sentiment-classifier:v1", "reg.example:5000", settings)
    assert runner.calls == [
        [cli, "tag", "sentiment-classifier:v1", pushed],
        [cli, "push", "--quiet", pushed],
    ]


def test_push_failure_is_reported() -> None:
    runner = RecordingRunner({("docker", "push"): (1, "denied: requested access to the resource")})
    with pytest.raises(ContainerError, match=r"(?s)pushing reg.example/img:v1.*denied"):
        push_image("img:v1", "reg.example", ContainerSettings(), runner=runner)


def test_missing_cli_is_reported() -> None:
    def missing(cmd: Sequence[str], **_: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(cmd[0])

    with pytest.raises(ContainerError, match="'docker' is not installed or not on PATH"):
        stop_container("svc", ContainerSettings(), runner=missing)
