"""BackgroundLoader: the worker's model load on a thread, and how it reports the outcome."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from sentiment.adapters.serialization import ModelIntegrityError
from sentiment.adapters.serving import loading
from sentiment.adapters.serving.loading import BackgroundLoader, ServedModel, StoredModelRef

REF = StoredModelRef(
    tag="m:v1", name="m", version="1", sha256="0" * 64, model_file=Path("model.skops")
)


def test_ready_after_the_load_and_the_callback_ran_first() -> None:
    gate = threading.Event()
    seen: list[ServedModel] = []

    def load(alias: str) -> ServedModel:
        assert alias == "m"
        assert gate.wait(5)
        return ServedModel(ref=REF, model="the model")

    loader = BackgroundLoader("m", load=load, on_loaded=seen.append)
    assert not loader.ready  # still loading: /readyz 503, /livez 200
    assert not loader.failed
    gate.set()
    assert loader.wait(5)
    assert loader.ready
    assert not loader.failed
    assert loader.served is not None
    assert loader.served.model == "the model"
    assert seen == [loader.served]


def test_integrity_failure_is_reported_without_a_second_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def load(alias: str) -> ServedModel:
        raise ModelIntegrityError("digest mismatch")

    with caplog.at_level(logging.ERROR):
        loader = BackgroundLoader("m", load=load)
        assert loader.wait(5)
    assert loader.failed
    assert not loader.ready
    assert isinstance(loader.error, ModelIntegrityError)
    assert not [r for r in caplog.records if r.exc_info]  # load_served_model logged it once


def test_unexpected_failure_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    def load(alias: str) -> ServedModel:
        raise MemoryError("too big")

    with caplog.at_level(logging.ERROR):
        loader = BackgroundLoader("m", load=load)
        assert loader.wait(5)
    assert loader.failed
    assert any("could not be loaded" in r.getMessage() and r.exc_info for r in caplog.records)


def test_requests_can_wait_for_a_loading_model_without_blocking_the_loop() -> None:
    import asyncio

    gate = threading.Event()

    def load(alias: str) -> ServedModel:
        assert gate.wait(5)
        return ServedModel(ref=REF, model="m")

    async def scenario() -> tuple[ServedModel | None, int]:
        loader = BackgroundLoader("m", load=load)
        ticks = 0

        async def ticker() -> None:  # proves the event loop keeps running meanwhile
            nonlocal ticks
            while not loader.done:
                ticks += 1
                await asyncio.sleep(0.01)

        tick = asyncio.ensure_future(ticker())
        asyncio.get_running_loop().call_later(0.2, gate.set)
        served = await loader.wait_async(poll_s=0.01)
        await tick
        return served, ticks

    served, ticks = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert served is not None
    assert served.model == "m"
    assert ticks >= 5


def test_waiting_on_a_failed_load_returns_none() -> None:
    import asyncio

    def load(alias: str) -> ServedModel:
        raise ModelIntegrityError("bad")

    loader = BackgroundLoader("m", load=load)
    assert asyncio.run(asyncio.wait_for(loader.wait_async(poll_s=0.01), 5)) is None


def test_a_loaded_model_is_warmed_up_and_the_heap_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the worker reports ready: one prediction (lazy tables built), a collection,
    then gc.freeze (full collections no longer traverse the start-up heap: the p99's cause)."""
    events: list[str] = []

    class Model:
        def predict_proba(self, texts: list[str]) -> None:
            events.append(f"predict {len(texts)}")

    monkeypatch.setattr(loading.gc, "collect", lambda: events.append("collect"))
    monkeypatch.setattr(loading.gc, "freeze", lambda: events.append("freeze"))
    loading.prepare_for_traffic(Model())
    assert events == ["predict 1", "collect", "freeze"]
