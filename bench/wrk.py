"""wrk as a second load generator for ``bench.serve``: the same requests, a C client.

Why a second client: the asyncio client (:mod:`bench.loadgen`) runs Python on the same two
cores as the servers, so part of what it measures is its own cost. wrk (Debian package
``wrk``, one epoll thread by default here) costs far less per request; the gap between the
two clients' figures for one server is the client's own overhead showing. wrk keeps
connections alive like the asyncio client and reconnects when a server closes them
(gunicorn's sync workers).

The requests are the asyncio client's pre-encoded bytes, written to a file that
:data:`LUA_SCRIPT` loads in every wrk thread and sends in turn, so both clients send the
same reviews. Its ``done`` hook prints one JSON line with the count, p50/p99 and errors.
wrk, like the asyncio client, is closed-loop: each connection waits for its answer before
sending the next request, so neither corrects for coordinated omission.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import Request

LUA_SCRIPT = r"""
-- Requests: a file of records "<byte length>\n<raw HTTP request>", sent in turn.
local reqs, n, i = {}, 0, 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    n = n + 1
    reqs[n] = data:sub(nl + 1, nl + len)
    pos = nl + len + 1
  end
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "status": %d, '
    .. '"errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: answered requests (2xx/3xx), seconds, latency quantiles, errors."""

    ok: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int


def available() -> bool:
    return shutil.which("wrk") is not None


def write_inputs(requests: Sequence[Request], directory: Path) -> tuple[Path, Path]:
    """The Lua script and the request file for ``requests``, written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "wrk_requests.lua"
    script.write_text(LUA_SCRIPT)
    data = directory / "wrk_requests.bin"
    with data.open("wb") as out:
        for request in requests:
            out.write(b"%d\n" % len(request.raw) + request.raw)
    return script, data


def run(
    url: str,
    inputs: tuple[Path, Path],
    *,
    concurrency: int,
    seconds: float,
    threads: int = 1,
) -> WrkResult:
    """wrk with ``concurrency`` connections on ``threads`` threads for ``seconds``."""
    script, data = inputs
    threads = max(1, min(threads, concurrency))
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(concurrency),
            "-d",
            f"{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
            "--",
            str(data),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith('{"requests"')]
    if not lines:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    summary = json.loads(lines[-1])
    errors = int(summary["errors"])
    return WrkResult(
        ok=int(summary["requests"]) - int(summary["status"]),  # requests counts non-2xx too
        seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        errors=errors,
    )
