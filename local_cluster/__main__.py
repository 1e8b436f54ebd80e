"""``python -m local_cluster build | up | down | status | env``."""

from __future__ import annotations

import argparse
import json
import sys

from local_cluster import lifecycle
from local_cluster.build import build
from local_cluster.processes import ComponentError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_cluster", description=__doc__)
    parser.add_argument(
        "command",
        choices=("build", "up", "down", "status", "env"),
        help="build the binaries (once per machine); start the cluster (building first if "
        "needed); stop it and restore the host; show what runs; print shell exports",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            seconds = build()
            print("binaries already built" if seconds is None else f"built in {seconds:.0f} s")
        elif args.command == "up":
            record = lifecycle.up()
            timings = record["timings_s"]
            build_note = (
                f"build {timings['build']:.0f} s + " if "build" in timings else "cached binaries, "
            )
            print(
                f"\nKubernetes {record['kubernetes_version']} is up ({build_note}start "
                f"{timings['start']:.0f} s; total {timings['total']:.0f} s).\n"
                f"  registry for its images: {record['registry']}\n"
                "Use it from this shell:\n  " + "\n  ".join(lifecycle.env_lines())
            )
        elif args.command == "down":
            for line in lifecycle.down():
                print(f"  {line}")
            print("cluster stopped; host restored")
        elif args.command == "status":
            print(json.dumps(lifecycle.status(), indent=2))
        else:
            print("\n".join(lifecycle.env_lines()))
    except (RuntimeError, ComponentError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
