"""The GitHub Actions workflows: valid, and every command they run exists in this repository.

GitHub is not reachable here, so the workflows are checked against GitHub's published
workflow schema (vendored by check-jsonschema), and every ``make TARGET`` and
``python run.py ...`` line is checked against the Makefile and run.py's own argument
parser: a renamed target, subcommand or flag fails here, not in the first CD run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
CHECK_JSONSCHEMA = REPO_ROOT / ".venv" / "bin" / "check-jsonschema"


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    if True in data:  # YAML 1.1 reads the key `on` as the boolean true
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _command_lines(script: str) -> list[list[str]]:
    """Shell words of each command line of a ``run:`` script (continuations joined)."""
    lines = script.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


def _invocations(program: str) -> list[tuple[str, list[str]]]:
    """(workflow file, words after ``program``) for every call of ``program`` in any step."""
    found = []
    for path in WORKFLOW_FILES:
        for step in _steps(_load(path)):
            for words in _command_lines(step.get("run", "")):
                for i, word in enumerate(words):
                    if word == program or (program == "run.py" and word.endswith("/run.py")):
                        found.append((path.name, words[i + 1 :]))
    return found


def _makefile_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)", text, flags=re.MULTILINE))


def test_there_are_ci_and_cd_workflows() -> None:
    assert {p.name for p in WORKFLOW_FILES} == {"ci.yml", "cd.yml"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_parses_and_every_job_has_steps(path: Path) -> None:
    workflow = _load(path)
    assert workflow["on"], path.name
    assert workflow["jobs"], path.name
    for name, job in workflow["jobs"].items():
        assert job.get("runs-on"), f"{path.name}: job {name} has no runs-on"
        assert job.get("steps"), f"{path.name}: job {name} has no steps"
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), f"{path.name}: {step}"


def test_workflows_match_githubs_schema() -> None:
    proc = subprocess.run(
        [
            str(CHECK_JSONSCHEMA),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOW_FILES),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_expression_is_expanded_inside_a_shell_script() -> None:
    """``${{ ... }}`` inside ``run:`` is pasted into the script before the shell runs it
    (script injection); values reach scripts through ``env:`` instead."""
    for path in WORKFLOW_FILES:
        for step in _steps(_load(path)):
            assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def test_every_make_target_exists() -> None:
    targets = _makefile_targets()
    calls = _invocations("make")
    assert calls, "no workflow runs make"
    for workflow, words in calls:
        named = [w for w in words if not w.startswith("-") and "=" not in w]
        assert named, f"{workflow}: bare `make` (use a named target)"
        for target in named:
            assert target in targets, f"{workflow}: make {target}: no such Makefile target"


def test_every_run_py_command_parses_with_run_py() -> None:
    """Each ``python run.py ...`` goes through run.py's own parser: subcommand and flags."""
    import run

    calls = _invocations("run.py")
    assert calls, "no workflow runs run.py"
    for workflow, argv in calls:
        command = argv[0] if argv else ""
        assert command in run.COMMANDS, (
            f"{workflow}: `run.py {command}` is not a run.py command {sorted(run.COMMANDS)}"
        )
        try:
            run.build_parser(command).parse_args(argv)
        except SystemExit as exc:  # argparse printed the reason on stderr
            pytest.fail(f"{workflow}: run.py {shlex.join(argv)} does not parse ({exc})")


def test_cd_trains_gates_and_deploys_after_approval() -> None:
    cd = _load(WORKFLOWS / "cd.yml")
    assert cd["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in cd["on"]
    train, deploy = cd["jobs"]["train"], cd["jobs"]["deploy"]
    assert train["permissions"]["id-token"] == "write"  # OIDC, no stored AWS keys
    assert any(
        s.get("uses", "").startswith("aws-actions/configure-aws-credentials")
        for s in train["steps"]
    )
    scripts = "\n".join(s.get("run", "") for s in train["steps"])
    assert "run.py stack register aws" in scripts
    assert "run.py train --stack aws --summary-json summary.json" in scripts
    gate = next(s for s in train["steps"] if s.get("id") == "gate")
    assert "jq -r '.promoted' summary.json" in gate["run"]
    assert train["outputs"]["promoted"] == "${{ steps.gate.outputs.promoted }}"
    assert deploy["needs"] == "train"
    assert deploy["if"] == "needs.train.outputs.promoted == 'true'"
    assert deploy["environment"] == "production"
    deploy_scripts = "\n".join(s.get("run", "") for s in deploy["steps"])
    assert "run.py deploy --stack aws --target kubernetes --image-registry" in deploy_scripts


def test_cd_names_every_secret_and_variable_it_uses_in_its_header() -> None:
    text = (WORKFLOWS / "cd.yml").read_text()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    used = set(re.findall(r"\b((?:secrets|vars)\.[A-Z0-9_]+)", text.replace(header, "")))
    assert used, "cd.yml uses no secrets or variables?"
    missing = sorted(name for name in used if name not in header)
    assert not missing, f"cd.yml uses {missing} without naming them in its header comment"


def test_ci_lints_and_tests_with_the_makefile() -> None:
    ci = _load(WORKFLOWS / "ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    steps = _steps(ci)
    runs = [s.get("run", "") for s in steps]
    order = [
        next(i for i, r in enumerate(runs) if r.startswith(f"make {t}"))
        for t in ("system-deps", "lint", "test")
    ]
    assert order == sorted(order)
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert ".venv" in cache["with"]["path"]
    assert "hashFiles('uv.lock'" in cache["with"]["key"]
