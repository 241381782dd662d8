"""``npy:PATH``: precomputed features, looked up by text, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.errors import InputError
from evalkit.featurizers import get_featurizer
from evalkit.featurizers.npy import NpyFeaturizer


def _npz(path, texts, features, **extra):
    np.savez(path, texts=np.array(texts, dtype=str), features=np.asarray(features), **extra)
    return path


def test_npz_rows_are_found_by_text(tmp_path):
    path = _npz(tmp_path / "f.npz", ["a", "b", "c"], np.arange(6.0).reshape(3, 2))
    got = get_featurizer(f"npy:{path}").featurize(["c", "a", "c"])
    assert got.dtype == np.float32
    assert got.tolist() == [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]


def test_npy_with_a_text_file_beside_it(tmp_path):
    np.save(tmp_path / "refs.npy", np.arange(6.0).reshape(3, 2))
    (tmp_path / "refs.txt").write_text("one\r\ntwo\nthree\n", encoding="utf-8")
    assert NpyFeaturizer(str(tmp_path / "refs.npy")).featurize(["two", "three"]).tolist() == [[2, 3], [4, 5]]


def test_a_folder_merges_every_file(tmp_path):
    _npz(tmp_path / "refs.npz", ["r1", "r2"], np.zeros((2, 3)))
    np.save(tmp_path / "sys.npy", np.ones((1, 3)))
    (tmp_path / "sys.txt").write_text("s1\n")
    f = NpyFeaturizer(str(tmp_path))
    assert f.featurize(["s1", "r2"]).tolist() == [[1, 1, 1], [0, 0, 0]]
    assert f.id.startswith(f"npy:{tmp_path.name}@sha256-")
    assert f.cacheable is False


def test_id_changes_with_the_content(tmp_path):
    path = _npz(tmp_path / "f.npz", ["a"], [[1.0]])
    first = NpyFeaturizer(str(path)).id
    _npz(path, ["a"], [[2.0]])
    assert NpyFeaturizer(str(path)).id != first


def _error(path, texts=("a",)) -> str:
    with pytest.raises(InputError) as info:
        NpyFeaturizer(str(path)).featurize(list(texts))
    return str(info.value)


def test_missing_path(tmp_path):
    message = _error(tmp_path / "nope.npz")
    assert "nope.npz" in message and "no such file" in message


def test_wrong_suffix(tmp_path):
    (tmp_path / "f.csv").write_text("x")
    assert "not a .npz or .npy" in _error(tmp_path / "f.csv")


def test_empty_folder(tmp_path):
    assert "no .npz or .npy" in _error(tmp_path)


def test_npy_without_its_text_file(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((1, 2)))
    message = _error(tmp_path / "f.npy")
    assert "f.txt" in message and "which text" in message


def test_npy_rows_and_lines_disagree(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((3, 2)))
    (tmp_path / "f.txt").write_text("a\nb\n")
    assert "3 feature rows but f.txt has 2 lines" in _error(tmp_path / "f.npy")


def test_npz_without_the_arrays(tmp_path):
    np.savez(tmp_path / "f.npz", x=np.zeros(2))
    assert "'texts' and 'features'" in _error(tmp_path / "f.npz")


def test_npz_texts_saved_as_objects_need_pickle(tmp_path):
    np.savez(tmp_path / "f.npz", texts=np.array(["a"], dtype=object), features=np.zeros((1, 2)))
    message = _error(tmp_path / "f.npz")
    assert "f.npz" in message and "cannot read" in message


def test_features_must_be_2d_numbers(tmp_path):
    _npz(tmp_path / "f.npz", ["a", "b"], np.zeros(2))
    assert "2-D numeric" in _error(tmp_path / "f.npz")


def test_features_must_be_finite(tmp_path):
    _npz(tmp_path / "f.npz", ["a"], [[np.nan, 1.0]])
    assert "NaN" in _error(tmp_path / "f.npz")


def test_dimensions_must_agree_across_files(tmp_path):
    _npz(tmp_path / "a.npz", ["a"], np.zeros((1, 2)))
    _npz(tmp_path / "b.npz", ["b"], np.zeros((1, 3)))
    assert "3 dimensions" in _error(tmp_path)


def test_a_text_without_features_is_named(tmp_path):
    path = _npz(tmp_path / "f.npz", ["a"], [[1.0]])
    message = _error(path, texts=["a", "the missing one"])
    assert "'the missing one'" in message and "1 text(s)" in message


def test_corrupt_file(tmp_path):
    (tmp_path / "f.npy").write_bytes(b"garbage")
    (tmp_path / "f.txt").write_text("a\n")
    assert "cannot read features" in _error(tmp_path / "f.npy")
