"""Where the training data comes from: one order, written once, used by every command and step.

``--data`` (or ``--reference-data``), then ``$SENTIMENT_DATA``, then the config's value, then
any fallbacks (the drift reference: the model's own training data), then the official
aclImdb archive. Light on purpose (no pandas): ``run.py train`` says what it will train on
before it imports anything heavy; :mod:`sentiment.core.data` re-exports both functions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

#: The environment variable naming the data source (second in the order).
DATA_ENV_VAR = "SENTIMENT_DATA"


def _first_given(candidates: Iterable[tuple[str, str | None]], what: str) -> str | None:
    for origin, value in candidates:
        if value is not None and str(value).strip():
            log.info("%s %s (from %s)", what, value, origin)
            return str(value).strip()
    return None


def given_source(cli_value: str | None, env: Mapping[str, str], flag: str = "--data") -> str | None:
    """The part of the order only the command's process knows: the flag, then the variable.

    Why split from :func:`resolve_source`: steps may run in a pod without the user's
    environment, so the command resolves these two and passes the result to the pipeline,
    whose step finishes the order with :func:`resolve_source` (``env`` empty there).
    """
    env_value = env.get(DATA_ENV_VAR)
    return _first_given(((flag, cli_value), (f"${DATA_ENV_VAR}", env_value)), "data source")


def resolve_source(
    cli_value: str | None,
    env: Mapping[str, str],
    config_value: str | None,
    *,
    fallbacks: Sequence[tuple[str, Callable[[], str | None]]] = (),
    cache_dir: Path | None = None,
    download: Callable[[Path | None], Path] | None = None,
) -> str:
    """The data source to load: ``--data``, then ``$SENTIMENT_DATA``, then config, then
    ``fallbacks`` in order (the drift reference's: the model's own training data), then the
    official archive. The one place this order is written; commands and steps call it.

    Empty strings count as unset so ``SENTIMENT_DATA=`` in a CI file does not mean "the
    current directory". ``download`` (default: the cached, verified official archive) is
    called with ``cache_dir`` only when nothing else is given.
    """
    found = given_source(cli_value, env) or _first_given(
        (("config data.source", config_value),), "data source"
    )
    if found is not None:
        return found
    for origin, fallback in fallbacks:
        if found := _first_given(((origin, fallback()),), "data source"):
            return found
    fetch = download
    if fetch is None:  # imported here: the archive module brings pandas with its package
        from sentiment.core.data.archive import ensure_official_archive

        fetch = ensure_official_archive
    path = fetch(cache_dir)
    log.info("data source %s (official aclImdb archive; nothing configured)", path)
    return str(path)
