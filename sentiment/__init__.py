"""The sentiment package, in three layers (import-linter keeps them apart, ``make lint``):

- :mod:`sentiment.core`: the domain (text, model, metrics, data, validation, drift statistics,
  tuning, promotion, batch scoring); no framework, registry or server;
- :mod:`sentiment.adapters`: MLflow, skops, BentoML, container CLIs, Kubernetes, the serving
  runtime, release records;
- :mod:`sentiment.reports`: figures and pages drawn from the domain's numbers.

ZenML's steps (``steps/``), pipelines (``pipelines/``) and the CLI (``cli/``) sit above them.
"""
