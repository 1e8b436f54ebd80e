"""The prediction page at ``/`` and Swagger UI at ``/docs`` (sentiment/adapters/serving/page.py).

Real ``bentoml serve`` of the built Bento (so the page's files are the ones the Bento packs)
and Debian's headless Chromium through tests/support/chromium.py. Chromium resolves no host
name but 127.0.0.1, so a page that needed a CDN would fail here. The HTTP-only checks (CSP
header, no inline code, auth) use httpx.

``SENTIMENT_UPDATE_SCREENSHOTS=1`` also writes the screenshot of a prediction to
docs/images/prediction-page.png (the README's picture of the page).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from sentiment.adapters.serving.page import CONTENT_SECURITY_POLICY
from tests.service.bentos import MODEL_VERSION, REPO_ROOT, ServiceModel, StartServer
from tests.support.chromium import Browser, browser

pytestmark = pytest.mark.integration

REVIEW = "The plot is slow and a bit dull, yet the ending is wonderful."
LINES = [
    "a wonderful film, i loved every minute",
    "a terrible film, awful acting and a waste of time",
    "brilliant and moving, a masterpiece",
]
TOKEN = "page-" + "5e6f7a8b9c0d" * 3
# The auth server splits nothing itself: a batch limit of 2 makes the page send 3 lines as
# two requests; a text limit of 200 makes a long line a 422 the page must show.
AUTH_CONFIG = {
    "service": {"workers": 1},
    "batching": {"max_batch_size": 2},
    "limits": {"max_text_chars": 200},
}
SCREENSHOT = REPO_ROOT / "docs" / "images" / "prediction-page.png"
VIEWPORT = (1000, 700)
CTRL_ENTER = "\ue009\ue007"  # WebDriver keys: Control (held to the end of the call), Enter


@pytest.fixture(scope="module")
def auth_server(start_bento_server: StartServer) -> Iterator[str]:
    with start_bento_server(
        "page-auth", env={"SENTIMENT_API_TOKEN": TOKEN}, config=AUTH_CONFIG
    ) as (url, _):
        yield url


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One Chromium for the module; every host name but 127.0.0.1 fails to resolve."""
    offline = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
    with browser(
        log_dir=tmp_path_factory.mktemp("chromium"), window_size=VIEWPORT, extra_flags=[offline]
    ) as chromium:
        chromium.set_viewport(*VIEWPORT)  # the screenshot's size
        yield chromium


class Markup(HTMLParser):
    """Every start tag of a document with its attributes, and the text inside scripts/styles."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline_code: list[str] = []
        self._inside: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._inside = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside and data.strip():
            self.inline_code.append(f"<{self._inside}>{data.strip()[:80]}")

    def linked(self) -> list[str]:
        """URLs of the scripts, stylesheets and icons the document loads."""
        return [
            attrs.get("src") or attrs.get("href", "")
            for tag, attrs in self.tags
            if tag == "script" or (tag == "link" and attrs.get("rel") in ("stylesheet", "icon"))
        ]


def wait_js(chromium: Browser, script: str, *, timeout: float = 60.0) -> Any:
    """Poll a JavaScript function body until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = chromium.run_js(script)
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{script!r} stayed falsy for {timeout}s; page:\n{chromium.text()}")
        time.sleep(0.2)


def on_hook(testid: str, expression: str) -> str:
    """A script returning ``expression`` of the element ``[data-testid=testid]``."""
    return f"return document.querySelector('[data-testid={testid}]').{expression};"


def hook_text(chromium: Browser, testid: str) -> str:
    return str(chromium.run_js(on_hook(testid, "innerText")))


def shown(chromium: Browser, testid: str) -> bool:
    return bool(chromium.run_js(on_hook(testid, "checkVisibility()")))


def wait_for_answer(chromium: Browser, testid: str) -> str:
    """Wait until the element ``testid`` (label, error, ...) is shown with text; its text."""
    script = (
        f"const e = document.querySelector('[data-testid={testid}]');"
        "return e && e.checkVisibility() && e.innerText.trim();"
    )
    return str(wait_js(chromium, script))


def open_page(chromium: Browser, url: str) -> None:
    chromium.goto(f"{url}/")
    chromium.find("textarea[name=text]")


def table_rows(chromium: Browser) -> list[dict[str, str]]:
    return list(
        chromium.run_js(
            "return [...document.querySelectorAll('[data-testid=results] tr')].map(r => ({"
            "line: r.querySelector('[data-testid=row-line]').innerText,"
            "text: r.querySelector('[data-testid=row-text]').innerText,"
            "label: r.querySelector('[data-testid=row-label]').innerText,"
            "score: r.querySelector('[data-testid=row-score]').dataset.value}));"
        )
    )


# -- over HTTP -------------------------------------------------------------------------------


def test_page_has_a_strict_csp_and_no_inline_code(served_bento: str) -> None:
    resp = httpx.get(f"{served_bento}/", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert resp.headers["x-content-type-options"] == "nosniff"

    markup = Markup(resp.text)
    assert markup.inline_code == []
    assert not [tag for tag, _ in markup.tags if tag == "style"]
    for tag, attrs in markup.tags:
        assert "style" not in attrs, f"<{tag} style=...>"
        assert not [a for a in attrs if a.startswith("on")], f"<{tag}> has an event handler"
        if tag == "script":
            assert attrs.get("src"), "every script is a file"
    assert ("textarea", "text") in [(tag, attrs.get("name")) for tag, attrs in markup.tags]
    assert ("button", "submit") in [(tag, attrs.get("type")) for tag, attrs in markup.tags]
    # Everything the page loads comes from the service itself.
    linked = markup.linked()
    assert {"ui/app.js", "ui/app.css"} <= set(linked)
    for url in linked:
        assert "//" not in url, f"{url} is not served by the Bento"
        if url.startswith("data:"):
            continue
        asset = httpx.get(urljoin(f"{served_bento}/", url), timeout=10)
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
    js = httpx.get(f"{served_bento}/ui/app.js", timeout=10)
    assert js.headers["content-type"].startswith("text/javascript")
    assert httpx.head(f"{served_bento}/", timeout=10).content == b""


def test_swagger_ui_moved_to_docs_with_its_assets(served_bento: str) -> None:
    docs = httpx.get(f"{served_bento}/docs", timeout=10)
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert 'id="swagger-ui"' in docs.text
    for url in Markup(docs.text).linked():
        asset = httpx.get(urljoin(f"{served_bento}/docs", url), timeout=10)
        assert asset.status_code == 200, url
    spec = httpx.get(f"{served_bento}/docs.json", timeout=10).json()
    assert "/predict" in spec["paths"]
    assert "swagger-ui" not in httpx.get(f"{served_bento}/", timeout=10).text


def test_with_auth_only_the_page_is_open(auth_server: str) -> None:
    with httpx.Client(base_url=auth_server, timeout=10) as client:
        for path in ("/", "/ui/app.js", "/ui/app.css"):
            assert client.get(path).status_code == 200, path
        assert 'data-auth="on"' in client.get("/").text
        # Everything else is as before: the API, the OpenAPI document and Swagger UI need
        # the token (a browser cannot send one with /docs.json).
        for path in ("/docs", "/docs.json", "/ui/other.js", "/static_content/index.css"):
            assert client.get(path).status_code == 401, path
        assert client.post("/predict", json={"texts": ["fine"]}).status_code == 401
        assert client.post("/", json={"texts": ["fine"]}).status_code == 401
        assert client.get("/docs", headers={"Authorization": f"Bearer {TOKEN}"}).is_success


# -- in Chromium -----------------------------------------------------------------------------


def test_page_predicts_one_review(
    served_bento: str, page: Browser, service_model: ServiceModel, tmp_path: Path
) -> None:
    expected = service_model.predict_proba([REVIEW])[0]
    open_page(page, served_bento)
    assert not page.run_js("return document.getElementById('token-field').checkVisibility();")
    page.type_into("textarea[name=text]", REVIEW)
    page.click("button[type=submit]")

    label = wait_for_answer(page, "label")
    assert label == ("positive" if expected >= 0.5 else "negative")
    assert float(hook_text(page, "score")) == pytest.approx(expected, abs=5e-4)
    score = page.run_js(on_hook("score", "dataset.value"))
    assert float(score) == pytest.approx(expected, rel=1e-9)
    bar = page.run_js(on_hook("score-bar", "value"))
    assert bar == pytest.approx(expected, rel=1e-6)
    assert hook_text(page, "model-version") == MODEL_VERSION
    assert label in hook_text(page, "status")  # the aria-live summary
    page.screenshot(tmp_path / "prediction-page.png")
    if os.environ.get("SENTIMENT_UPDATE_SCREENSHOTS") == "1":
        page.screenshot(SCREENSHOT)


def test_swagger_ui_renders_at_docs(served_bento: str, page: Browser) -> None:
    page.goto(f"{served_bento}/docs")
    page.wait_for_text("/predict", "/docs.json")  # the operation and the document's URL


def test_ctrl_enter_predicts_from_the_keyboard(served_bento: str, page: Browser) -> None:
    open_page(page, served_bento)
    page.type_into("textarea[name=text]", "a terrible film, awful acting" + CTRL_ENTER)
    assert wait_for_answer(page, "label") == "negative"
    assert page.run_js("return document.activeElement.name;") == "text"
    assert page.run_js("return document.getElementById('status').getAttribute('aria-live');")


def test_many_lines_answer_one_row_per_line(
    served_bento: str, page: Browser, service_model: ServiceModel
) -> None:
    open_page(page, served_bento)
    page.click("input[name=mode][value=lines]")
    # A blank line in between is skipped; rows keep the line numbers of the paste.
    page.type_into("textarea[name=text]", "\n".join([LINES[0], "", *LINES[1:]]))
    page.click("button[type=submit]")
    wait_js(page, "return document.querySelectorAll('[data-testid=results] tr').length;")
    rows = table_rows(page)
    expected = service_model.predict_proba(LINES)
    assert [r["line"] for r in rows] == ["1", "3", "4"]
    assert [r["text"] for r in rows] == LINES
    assert [r["label"] for r in rows] == ["positive" if p >= 0.5 else "negative" for p in expected]
    assert [float(r["score"]) for r in rows] == pytest.approx(expected, rel=1e-9)
    assert hook_text(page, "model-version") == MODEL_VERSION
    assert not shown(page, "label")


def test_with_auth_the_page_asks_for_the_token_then_predicts(
    auth_server: str, page: Browser
) -> None:
    open_page(page, auth_server)
    page.type_into("textarea[name=text]", REVIEW)
    page.click("button[type=submit]")
    assert "needs an API token" in wait_for_answer(page, "error")
    assert page.run_js("return document.activeElement.id;") == "token"

    page.type_into("#token", "not-the-token")
    page.click("button[type=submit]")
    wait_js(page, on_hook("error", "innerText.includes('refused')"))
    assert "invalid bearer token" in hook_text(page, "error")

    page.type_into("#token", TOKEN)
    page.click("button[type=submit]")
    assert wait_for_answer(page, "label") == "positive"
    assert hook_text(page, "model-version") == MODEL_VERSION
    assert not shown(page, "error")
    # The token stays in the page: nothing stored, nothing in the URL.
    stored = page.run_js("return [localStorage.length, sessionStorage.length, document.cookie];")
    assert stored == [0, 0, ""]
    assert TOKEN not in page.url


def test_many_lines_are_sent_in_batches_and_errors_name_the_line(
    auth_server: str, page: Browser
) -> None:
    """The auth server accepts 2 texts per request and 200 characters per text."""
    open_page(page, auth_server)
    page.type_into("#token", TOKEN)
    page.click("input[name=mode][value=lines]")
    page.type_into("textarea[name=text]", "\n".join(LINES) + CTRL_ENTER)
    wait_js(page, "return document.querySelectorAll('[data-testid=results] tr').length === 3;")
    assert [r["text"] for r in table_rows(page)] == LINES

    page.type_into("textarea[name=text]", "\n".join([LINES[0], "x" * 250]))
    page.click("button[type=submit]")
    error = wait_for_answer(page, "error")
    assert "(422)" in error
    assert "line 2 has 250 characters but at most 200 are accepted" in error
    assert not shown(page, "results")
