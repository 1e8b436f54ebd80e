"""Progress of long loops (tuning trials, batch chunks, downloads, image builds) for a person.

The domain reports progress through plain callbacks (``on_chunk``, ``on_bytes``...); this is
what the callers plug in. On a terminal it draws a rich bar; anywhere else (CI logs, ZenML's
step logs, tests capturing output) a bar is a mess of carriage returns, so it prints a plain
line at each quarter instead. Either way one summary line closes the loop, so the log keeps
what happened after the bar is gone.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

_PLAIN_STEPS = 4  # plain mode: a line at 25 %, 50 %, 75 % (100 % is the summary)
_PLAIN_INTERVAL_S = 15.0  # plain mode, unknown total: a line at most this often


def _human(amount: float, unit: str) -> str:
    if unit == "B":
        for scale, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if amount >= scale:
                return f"{amount / scale:.1f} {name}"
        return f"{int(amount)} B"
    return f"{int(amount):,}{' ' + unit if unit else ''}"


class Progress:
    """``with Progress("trials", total=12) as bar: ... bar.advance()``.

    ``total`` may be None (unknown size: a streamed batch, a download without
    Content-Length): the bar then counts, and plain mode prints a line every
    ``_PLAIN_INTERVAL_S`` seconds.
    """

    def __init__(
        self,
        description: str,
        total: float | None,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        tty: bool | None = None,
    ) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.done = 0.0
        self.summary: str | None = None
        self._stream = stream or sys.stdout
        self._tty = self._stream.isatty() if tty is None else tty
        self._started = time.perf_counter()
        self._next_plain = 1
        self._last_plain = self._started
        self._bar: object | None = None
        self._task: object | None = None

    def __enter__(self) -> Progress:
        if self._tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress

            bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
                transient=True,
            )
            bar.start()
            self._task = bar.add_task(self.description, total=self.total)
            self._bar = bar
        return self

    def advance(self, amount: float = 1) -> None:
        """Count ``amount`` more units done (a trial, a chunk, bytes)."""
        self.update(self.done + amount)

    def update(self, done: float, total: float | None = None) -> None:
        """Set the absolute count (callbacks that report totals so far: rows, bytes)."""
        if total is not None:
            self.total = total
        self.done = done
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=self.total)  # type: ignore[attr-defined]
        elif self.total:
            while self._next_plain < _PLAIN_STEPS and done >= (
                self.total * self._next_plain / _PLAIN_STEPS
            ):
                percent = 100 * self._next_plain // _PLAIN_STEPS
                self._plain(f"of {_human(self.total, self.unit)} ({percent} %)")
                self._next_plain += 1
        elif time.perf_counter() - self._last_plain >= _PLAIN_INTERVAL_S:
            self._plain(f"so far ({self.seconds:.0f} s)")

    def _plain(self, where: str) -> None:
        self._last_plain = time.perf_counter()
        line = f"{self.description}: {_human(self.done, self.unit)} {where}"
        print(line, file=self._stream, flush=True)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._started

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()  # type: ignore[attr-defined]
        if exc_type is not None:
            return
        line = self.summary or (
            f"{self.description}: {_human(self.done, self.unit)} in {self.seconds:.1f} s"
        )
        print(line, file=self._stream, flush=True)
