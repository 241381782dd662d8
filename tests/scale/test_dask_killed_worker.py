"""A partition that kills every worker that scores it: `evalkit compare
--engine dask` stops with exit 2 and one message, not a traceback.

The trigger is real: a metric plugin (found through the ``evalkit.metrics``
entry-point group, importable on the workers) declares ``partitioned``, so
its partitions are scored on the workers, and it ends the worker process
(``os._exit``) on the partition that holds the item ``CRASH``. The workers
run under nannies, which restart them; the scheduler allows one failure
(``distributed.scheduler.allowed-failures``), so the second death of the same
task raises distributed's ``KilledWorker`` on the client."""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_evalkit
from tests.scale.conftest import Cluster

PLUGIN = '''
    """A word-count metric that ends its worker on an item that says CRASH."""
    import os

    from evalkit.result import MetricResult


    class CrashingLength:
        name = "crashing_length"
        needs_references = False
        capabilities = frozenset({"partitioned"})

        def score(self, *, predictions, references=None):
            if any(p is not None and "CRASH" in p for p in predictions):
                from distributed import get_worker

                get_worker()  # raises ValueError off a worker: never end the client
                os._exit(1)
            per_item = [None if p is None else float(len(p.split())) for p in predictions]
            return self._result(per_item)

        def merge_parts(self, parts):
            return self._result([v for part in parts for v in part.per_item])

        def _result(self, per_item):
            scored = [v for v in per_item if v is not None]
            return MetricResult(
                metric=self.name,
                value=sum(scored) / len(scored) if scored else None,
                per_item=per_item,
                unscored={i: "missing prediction" for i, v in enumerate(per_item) if v is None},
                signature="crashing_length|v:1",
            )
'''


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin as an installed distribution: its module and a
    ``.dist-info`` folder with the entry point, as pip would lay them out."""
    site = tmp_path_factory.mktemp("crash_plugin")
    (site / "evalkit_crash_plugin.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = site / "evalkit_crash_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evalkit-crash-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[evalkit.metrics]\ncrashing_length = evalkit_crash_plugin:CrashingLength\n")
    return site


def _compare_args(tmp_path: Path, name: str, texts: list[str]) -> list[object]:
    predictions = tmp_path / f"{name}.jsonl"
    predictions.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return ["compare", "--metrics", "crashing_length", "--system", f"p={predictions}", "--format", "json",
            "--out", tmp_path / name]  # fmt: skip


def test_a_partition_that_keeps_killing_workers_exits_2(plugin_site: Path, tmp_path: Path) -> None:
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1", "PYTHONPATH": f"{REPO}{os.pathsep}{plugin_site}"}
    texts = [f"answer number {i}" for i in range(20)]

    # the plugin scores where nothing dies: one process, 19 answers of 3 words and one of 2
    fine = run_evalkit(*_compare_args(tmp_path, "fine", [*texts[:13], "fine here", *texts[14:]]), env=env)
    assert fine.returncode == 0, fine.stderr
    assert json.loads(fine.stdout)["results"][0]["value"] == pytest.approx((19 * 3 + 2) / 20)

    args = _compare_args(tmp_path, "crash", [*texts[:13], "CRASH here", *texts[14:]])  # in the 3rd partition of 5
    cluster = Cluster(n_workers=2, env=env, nanny=True)
    try:
        started = time.monotonic()
        result = run_evalkit(
            *args, "--engine", "dask", "--scheduler", cluster.address, "--partition-size", "5", env=env, timeout=120
        )
        took = time.monotonic() - started
        cluster.wait(2)  # the nannies brought both workers back: the run stopped on the failures allowed
    finally:
        cluster.stop()
    assert result.returncode == 2, result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("evalkit: error:")]
    assert error.startswith("evalkit: error: a partition killed Dask workers again and again (")
    assert "Attempted to run task '_score_file_part-" in error and "on 2 different workers" in error
    hint = "  hint: look at the workers' logs (memory?); a smaller --partition-size needs less memory per task"
    assert hint in result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert took < 60
