"""Finding, verifying and loading the served model from the BentoML model store.

The Bento pins one model tag under the alias in ``configs/serving.yaml`` (``model.alias``);
:func:`sentiment.adapters.bento.import_model` stored it with two labels: the registry version
and the SHA-256 of the skops file recorded at registration. Loading checks that digest, so a model
file altered anywhere between the registry and the pod is refused instead of served.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.adapters.serialization import ModelIntegrityError, load_model, model_file_in
from sentiment.core.hashing import file_sha256

log = logging.getLogger(__name__)

MODEL_VERSION_LABEL = "model_version"
MODEL_SHA256_LABEL = "model_sha256"


@dataclass(frozen=True)
class StoredModelRef:
    """Where the served model is and what it must be: no model object loaded yet."""

    tag: str
    name: str
    version: str
    sha256: str
    model_file: Path


@dataclass(frozen=True)
class ServedModel:
    ref: StoredModelRef
    model: Any  # the scikit-learn Pipeline: predict_proba(texts)[:, 1] = P(positive)


def find_stored_model(alias: str) -> StoredModelRef:
    """Resolve ``alias`` in the current BentoML model store (the Bento's, when serving one)."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        stored = bentoml.models.get(alias)
    except NotFound as exc:
        raise ModelIntegrityError(
            f"model {alias!r} is not in the BentoML model store ({exc}); import it with "
            "sentiment.adapters.bento.import_model and build the Bento with "
            "sentiment.adapters.bento.build_bento"
        ) from None
    labels = stored.info.labels
    sha256 = labels.get(MODEL_SHA256_LABEL, "")
    if not sha256:
        raise ModelIntegrityError(
            f"model {stored.tag} has no {MODEL_SHA256_LABEL!r} label, so its file cannot be "
            "verified; import it with sentiment.adapters.bento.import_model"
        )
    return StoredModelRef(
        tag=str(stored.tag),
        name=stored.tag.name,
        version=labels.get(MODEL_VERSION_LABEL) or stored.tag.version or "unknown",
        sha256=sha256,
        model_file=model_file_in(Path(stored.path)),
    )


def verify_stored_model(alias: str) -> StoredModelRef:
    """Check the stored file against its recorded digest without loading it (start-up gate)."""
    try:
        ref = find_stored_model(alias)
        if not ref.model_file.is_file():
            raise ModelIntegrityError(f"model file {ref.model_file} of {ref.tag} does not exist")
        actual = file_sha256(ref.model_file)
        if actual != ref.sha256.lower():
            raise ModelIntegrityError(
                f"model file {ref.model_file} of {ref.tag} has SHA-256 {actual} but "
                f"{ref.sha256.lower()} was recorded at registration: refusing to serve a "
                "model that changed since"
            )
    except ModelIntegrityError as exc:
        log.error("refusing to serve: %s", exc)
        raise
    return ref


def load_served_model(alias: str) -> ServedModel:
    """Find, verify (SHA-256 and skops allow-list) and load the model; log why on failure."""
    try:
        ref = find_stored_model(alias)
        model = load_model(ref.model_file, expected_sha256=ref.sha256)
    except ModelIntegrityError as exc:
        log.error("refusing to serve: %s", exc)
        raise
    log.info("loaded model %s (registry version %s, sha256 %s)", ref.tag, ref.version, ref.sha256)
    prepare_for_traffic(model)
    return ServedModel(ref=ref, model=model)


def prepare_for_traffic(model: Any) -> None:
    """Warm the model up, then take the worker's start-up heap out of full garbage collections.

    - One prediction builds what the model builds lazily (``NgramCounter``'s lookup table),
      so the first request does not pay for it.
    - ``gc.freeze()``: after start-up a worker holds ~240k long-lived objects (BentoML,
      pydantic, starlette, the pipeline), and every full collection traverses them all. Under
      load those ran every ~8 s per worker and took 166-195 ms each: they were the p99 at 32
      clients. With the heap frozen they took 7-26 ms (2 cores, wrk, 2026-11-30;
      docs/benchmarks/serving.md). Frozen objects are never collected, so what is garbage is
      collected first.
    """
    model.predict_proba(["A warm-up review: not bad at all."])
    gc.collect()
    gc.freeze()


class BackgroundLoader:
    """Loads the served model on a thread, so a worker answers ``/livez`` while it loads.

    Why: a large skops model takes long to load, and a worker that loads in ``__init__``
    answers no probe at all meanwhile - the Kubernetes startup probe (``/livez``) would kill
    the pod before the model is in. With this, ``/livez`` answers at once, ``/readyz`` once
    :attr:`ready`, and a load that failed (integrity, untrusted types) turns ``/livez`` red
    (:attr:`failed`) so the pod is restarted instead of idling unready forever.
    """

    def __init__(
        self,
        alias: str,
        *,
        on_loaded: Callable[[ServedModel], None] | None = None,
        load: Callable[[str], ServedModel] = load_served_model,
    ) -> None:
        self.served: ServedModel | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(alias, load, on_loaded), name="model-loader", daemon=True
        )
        self._thread.start()

    def _run(
        self,
        alias: str,
        load: Callable[[str], ServedModel],
        on_loaded: Callable[[ServedModel], None] | None,
    ) -> None:
        try:
            served = load(alias)
            if on_loaded is not None:
                on_loaded(served)
            self.served = served
        except ModelIntegrityError as exc:  # already logged by load_served_model
            self.error = exc
        except BaseException as exc:  # reported through /livez
            log.exception("model %r could not be loaded", alias)
            self.error = exc
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self.served is not None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def wait_async(self, poll_s: float = 0.05) -> ServedModel | None:
        """The model once the load finished (``None`` if it failed), without blocking the loop.

        With several workers, ``/readyz`` turns green as soon as one of them is ready, and a
        request may reach another that is still loading: it waits here rather than fail.
        """
        import asyncio

        while not self._done.is_set():
            await asyncio.sleep(poll_s)
        return self.served

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the load finished (either way); False on timeout."""
        return self._done.wait(timeout)
