"""Optional bearer-token check for the service's API routes.

Off unless the environment variable named in ``configs/serving.yaml`` (``auth.token_env``,
``SENTIMENT_API_TOKEN``) holds a token: a cluster-internal deployment needs no auth, an
exposed one sets a Secret. Probes and the Prometheus scrape (``auth.open_paths``) stay open
so kubelet and Prometheus need no credentials. The comparison is constant-time, and neither
the expected nor the offered token is ever logged or echoed.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

from sentiment.adapters.serving.settings import AuthSettings
from sentiment.adapters.serving.validation import RequestRejectedError


class BearerAuth:
    """Decides whether a request may pass; built once per worker from the environment."""

    def __init__(self, settings: AuthSettings, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        token = env.get(settings.token_env, "").strip()
        self._token = token.encode("utf-8") if token else None
        self._open_paths = frozenset(settings.open_paths)
        self.env_var = settings.token_env

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def is_open(self, path: str) -> bool:
        return path in self._open_paths

    def check(self, path: str, authorization: str | None) -> None:
        """Raise a 401 :class:`RequestRejectedError` unless ``path`` is open or the token fits."""
        if self._token is None or self.is_open(path):
            return
        if not authorization:
            raise RequestRejectedError(
                401, "unauthorized", "missing credentials: send 'Authorization: Bearer <token>'"
            )
        scheme, _, offered = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not offered.strip():
            raise RequestRejectedError(
                401,
                "unauthorized",
                "the Authorization header must be 'Bearer <token>'",
            )
        if not hmac.compare_digest(offered.strip().encode("utf-8"), self._token):
            raise RequestRejectedError(401, "unauthorized", "invalid bearer token")
