"""MkDocs hook: the API reference, one page per module, generated from the tree at build time.

Why generated and not written: modules move (the code is being regrouped by role), and a
hand-written page per module would go stale or break the strict build with every move. Each
build walks ``PACKAGES`` (and the top-level ``MODULES``), writes one page per module holding a
mkdocstrings ``::: module`` block, and nests the pages under "API reference" in the nav like
the packages nest. Nothing is written to docs/: the pages exist only in the build.

A module that griffe (static analysis: nothing is imported) cannot load, say a syntax error
or a folder without ``__init__.py``, gets a page saying so instead of a ``:::`` block, which
would fail the build. That is logged at INFO, which ``--strict`` does not count.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.api_reference")

PACKAGES = ("sentiment", "steps", "pipelines", "materializers", "cli", "local_cluster")
MODULES = ("run", "service")
SECTION = "API reference"
FOLDER = "reference"


@dataclass(frozen=True)
class ModulePage:
    module: str  # dotted name
    src_uri: str  # page path under docs/, e.g. reference/sentiment/data/index.md
    is_package: bool
    summary: str | None  # first docstring line; None when griffe could not load it

    @property
    def loaded(self) -> bool:
        return self.summary is not None

    def markdown(self) -> str:
        if self.loaded:
            return f"::: {self.module}\n"
        return (
            f"# `{self.module}`\n\n"
            '!!! warning "Not analysed"\n'
            "    griffe could not load this module statically (a syntax error, or a folder\n"
            "    without `__init__.py`), so its reference is missing from this build.\n"
        )


def module_names(
    root: Path, packages: Iterable[str] = PACKAGES, modules: Iterable[str] = MODULES
) -> list[str]:
    """Dotted names of every module under ``packages`` (``__main__`` aside), then of the
    top-level ``modules`` that exist; in the order given, each package before its modules."""
    names: list[str] = []
    for package in packages:
        found = set()
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if "__pycache__" in parts or parts[-1] == "__main__":
                continue
            found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        names.extend(sorted(found, key=lambda name: name.split(".")))
    names.extend(name for name in modules if (root / f"{name}.py").is_file())
    return names


def summaries(root: Path, names: Iterable[str]) -> dict[str, str]:
    """First docstring line of every module griffe loads from ``root`` ('' without one)."""
    import griffe

    loader = griffe.GriffeLoader(search_paths=[str(root)], allow_inspection=False)
    found: dict[str, str] = {}
    for top in sorted({name.split(".")[0] for name in names}):
        try:
            stack = [loader.load(top)]
        except Exception as error:  # any failure only costs this package its pages
            log.info("API reference: griffe cannot load %s: %s", top, error)
            continue
        while stack:
            module = stack.pop()
            docstring = module.docstring.value if module.docstring else ""
            found[module.path] = first_line(docstring)
            stack.extend(
                member
                for member in module.members.values()
                if not member.is_alias and member.is_module
            )
    return found


def first_line(docstring: str) -> str:
    """The docstring's first sentence-ish line, as Markdown (Sphinx roles as code)."""
    line = docstring.strip().split("\n\n")[0].replace("\n", " ")
    return re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", line)


def module_pages(
    root: Path, packages: Iterable[str] = PACKAGES, modules: Iterable[str] = MODULES
) -> list[ModulePage]:
    """One page per module; a package's page is its folder's ``index.md``."""
    names = module_names(root, packages, modules)
    known = summaries(root, names)
    pages = []
    for name in names:
        parts = name.split(".")
        is_package = (root.joinpath(*parts) / "__init__.py").is_file()
        path = [*parts, "index.md"] if is_package else [*parts[:-1], f"{parts[-1]}.md"]
        src_uri = "/".join([FOLDER, *path])
        if name not in known:
            log.info("API reference: %s is not analysable; its page says so", name)
        pages.append(ModulePage(name, src_uri, is_package, known.get(name)))
    return pages


def index_markdown(pages: list[ModulePage]) -> str:
    """The reference's landing page: every module, nested as in the tree, with its summary."""
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings at every build: one page per module, found by walking",
        "the packages, so it always matches the tree of the checkout it was built from. The",
        "pages say what each module is for and why it is built that way; the guides say how",
        "to use the commands.",
        "",
    ]
    for page in pages:
        depth = page.module.count(".")
        link = page.src_uri.removeprefix(f"{FOLDER}/")
        summary = f": {page.summary}" if page.summary else ""
        lines.append(f"{'    ' * depth}- [`{page.module}`]({link}){summary}")
    return "\n".join(lines) + "\n"


def nav_tree(pages: list[ModulePage]) -> list[Any]:
    """MkDocs nav entries for ``pages``: a package is a section whose first page is its own."""
    root: list[Any] = [f"{FOLDER}/index.md"]
    sections: dict[str, list[Any]] = {"": root}
    for page in pages:
        parent = sections.get(page.module.rpartition(".")[0], root)
        title = page.module.rsplit(".", 1)[-1]
        if page.is_package:
            sections[page.module] = [page.src_uri]
            parent.append({title: sections[page.module]})
        else:
            parent.append({title: page.src_uri})
    return root


# MkDocs events --------------------------------------------------------------------------------

_pages: list[ModulePage] = []


def _root(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_config(config: Any) -> Any:
    """Fill the nav's "API reference" entry (it must exist, as ``- API reference: []``)."""
    _pages[:] = module_pages(_root(config))
    for entry in config.nav or []:
        if isinstance(entry, dict) and SECTION in entry:
            entry[SECTION] = nav_tree(_pages)
            return config
    raise ValueError(f"mkdocs.yml: the nav needs an entry '{SECTION}: []' for the reference")


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, f"{FOLDER}/index.md", content=index_markdown(_pages)))
    for page in _pages:
        files.append(File.generated(config, page.src_uri, content=page.markdown()))
    return files
