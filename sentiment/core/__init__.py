"""The domain: text, model, metrics, data, validation, drift statistics, tuning, promotion.

Nothing here imports ZenML, MLflow, BentoML or a container/Kubernetes CLI (import-linter
checks it in ``make lint``), so the rules a release depends on run and are tested without
any server, and the Bento can ship them unchanged.
"""
