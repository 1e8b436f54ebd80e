"""The docs site: it builds in strict mode, every internal link and anchor resolves, it loads
nothing from the network, and the pages keep up with the code.

The build needs the ``docs`` dependency group (``make docs`` installs it). Without it the
build tests skip locally and fail under ``CI=true``, where ``.ci/run`` runs ``make docs``
first and a skip would hide a site that no longer builds.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Runs MkDocs builds (tens of seconds).
pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
HOOKS = DOCS / "hooks"
DOCS_GROUP = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "griffe")


def require_docs_group() -> None:
    missing = [name for name in DOCS_GROUP if importlib.util.find_spec(name) is None]
    if not missing:
        return
    reason = f"the docs dependency group is not installed (no {', '.join(missing)}): make docs"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; .ci/run must build the docs first", pytrace=False)
    pytest.skip(reason)


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site``, as ``make docs`` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=config.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "true"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_site_builds_strict_with_every_link_resolved(tmp_path: Path) -> None:
    """Strict: a broken internal link or anchor, a page left out of the nav, a module the
    reference cannot render is a warning, and any warning fails the build."""
    require_docs_group()
    site = tmp_path / "site"
    proc = build(REPO_ROOT / "mkdocs.yml", site)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-6000:]
    for page in ("index.html", "getting-started/index.html", "reference/index.html"):
        assert (site / page).is_file(), page
    assert (site / "images" / "prediction-page.png").is_file()
    # The reference is generated from the tree: every package gets its page.
    for package in ("sentiment", "steps", "pipelines", "materializers", "cli", "local_cluster"):
        assert (site / "reference" / package / "index.html").is_file(), package
    # Offline: no script, stylesheet or font is loaded from anywhere but the site itself.
    external = re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.IGNORECASE)
    for html in site.rglob("*.html"):
        match = external.search(html.read_text(encoding="utf-8"))
        assert match is None, f"{html.relative_to(site)}: {match and match.group(0)}"


def test_an_unanalysable_module_does_not_break_the_build(tmp_path: Path) -> None:
    """A module griffe cannot load (here a syntax error) gets a page saying so; the rest of
    its package is still documented and the strict build passes."""
    require_docs_group()
    package = tmp_path / "sentiment"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text('"""A package."""\n')
    (package / "core" / "__init__.py").write_text('"""Domain code."""\n')
    (package / "core" / "good.py").write_text(
        '"""Fine.\n\nSee :func:`sentiment.core.good.f` and :mod:`.missing`."""\n\n'
        'def f() -> int:\n    """Return one."""\n    return 1\n'
    )
    (package / "core" / "broken.py").write_text('"""Broken."""\n\ndef f(:\n')
    (package / "scripts").mkdir()
    (package / "scripts" / "tool.py").write_text('"""No __init__.py above."""\n')
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Test\n\n[reference](reference/index.md)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        textwrap.dedent(
            f"""\
            site_name: test
            hooks: ["{HOOKS / "api_reference.py"}"]
            validation:
              nav: {{omitted_files: warn, not_found: warn}}
              links: {{not_found: warn, anchors: warn, unrecognized_links: warn}}
            theme: {{name: material, font: false}}
            plugins:
              - mkdocstrings:
                  handlers:
                    python:
                      paths: [.]
                      options:
                        extensions: ["{HOOKS / "rest_roles.py"}:SphinxRoles"]
                        show_root_heading: true
                        heading_level: 1
            nav:
              - Home: index.md
              - API reference: []
            """
        )
    )
    site = tmp_path / "site"
    proc = build(config, site)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    good = (site / "reference" / "sentiment" / "core" / "good" / "index.html").read_text()
    assert "Return one." in good
    assert 'href="#sentiment.core.good.f"' in good  # a role that resolves becomes a link
    assert "sentiment.core.missing" in good  # one that does not stays code, silently
    broken = (site / "reference" / "sentiment" / "core" / "broken" / "index.html").read_text()
    assert "Not analysed" in broken
    tool = (site / "reference" / "sentiment" / "scripts" / "tool" / "index.html").read_text()
    assert "Not analysed" in tool


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string (and positional of a sub-command) a parser accepts, recursively."""
    found: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_options(sub))
        elif isinstance(action, argparse._HelpAction):
            continue
        elif action.option_strings:
            found.extend(s for s in action.option_strings if s.startswith("--"))
    return found


def test_every_run_py_command_has_a_how_to_page_with_every_option() -> None:
    """The how-to pages are written by hand: this catches an option added to a command (or a
    command added to run.py) without its documentation."""
    import run

    for command in run.COMMANDS:
        page = DOCS / "how-to" / f"{command}.md"
        assert page.is_file(), f"run.py {command}: no docs/how-to/{command}.md"
        text = page.read_text()
        subparsers = run.build_parser(command)._subparsers
        assert subparsers is not None
        sub = subparsers._group_actions[0].choices[command]
        for option in _options(sub):
            assert f"`{option}" in text, f"docs/how-to/{command}.md does not document {option}"
        index = (DOCS / "how-to" / "index.md").read_text()
        assert f"]({command}.md)" in index, f"docs/how-to/index.md does not link {command}"


def test_readme_links_point_at_existing_pages() -> None:
    """The README's links into docs/ are relative, so they work on GitHub and in a checkout."""
    readme = (REPO_ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert any(link.startswith("docs/") for link in local), "the README links no docs page"
    for link in local:
        assert (REPO_ROOT / link).is_file(), f"README.md links {link}, which does not exist"
