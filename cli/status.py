"""``run.py status``: what ``deploy`` released per target, and whether it answers now.

From the release records (sentiment/adapters/releases.py): the backend, the address, the model
version, and a live check - the container's ``/readyz`` over HTTP, the Deployment's
``Available`` condition through kubectl with the recorded kubeconfig, context and namespace.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from cli.deploy import TARGETS
from cli.project import releases_dir
from sentiment.adapters.releases import Release, ReleaseStore

Probe = Callable[[str], bool]
Availability = Callable[..., tuple[bool, str]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", choices=TARGETS, help="only this target (default: all)")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one per target")


def describe(
    release: Release, *, probe: Probe | None = None, available: Availability | None = None
) -> dict[str, Any]:
    """One target's row: the record's essentials plus ``ready`` (None: nothing to ask)."""
    from sentiment.adapters.containers import http_ready
    from sentiment.adapters.kubernetes import deployment_available

    row: dict[str, Any] = {
        "target": release.target,
        "state": "stopped"
        if release.stopped_at
        else "built"
        if release.target == "local"
        else "running",
        "backend": release.backend,
        "address": None,
        "model_version": release.model_version,
        "bento_tag": release.bento_tag,
        "image": release.image,
        "deployed_at": release.deployed_at,
        "stopped_at": release.stopped_at,
        "ready": None,
        "detail": "deploy --target local starts no server (python run.py serve)",
    }
    if release.container is not None:
        run = release.container
        row["address"] = run.address
        if release.running:
            url = run.address + run.ready_path
            row["ready"] = (probe or http_ready)(url)
            row["detail"] = f"{url} {'answers' if row['ready'] else 'does not answer'}"
    elif release.kubernetes is not None:
        k8s = release.kubernetes
        row["address"] = f"deployment/{k8s.deployment} in namespace {k8s.namespace}" + (
            f" (context {k8s.context})" if k8s.context else ""
        )
        if release.running:
            row["ready"], row["detail"] = (available or deployment_available)(
                k8s.namespace, k8s.deployment, kubeconfig=k8s.kubeconfig, context=k8s.context
            )
    if release.stopped_at:
        row["detail"] = f"stopped by undeploy at {release.stopped_at}"
    return row


def _text(rows: list[dict[str, Any]]) -> str:
    columns = ("target", "state", "backend", "model", "ready", "address")
    lines = [columns]
    for row in rows:
        ready = {True: "yes", False: "no", None: "-"}[row["ready"]]
        lines.append(
            (
                row["target"],
                row["state"],
                row["backend"] or "-",
                f"v{row['model_version']}",
                ready,
                row["address"] or "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    table = [
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    details = [f"{row['target']}: {row['detail']} (deployed {row['deployed_at']})" for row in rows]
    return "\n".join([*table, "", *details])


def main(args: argparse.Namespace) -> int:
    store = ReleaseStore(releases_dir())
    releases = [store.load(args.target)] if args.target else store.all()
    rows = [describe(r) for r in releases if r is not None]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"nothing deployed from here: no release recorded in {store.directory}")
    else:
        print(_text(rows))
    return 0
