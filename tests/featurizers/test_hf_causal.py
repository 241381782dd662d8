"""``hf:MODEL`` on a tiny random GPT-2 saved to disk: the real code path,
compared with mauve-text's own featurization of the same model."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.errors import InputError
from evalkit.featurizers import get_featurizer
from evalkit.featurizers.hf_causal import HFCausalFeaturizer

TEXTS = [
    "the cat sat on the mat",
    "a dog ran",
    "red",
    "the blue cat and the red dog ran fast then it sat on the mat in the park",
    "it is slow",
] * 2


def test_features_equal_mauve_texts_own(tiny_gpt2):
    from mauve.compute_mauve import get_features_from_input

    ours = HFCausalFeaturizer(str(tiny_gpt2), batch_size=4).featurize(TEXTS)
    theirs = get_features_from_input(None, None, TEXTS, str(tiny_gpt2), 1024, -1, name="p", batch_size=4)
    assert ours.shape == (len(TEXTS), 32)
    np.testing.assert_array_equal(ours, theirs)


def test_a_text_does_not_depend_on_its_batch(tiny_gpt2):
    f = HFCausalFeaturizer(str(tiny_gpt2), batch_size=4)
    batched = f.featurize(TEXTS)
    alone = np.concatenate([f.featurize([t]) for t in TEXTS])
    np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_truncation_keeps_the_first_tokens(tiny_gpt2):
    f = HFCausalFeaturizer(str(tiny_gpt2), max_text_length=2)
    np.testing.assert_allclose(f.featurize(["the cat sat on the mat"]), f.featurize(["the cat"]), atol=1e-6)
    assert "+len2+" in f.id


def test_mauve_through_hf_equals_compute_mauve_on_texts(tiny_gpt2):
    from mauve import compute_mauve

    from evalkit.metrics.mauve import Mauve

    p = TEXTS[:5] * 4
    q = ["the dog sat", "a cat ran fast", "blue mat", "the park is red", "then it ran"] * 4
    options = dict(num_buckets=3, kmeans_num_redo=1, kmeans_max_iter=50)
    with pytest.warns(UserWarning):
        ours = Mauve(featurizer=f"hf:{tiny_gpt2}", seeds=1, batch_size=1, **options).score_texts(p, q)
    theirs = compute_mauve(p_text=p, q_text=q, featurize_model_name=str(tiny_gpt2), batch_size=1, **options)
    assert ours.value == theirs.mauve
    assert ours.details["featurizer"].startswith("hf:tiny-gpt2@sha256-")


def test_id_follows_the_weights(tiny_gpt2, tmp_path):
    import shutil

    import torch
    from transformers import GPT2Model

    first = HFCausalFeaturizer(str(tiny_gpt2)).id
    assert HFCausalFeaturizer(str(tiny_gpt2)).id == first
    copy = tmp_path / "tiny-gpt2"
    shutil.copytree(tiny_gpt2, copy)
    assert HFCausalFeaturizer(str(copy)).id == first  # where it lives does not matter
    model = GPT2Model.from_pretrained(copy)
    with torch.no_grad():
        model.h[0].attn.c_attn.weight.add_(1.0)
    model.save_pretrained(copy)
    assert HFCausalFeaturizer(str(copy)).id != first


def test_a_model_absent_from_the_cache_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    name = "evalkit-tests/certainly-absent-model-7f3a9c"
    with pytest.raises(InputError) as info:
        get_featurizer(f"hf:{name}").featurize(["a"])
    message = str(info.value)
    assert name in message and "not available offline" in message and "hf download" in message


def test_a_folder_without_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match="no weight files"):
        HFCausalFeaturizer(str(tmp_path)).featurize(["a"])


def test_a_path_that_is_not_a_folder(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        HFCausalFeaturizer(str(tmp_path / "missing")).featurize(["a"])


def test_a_text_with_no_tokens(tiny_gpt2):
    with pytest.raises(InputError, match="no tokens"):
        HFCausalFeaturizer(str(tiny_gpt2)).featurize(["the cat", "   "])


def test_a_hub_cache_snapshot_is_named_by_its_commit(tiny_gpt2, tmp_path, monkeypatch):
    import shutil

    from huggingface_hub import constants

    from evalkit.featurizers import Featurizer

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--evalkit-tests--tiny-gpt2"
    shutil.copytree(tiny_gpt2, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    f = HFCausalFeaturizer("evalkit-tests/tiny-gpt2")
    assert f.id == "hf:evalkit-tests/tiny-gpt2@0123456789ab+len1024+last-token"
    assert isinstance(f, Featurizer)
    np.testing.assert_array_equal(f.featurize(TEXTS[:2]), HFCausalFeaturizer(str(tiny_gpt2)).featurize(TEXTS[:2]))
