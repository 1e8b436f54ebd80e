"""A minimal Bento for the container tests until the real service's Bento is plugged in.

It exercises the same path as the real image (BentoML's generated Dockerfile on
``python:3.11-slim``, ``bentoml serve`` as the entrypoint, ``/readyz``) without the model.
"""

from __future__ import annotations

import bentoml


@bentoml.service(name="sentiment_hello")
class Hello:
    """Echo service: proves the image serves HTTP on port 3000."""

    @bentoml.api
    def hello(self, name: str = "world") -> dict[str, str]:
        return {"hello": name}
