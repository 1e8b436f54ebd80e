"""Render pages in Debian's headless Chromium, driven through chromedriver (W3C WebDriver).

Why WebDriver and not ``chromium --dump-dom --virtual-time-budget``: single-page apps such
as the ZenML dashboard keep polling their API and animating, so the virtual-time budget
never runs out and Chromium hangs until killed; and some pages need a click or two
(an onboarding form) before they show what a test wants to check. WebDriver lets a test
wait for real text to appear, interact, then take the DOM and a screenshot. The protocol
is plain JSON over HTTP, so this module needs nothing beyond the standard library and
the Debian packages ``chromium``, ``chromium-driver`` and ``fonts-liberation``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.binaries import require_binary
from tests.support.processes import free_port, http_ok, start_process, wait_until

# --disable-3d-apis: the ZenML dashboard draws an animated WebGL shader ("Paper Shaders")
# behind some screens; under SwiftShader on a 2-core box that pins the renderer thread and
# every WebDriver call then fails with "timed out receiving message from renderer".
# Without WebGL the page falls back to a plain background and stays responsive.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-3d-apis",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)

# An element reference in W3C WebDriver JSON.
_ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"
# WebDriver errors that mean "not clickable yet" rather than "wrong element".
_NOT_YET_CLICKABLE = (
    "element click intercepted",
    "element not interactable",
    "stale element reference",
)
# Where Chromium is only a snap (Ubuntu, GitHub's runners), the preinstalled Google Chrome
# speaks the same DevTools/WebDriver protocol; chromedriver must match its major version.
CHROME_ALTERNATIVES = ("chromium-browser", "google-chrome", "google-chrome-stable")


def require_chromium() -> None:
    """Skip (or fail, per require_binary's policy) without Chromium and its WebDriver."""
    require_binary(
        "chromium",
        why="apt-get install -y chromium fonts-liberation",
        alternatives=CHROME_ALTERNATIVES,
    )
    require_binary("chromedriver", why="apt-get install -y chromium-driver")


class WebDriverError(RuntimeError):
    """A WebDriver command failed; the message carries chromedriver's error text."""


@dataclass(frozen=True)
class Rendered:
    """What a page looked like: its serialised DOM, visible text, final URL and screenshot."""

    url: str
    dom: str
    text: str
    screenshot: Path


class Browser:
    """One headless Chromium session (one tab) behind a private chromedriver process.

    Use :func:`browser` to get one; it always quits the session and stops chromedriver.
    """

    def __init__(self, port: int, session_id: str) -> None:
        self._base = f"http://127.0.0.1:{port}/session/{session_id}"

    # -- protocol ---------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return _webdriver_call(method, self._base + path, body)

    # -- navigation and reading -----------------------------------------------------
    def goto(self, url: str) -> None:
        """Navigate and wait for the document load (not for the SPA's own data fetches)."""
        self._call("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return str(self._call("GET", "/url"))

    def run_js(self, script: str, *args: Any) -> Any:
        """Run a JavaScript function body in the page and return its result."""
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def text(self) -> str:
        """The visible text of the page (``document.body.innerText``)."""
        return str(self.run_js("return document.body ? document.body.innerText : '';"))

    def dom(self) -> str:
        """The current, script-modified DOM serialised as HTML."""
        return str(self.run_js("return document.documentElement.outerHTML;"))

    def wait_for_text(self, *needles: str, timeout: float = 60.0, any_of: bool = False) -> str:
        """Wait until every needle (or, with ``any_of``, one of them) is visible; return the text.

        On timeout the error shows the URL and text the page had, which is usually
        enough to tell a login/onboarding/error page from a slow one.
        """
        found = any if any_of else all
        deadline = time.monotonic() + timeout
        text = ""
        while True:
            with contextlib.suppress(WebDriverError):
                text = self.text()
                if found(n in text for n in needles):
                    return text
            if time.monotonic() >= deadline:
                missing = [n for n in needles if n not in text]
                raise TimeoutError(
                    f"page {self.url} did not show {'any of ' if any_of else ''}{missing} "
                    f"within {timeout}s; it shows:\n{text[:2000]}"
                )
            time.sleep(0.5)

    # -- interaction --------------------------------------------------------------------
    def find(self, css: str, *, timeout: float = 30.0) -> str:
        """Wait for the first element matching ``css``; return its WebDriver id."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._call("POST", "/elements", {"using": "css selector", "value": css})
            if found:
                return str(found[0][_ELEMENT_KEY])
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no element matches {css!r} on {self.url} after {timeout}s")
            time.sleep(0.5)

    def type_into(self, css: str, value: str) -> None:
        """Clear the field matching ``css`` and type ``value`` like a user would."""
        element = self.find(css)
        self._call("POST", f"/element/{element}/clear", {})
        self._call("POST", f"/element/{element}/value", {"text": value})

    def click(self, css: str, *, timeout: float = 30.0) -> None:
        """Click the element matching ``css`` (a real pointer click via WebDriver)."""
        script = "return document.querySelector(arguments[0]);"
        self._click_when_ready(script, css, f"no element matches {css!r}", timeout)

    def click_button(self, label: str, *, timeout: float = 30.0) -> None:
        """Click the first enabled ``<button>`` whose visible text is ``label``."""
        script = (
            "return [...document.querySelectorAll('button')]"
            ".find(b => b.innerText.trim() === arguments[0] && !b.disabled) || null;"
        )
        self._click_when_ready(script, label, f"no enabled button {label!r}", timeout)

    def _click_when_ready(self, script: str, argument: str, missing: str, timeout: float) -> None:
        """Click what ``script`` returns, once it exists and takes clicks.

        An element can exist before it takes clicks: React Flow renders a graph's nodes
        with ``pointer-events: none`` until its layout settles, and a re-render replaces
        nodes. WebDriver refuses those clicks; a user would wait and click again, so the
        refusals are retried (each time on a fresh lookup) until ``timeout``."""
        deadline = time.monotonic() + timeout
        refused = ""
        while True:
            element = self.run_js(script, argument)
            if element:
                try:
                    self._call("POST", f"/element/{element[_ELEMENT_KEY]}/click", {})
                    return
                except WebDriverError as exc:
                    if not any(reason in str(exc) for reason in _NOT_YET_CLICKABLE):
                        raise
                    refused = f"; the last click was refused: {exc}"
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{missing} on {self.url} after {timeout}s{refused}; "
                    f"page shows:\n{self.text()[:2000]}"
                )
            time.sleep(0.5)

    # -- capture --------------------------------------------------------------------------
    def set_viewport(self, width: int, height: int) -> None:
        """Resize the window so the page's viewport (what a screenshot shows) is exactly
        ``width`` x ``height``: ``--window-size`` sizes the window, toolbars included."""
        self._call("POST", "/window/rect", {"width": width, "height": height})
        inner = self.run_js("return [window.innerWidth, window.innerHeight];")
        self._call(
            "POST",
            "/window/rect",
            {"width": 2 * width - inner[0], "height": 2 * height - inner[1]},
        )

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the viewport to ``path`` (parents created) and return it."""
        png = base64.b64decode(self._call("GET", "/screenshot"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        return path

    def capture(self, screenshot: Path) -> Rendered:
        """DOM, text, URL and a screenshot of the page as it is now."""
        return Rendered(
            url=self.url, dom=self.dom(), text=self.text(), screenshot=self.screenshot(screenshot)
        )


def _webdriver_call(
    method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 120.0
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["value"]
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            value = json.loads(detail)["value"]
            detail = f"{value['error']}: {value['message'].splitlines()[0]}"
        raise WebDriverError(f"{method} {url} -> {exc.code} {detail}") from None


@contextlib.contextmanager
def browser(
    *,
    log_dir: Path,
    window_size: tuple[int, int] = (1440, 1000),
    extra_flags: Sequence[str] = (),
) -> Iterator[Browser]:
    """Start chromedriver + headless Chromium; always quit both (by PID) on exit.

    Skips (locally) or fails (under CI=true) when chromium/chromedriver are missing.
    ``log_dir`` receives chromedriver's log, shown in errors when the driver dies.
    """
    chromium = require_binary(
        "chromium",
        why="apt-get install -y chromium fonts-liberation",
        alternatives=CHROME_ALTERNATIVES,
    )
    chromedriver = require_binary("chromedriver", why="apt-get install -y chromium-driver")
    port = free_port()
    driver = start_process(
        [chromedriver, f"--port={port}", "--allowed-ips=127.0.0.1"],
        log_path=log_dir / "chromedriver.log",
    )
    session_id = ""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        try:
            wait_until(
                lambda: http_ok(f"http://127.0.0.1:{port}/status"),
                timeout=30,
                process=driver,
                what="chromedriver",
            )
            flags = [
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={window_size[0]},{window_size[1]}",
                *extra_flags,
            ]
            capabilities = {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "timeouts": {"script": 30_000, "pageLoad": 90_000},
                "goog:chromeOptions": {"binary": chromium, "args": flags},
            }
            session = _webdriver_call(
                "POST",
                f"http://127.0.0.1:{port}/session",
                {"capabilities": {"alwaysMatch": capabilities}},
            )
            session_id = session["sessionId"]
            yield Browser(port, session_id)
        finally:
            if session_id:
                with contextlib.suppress(WebDriverError, OSError):
                    _webdriver_call(
                        "DELETE", f"http://127.0.0.1:{port}/session/{session_id}", timeout=30
                    )
            driver.stop()


def render(
    url: str,
    *,
    screenshot: Path,
    wait_for: Sequence[str] = (),
    timeout: float = 60.0,
    log_dir: Path | None = None,
) -> Rendered:
    """Load ``url``, wait until every string in ``wait_for`` is visible, capture the page."""
    with (
        tempfile.TemporaryDirectory(prefix="chromium-logs-") as tmp,
        browser(log_dir=log_dir or Path(tmp)) as page,
    ):
        page.goto(url)
        if wait_for:
            page.wait_for_text(*wait_for, timeout=timeout)
        return page.capture(screenshot)
