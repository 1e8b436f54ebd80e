"""sentiment-mlops: train, tune, deploy, serve and operate the IMDB sentiment classifier.

Every command is listed by ``--help`` from :data:`COMMANDS`, with examples and the exit
codes (:data:`sentiment.adapters.runs.EXIT_CODES`) in its epilog.

Heavy libraries (ZenML, MLflow, BentoML, scikit-learn) are imported by each command, not
here, so ``--help`` stays fast; ``run.py`` and the ``sentiment-mlops`` console script both
call :func:`main`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
import textwrap
from pathlib import Path

from sentiment.adapters.runs import EXIT_CODES

# name -> (module in cli/, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("cli.train", "run the training pipeline and promote the model if it is better"),
    "tune": ("cli.tune", "search hyperparameters on a validation split; write the best config"),
    "stack": ("cli.stacks", "register or list the stacks described in stacks/*.yaml"),
    "deploy": ("cli.deploy", "package the promoted model as a Bento, release it, record it"),
    "serve": ("cli.serve", "serve the latest built Bento in the foreground (bentoml serve)"),
    "undeploy": ("cli.undeploy", "stop what deploy started, from its record (or flags)"),
    "status": ("cli.status", "show what deploy released per target and whether it answers"),
    "predict": ("cli.predict", "score a CSV/Parquet file with the production model (+ drift)"),
    "drift": ("cli.drift", "check a batch of texts for drift against the training data"),
    "rollback": ("cli.rollback", "move the 'production' alias back to the previous version"),
    "dashboard": ("cli.dashboard", "start (or --stop) the local ZenML dashboard"),
}

EXAMPLES = """\
examples:
  %(prog)s stack register local --activate
  %(prog)s train --stack local --data ../shared/data/aclImdb_labeled.tar.gz
  %(prog)s tune --trials 8 && %(prog)s train --config configs/training.tuned.yaml
  %(prog)s deploy --target container --backend podman --port 3000
  %(prog)s status
  %(prog)s predict --input reviews.csv --output predictions.parquet
  %(prog)s drift --input logged_sample.csv || echo "drift (exit 3)"
  %(prog)s rollback --reason "bad release"
  %(prog)s COMMAND --help      # the options of one command
"""


def epilog() -> str:
    codes = "\n".join(
        textwrap.fill(meaning, 88, initial_indent=f"  {code}  ", subsequent_indent=" " * 5)
        for code, meaning in EXIT_CODES.items()
    )
    return f"{EXAMPLES}\nexit codes:\n{codes}\n"


def prog_name() -> str:
    """``sentiment-mlops`` when run as the console script, else ``run.py``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "sentiment-mlops" if name == "sentiment-mlops" else "run.py"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """All commands are listed; only ``command``'s module is imported for its arguments."""
    parser = argparse.ArgumentParser(
        prog=prog_name(),
        description=__doc__.split("\n\n")[0],
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        parsed = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(parsed)
            parsed.set_defaults(module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    from cli.project import prepare_environment

    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    prepare_environment()
    code = int(args.module.main(args) or 0)
    # Everything is printed and flushed; what is left is interpreter shutdown. Its garbage
    # collections walk every object ZenML, MLflow, SQLAlchemy and pydantic created (~1.5-3 s
    # after a training run, measured with bench/rerun.py). Frozen objects are skipped by
    # them; atexit handlers (MLflow's run end, log flushes) and refcount cleanup still run.
    gc.freeze()
    return code
