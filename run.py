#!/usr/bin/env python
"""sentiment-mlops command line (also installed as the ``sentiment-mlops`` command).

The parser and the dispatch live in :mod:`cli.app`; ``python run.py --help`` lists the
commands, examples and exit codes.
"""

from __future__ import annotations

import sys

from cli.app import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
