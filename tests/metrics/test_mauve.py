"""The MAUVE metric: parity with mauve-text, seeds, the cache, references,
dropped texts, warnings, options and the demo data."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import evalkit
from evalkit.errors import ConfigError, InputError
from evalkit.metrics.mauve import Mauve, SmallSampleWarning
from evalkit.metrics.registry import create_metric

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo"
FAST = dict(kmeans_num_redo=1, kmeans_max_iter=100)


class CountingFeaturizer:
    """Deterministic vectors from each text's hash; records every text it is
    asked to featurize."""

    def __init__(self, dim: int = 8) -> None:
        self.id = f"counting@{dim}"
        self.dim = dim
        self.texts_seen: list[str] = []
        self.calls = 0

    def featurize(self, texts):
        self.calls += 1
        self.texts_seen.extend(texts)
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).normal(size=self.dim))
        return np.asarray(rows, dtype=np.float32)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "evalkit-cache"))


@pytest.fixture
def quiet():
    """Small samples are the point of these tests: silence that warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        yield


def features(n, dim=16, shift=0.0, seed=0):
    return np.random.default_rng(seed).normal(loc=shift, size=(n, dim)).astype(np.float32)


# -- parity with mauve-text ---------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        dict(
            num_buckets=7,
            kmeans_explained_var=0.8,
            kmeans_num_redo=2,
            kmeans_max_iter=50,
            mauve_scaling_factor=3.0,
            divergence_curve_discretization_size=10,
            pca_max_data=150,
        ),
    ],
)
def test_parity_with_compute_mauve_for_every_seed(options, quiet):
    from mauve import compute_mauve

    p, q = features(200), features(150, shift=0.3, seed=1)
    result = Mauve(seeds=3, seed=7, **options).score_features(p, q)
    direct = [compute_mauve(p_features=p, q_features=q, seed=s, **options) for s in (7, 8, 9)]
    assert list(result.details["per_seed"]) == [d.mauve for d in direct]
    assert list(result.details["seeds"]) == [7, 8, 9]
    assert result.value == pytest.approx(np.mean([d.mauve for d in direct]), abs=1e-15)
    assert result.details["std"] == pytest.approx(np.std([d.mauve for d in direct], ddof=1), abs=1e-15)
    assert result.details["frontier_integral"] == pytest.approx(np.mean([d.frontier_integral for d in direct]))
    assert result.details["num_buckets"] == direct[0].num_buckets
    assert [list(xy) for xy in result.details["divergence_curve"]] == direct[0].divergence_curve.tolist()
    assert 0 < result.value < 1
    assert (result.details["n_p"], result.details["n_q"]) == (200, 150)


def test_seeds_really_differ_and_one_seed_has_no_std(quiet):
    p, q = features(120), features(120, shift=0.2, seed=1)
    several = Mauve(seeds=4, **FAST).score_features(p, q)
    assert len(set(several.details["per_seed"])) > 1
    assert several.details["std"] > 0
    one = Mauve(seeds=1, **FAST).score_features(p, q)
    assert one.details["std"] is None
    assert one.value == several.details["per_seed"][0]


def test_identical_sets_score_one(quiet):
    p = features(100)
    assert Mauve(seeds=2, **FAST).score_features(p, p.copy()).value == pytest.approx(1.0, abs=1e-12)
    texts = [f"text number {i}" for i in range(60)]
    result = Mauve(featurizer=CountingFeaturizer(), seeds=2, **FAST).score_texts(texts, list(texts))
    assert result.value == pytest.approx(1.0, abs=1e-12)


# -- the result's shape and signature -----------------------------------------


def test_result_fields(quiet):
    r = Mauve(featurizer=CountingFeaturizer(), seeds=2, **FAST).score(
        predictions=[f"p{i}" for i in range(40)], references=[f"r{i}" for i in range(40)]
    )
    assert r.metric == "mauve" and r.scale == "0-1" and r.higher_is_better
    assert r.per_item == () and (r.n_scored, r.n_unscored) == (40, 0)
    assert set(r.details) >= {
        "std",
        "per_seed",
        "seeds",
        "frontier_integral",
        "num_buckets",
        "divergence_curve",
        "n_p",
        "n_q",
        "dropped_empty_p",
        "dropped_empty_q",
        "warnings",
    }
    assert r.details["num_buckets"] == 4  # auto: min(40, 40) / 10
    assert len(r.details["divergence_curve"]) == 25 + 2
    assert r.signature.startswith("mauve|feat:counting@8|seeds:2|seed:25|buckets:auto|explvar:0.9|redo:1|iter:100|")
    assert "|mauve-text:0.4.0" in r.signature and "|faiss:" in r.signature
    record = r.to_dict()
    assert record["n_scored"] == 40 and isinstance(record["details"]["divergence_curve"][0], list)


# -- references -----------------------------------------------------------------


def test_p_and_q_need_not_be_paired(quiet):
    f = CountingFeaturizer()
    refs = [f"r{i}" for i in range(70)]
    r = Mauve(featurizer=f, seeds=1, **FAST).score(predictions=[f"p{i}" for i in range(30)], references=refs)
    assert (r.details["n_p"], r.details["n_q"]) == (70, 30)


def test_several_references_per_item_use_the_first(quiet):
    f = CountingFeaturizer()
    refs = [[f"first{i}", f"second{i}"] if i % 2 else [f"first{i}"] for i in range(30)]
    r = Mauve(featurizer=f, seeds=1, **FAST).score(predictions=[f"p{i}" for i in range(30)], references=refs)
    assert r.details["n_p"] == 30
    assert not any(t.startswith("second") for t in f.texts_seen)


def test_references_are_required():
    with pytest.raises(InputError, match="needs references"):
        Mauve().score(predictions=["a"], references=None)
    with pytest.raises(InputError, match="predictions"):
        Mauve().score(predictions=["a", "b"], references=[["x"], ["y"], ["z"]])


# -- empty and missing texts ------------------------------------------------------


def test_empty_and_missing_texts_are_dropped_and_counted(quiet):
    f = CountingFeaturizer()
    preds = [f"p{i}" for i in range(30)] + ["", None, ""]
    refs = [f"r{i}" for i in range(31)] + ["", ""]
    r = Mauve(featurizer=f, seeds=1, **FAST).score(predictions=preds, references=refs)
    assert (r.details["n_p"], r.details["n_q"]) == (31, 30)
    assert (r.details["dropped_empty_p"], r.details["dropped_empty_q"]) == (2, 3)
    assert (r.n_scored, r.n_unscored) == (30, 3)
    assert dict(r.unscored) == {
        30: "empty prediction (MAUVE drops empty texts)",
        31: "no prediction",
        32: "empty prediction (MAUVE drops empty texts)",
    }
    assert "" not in f.texts_seen
    assert any("dropped 2 empty reference" in w for w in r.details["warnings"])


def test_no_prediction_at_all_is_unscored_not_zero(quiet):
    r = Mauve(featurizer=CountingFeaturizer(), seeds=2).score(predictions=["", None], references=["a", "b"])
    assert r.value is None and r.details["per_seed"] == () and r.n_scored == 0 and r.n_unscored == 2
    assert any("cannot be computed" in w for w in r.details["warnings"])


def test_no_reference_text_is_an_input_error():
    with pytest.raises(InputError, match="non-empty reference"):
        Mauve(featurizer=CountingFeaturizer()).score(predictions=["a"], references=[""])


def test_more_buckets_than_texts_is_a_config_error(quiet):
    with pytest.raises(ConfigError, match="num_buckets=50"):
        Mauve(featurizer=CountingFeaturizer(), num_buckets=50, seeds=1).score_texts(["a", "b"], ["c", "d"])


# -- the small-sample warning ------------------------------------------------------


def test_small_samples_warn_in_details_and_once_through_warnings():
    import warnings

    m = Mauve(featurizer=CountingFeaturizer(), seeds=3, **FAST)
    refs = [f"r{i}" for i in range(40)]
    with pytest.warns(SmallSampleWarning, match="fewer than 1,000") as record:
        r = m.score_texts(refs, [f"p{i}" for i in range(40)])
    assert len([w for w in record if w.category is SmallSampleWarning]) == 1  # once, not once per seed
    assert any("40 reference and 40 prediction texts" in w for w in r.details["warnings"])
    # a comparison scores every system with one instance: it warns once in all,
    # while each result still carries the warning for the report
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        r2 = m.score_texts(refs, [f"q{i}" for i in range(30)])
    assert not [w for w in again if w.category is SmallSampleWarning]
    assert any("40 reference and 30 prediction texts" in w for w in r2.details["warnings"])


def test_a_thousand_texts_a_side_do_not_warn():
    import warnings

    p, q = features(1000, dim=4), features(1000, dim=4, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)
        r = Mauve(seeds=1, kmeans_num_redo=1, kmeans_max_iter=20).score_features(p, q)
    assert r.details["warnings"] == ()


# -- options ----------------------------------------------------------------------


def test_options_from_strings_through_the_registry():
    m = create_metric(
        "mauve",
        seeds="3",
        seed="1",
        num_buckets="12",
        kmeans_explained_var="0.8",
        mauve_scaling_factor="2",
        max_text_length="none",
        cache="false",
        featurizer="hf:gpt2-large",
        batch_size="4",
    )
    assert (m.seeds, m.seed, m.num_buckets, m.kmeans_explained_var) == (3, 1, 12, 0.8)
    assert (m.mauve_scaling_factor, m.max_text_length, m.cache, m.batch_size) == (2.0, None, False, 4)
    assert m.seed_list == [1, 2, 3]
    assert create_metric("mauve", num_buckets="auto").num_buckets == "auto"


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(seeds="0"), "seeds"),
        (dict(num_buckets="lots"), "num_buckets"),
        (dict(num_buckets="1"), "num_buckets"),
        (dict(kmeans_explained_var="1.5"), "kmeans_explained_var"),
        (dict(pca_max_data="0"), "pca_max_data"),
        (dict(featurizer="bert"), "unknown featurizer"),
        (dict(seedz="3"), "unknown option"),
    ],
)
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        create_metric("mauve", **options)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(seeds=0), "option mauve.seeds=0: input should be greater than or equal to 1"),
        (dict(seeds="three"), "option mauve.seeds='three': input should be a valid integer"),
        (
            dict(num_buckets=1),
            "option mauve.num_buckets=1: input should be greater than or equal to 2 or input should be 'auto'",
        ),
        (dict(num_buckets="many"), "option mauve.num_buckets='many'"),
        (
            dict(pca_max_data=0),
            "option mauve.pca_max_data=0: input should be -1 or input should be greater than or equal to 1",
        ),
        (dict(kmeans_explained_var=1.0), "option mauve.kmeans_explained_var=1.0: input should be less than 1"),
        (dict(kmeans_explained_var=0), "option mauve.kmeans_explained_var=0: input should be greater than 0"),
        (dict(kmeans_num_redo=0), "option mauve.kmeans_num_redo=0"),
        (dict(kmeans_max_iter=0), "option mauve.kmeans_max_iter=0"),
        (dict(mauve_scaling_factor=-1.0), "option mauve.mauve_scaling_factor=-1.0: input should be greater than 0"),
        (dict(divergence_curve_discretization_size=1), "option mauve.divergence_curve_discretization_size=1"),
        (dict(max_text_length=0), "option mauve.max_text_length=0: input should be greater than or equal to 1"),
        (dict(batch_size=0), "option mauve.batch_size=0"),
    ],
)
def test_python_api_checks_the_constraints_declared_in_the_signature(options, message):
    with pytest.raises(ConfigError) as info:
        Mauve(**options)
    assert str(info.value).startswith(message)


def test_valid_edge_values_are_accepted():
    m = Mauve(seeds=1, num_buckets=2, pca_max_data=1, kmeans_explained_var=0.01, mauve_scaling_factor=5, batch_size=1)
    assert (m.seeds, m.num_buckets, m.pca_max_data, m.mauve_scaling_factor, m.batch_size) == (1, 2, 1, 5, 1)
    assert Mauve(max_text_length=None, pca_max_data=-1).pca_max_data == -1


def test_constraints_are_declared_in_the_signature():
    # what the options layer reads (typing.get_type_hints(..., include_extras=True))
    import typing

    import annotated_types

    hints = typing.get_type_hints(Mauve.__init__, include_extras=True)
    num_buckets = typing.get_args(hints["num_buckets"])
    assert typing.get_args(num_buckets[0]) == (int, annotated_types.Ge(2))
    assert num_buckets[1] == typing.Literal["auto"]
    assert typing.get_args(hints["kmeans_explained_var"]) == (float, annotated_types.Gt(0), annotated_types.Lt(1))


# -- the feature cache through the runner -----------------------------------------------


def test_a_second_comparison_featurizes_nothing(tmp_path, quiet):
    refs = [f"reference {i}" for i in range(40)]
    systems = {name: [f"{name} output {i}" for i in range(40)] for name in ("a", "b", "c")}
    first_f = CountingFeaturizer()
    options = {"mauve": {"featurizer": first_f, "seeds": 1, "kmeans_num_redo": 1, "cache_dir": str(tmp_path)}}
    first = evalkit.compare(systems, references=refs, metrics=["mauve"], options=options)
    # the references were featurized once for the three systems
    assert sorted(first_f.texts_seen) == sorted(refs + [t for s in systems.values() for t in s])

    second_f = CountingFeaturizer()  # same id, fresh counter, fresh Mauve instance
    options["mauve"]["featurizer"] = second_f
    second = evalkit.compare(systems, references=refs, metrics=["mauve"], options=options)
    assert second_f.calls == 0
    for s in systems:
        assert second.result(s, "mauve").value == first.result(s, "mauve").value


def test_cache_off_still_featurizes_references_once_per_instance(tmp_path, quiet):
    f = CountingFeaturizer()
    m = Mauve(featurizer=f, seeds=1, cache=False, **FAST)
    refs = [f"r{i}" for i in range(30)]
    for name in ("x", "y"):
        m.score(predictions=[f"{name}{i}" for i in range(30)], references=refs)
    assert f.texts_seen.count("r0") == 1
    assert not any(tmp_path.rglob("*.npz"))


# -- dependencies and imports ---------------------------------------------------------


def test_missing_mauve_gives_the_exact_pip_line():
    code = (
        "import sys, numpy as np\n"
        "sys.modules['mauve'] = None\n"
        "from evalkit.errors import MissingDependencyError\n"
        "from evalkit.metrics.mauve import Mauve\n"
        "try:\n"
        "    Mauve().score_features(np.ones((3, 2)), np.ones((3, 2)))\n"
        "except MissingDependencyError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "MAUVE's dependencies (mauve) is not installed" in out.stdout
    assert "pip install 'evalkit[mauve]'" in out.stdout


def test_cli_without_mauve_exits_2_with_the_pip_line(tmp_path):
    refs = tmp_path / "refs.txt"
    preds = tmp_path / "preds.txt"
    refs.write_text("a b c\nd e f\n")
    preds.write_text("a b c\nd e g\n")
    code = (
        "import sys\n"
        "sys.modules['mauve'] = None\n"
        "from evalkit.cli import main\n"
        f"sys.exit(main(['score', '--metric', 'mauve', '--predictions', {str(preds)!r}, "
        f"'--references', {str(refs)!r}, '--set', 'mauve.featurizer=npy:{tmp_path}']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "pip install 'evalkit[mauve]'" in out.stderr
    assert "Traceback" not in out.stderr


# -- the demo data, with the real minilm featurizer -----------------------------------------


def _demo(name: str) -> list[str]:
    return (DEMO / f"{name}.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.slow  # loads MiniLM and featurizes 360 texts
def test_demo_degenerate_system_scores_clearly_below_the_strong_one(quiet):
    refs, strong, degenerate = _demo("references"), _demo("system_strong"), _demo("system_degenerate")
    m = Mauve(seeds=3)
    good = m.score(predictions=strong, references=refs)
    bad = m.score(predictions=degenerate, references=refs)
    # Measured over 10 seeds on these files: strong 1.000 (sd < 0.001, lowest
    # seed 0.9998), degenerate 0.059 (sd 0.024, highest seed 0.097). A margin
    # of 0.5 leaves room for more than 15 sd of seed noise on either side,
    # while failing if the featurizer stopped telling loops from prose.
    assert good.value - bad.value > 0.5
    assert good.details["featurizer"].startswith("minilm@")
    same = m.score(predictions=refs, references=refs)
    assert same.value == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    "p, q, message",
    [
        (np.ones((3, 2)), np.ones((3, 3)), "dimensions"),
        (np.ones(3), np.ones((3, 3)), "2-D"),
        (np.ones((0, 2)), np.ones((3, 2)), "non-empty"),
        (np.array([[np.nan, 1.0]] * 3), np.ones((3, 2)), "NaN"),
    ],
)
def test_bad_feature_arrays(p, q, message):
    with pytest.raises(InputError, match=message):
        Mauve().score_features(p, q)


def test_texts_must_be_strings():
    with pytest.raises(InputError, match="reference text 1 is a int"):
        Mauve(featurizer=CountingFeaturizer()).score_texts(["a", 3], ["b"])
    with pytest.raises(InputError, match="prediction 0 is a bytes"):
        Mauve(featurizer=CountingFeaturizer()).score_texts(["a"], [b"b"])
