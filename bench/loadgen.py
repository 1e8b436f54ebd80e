"""The one load generator of the benchmarks: closed-loop keep-alive HTTP/1.1 clients.

Why hand-rolled on asyncio and not a library client: every request is pre-encoded bytes, and
a client only writes them and reads the status line, headers and body length, so the client's
own cost per request stays far below the server's and the numbers measure the service.
``bench.load`` (a realistic mix, with expected statuses) and ``bench.serve`` (the same
review at each concurrency against every peer) both drive their servers through :func:`drive`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

#: ``record(request, status, seconds)``: status is the HTTP code, or the transport error's
#: class name when the connection failed.
Recorder = Callable[["Request", "int | str", float], None]


@dataclass(frozen=True)
class Request:
    """One pre-encoded request, what it is (for per-kind latencies), and its expected status."""

    kind: str
    raw: bytes
    expected: int = 200


def post(body: bytes, path: str = "/predict", content_type: str = "application/json") -> bytes:
    """``body`` as a raw keep-alive HTTP/1.1 POST to ``path`` on 127.0.0.1."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def predict(texts: Sequence[str], kind: str = "single", expected: int = 200) -> Request:
    """A ``POST /predict`` of ``texts``."""
    return Request(kind, post(json.dumps({"texts": list(texts)}).encode()), expected)


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of latencies in seconds, in milliseconds."""
    if not seconds:
        return float("nan")
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status, and whether the server closes the connection; the body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)
    }
    await reader.readexactly(int(headers.get("content-length", "0")))
    return int(lines[0].split(" ", 2)[1]), headers.get("connection", "").lower() == "close"


async def _client(
    host: str,
    port: int,
    requests: Sequence[Request],
    offset: int,
    stop: float,
    record: Recorder | None,
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    i = offset
    while time.perf_counter() < stop:
        request = requests[i % len(requests)]
        i += 1
        started = time.perf_counter()
        status: int | str
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            writer.write(request.raw)
            status, close = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            status, close = type(exc).__name__, True
        if record is not None:
            record(request, status, time.perf_counter() - started)
        if close and writer is not None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _drive(
    url: str,
    requests: Sequence[Request],
    concurrency: int,
    seconds: float,
    record: Recorder | None,
) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stop = time.perf_counter() + seconds
    step = max(1, len(requests) // concurrency)
    await asyncio.gather(
        *(_client(host, port, requests, k * step, stop, record) for k in range(concurrency))
    )


def drive(
    url: str,
    requests: Sequence[Request],
    *,
    concurrency: int,
    seconds: float,
    record: Recorder | None = None,
) -> None:
    """``concurrency`` clients send ``requests`` in turn (each from its own offset) to ``url``
    for ``seconds``, each waiting for its answer before the next (a closed loop); ``record``
    sees every answer (``None``: a warm-up, nothing recorded)."""
    asyncio.run(_drive(url, requests, concurrency, seconds, record))
