"""The on-disk feature cache and the featurize loop around it."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.errors import EvalkitError
from evalkit.featurizers.cache import FeatureCache, default_cache_dir, featurize_texts, text_key


def test_default_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "features"
    monkeypatch.delenv("EVALKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "evalkit" / "features"


def test_store_then_lookup_in_a_new_instance(tmp_path):
    rows = np.arange(6, dtype=np.float32).reshape(3, 2)
    FeatureCache(tmp_path).store("toy@1", ["a", "b", "é"], rows)
    fresh = FeatureCache(tmp_path)
    found = fresh.lookup("toy@1", ["é", "a", "zzz"])
    assert sorted(found) == ["a", "é"]
    np.testing.assert_array_equal(found["é"], rows[2])
    # another featurizer id never sees these rows
    assert fresh.lookup("toy@2", ["a"]) == {}
    # the folder says which featurizer it belongs to, and no temp file is left
    folder = fresh.folder("toy@1")
    assert (folder / "id.txt").read_text().strip() == "toy@1"
    assert not list(folder.glob(".tmp-*"))


def test_key_is_a_hash_of_the_text():
    assert text_key("a") == text_key("a") != text_key("a ")
    assert len(text_key("x")) == 64


def test_damaged_shard_is_a_miss_with_a_warning(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.store("toy@1", ["a"], np.ones((1, 2), dtype=np.float32))
    folder = cache.folder("toy@1")
    (folder / "broken.npz").write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable feature cache shard"):
        found = FeatureCache(tmp_path).lookup("toy@1", ["a"])
    assert list(found) == ["a"]


def test_featurize_texts_featurizes_each_distinct_text_once(tmp_path, hash_featurizer):
    cache = FeatureCache(tmp_path)
    texts = ["a", "b", "a", "c", "b"]
    first = featurize_texts(hash_featurizer, texts, cache=cache, batch_size=2)
    assert sorted(hash_featurizer.texts_seen) == ["a", "b", "c"]
    assert [len(c) for c in hash_featurizer.calls] == [2, 1]  # batches of batch_size
    np.testing.assert_array_equal(first[0], first[2])
    assert first.dtype == np.float32 and first.shape == (5, 8)

    # a new process (new cache object) featurizes only what is new
    hash_featurizer.calls.clear()
    second = featurize_texts(hash_featurizer, texts + ["d"], cache=FeatureCache(tmp_path), batch_size=2)
    assert hash_featurizer.texts_seen == ["d"]
    np.testing.assert_array_equal(second[:5], first)


def test_no_cache_means_no_files(tmp_path, hash_featurizer):
    featurize_texts(hash_featurizer, ["a", "b"], cache=None, batch_size=8)
    featurize_texts(hash_featurizer, ["a", "b"], cache=None, batch_size=8)
    assert len(hash_featurizer.calls) == 2
    assert not any(tmp_path.rglob("*.npz"))


def test_non_cacheable_featurizer_skips_the_cache(tmp_path, hash_featurizer):
    hash_featurizer.cacheable = False
    cache = FeatureCache(tmp_path)
    featurize_texts(hash_featurizer, ["a"], cache=cache, batch_size=8)
    featurize_texts(hash_featurizer, ["a"], cache=cache, batch_size=8)
    assert len(hash_featurizer.calls) == 2
    assert not any(tmp_path.rglob("*.npz"))


def test_shards_are_flushed_as_they_fill(tmp_path, hash_featurizer, monkeypatch):
    import evalkit.featurizers.cache as cache_module

    monkeypatch.setattr(cache_module, "SHARD_SIZE", 4)
    cache = FeatureCache(tmp_path)
    featurize_texts(hash_featurizer, [str(i) for i in range(10)], cache=cache, batch_size=2)
    assert len(list(cache.folder(hash_featurizer.id).glob("*.npz"))) == 3  # 4 + 4 + 2


class _Bad:
    id = "bad@1"

    def __init__(self, result):
        self.result = result

    def featurize(self, texts):
        return self.result


@pytest.mark.parametrize(
    "result, message",
    [
        (np.zeros((1, 3)), "shape"),
        (np.zeros(2), "shape"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), "NaN"),
    ],
)
def test_a_featurizer_returning_garbage_is_caught(tmp_path, result, message):
    with pytest.raises(EvalkitError, match=message):
        featurize_texts(_Bad(result), ["a", "b"], cache=FeatureCache(tmp_path), batch_size=8)


def test_unwritable_cache_names_the_folder_and_the_way_out(tmp_path, hash_featurizer):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EvalkitError, match="cache_dir") as info:
        featurize_texts(hash_featurizer, ["a"], cache=FeatureCache(blocker / "sub"), batch_size=8)
    assert str(blocker) in str(info.value)


class _Terminal:
    """A stderr that says it is a terminal and keeps what is written."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.text = ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_progress_bar_only_on_a_terminal(tmp_path, hash_featurizer, monkeypatch, tty):
    stderr = _Terminal(tty)
    monkeypatch.setattr("sys.stderr", stderr)
    featurize_texts(hash_featurizer, ["a", "b", "c"], cache=FeatureCache(tmp_path), batch_size=1, desc="references")
    assert ("featurizing references (hash@1)" in stderr.text) is tty
    assert ("0/3" in stderr.text) is tty  # the bar counts texts
