"""HTTP/1.1 over a plain socket, for requests no well-behaved client library sends.

Why not httpx: the hostile cases need a body that is slower, shorter or longer than its
``Content-Length``, headers sent without any body, and a response read while the body is
still being sent. A socket does exactly what the test says and nothing more.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float
    closed: bool = field(default=False)  # the server closed the connection after answering

    def json(self) -> Any:
        return json.loads(self.body)


def connect(url: str, timeout: float = 30.0) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request_head(
    path: str, headers: dict[str, str], *, method: str = "POST", host: str = "127.0.0.1"
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_response(sock: socket.socket, started: float) -> RawResponse:
    """Read one response (Content-Length framed, as the service always answers)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response; got {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    elapsed = time.monotonic() - started
    closed = False
    if headers.get("connection", "").lower() == "close":
        try:
            sock.settimeout(5.0)
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionError:
            closed = True  # a reset closes it too
    return RawResponse(
        status=int(status_line.split()[1]),
        headers=headers,
        body=rest[:length],
        elapsed_s=elapsed,
        closed=closed,
    )


def send_raw(
    url: str,
    head: bytes,
    parts: Iterable[bytes] = (),
    *,
    pause_s: float = 0.0,
    timeout: float = 60.0,
) -> RawResponse:
    """Send ``head`` then each of ``parts`` (``pause_s`` apart) while reading the answer.

    The response is read on a thread from the start, so a server that answers before the
    body is complete (413 on the declared length, 408 on a trickle) is heard, and sending
    stops there: that is the behaviour under test, not an error.
    """
    started = time.monotonic()
    with connect(url, timeout=timeout) as sock, ThreadPoolExecutor(1) as pool:
        sock.sendall(head)
        answer = pool.submit(read_response, sock, started)
        for part in parts:
            if answer.done():
                break
            if pause_s:
                time.sleep(pause_s)
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
        return answer.result(timeout=timeout)
