"""Suite-wide settings: no telemetry, no network look-ups, state in temporary dirs."""

from __future__ import annotations

import os

# ZenML waits on DNS for its analytics host unless told not to; BentoML phones home too.
os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
os.environ["BENTOML_DO_NOT_TRACK"] = "true"
os.environ["AUTO_OPEN_DASHBOARD"] = "false"
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

# The served-Bento fixtures (built_bento, served_bento, start_bento_server, ...) for every
# directory that needs a real service: tests/service, tests/containers, tests/monitoring.
pytest_plugins = ["tests.service.fixtures"]
