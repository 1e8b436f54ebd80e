"""The options several commands share, written once so their names, defaults and help agree."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.project import CONFIGS_DIR


def add_stack(
    parser: argparse.ArgumentParser, help: str = "stack to run on (stacks/NAME.yaml)"
) -> None:
    parser.add_argument("--stack", default="local", help=help)


def add_config(
    parser: argparse.ArgumentParser, file_name: str, what: str = "run configuration"
) -> None:
    """``--config``, defaulting to ``configs/<file_name>``."""
    parser.add_argument(
        "--config",
        type=Path,
        default=CONFIGS_DIR / file_name,
        help=f"{what} (default: configs/{file_name})",
    )


def add_location(parser: argparse.ArgumentParser, flag: str, help: str) -> None:
    """A required file argument that may be local or ``s3://``."""
    parser.add_argument(flag, required=True, metavar="PATH_OR_URI", help=help)


def add_summary_json(
    parser: argparse.ArgumentParser, help: str = "write the run summary here"
) -> None:
    parser.add_argument("--summary-json", type=Path, help=help)
