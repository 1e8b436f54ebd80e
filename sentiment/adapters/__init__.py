"""The outside world: the MLflow registry, skops files, BentoML, container CLIs, Kubernetes,
the serving runtime and the stacks' records. Each adapter turns one tool's API and failures
into the domain's terms, so steps and commands never talk to the tools directly.
"""
