"""Batch scoring: stream a CSV/Parquet file of texts through the model, chunk by chunk.

Public interface (import from here; the submodules are an implementation detail):
``BatchSpec`` (the ``batch:`` config section), ``input_columns`` (check a file before a run
starts), ``score_file`` with its ``ReservoirSample`` for the drift check, and ``ModelRef``.
"""

from sentiment.core.batch.files import input_columns
from sentiment.core.batch.scoring import BatchResult, ReservoirSample, score_file
from sentiment.core.batch.spec import (
    LABEL_NAMES,
    PREDICTION_COLUMNS,
    BatchInputError,
    BatchSpec,
    ModelRef,
    ModelSelector,
)

__all__ = [
    "LABEL_NAMES",
    "PREDICTION_COLUMNS",
    "BatchInputError",
    "BatchResult",
    "BatchSpec",
    "ModelRef",
    "ModelSelector",
    "ReservoirSample",
    "input_columns",
    "score_file",
]
