"""``run.py deploy --target local`` then a real ``bentoml serve`` of the Bento it built.

Shared by the local-stack and aws-stack deployment tests: the promise is the same on both
(the version the registry's alias points at is what answers over HTTP).
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.cli import ProjectSandbox
from tests.support.processes import free_port, http_ok, running

BENTOML = str(Path(sys.executable).with_name("bentoml"))
TEXTS = ["A wonderful film, brilliant acting!", "A terrible film, awful acting."]


def post_predict(url: str, texts: list[str], timeout: float = 30) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/predict",
        data=json.dumps({"texts": texts}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return dict(json.loads(response.read()))


def deploy_and_serve(
    sandbox: ProjectSandbox,
    expected_version: str,
    *deploy_args: str,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Deploy locally (extra ``deploy_args``, e.g. ``--stack``), serve the printed Bento tag on
    a free port, and return the answer to :data:`TEXTS`."""
    proc = sandbox.run("deploy", "--target", "local", *deploy_args, check=True, timeout=900)
    match = re.search(r"bentoml serve (\S+) --port", proc.stdout)
    assert match, proc.stdout
    assert f"v{expected_version}" in proc.stdout
    port = free_port()
    with running(
        [BENTOML, "serve", match.group(1), "--host", "127.0.0.1", "--port", str(port)],
        log_path=sandbox.root / f"serve-{port}.log",
        env={**sandbox.env, **(env or {})},
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/readyz"),
        timeout=180,
        what="bentoml serve",
    ):
        return post_predict(f"http://127.0.0.1:{port}", TEXTS)
