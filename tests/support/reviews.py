"""A small synthetic review corpus for pipeline tests: separable, deterministic, tiny.

Real reviews are not committed (and the real archive is 25k+25k); these sentences are
built from fixed positive/negative phrases so a model trained on 200 of them is clearly
better than chance, and a deliberately crippled config is clearly worse.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

_POSITIVE = [
    "a wonderful film",
    "brilliant acting",
    "i loved every minute",
    "great story",
    "superb direction",
    "truly moving",
    "an excellent cast",
    "beautifully shot",
    "funny and warm",
    "a masterpiece",
]
_NEGATIVE = [
    "a terrible film",
    "awful acting",
    "i hated every minute",
    "boring story",
    "poor direction",
    "a waste of time",
    "a weak cast",
    "badly shot",
    "dull and cold",
    "a disaster",
]
_NEUTRAL = [
    "the plot follows a family",
    "it runs two hours",
    "the sequel came out later",
    "shot in canada",
    "based on a novel",
    "the soundtrack has songs",
    "set in 1970",
]


def synthetic_reviews(n_per_label: int, seed: int, split: str) -> pd.DataFrame:
    """``n_per_label`` reviews per label with text, label name and split columns."""
    rng = random.Random(seed)
    rows = []
    for label, phrases in (("positive", _POSITIVE), ("negative", _NEGATIVE)):
        for i in range(n_per_label):
            parts = rng.sample(phrases, 2) + rng.sample(_NEUTRAL, 2)
            rng.shuffle(parts)
            # A unique id keeps texts distinct: duplicates are a validation failure.
            rows.append(
                {
                    "text": f"Review {split}-{label}-{i}. " + ". ".join(parts) + ".",
                    "label": label,
                    "split": split,
                }
            )
    return pd.DataFrame(rows)


def write_dataset(path: Path, n_per_label: int = 100, seed: int = 7) -> Path:
    """Write a CSV with both splits (train and test drawn with different seeds)."""
    frame = pd.concat(
        [
            synthetic_reviews(n_per_label, seed, "train"),
            synthetic_reviews(n_per_label, seed + 1, "test"),
        ],
        ignore_index=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
