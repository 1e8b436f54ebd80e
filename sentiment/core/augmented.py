"""The model's ``Pipeline``, which adds sentence-level samples of its training reviews at fit.

IMDB reviews are long (median ~170 words) while the service also gets one-sentence reviews.
A model fitted on whole reviews only learns weights that are right on average over many
n-grams per row; its scores on a 10-word text are then both weaker and worse calibrated.
Adding sentences cut from the *training* reviews (each with its review's label; see
:mod:`sentiment.core.short_texts`) shows the classifier short rows during training.

Why a ``Pipeline`` subclass rather than a step in the training code: every place that fits
``build_model()`` - the training step, tuning, the benchmarks, the serving benchmark - then
trains the same model, and the setting is a hyperparameter (``model_params.augmentation``)
that enters the training key. Prediction is ``Pipeline``'s own: the saved file holds no
new state, only three plain integers more.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from sentiment.core.short_texts import sentence_items


class SentenceAugmentedPipeline(Pipeline):
    """``Pipeline`` whose ``fit`` appends up to ``sentences_per_review`` random sentences
    (``min_words``..``max_words`` words, drawn with ``random_state``) of every training
    review, labelled like their review. ``sentences_per_review=0`` is a plain ``Pipeline``."""

    def __init__(
        self,
        steps: list[tuple[str, Any]],
        *,
        sentences_per_review: int = 0,
        min_words: int = 4,
        max_words: int = 30,
        random_state: int | None = 42,
        transform_input: list[str] | None = None,
        memory: Any = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.sentences_per_review = sentences_per_review
        self.min_words = min_words
        self.max_words = max_words
        self.random_state = random_state

    def fit(
        self,
        X: Iterable[str],  # noqa: N803 - scikit-learn's name
        y: Any = None,
        **params: Any,
    ) -> SentenceAugmentedPipeline:
        texts = list(X)
        if int(self.sentences_per_review) <= 0 or y is None:
            super().fit(texts, y, **params)
            return self
        labels = np.asarray(y)
        extra, extra_labels = sentence_items(
            texts,
            labels,
            pick="random",
            per_review=int(self.sentences_per_review),
            min_words=int(self.min_words),
            max_words=int(self.max_words),
            seed=0 if self.random_state is None else int(self.random_state),
        )
        # The stages before the classifier learn from the reviews alone: counted as
        # documents of their own, the sentences would add one to the document frequency of
        # every n-gram of their review and let its one-off n-grams pass ``min_df``.
        last_name, last = self.steps[-1]
        head = Pipeline(self.steps[:-1])
        prefix = f"{last_name}__"
        head.fit(texts, labels, **{k: v for k, v in params.items() if not k.startswith(prefix)})
        rows = head.transform(texts + extra)
        all_labels = np.concatenate([labels, extra_labels.astype(labels.dtype)])
        last.fit(
            rows,
            all_labels,
            **{k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)},
        )
        return self
