"""The one data-source order (sentiment/core/sources.py): flag, $SENTIMENT_DATA, config,
fallbacks, official archive."""

from pathlib import Path

from sentiment.core.sources import given_source, resolve_source


def test_resolve_source_precedence(tmp_path):
    def never(_cache):  # must not be called when something is configured
        raise AssertionError("download called")

    env = {"SENTIMENT_DATA": "s3://bucket/env.csv"}
    assert resolve_source("cli.csv", env, "cfg.csv", download=never) == "cli.csv"
    assert resolve_source(None, env, "cfg.csv", download=never) == "s3://bucket/env.csv"
    assert resolve_source("", {"SENTIMENT_DATA": " "}, "cfg.csv", download=never) == "cfg.csv"

    calls = []

    def fake_download(cache):
        calls.append(cache)
        return tmp_path / "aclImdb_v1.tar.gz"

    got = resolve_source(None, {}, None, cache_dir=tmp_path, download=fake_download)
    assert got == str(tmp_path / "aclImdb_v1.tar.gz")
    assert calls == [tmp_path]


def test_given_source_is_the_flag_then_the_variable():
    env = {"SENTIMENT_DATA": "env.csv"}
    assert given_source("flag.csv", env) == "flag.csv"
    assert given_source(" ", env) == "env.csv"
    assert given_source(None, {"SENTIMENT_DATA": ""}) is None


def test_resolve_source_fallbacks_come_after_the_config_before_the_download():
    def never(_cache):
        raise AssertionError("download called")

    asked = []

    def training_source():
        asked.append(True)
        return "s3://bucket/train.csv"

    fallbacks = (("the model's training source", training_source),)
    assert resolve_source(None, {}, "cfg.csv", fallbacks=fallbacks, download=never) == "cfg.csv"
    assert not asked  # not even asked when the config names a source
    got = resolve_source(None, {}, None, fallbacks=fallbacks, download=never)
    assert got == "s3://bucket/train.csv"
    nothing = (("none", lambda: None),)
    assert resolve_source(None, {}, None, fallbacks=nothing, download=lambda _c: Path("a.gz")) == (
        "a.gz"
    )
