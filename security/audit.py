"""pip-audit over exactly the versions uv.lock pins, with accepted findings kept in the repo.

    .venv/bin/python security/audit.py [--only NAME ...]

Why a wrapper around ``pip-audit``: auditing ``.venv`` would check whatever happens to be
installed, not the lock; and pip-audit alone passes when it could not audit a package (it
lists it as skipped, e.g. when the vulnerability service does not answer), which would turn
an outage into a green check. This script:

1. exports the lock (every dependency group: the test tools run in CI too) with
   ``uv export --frozen --no-hashes --no-emit-project``;
2. runs ``pip-audit --disable-pip --no-deps`` on it (no resolution: the lock is complete),
   against PyPI's vulnerability data, as JSON;
3. fails on any finding not listed in ``security/pip-audit-ignore.txt`` (one ID per line with
   its justification), on any package that could not be audited, and on ignore-file entries
   that no longer match a finding (so the list does not rot).

``--only`` audits a few named packages of the lock (a quick check by hand).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
IGNORE_FILE = REPO_ROOT / "security" / "pip-audit-ignore.txt"
UV = REPO_ROOT / ".tools" / "bin" / "uv"
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
_ENTRY = re.compile(r"^(?P<id>[A-Za-z][A-Za-z0-9-]*-[A-Za-z0-9-]+)\s+(?P<reason>\S.*)$")


class AuditFileError(ValueError):
    """The ignore file has a malformed line or an entry without a reason."""


@dataclass(frozen=True)
class Verdict:
    findings: list[str]  # "name version ID" not accepted in the ignore file
    unaudited: list[str]  # "name version: why"
    stale: list[str]  # accepted IDs that no longer match any finding
    accepted: list[str]

    @property
    def ok(self) -> bool:
        return not (self.findings or self.unaudited or self.stale)


def read_ignores(path: Path = IGNORE_FILE) -> dict[str, str]:
    """``{vulnerability ID: justification}``; comments (#) and blank lines skipped."""
    ignores: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        match = _ENTRY.match(line)
        if not match:
            raise AuditFileError(
                f"{path.name}:{number}: expected 'VULN-ID  justification', got {raw!r}"
            )
        ignores[match["id"]] = match["reason"]
    return ignores


def judge(report: dict[str, Any], ignores: dict[str, str]) -> Verdict:
    """Compare pip-audit's JSON report (``-f json``) with the accepted findings."""
    findings, unaudited, accepted, matched = [], [], [], set()
    for dep in report.get("dependencies", []):
        where = f"{dep['name']} {dep.get('version', '?')}"
        if "skip_reason" in dep:
            unaudited.append(f"{where}: {dep['skip_reason']}")
            continue
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            hit = ids & set(ignores)
            if hit:
                matched |= hit
                accepted.append(f"{where} {vuln['id']}")
            else:
                fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
                findings.append(f"{where} {vuln['id']} (fixed in: {fixes})")
    stale = sorted(set(ignores) - matched)
    return Verdict(findings=findings, unaudited=unaudited, stale=stale, accepted=accepted)


def locked_requirements(only: Sequence[str] = ()) -> str:
    proc = subprocess.run(
        [str(UV), "export", "--frozen", "--all-groups", "--no-hashes", "--no-emit-project"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln and not ln.lstrip().startswith("#")]
    if only:
        wanted = {n.lower().replace("_", "-") for n in only}
        lines = [ln for ln in lines if re.split(r"[=<>; \[]", ln, maxsplit=1)[0].lower() in wanted]
    return "\n".join(lines) + "\n"


def run_pip_audit(requirements: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text(requirements)
        proc = subprocess.run(
            [
                str(PIP_AUDIT),
                "--requirement",
                str(reqs),
                "--disable-pip",
                "--no-deps",
                "--progress-spinner",
                "off",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if not proc.stdout.strip().startswith("{"):
        raise SystemExit(f"pip-audit failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=(), help="audit only these packages")
    args = parser.parse_args(argv)
    ignores = read_ignores()
    requirements = locked_requirements(args.only)
    count = requirements.count("\n")
    verdict = judge(run_pip_audit(requirements), ignores)
    if args.only:  # a subset cannot tell which accepted entries went stale
        verdict = Verdict(verdict.findings, verdict.unaudited, [], verdict.accepted)
    print(f"audited {count} locked packages against PyPI's vulnerability data")
    for line in verdict.accepted:
        print(f"  accepted (security/pip-audit-ignore.txt): {line}")
    for title, lines in (
        ("NOT ACCEPTED", verdict.findings),
        ("COULD NOT AUDIT", verdict.unaudited),
        ("STALE IGNORE ENTRY (no such finding any more: remove it)", verdict.stale),
    ):
        for line in lines:
            print(f"  {title}: {line}")
    print("pip-audit: ok" if verdict.ok else "pip-audit: FAILED")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
