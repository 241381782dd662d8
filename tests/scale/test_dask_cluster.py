"""`evalkit compare --engine dask` against a real scheduler and two workers on
loopback: every number equals the one-process run's, a worker killed in the
middle of a run changes nothing, and cluster failures exit 2 with one message."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time

import pytest

from tests.conftest import EVALKIT, REPO, run_evalkit
from tests.scale.conftest import free_port

METRICS = "rouge,bleu,chrf,ter"


def _compare(data, out, *extra, systems=("a=a.jsonl", "b=b.jsonl"), refs=("refs.jsonl",)):
    args = ["compare", "--metrics", METRICS, "--format", "json", "--bootstrap", "200", "--baseline", "a"]
    args += [arg for s in systems for arg in ("--system", f"{s.split('=')[0]}={data / s.split('=')[1]}")]
    args += [arg for r in refs for arg in ("--references", data / r)]
    result = run_evalkit(*args, "--out", out, *extra)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def assert_same_numbers(one, two, path=()):
    """Every number equal, bit for bit (ROUGE's mean precision and recall
    too: both runs take them from exact sums)."""
    assert type(one) is type(two), path
    if isinstance(one, dict):
        assert one.keys() == two.keys(), path
        for key in one:
            assert_same_numbers(one[key], two[key], (*path, one.get("metric", ""), key))
    elif isinstance(one, list):
        assert len(one) == len(two), path
        for i, (x, y) in enumerate(zip(one, two)):
            assert_same_numbers(x, y, (*path, i))
    else:
        assert one == two, path


def _files(out):
    items = list(csv.reader((out / "items.csv").open(encoding="utf-8")))
    return json.loads((out / "summary.json").read_text()), json.loads((out / "statistics.json").read_text()), items


@pytest.fixture(scope="module")
def one_process(scale_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    result = _compare(scale_data, out)
    return json.loads(result.stdout), *_files(out)


def test_cluster_run_equals_one_process(scale_data, dask_cluster, one_process, tmp_path):
    result = _compare(
        scale_data, tmp_path, "--engine", "dask", "--scheduler", dask_cluster.address, "--partition-size", "37"
    )
    printed, summary, statistics, items = one_process
    assert_same_numbers(printed, json.loads(result.stdout))
    assert_same_numbers(summary, _files(tmp_path)[0])
    assert_same_numbers(statistics, _files(tmp_path)[1])
    assert items == _files(tmp_path)[2]
    # the run scored something real: missing predictions unscored, not zero
    record = next(r for r in printed["results"] if r["system"] == "a" and r["metric"] == "bleu")
    assert record["n_unscored"] == 10 and record["n_scored"] == 150
    assert "nrefs:var" in record["signature"]


def test_a_worker_killed_mid_run_changes_nothing(scale_data, fresh_cluster, one_process, tmp_path):
    """Partitions of 4 items keep both workers busy; once 3 partitions are
    done and the victim is working on another, it is killed (SIGKILL): its
    partitions are computed again on the other worker."""
    from distributed import Client

    args = [*EVALKIT, "compare", "--metrics", METRICS, "--format", "json", "--bootstrap", "200", "--baseline", "a"]
    args += ["--system", f"a={scale_data / 'a.jsonl'}", "--system", f"b={scale_data / 'b.jsonl'}"]
    args += ["--references", scale_data / "refs.jsonl", "--out", tmp_path, "--engine", "dask"]
    args += ["--scheduler", fresh_cluster.address, "--partition-size", "4"]
    run = subprocess.Popen(list(map(str, args)), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = fresh_cluster.workers[0]
    done = 0
    with Client(fresh_cluster.address, set_as_default=False) as watcher:
        address = {pid: addr for addr, pid in watcher.run(os.getpid).items()}[victim.pid]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            left = watcher.run_on_scheduler(lambda dask_scheduler: sum("_score_file_part" in str(k) for k in dask_scheduler.tasks))
            done = 40 - left if left else 0  # 160 items in partitions of 4; fetched ones are forgotten
            if done >= 3 and watcher.processing(workers=[address])[address]:
                victim.kill()
                break
            time.sleep(0.05)
    killed_while_running = run.poll() is None
    stdout, stderr = run.communicate(timeout=300)
    assert done >= 3 and killed_while_running, "the worker was not killed in the middle of the run"
    assert victim.wait(timeout=10) != 0
    assert run.returncode == 0, stderr
    printed, summary, statistics, items = one_process
    assert_same_numbers(printed, json.loads(stdout))
    assert_same_numbers(statistics, _files(tmp_path)[1])
    assert items == _files(tmp_path)[2]


def test_parquet_inputs_equal_the_jsonl_run(scale_data, dask_cluster, one_process, tmp_path):
    parquet = ("a=a.parquet", "b=b.parquet")
    extra = ["--prediction-field", "output", "--reference-field", "gold"]
    on_dask = tmp_path / "dask"
    _compare(scale_data, on_dask, *extra, "--engine", "dask", "--scheduler", dask_cluster.address,
             "--partition-size", "45", systems=parquet, refs=("refs.parquet",))
    here = tmp_path / "here"
    _compare(scale_data, here, *extra, systems=parquet, refs=("refs.parquet",))
    _, summary, statistics, items = one_process
    assert_same_numbers(summary, _files(here)[0])
    assert items == _files(here)[2]
    assert_same_numbers(summary, _files(on_dask)[0])
    assert_same_numbers(statistics, _files(on_dask)[1])
    assert items == _files(on_dask)[2]


def test_local_cluster_without_a_scheduler(scale_data, tmp_path):
    """No --scheduler: a LocalCluster on this machine; `evalkit score` too."""
    args = ["score", "--metric", "chrf", "--predictions", scale_data / "b.jsonl", "--references",
            scale_data / "refs.jsonl", "--format", "json"]
    here = run_evalkit(*args)
    there = run_evalkit(*args, "--engine", "dask", "--partition-size", "50")
    assert there.returncode == 0, there.stderr
    assert "Traceback" not in there.stderr
    assert json.loads(there.stdout) == json.loads(here.stdout)


def test_unreachable_scheduler_exits_2(scale_data):
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_evalkit("compare", "--metrics", "bleu", "--system", f"a={scale_data / 'a.jsonl'}",
                         "--references", scale_data / "refs.jsonl", "--engine", "dask", "--scheduler", address)
    assert result.returncode == 2
    assert f"cannot reach the Dask scheduler at {address} within 5 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


def test_config_run_table_chooses_the_engine(scale_data, dask_cluster, one_process, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        f'metrics = "{METRICS}"\nreferences = "{scale_data / "refs.jsonl"}"\n'
        f'[systems]\na = "{scale_data / "a.jsonl"}"\nb = "{scale_data / "b.jsonl"}"\n'
        f'[run]\nbaseline = "a"\nbootstrap = 200\nengine = "dask"\nscheduler = "{dask_cluster.address}"\n'
        "partition_size = 100\n",
        encoding="utf-8",
    )
    result = run_evalkit("run", config, "--format", "json", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert_same_numbers(one_process[0], json.loads(result.stdout))


def test_a_blank_jsonl_line_is_named(write, dask_cluster):
    preds = write("p.jsonl", '{"text": "a b"}\n\n{"text": "c"}\n')
    refs = write("r.txt", "a b\nx\nc\n")
    result = run_evalkit("compare", "--metrics", "bleu", "--system", f"p={preds}", "--references", refs,
                         "--engine", "dask", "--scheduler", dask_cluster.address)
    assert result.returncode == 2
    assert f"{preds}" in result.stderr and "blank line" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_api_takes_a_frame_on_the_cluster(scale_data, dask_cluster):
    import pandas as pd

    import evalkit

    rows = [json.loads(line) for line in (scale_data / "a.jsonl").read_text().splitlines()]
    refs = [json.loads(line)["reference"] for line in (scale_data / "refs.jsonl").read_text().splitlines()]
    texts = [r["text"] for r in rows]
    frame = pd.DataFrame({"a": texts, "gold": refs})
    lists = evalkit.compare({"a": texts}, references=refs, metrics="bleu,rougeL")
    on_dask = evalkit.compare(frame, references="gold", metrics="bleu,rougeL", engine="dask",
                              scheduler=dask_cluster.address, partition_size=33)
    for key, result in lists.results.items():
        other = on_dask.results[key]
        assert (other.value, other.per_item, other.signature, other.unscored) == (
            result.value, result.per_item, result.signature, result.unscored)
        if result.item_statistics is None:  # ROUGE keeps none
            assert other.item_statistics is None
        else:
            assert other.item_statistics.dtype == result.item_statistics.dtype
            assert other.item_statistics.tolist() == result.item_statistics.tolist()


def test_a_worker_with_another_evalkit_exits_2(scale_data, tmp_path):
    """A real worker whose evalkit is a copy with another version number."""
    import shutil

    from tests.scale.conftest import Cluster

    other = tmp_path / "other"
    shutil.copytree(REPO / "evalkit", other / "evalkit", ignore=shutil.ignore_patterns("__pycache__"))
    init = other / "evalkit" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace('__version__ = "0.1.0"', '__version__ = "0.1.0+other"'))
    cluster = Cluster(n_workers=0)
    try:
        cluster.add_worker(env={**cluster.env, "PYTHONPATH": str(other)}, cwd=other)
        cluster.wait(1)
        result = run_evalkit("compare", "--metrics", "bleu", "--system", f"a={scale_data / 'a.jsonl'}",
                             "--references", scale_data / "refs.jsonl", "--engine", "dask",
                             "--scheduler", cluster.address)
    finally:
        cluster.stop()
    assert result.returncode == 2
    assert "runs evalkit 0.1.0+other, this client 0.1.0: the numbers would not be the same" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_mauve_runs_on_the_client_beside_the_cluster(scale_data, dask_cluster, tmp_path):
    """MAUVE cannot merge from parts: it runs on the client over all items,
    with the same value; BLEU still comes from the workers."""
    for name in ("b.jsonl", "refs.jsonl"):  # 40 items: MAUVE's featurizer is the slow part
        lines = (scale_data / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (tmp_path / name).write_text("".join(lines[:40]), encoding="utf-8")
    args = ["compare", "--metrics", "bleu,mauve", "--set", "mauve.seeds=1", "--set", "mauve.kmeans_num_redo=1",
            "--set", "mauve.num_buckets=4", "--set", f"mauve.cache_dir={tmp_path / 'features'}",
            "--system", f"b={tmp_path / 'b.jsonl'}", "--references", tmp_path / "refs.jsonl",
            "--format", "json", "--bootstrap", "0", "--no-html"]
    here = run_evalkit(*args, "--out", tmp_path / "here", env={"HF_HUB_OFFLINE": "1"})
    there = run_evalkit(*args, "--out", tmp_path / "there", "--engine", "dask", "--scheduler", dask_cluster.address,
                        "--partition-size", "15", env={"HF_HUB_OFFLINE": "1"})
    assert here.returncode == 0 and there.returncode == 0, there.stderr
    one, two = json.loads(here.stdout)["results"], json.loads(there.stdout)["results"]
    assert [r["metric"] for r in two] == ["bleu", "mauve"]
    assert_same_numbers(one, two)
    assert 0 < two[1]["value"] < 1
