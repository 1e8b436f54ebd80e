"""Packaging the registered model for BentoML: model store import, Bento build and export.

The deployment pipeline downloads ``models:/sentiment-classifier@production`` (an MLflow model
directory holding a skops file) and calls, in order:

- :func:`import_model` - copy the skops file and its ``MLmodel`` into the BentoML model store,
  labelled with the registry version and the file's SHA-256 (checked here and again by the
  service whenever it loads the model);
- :func:`build_bento` - build ``bentofile.yaml`` with exactly that model tag pinned under the
  alias the service loads (``model.alias`` in configs/serving.yaml);
- :func:`export_bento` - write the ``.bento`` archive (what a registry or another host imports).

``python -m sentiment.adapters.bento import-model|build|export|latest`` runs the same functions,
which is how the service tests build a Bento in a throw-away ``BENTOML_HOME``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sentiment.adapters.serialization import ModelIntegrityError, model_file_in
from sentiment.adapters.serving.loading import MODEL_SHA256_LABEL, MODEL_VERSION_LABEL
from sentiment.adapters.serving.settings import load_settings
from sentiment.core.hashing import file_sha256

if TYPE_CHECKING:
    import bentoml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_NAME = "sentiment-classifier"
SERVING_CONFIG = Path("configs") / "serving.yaml"
_TAG_VERSION_CHARS = re.compile(r"[^a-z0-9_.-]+")


def _store_version(model_version: str, sha256: str) -> str:
    """A model-store version naming both the registry version and the digest, e.g. ``v7-1a2b..``.

    Deterministic, so importing the same registered model twice finds the first import.
    """
    version = _TAG_VERSION_CHARS.sub("-", f"v{model_version}".lower()).strip("-.")
    return f"{version[:40]}-{sha256[:12]}"


def import_model(
    model_dir: Path,
    *,
    name: str = DEFAULT_NAME,
    model_version: str,
    sha256: str,
    metadata: Mapping[str, Any] | None = None,
) -> bentoml.Tag:
    """Store the MLflow model directory's skops file (+ ``MLmodel``) in the BentoML model store.

    Refuses a file whose SHA-256 differs from ``sha256`` (the digest recorded at registration).
    Importing a version that is already stored with the same digest returns its tag.
    """
    import bentoml
    from bentoml.exceptions import NotFound

    model_dir = Path(model_dir)
    sha256 = sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"sha256 must be 64 hex characters, got {sha256!r}")
    model_file = model_file_in(model_dir)
    if not model_file.is_file():
        raise ModelIntegrityError(f"{model_dir} has no model file {model_file.name}")
    actual = file_sha256(model_file)
    if actual != sha256:
        raise ModelIntegrityError(
            f"{model_file} has SHA-256 {actual} but {sha256} was recorded at registration: "
            "refusing to import a model that changed since"
        )

    tag = bentoml.Tag(name, _store_version(str(model_version), sha256))
    try:
        existing = bentoml.models.get(tag)
    except NotFound:
        existing = None
    if existing is not None:
        if existing.info.labels.get(MODEL_SHA256_LABEL) != sha256:
            raise ModelIntegrityError(f"{tag} is already stored with a different digest")
        return existing.tag

    labels = {MODEL_VERSION_LABEL: str(model_version), MODEL_SHA256_LABEL: sha256}
    meta = {"source": "mlflow", "model_file": model_file.name, **dict(metadata or {})}
    with bentoml.models.create(tag, labels=labels, metadata=meta) as stored:
        target = Path(stored.path)
        shutil.copy2(model_file, target / model_file.name)
        if (model_dir / "MLmodel").is_file():
            shutil.copy2(model_dir / "MLmodel", target / "MLmodel")
    return stored.tag


def build_bento(
    *,
    bentofile: Path = Path("bentofile.yaml"),
    model_tag: str | bentoml.Tag,
    version: str | None = None,
    build_ctx: Path = REPO_ROOT,
) -> bentoml.Bento:
    """Build the Bento from ``bentofile`` serving exactly ``model_tag``.

    The bentofile's ``models:`` section is replaced by ``model_tag`` under the alias the service
    loads, so the Bento carries that one model and no other (a bentofile naming ``:latest``
    would pin whatever was newest when it was built).
    """
    import bentoml

    build_ctx = Path(build_ctx).resolve()
    bentofile = bentofile if bentofile.is_absolute() else build_ctx / bentofile
    settings = load_settings(build_ctx / SERVING_CONFIG)
    stored = bentoml.models.get(model_tag)
    sha256 = stored.info.labels.get(MODEL_SHA256_LABEL)
    if not sha256:
        raise ModelIntegrityError(
            f"{stored.tag} has no {MODEL_SHA256_LABEL!r} label: import it with import_model"
        )
    model_version = stored.info.labels.get(MODEL_VERSION_LABEL, "")

    config = yaml.safe_load(bentofile.read_text(encoding="utf-8")) or {}
    config["models"] = [{"tag": str(stored.tag), "alias": settings.model.alias}]
    labels = {
        **(config.get("labels") or {}),
        "model_name": stored.tag.name,
        "model_version": model_version,
        "model_tag": str(stored.tag),
    }
    config["labels"] = {k: str(v) for k, v in labels.items()}
    with tempfile.TemporaryDirectory(prefix="bentofile-") as tmp:
        pinned = Path(tmp) / "bentofile.yaml"
        pinned.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return bentoml.bentos.build_bentofile(
            str(pinned), version=version, build_ctx=str(build_ctx)
        )


def export_bento(tag: str | bentoml.Tag, out_dir: Path) -> Path:
    """Write ``tag`` as ``<out_dir>/<name>-<version>.bento`` and return that path."""
    import bentoml

    bento = bentoml.bentos.get(tag)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{bento.tag.name}-{bento.tag.version}.bento"
    return Path(bentoml.bentos.export_bento(bento.tag, str(target)))


def latest_bento_tag(name: str = DEFAULT_NAME) -> str:
    """The newest Bento called ``name`` in the local store, e.g. ``sentiment-classifier:abc``."""
    import bentoml

    return str(bentoml.bentos.get(f"{name}:latest").tag)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line over the functions above; prints one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m sentiment.adapters.bento", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-model", help="MLflow model dir -> BentoML model store")
    imp.add_argument("model_dir", type=Path)
    imp.add_argument("--name", default=DEFAULT_NAME)
    imp.add_argument("--model-version", required=True)
    imp.add_argument("--sha256", required=True)
    build = sub.add_parser("build", help="build the Bento serving one model tag")
    build.add_argument("--model-tag", required=True)
    build.add_argument("--bentofile", type=Path, default=Path("bentofile.yaml"))
    build.add_argument("--version")
    build.add_argument("--build-ctx", type=Path, default=REPO_ROOT)
    exp = sub.add_parser("export", help="write a .bento archive")
    exp.add_argument("tag")
    exp.add_argument("out_dir", type=Path)
    latest = sub.add_parser("latest", help="newest Bento tag")
    latest.add_argument("--name", default=DEFAULT_NAME)
    args = parser.parse_args(argv)

    out: dict[str, str]
    if args.command == "import-model":
        tag = import_model(
            args.model_dir, name=args.name, model_version=args.model_version, sha256=args.sha256
        )
        out = {"model_tag": str(tag)}
    elif args.command == "build":
        bento = build_bento(
            bentofile=args.bentofile,
            model_tag=args.model_tag,
            version=args.version,
            build_ctx=args.build_ctx,
        )
        out = {"bento_tag": str(bento.tag), "path": str(bento.path)}
    elif args.command == "export":
        out = {"archive": str(export_bento(args.tag, args.out_dir))}
    else:
        out = {"bento_tag": latest_bento_tag(args.name)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
