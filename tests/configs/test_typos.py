"""A misspelt key in any shipped config fails before anything runs, naming the key and file.

Each case copies a file from configs/ to a temporary directory with one key misspelt and
takes the cheapest real path that reads it: compiling the pipeline (ZenML validates the
typed parameters, no step runs), or the loader the command or the service uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sentiment.core.config import ConfigError, naming_config_file

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def misspelt(tmp_path: Path, name: str, keys: tuple[str, ...], wrong: str) -> Path:
    """configs/<name> with the key at ``keys`` renamed to ``wrong``."""
    raw = yaml.safe_load((CONFIGS / name).read_text())
    section: Any = raw
    for key in keys[:-1]:
        section = section[key]
    section[wrong] = section.pop(keys[-1])
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def compile_fails(pipeline: Any, path: Path, **arguments: Any) -> str:
    """The message of the ConfigError raised when ``pipeline`` is compiled from ``path``."""
    with pytest.raises(ConfigError) as info, naming_config_file(path):
        pipeline.with_options(config_path=str(path)).prepare(**arguments)
    return str(info.value)


def test_training(tmp_path: Path) -> None:
    from pipelines.training import training_pipeline

    path = misspelt(tmp_path, "training.yaml", ("parameters", "validation"), "validaton")
    message = compile_fails(training_pipeline, path)
    assert message == f"{path}: missing key 'validation'; unknown key 'validaton'"


def test_training_nested(tmp_path: Path) -> None:
    from pipelines.training import training_pipeline

    keys = ("parameters", "promotion", "max_regression")
    path = misspelt(tmp_path, "training.yaml", keys, "max_regresion")
    message = compile_fails(training_pipeline, path)
    assert f"{path}: unknown key 'promotion.max_regresion'" in message


def test_inference(tmp_path: Path) -> None:
    from pipelines.inference import inference_pipeline

    keys = ("parameters", "drift", "thresholds", "ks_alpha")
    path = misspelt(tmp_path, "inference.yaml", keys, "ks_alfa")
    message = compile_fails(inference_pipeline, path, input_uri="in.csv")
    assert f"{path}: unknown key 'drift.thresholds.ks_alfa'" in message


def test_deployment(tmp_path: Path) -> None:
    from pipelines.deployment import deployment_pipeline

    keys = ("parameters", "container", "host_port")
    path = misspelt(tmp_path, "deployment.yaml", keys, "hostport")
    message = compile_fails(deployment_pipeline, path, target="local")
    assert f"{path}: unknown key 'container.hostport'" in message


def test_deployment_cli_sections(tmp_path: Path) -> None:
    """``run.py deploy`` applies its flags to the sections, then validates them."""
    from cli.deploy import config_parameters, typed_sections

    keys = ("parameters", "kubernetes", "namespace")
    path = misspelt(tmp_path, "deployment.yaml", keys, "namespaces")
    params = config_parameters(path)
    with pytest.raises(ConfigError, match=f"{path}: unknown key 'kubernetes.namespaces'"):
        typed_sections(params["container"], params["kubernetes"], source=path)


def test_tuning(tmp_path: Path) -> None:
    from cli.tune import load_tuning_config

    path = misspelt(tmp_path, "tuning.yaml", ("search", "trials"), "trails")
    with pytest.raises(ConfigError, match=f"{path}: unknown key 'search.trails'"):
        load_tuning_config(path)


def test_tuning_pipeline(tmp_path: Path) -> None:
    """The tuning pipeline compiled with the base training config's sections."""
    from pipelines.tuning import tuning_pipeline

    keys = ("parameters", "data", "text_column")
    path = misspelt(tmp_path, "training.yaml", keys, "text_colum")
    params = yaml.safe_load(path.read_text())["parameters"]
    tuning = yaml.safe_load((CONFIGS / "tuning.yaml").read_text())
    expected = f"{path}: unknown key 'data.text_colum'"
    with pytest.raises(ConfigError, match=expected), naming_config_file(path):
        tuning_pipeline.prepare(
            data=params["data"],
            validation=params["validation"],
            model_params=params["model_params"],
            split=tuning["split"],
            search=tuning["search"],
        )


def test_serving(tmp_path: Path) -> None:
    from sentiment.adapters.serving.settings import SettingsError, load_settings

    path = misspelt(tmp_path, "serving.yaml", ("limits", "max_text_chars"), "max_text_char")
    with pytest.raises(SettingsError, match="max_text_char") as info:
        load_settings(path)
    assert str(info.value).startswith(str(path))


def test_cluster(tmp_path: Path) -> None:
    from local_cluster.settings import ClusterSettings

    path = misspelt(tmp_path, "cluster.yaml", ("ports", "registry"), "regsitry")
    with pytest.raises(ValueError, match="regsitry") as info:
        ClusterSettings.load(path)
    assert str(info.value).startswith(str(path))
