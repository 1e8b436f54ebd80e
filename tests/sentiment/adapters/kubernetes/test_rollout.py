"""apply_and_wait / undeploy in the failures a single-node local cluster cannot stage.

Everything a real cluster can show runs against one (``make cluster``):
test_cluster_release.py (a rollout, a failed release undone with the pods' reason, a first
release that fails, undeploy) and test_manifests_server.py (server-side dry run rejecting a
manifest). What is left here needs a scripted kubectl, each for the reason in its docstring:
a second failure during the undo, an API server that fails mid-rollout, a deployer whose
rights stop half-way through an apply. The fake answers what a real kubectl prints for
these commands (JSON shapes from ``kubectl get -o json``, rollout status messages, exit
codes).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from sentiment.adapters.kubernetes import RolloutError, apply_and_wait, undeploy

NS = "sentiment"
MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sentiment-classifier
  namespace: sentiment
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: sentiment-classifier
"""
SELECTOR = "app.kubernetes.io/name=sentiment-classifier"


def deployment_json(revision: str, *, progressing: bool = True) -> str:
    condition = (
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
        if progressing
        else {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "sentiment-classifier-7d9c" has timed out progressing.',
        }
    )
    return json.dumps(
        {
            "metadata": {
                "name": "sentiment-classifier",
                "annotations": {"deployment.kubernetes.io/revision": revision},
            },
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "sentiment-classifier"}}
            },
            "status": {"conditions": [condition]},
        }
    )


PODS_JSON = json.dumps(
    {
        "items": [
            {
                "metadata": {"name": "sentiment-classifier-old-1"},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            },
            {
                "metadata": {"name": "sentiment-classifier-new-1"},
                "status": {
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "False",
                            "reason": "ContainersNotReady",
                            "message": "containers with unready status: [sentiment-classifier]",
                        }
                    ],
                    "containerStatuses": [
                        {
                            "name": "sentiment-classifier",
                            "restartCount": 0,
                            "state": {
                                "waiting": {
                                    "reason": "ImagePullBackOff",
                                    "message": 'Back-off pulling image "sc:broken"',
                                }
                            },
                        }
                    ],
                },
            },
        ]
    }
)
EVENTS_JSON = json.dumps(
    {
        "items": [
            {"reason": "Failed", "message": 'Failed to pull image "sc:broken": not found'},
        ]
    }
)

Response = tuple[int, str, str]  # returncode, stdout, stderr


class FakeKubectl:
    """Scripted kubectl: the first matching rule answers; every call is recorded."""

    def __init__(self, rules: list[tuple[Callable[[list[str]], bool], Response | list[Response]]]):
        self.rules = rules
        self.calls: list[list[str]] = []
        self.inputs: list[str | None] = []

    def __call__(self, cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert kwargs.get("check") is False
        assert kwargs.get("text") is True
        assert kwargs.get("timeout"), "every kubectl call must be bounded in time"
        self.calls.append(cmd)
        self.inputs.append(kwargs.get("input"))
        for match, response in self.rules:
            if match(cmd):
                if isinstance(response, list):  # successive answers to the same command
                    response = response.pop(0) if len(response) > 1 else response[0]
                code, out, err = response
                return subprocess.CompletedProcess(cmd, code, out, err)
        raise AssertionError(f"unexpected kubectl call: {cmd}")

    def verbs(self) -> list[str]:
        """A compact view of the sequence: the kubectl words before the first flag."""
        verbs = []
        for cmd in self.calls:
            words = []
            for word in cmd[1:]:
                if word.startswith("-"):
                    break
                words.append(word)
            verbs.append(" ".join(words))
        return verbs


def has(*words: str) -> Callable[[list[str]], bool]:
    return lambda cmd: all(w in cmd for w in words)


def cluster(
    *,
    revisions: list[str],
    status_codes: list[int],
    namespace_exists: bool = True,
    dry_run: Response = (
        0,
        "deployment.apps/sentiment-classifier configured (server dry run)\n",
        "",
    ),
    apply: Response = (0, "deployment.apps/sentiment-classifier configured\n", ""),
    progressing: bool = False,
) -> FakeKubectl:
    deployments: list[Response] = [
        (0, deployment_json(r, progressing=progressing) if r else "", "") for r in revisions
    ]
    statuses: list[Response] = [
        (0, 'deployment "sentiment-classifier" successfully rolled out\n', "")
        if code == 0
        else (
            1,
            "Waiting for deployment spec update to be observed...\n",
            'error: deployment "sentiment-classifier" exceeded its progress deadline\n',
        )
        for code in status_codes
    ]
    return FakeKubectl(
        [
            (has("get", "namespace"), (0, "namespace/sentiment\n" if namespace_exists else "", "")),
            (has("create", "namespace"), (0, "namespace/sentiment created\n", "")),
            (has("get", "deployment"), deployments),
            (has("apply", "--dry-run=server"), dry_run),
            (has("apply"), apply),
            (has("rollout", "status"), statuses),
            (has("get", "pods"), (0, PODS_JSON, "")),
            (has("get", "events"), (0, EVENTS_JSON, "")),
            (has("rollout", "undo"), (0, "deployment.apps/sentiment-classifier rolled back\n", "")),
        ]
    )


def test_failed_rollback_is_reported():
    """Scripted: the previous release failing too, during the undo of the new one, needs two
    independent failures in one rollout."""
    kubectl = cluster(revisions=["3", "4", "4"], status_codes=[1, 1])
    with pytest.raises(RolloutError, match="the rollback did not become available either"):
        apply_and_wait(MANIFESTS, namespace=NS, runner=kubectl)


def test_failure_without_a_new_revision_does_not_roll_back_an_older_release():
    """Re-applying identical pods creates no revision: undo would revert a good older one.

    Scripted: it needs the running release to fail by itself while an apply that changes
    nothing waits for it."""
    kubectl = cluster(revisions=["5", "5", "5"], status_codes=[1])
    with pytest.raises(RolloutError, match="nothing rolled back") as failure:
        apply_and_wait(MANIFESTS, namespace=NS, runner=kubectl)
    assert not failure.value.result.rolled_back
    assert not any("undo" in cmd for cmd in kubectl.calls)


def test_half_applied_release_is_rolled_back():
    """apply fails after the Deployment changed (e.g. a later object is rejected): undo it.

    Scripted: it needs a deployer allowed to change Deployments but not Ingresses; the local
    cluster's kubeconfig is an administrator."""
    kubectl = cluster(
        revisions=["3", "4"],
        status_codes=[0],
        apply=(
            1,
            "deployment.apps/sentiment-classifier configured\n",
            "Error from server (Forbidden): ingresses.networking.k8s.io is forbidden\n",
        ),
    )
    with pytest.raises(RolloutError, match=r"kubectl apply failed: .*Forbidden") as failure:
        apply_and_wait(MANIFESTS, namespace=NS, runner=kubectl)
    assert failure.value.result.rolled_back
    assert any("--to-revision=3" in cmd for cmd in kubectl.calls)


def test_diagnostics_failure_does_not_block_the_rollback():
    """Scripted: the API server failing between the failed rollout and its diagnostics."""
    kubectl = cluster(revisions=["3", "4"], status_codes=[1, 0])
    kubectl.rules.insert(0, (has("get", "pods"), (1, "", "error: the server is unavailable\n")))
    # The third `get deployment` (for diagnostics) answers with the last revision again.
    with pytest.raises(RolloutError, match="could not gather pod details") as failure:
        apply_and_wait(MANIFESTS, namespace=NS, runner=kubectl)
    assert failure.value.result.rolled_back


@pytest.mark.parametrize(
    ("manifests", "namespace", "message"),
    [
        ("", NS, "manifests are empty"),
        (MANIFESTS, "other", "manifests target other namespaces than 'other'"),
        (MANIFESTS, "Bad_NS", "not a DNS-1123 label"),
    ],
)
def test_bad_input_fails_before_any_kubectl_call(manifests, namespace, message):
    kubectl = cluster(revisions=[], status_codes=[])
    with pytest.raises(ValueError, match=message):
        apply_and_wait(manifests, namespace=namespace, runner=kubectl)
    assert kubectl.calls == []


def test_undeploy_failure_raises_with_kubectl_error():
    """Scripted: kubectl refusing for want of credentials (no server involved)."""
    kubectl = FakeKubectl([(has("delete"), (1, "", "error: You must be logged in\n"))])
    with pytest.raises(RuntimeError, match="You must be logged in"):
        undeploy(MANIFESTS, namespace=NS, runner=kubectl)
