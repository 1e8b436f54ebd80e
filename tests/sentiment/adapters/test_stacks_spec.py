"""The stack library's pure parts (sentiment/adapters/stacks/spec.py, secrets.py): reading a
stack file and deciding what to leave out, without a ZenML store (tests/cli/test_stacks.py
registers real stacks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.adapters.stacks import (
    MissingValuesError,
    StackSpecError,
    load_stack_spec,
    parse_sets,
    stack_file,
)
from sentiment.adapters.stacks.secrets import without_missing_optional_secrets

STACK = """\
name: demo
mlflow_artifact_root: ${STATE_DIR}/mlruns
secrets:
  creds:
    optional: true
    keys: {key_id: DEMO_KEY_ID}
components:
  artifact_store:
    name: demo-store
    flavor: s3
    configuration:
      path: s3://${BUCKET}/zenml
      region: ${REGION:-}
      key: "{{creds.key_id}}"
  orchestrator: {name: demo-local, flavor: local}
"""


@pytest.fixture
def stack_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("BUCKET", "REGION", "DEMO_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SENTIMENT_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "demo.yaml"
    path.write_text(STACK)
    return path


def test_placeholders_from_overrides_defaults_and_state_dir(stack_path: Path) -> None:
    spec = load_stack_spec(stack_path, {"BUCKET": "b1"})
    store = spec.components[0]
    assert (store.type, store.name, store.flavor) == ("artifact_store", "demo-store", "s3")
    # ${REGION:-} is empty: left unset so the flavor's default applies.
    assert store.configuration == {"path": "s3://b1/zenml", "key": "{{creds.key_id}}"}
    assert spec.extras == {"mlflow_artifact_root": f"{stack_path.parent}/state/mlruns"}
    assert [(s.name, s.keys, s.optional) for s in spec.secrets] == [
        ("creds", {"key_id": "DEMO_KEY_ID"}, True)
    ]


def test_missing_values_name_the_flags(stack_path: Path) -> None:
    with pytest.raises(MissingValuesError, match=r"--set BUCKET=\.\.\.") as info:
        load_stack_spec(stack_path)
    assert (info.value.stack_name, info.value.missing) == ("demo", ["BUCKET"])


def test_a_missing_optional_secret_drops_its_references(stack_path: Path) -> None:
    spec = load_stack_spec(stack_path, {"BUCKET": "b1"})
    kept = without_missing_optional_secrets(spec, {"creds": False})
    assert "key" not in kept[0].configuration
    assert without_missing_optional_secrets(spec, {"creds": True})[0].configuration["key"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n", "needs a 'name' and a 'components'"),
        ("name: x\ncomponents: [a]\n", "'components' must map"),
        ("name: x\ncomponents: {orchestrator: {name: o}}\n", "needs 'name' and 'flavor'"),
        ("name: x\ncomponents: {}\nsecrets: {s: {}}\n", "needs 'keys'"),
        ("name: x\ncomponents: {}\nsecrets: {s: {keys: {a: A}, x: 1}}\n", "unknown fields"),
    ],
)
def test_malformed_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(StackSpecError, match=message):
        load_stack_spec(path)


def test_stack_file_by_name_or_path(tmp_path: Path) -> None:
    assert stack_file("local").name == "local.yaml"
    with pytest.raises(StackSpecError, match="known stacks"):
        stack_file("no-such-stack")
    with pytest.raises(StackSpecError, match="no stack file"):
        stack_file(str(tmp_path / "absent.yaml"))


def test_parse_sets() -> None:
    assert parse_sets(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    assert parse_sets(None) == {}
    with pytest.raises(StackSpecError, match="NAME=value"):
        parse_sets(["oops"])
