"""``run.py rollback``: move the serving alias back to the previous (or a named) version."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from cli import options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_stack(parser, "stack whose registry to use")
    parser.add_argument(
        "--to",
        dest="to_version",
        help="version to serve (default: the one the current version replaced)",
    )
    parser.add_argument("--reason", default="manual rollback", help="recorded on the versions")
    parser.add_argument("--model", default="sentiment-classifier", help="registered model name")
    parser.add_argument(
        "--alias", default="production", help="serving alias to move (default: production)"
    )


def main(args: argparse.Namespace) -> int:
    from cli.registry_access import stack_tracking_uri
    from sentiment.adapters.model_control import mirror_alias
    from sentiment.adapters.registry import RollbackError, rollback

    uri = stack_tracking_uri(args.stack)
    actor = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
    try:
        done = rollback(
            args.model,
            args.alias,
            to_version=args.to_version,
            reason=args.reason,
            actor=actor,
            tracking_uri=uri,
        )
    except RollbackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"'{done.alias}' of {args.model} moved from v{done.from_version} to v{done.to_version} "
        f"(by {actor}: {args.reason})."
    )
    staged = mirror_alias(args.model, args.alias, tracking_uri=uri)
    if staged is not None:
        print(f"ZenML model {args.model} version {staged} is now '{args.alias}'.")
    print("Serve it with: python run.py deploy --target local|container|kubernetes")
    return 0
