"""``run.py stack``: register or list the stacks described in ``stacks/*.yaml``.

Argument parsing and printing only; the registration itself (stack files, secrets,
components, the local MLflow store) is the library :mod:`sentiment.adapters.stacks`.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="stack_command", required=True)
    reg = sub.add_parser(
        "register",
        help="register or update a stack (and its secrets) from stacks/NAME.yaml",
        description="Create or update the stack's ZenML secrets (from the environment "
        "variables its file names, or a prompt on a terminal), components and stack.",
    )
    reg.add_argument("name", help="stack name (stacks/NAME.yaml: local, aws) or a .yaml path")
    reg.add_argument(
        "--set",
        action="append",
        metavar="NAME=value",
        help="value for a ${NAME} placeholder in the stack file",
    )
    reg.add_argument("--activate", action="store_true", help="also make it the active stack")
    sub.add_parser("list", help="list registered stacks and their components")


def main(args: argparse.Namespace) -> int:
    from zenml.client import Client

    from sentiment.adapters.stacks import (
        StackSpecError,
        load_stack_spec,
        parse_sets,
        register_stack,
        stack_file,
        terminal_prompt,
    )

    if args.stack_command == "register":
        try:
            spec = load_stack_spec(stack_file(args.name), parse_sets(args.set))
            lines = register_stack(spec, prompt=terminal_prompt())
        except StackSpecError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for line in lines:
            print(line)
        if args.activate:
            Client().activate_stack(spec.name)
            print(f"active stack: {spec.name}")
        return 0
    client = Client()
    active = client.active_stack_model.name
    for stack in client.list_stacks(size=100).items:
        marker = "*" if stack.name == active else " "
        parts = ", ".join(f"{t.value}={c[0].name}" for t, c in stack.components.items() if c)
        print(f"{marker} {stack.name}: {parts}")
    return 0
