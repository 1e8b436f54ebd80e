"""The prediction page at ``GET /``, its assets under ``/ui/``, and Swagger UI at ``/docs``.

Why the gateway serves the page (and not a BentoML route): the gateway
(:mod:`sentiment.adapters.serving.gateway`) sees every request before BentoML, and the page must be
answered before the bearer check, because a browser cannot attach a token to a navigation.
The page and its assets are static files packed in the Bento (``sentiment/adapters/serving/ui/``,
listed in bentofile.yaml's ``include``), read once per worker and served from memory; the
page itself is the only thing that talks to the API, with ``fetch("predict")`` carrying the
token the user typed. Only the exact paths of :func:`load_assets` are open: any other
``/ui/...`` path goes through the bearer check like the API.

Why a strict Content-Security-Policy (:data:`CONTENT_SECURITY_POLICY`): the page handles a
bearer token, so no script may run but the page's own file, nothing may be loaded from
anywhere else (the page works offline, no CDN) and no other site may frame it. That rules
out inline ``<script>``/``<style>`` and ``style=`` attributes, so the JavaScript and CSS are
separate files.

Why Swagger UI moves instead of going away: BentoML mounts its index page (Swagger UI) at
``/`` (``_bentoml_impl/server/app.py``, ``ServiceAppFactory.__call__``: ``index_page`` on
``/``, ``static_content/`` and ``docs.json`` beside it). That page loads its files with
relative URLs (``./static_content/...``, ``./docs.json``), which resolve the same from
``/docs`` as from ``/``, so :func:`route_docs` only rewrites the path of a ``/docs`` request
to ``/`` and lets BentoML answer it; ``/static_content/*`` and ``/docs.json`` stay where they
are, with the same auth as before.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from sentiment.adapters.serving.openapi import Scope, Send
from sentiment.adapters.serving.settings import LimitSettings

UI_DIR = Path(__file__).with_name("ui")
PAGE_PATH = "/"
DOCS_PATH = "/docs"
BENTOML_INDEX_PATH = "/"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

# On every page response. no-cache: a browser revalidates, so a new Bento's page and
# assets are never mixed with an old one's. no-referrer: the page's URL goes nowhere.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
)


@dataclass(frozen=True)
class Asset:
    """One file of the page, ready to send."""

    body: bytes
    content_type: str


def load_assets(
    limits: LimitSettings, *, auth_enabled: bool, ui_dir: Path = UI_DIR
) -> dict[str, Asset]:
    """URL path -> asset. ``index.html`` is a :class:`string.Template`: it gets the batch
    limit (the page splits many lines into requests of at most that many texts) and whether
    auth is on (the token field is shown only then)."""
    page = string.Template((ui_dir / "index.html").read_text(encoding="utf-8")).substitute(
        max_batch_size=limits.max_batch_size,
        auth="on" if auth_enabled else "off",
    )
    return {
        PAGE_PATH: Asset(page.encode("utf-8"), "text/html; charset=utf-8"),
        "/ui/app.js": Asset((ui_dir / "app.js").read_bytes(), "text/javascript; charset=utf-8"),
        "/ui/app.css": Asset((ui_dir / "app.css").read_bytes(), "text/css; charset=utf-8"),
    }


def find_asset(assets: dict[str, Asset], scope: Scope) -> Asset | None:
    """The asset a ``GET``/``HEAD`` request asks for; None for anything else (other methods
    on these paths take the API's way: the bearer check, then BentoML's 405 or 404)."""
    if scope.get("method") not in ("GET", "HEAD"):
        return None
    return assets.get(scope.get("path", ""))


async def send_asset(send: Send, asset: Asset, scope: Scope) -> None:
    headers = [
        (b"content-type", asset.content_type.encode("ascii")),
        (b"content-length", str(len(asset.body)).encode("ascii")),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    body = b"" if scope.get("method") == "HEAD" else asset.body
    await send({"type": "http.response.body", "body": body})


def route_docs(scope: Scope) -> Scope:
    """A ``/docs`` request as BentoML's index route (Swagger UI) expects it; others as is."""
    if scope.get("path") != DOCS_PATH:
        return scope
    raw = BENTOML_INDEX_PATH.encode("ascii")
    return {**scope, "path": BENTOML_INDEX_PATH, "raw_path": raw}
