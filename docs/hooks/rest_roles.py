"""Griffe extension: the docstrings' Sphinx roles as Markdown, for the API reference.

The docstrings are written to be read in an editor, with Sphinx roles such as
``:func:`sentiment.adapters.bento.import_model``` and double-backtick literals. Markdown already
renders the literals as code; the roles it would print as they are. This turns each role
into an *optional* cross-reference of mkdocs-autorefs: a link when the target has a page,
plain code when it does not (a moved module, a private name), and never a warning, so a
docstring can never fail the strict build. Loaded by mkdocstrings (``extensions:`` in
mkdocs.yml).
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|data|attr|exc|obj|const):`(?P<target>[^`]+)`")


def resolve(target: str, package: str) -> tuple[str, str]:
    """(identifier, text shown) of a role's target; ``.x`` is relative to ``package``,
    ``~a.b.c`` shows only ``c``, as in Sphinx."""
    target = target.strip()
    short = target.startswith("~")
    target = target.lstrip("~")
    if target.startswith("."):
        dots = len(target) - len(target.lstrip("."))
        parts = package.split(".")
        base = parts[: len(parts) - (dots - 1)] if dots > 1 else parts
        identifier = ".".join([*base, target.lstrip(".")]) if target.lstrip(".") else ".".join(base)
    else:
        identifier = target
    shown = target.rsplit(".", 1)[-1] if short else target
    return identifier, shown


def roles_to_markdown(text: str, package: str) -> str:
    """``text`` with every role replaced by an optional autorefs link around ``<code>``."""

    def replace(match: re.Match[str]) -> str:
        identifier, shown = resolve(match["target"], package)
        return (
            f'<autoref identifier="{html.escape(identifier)}" optional>'
            f"<code>{html.escape(shown)}</code></autoref>"
        )

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrites every docstring once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.is_alias or obj.docstring is None:
            return
        module = obj.module
        package = module.path if module.is_init_module else module.path.rpartition(".")[0]
        obj.docstring.value = roles_to_markdown(obj.docstring.value, package or module.path)
