"""security/audit.py: the accepted-findings file and the verdict on pip-audit's report.

No network here: the verdict is checked on pip-audit JSON reports written out in the test
(the shape ``pip-audit -f json`` prints). The real audit runs in CI (`make audit`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("security_audit", REPO_ROOT / "security/audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


audit = _load_audit()


def report(*deps: dict) -> dict:
    return {"dependencies": list(deps), "fixes": []}


def vuln(vid: str, *aliases: str, fix: str = "9.9") -> dict:
    return {"id": vid, "aliases": list(aliases), "fix_versions": [fix], "description": "..."}


def test_the_shipped_ignore_file_parses_and_every_entry_has_a_reason() -> None:
    ignores = audit.read_ignores()
    for vid, reason in ignores.items():
        assert len(reason.split()) >= 5, f"{vid}: say why it is accepted, not just that it is"


def test_malformed_lines_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ignore.txt"
    path.write_text("# comment\n\nPYSEC-2024-1  the code path is never used by the service\n")
    assert audit.read_ignores(path) == {
        "PYSEC-2024-1": "the code path is never used by the service"
    }
    path.write_text("GHSA-xxxx-yyyy-zzzz\n")  # no reason
    with pytest.raises(audit.AuditFileError, match=r"ignore\.txt:1"):
        audit.read_ignores(path)


def test_clean_report_passes() -> None:
    verdict = audit.judge(report({"name": "numpy", "version": "2.4.6", "vulns": []}), {})
    assert verdict.ok


def test_unlisted_finding_fails_and_listed_one_passes_by_id_or_alias() -> None:
    rep = report({"name": "mlflow", "version": "3.17.2", "vulns": [vuln("PYSEC-1", "CVE-2")]})
    assert audit.judge(rep, {}).findings == ["mlflow 3.17.2 PYSEC-1 (fixed in: 9.9)"]
    assert audit.judge(rep, {"PYSEC-1": "reason"}).ok
    assert audit.judge(rep, {"CVE-2": "reason"}).ok


def test_unaudited_packages_fail_so_an_outage_is_not_green() -> None:
    skipped = {"name": "bentoml", "skip_reason": "Dependency not found on PyPI"}
    verdict = audit.judge(report(skipped), {})
    assert not verdict.ok
    assert verdict.unaudited == ["bentoml ?: Dependency not found on PyPI"]


def test_stale_ignore_entries_fail() -> None:
    verdict = audit.judge(report({"name": "numpy", "version": "2.4.6", "vulns": []}), {"X-1": "r"})
    assert verdict.stale == ["X-1"]
    assert not verdict.ok
