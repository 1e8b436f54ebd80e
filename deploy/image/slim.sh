#!/bin/sh
# Runs in the Bento's image build right after its Python packages are installed
# (bentofile.yaml: docker.setup_script), as root. It deletes what serving never reads:
# - the packages' own test suites (~60 MB with their bytecode, mostly scipy and scikit-learn);
# - bytecode of modules the server never imports: uv compiles all 70 MB of it, a serving
#   process imports ~15 MB. The bytecode is rebuilt below for what the server imports, so a
#   cold start does not compile them (it could not even cache them on a read-only root);
# - the uv that BentoML's Dockerfile pip-installs to install the packages, and pip's cache.
# The image only shrinks where the builder squashes the layers the Dockerfile adds: podman
# and buildah do (sentiment.adapters.containers.build passes --squash to them); Docker's
# BuildKit cannot, and keeps the bytes in the install layer. See docs/benchmarks/image.md.
set -eu
site_packages=$(find /app/.venv/lib -maxdepth 2 -type d -name site-packages)
find "$site_packages" -depth -mindepth 2 -type d \( -name tests -o -name test \) \
    -exec rm -rf {} +
find "$site_packages" -depth -type d -name __pycache__ -exec rm -rf {} +
# Importing writes the bytecode of exactly what is imported. The list is what service.py and
# `bentoml serve` import; a module missing from it still works, it is compiled when loaded.
env -u PYTHONDONTWRITEBYTECODE /app/.venv/bin/python - <<'PY'
import importlib

SERVING_MODULES = [
    "bentoml", "bentoml._internal.server.http_app", "bentoml._internal.server.metrics",
    "bentoml._internal.service.loader", "bentoml_cli.cli", "bentoml_cli.serve",
    "_bentoml_impl.server.app", "_bentoml_impl.server.serving", "_bentoml_impl.worker.service",
    "_bentoml_impl.loader", "_bentoml_sdk", "circus.arbiter", "circus.watcher", "uvicorn",
    "uvicorn.protocols.http.h11_impl", "uvicorn.protocols.http.httptools_impl",
    "uvicorn.loops.uvloop", "starlette.applications", "starlette.responses", "pydantic",
    "prometheus_client", "yaml", "numpy", "scipy.sparse", "sklearn.pipeline",
    "sklearn.linear_model", "sklearn.model_selection", "sklearn.preprocessing",
    "skops.io", "joblib", "nltk.stem.snowball", "regex",
]
for name in SERVING_MODULES:
    try:
        importlib.import_module(name)
    except Exception as exc:  # a renamed module costs a compile at start-up, not the build
        print(f"slim.sh: not precompiled: {name}: {type(exc).__name__}: {exc}")
PY
pip uninstall -y -q uv 2>/dev/null || true
rm -rf /root/.cache
