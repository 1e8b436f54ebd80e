"""``run.py drift``: check a batch of texts (e.g. a sample logged by the service) for drift.

The same pipeline as ``run.py predict`` without writing predictions. Exits 3 when drift is
detected, so a scheduler can alert on it; retraining runs first when configured.
"""

from __future__ import annotations

import argparse

from cli.predict import DRIFT_EXIT_CODE, add_common_arguments, run_inference


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.epilog = (
        f"Exit status: 0 no drift, {DRIFT_EXIT_CODE} drift detected (after "
        "retraining, when configured), 1 bad input or failed run."
    )


def main(args: argparse.Namespace) -> int:
    code, summary = run_inference(args, output=None, check_drift=True)
    if code == 0 and summary and (summary.get("drift") or {}).get("drifted"):
        return DRIFT_EXIT_CODE
    return code
