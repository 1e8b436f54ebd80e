"""``run.py serve``: the latest built Bento in the foreground (``bentoml serve``)."""

from cli.deploy import add_serve_arguments as add_arguments
from cli.deploy import serve_main as main

__all__ = ["add_arguments", "main"]
