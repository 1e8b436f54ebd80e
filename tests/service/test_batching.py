"""MicroBatcher: concurrent requests share model calls, in order, without splitting a request.

The "model" here is a plain function that records each call; a threading.Event holds the
first call so that later requests demonstrably queue up behind it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from sentiment.adapters.serving.batching import MicroBatcher


class RecordingModel:
    """Scores each text by its length; remembers the batches; can hold the first call."""

    def __init__(self, hold_first: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, texts: list[str]) -> Sequence[float]:
        self.calls.append(list(texts))
        self.started.set()
        assert self.release.wait(10), "test never released the model"
        return [len(t) / 100 for t in texts]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


def test_single_request_runs_at_once_with_its_own_scores() -> None:
    model = RecordingModel()

    async def scenario() -> list[float]:
        batcher = MicroBatcher(model, max_batch_size=8)
        try:
            return await batcher.submit(["a", "bb", "ccc"])
        finally:
            await batcher.close()

    assert run(scenario()) == [0.01, 0.02, 0.03]
    assert model.calls == [["a", "bb", "ccc"]]


def test_requests_arriving_during_a_call_share_the_next_call() -> None:
    model = RecordingModel(hold_first=True)
    durations: list[tuple[int, float]] = []

    async def scenario() -> list[list[float]]:
        batcher = MicroBatcher(
            model, max_batch_size=8, on_batch=lambda n, s: durations.append((n, s))
        )
        try:
            first = asyncio.ensure_future(batcher.submit(["x"]))
            await asyncio.to_thread(model.started.wait, 5)
            rest = [asyncio.ensure_future(batcher.submit(["y" * i] * 2)) for i in range(1, 4)]
            await asyncio.sleep(0.05)  # all three are queued behind the held call
            model.release.set()
            return [await first, *[await r for r in rest]]
        finally:
            await batcher.close()

    results = run(scenario())
    assert results == [[0.01], [0.01, 0.01], [0.02, 0.02], [0.03, 0.03]]
    assert [len(c) for c in model.calls] == [1, 6]  # the three waiting requests in one call
    assert [n for n, _ in durations] == [1, 6]


def test_a_batch_never_exceeds_the_limit_nor_splits_a_request() -> None:
    model = RecordingModel(hold_first=True)

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=4)
        try:
            first = asyncio.ensure_future(batcher.submit(["a"]))
            await asyncio.to_thread(model.started.wait, 5)
            sizes = [3, 3, 1, 4]
            waiting = [asyncio.ensure_future(batcher.submit(["t"] * n)) for n in sizes]
            await asyncio.sleep(0.05)
            model.release.set()
            await first
            for n, fut in zip(sizes, waiting, strict=True):
                assert len(await fut) == n
        finally:
            await batcher.close()

    run(scenario())
    assert [len(c) for c in model.calls] == [1, 3, 4, 4]  # [3], [3, 1], [4]: FIFO, no split


def test_model_errors_reach_every_caller_of_that_batch_and_later_calls_still_work() -> None:
    calls = 0

    def flaky(texts: list[str]) -> list[float]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("model exploded")
        return [0.5] * len(texts)

    async def scenario() -> list[float]:
        batcher = MicroBatcher(flaky, max_batch_size=4)
        try:
            with pytest.raises(RuntimeError, match="model exploded"):
                await batcher.submit(["a"])
            return await batcher.submit(["b"])
        finally:
            await batcher.close()

    assert run(scenario()) == [0.5]


def test_wrong_number_of_scores_is_an_error_not_a_misalignment() -> None:
    async def scenario() -> None:
        batcher = MicroBatcher(lambda texts: [0.1], max_batch_size=4)
        try:
            with pytest.raises(RuntimeError, match="1 scores for 2 texts"):
                await batcher.submit(["a", "b"])
        finally:
            await batcher.close()

    run(scenario())


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError, match="positive"):
        MicroBatcher(lambda t: [], max_batch_size=0)


def test_zero_threads_scores_on_the_event_loop_thread() -> None:
    threads: list[str] = []

    def score(texts: list[str]) -> list[float]:
        threads.append(threading.current_thread().name)
        return [0.5] * len(texts)

    async def scenario() -> list[list[float]]:
        batcher = MicroBatcher(score, max_batch_size=8, threads=0)
        try:
            return list(await asyncio.gather(*(batcher.submit(["a", "b"]) for _ in range(3))))
        finally:
            await batcher.close()

    assert run(scenario()) == [[0.5, 0.5]] * 3
    assert threads == [threading.main_thread().name]  # one call for all three: settled batch


def test_batches_up_to_inline_max_chars_skip_the_inference_thread() -> None:
    """A short lone request is scored on the loop thread (the hand-off would cost more than
    the call); a batch over ``inline_max_chars`` still goes to the inference thread."""
    threads: list[str] = []

    def score(texts: list[str]) -> list[float]:
        threads.append(threading.current_thread().name)
        return [0.5] * len(texts)

    async def scenario() -> None:
        batcher = MicroBatcher(score, max_batch_size=8, threads=1, inline_max_chars=10)
        try:
            assert await batcher.submit(["x" * 10]) == [0.5]
            assert await batcher.submit(["x" * 6, "y" * 5]) == [0.5, 0.5]
        finally:
            await batcher.close()

    run(scenario())
    assert threads[0] == threading.main_thread().name
    assert threads[1].startswith("sentiment-infer")


def test_negative_inline_max_chars_is_refused() -> None:
    with pytest.raises(ValueError, match="inline_max_chars"):
        MicroBatcher(lambda t: [], max_batch_size=4, inline_max_chars=-1)
