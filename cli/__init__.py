"""Sub-commands of ``run.py``. Each module imports ZenML/MLflow/BentoML inside ``main`` only,
so ``python run.py --help`` answers in about a second."""
