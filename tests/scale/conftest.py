"""A real Dask cluster on loopback for the scale tests: ``dask scheduler``
and ``dask worker`` processes (no nanny unless asked, one thread each), on
free ports, torn down by process id."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.textgen import varied_pairs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(address: str, n_workers: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout=timeout, set_as_default=False) as client:
        client.wait_for_workers(n_workers, timeout=timeout)


class Cluster:
    """``dask scheduler`` + ``dask worker`` processes started here."""

    def __init__(self, n_workers: int = 2, env: dict | None = None, *, nanny: bool = False) -> None:
        self.nanny = nanny  # a nanny process restarts its worker when the worker dies
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1])
        self.workers: list[subprocess.Popen] = []
        try:
            for _ in range(n_workers):
                self.add_worker()
            if n_workers:
                _wait_for(self.address, n_workers)
        except BaseException:
            self.stop()
            raise

    def _start(self, *args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args, "--no-dashboard"],
            cwd=cwd,
            env=env or self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def add_worker(self, env: dict | None = None, cwd: Path = REPO) -> subprocess.Popen:
        nanny = "--nanny" if self.nanny else "--no-nanny"
        worker = self._start("worker", self.address, "--nthreads", "1", nanny, env=env, cwd=cwd)
        self.workers.append(worker)
        return worker

    def wait(self, n_workers: int) -> None:
        _wait_for(self.address, n_workers)

    def stop(self) -> None:
        # workers hold nothing worth a graceful close: kill them, then stop the scheduler
        for process in self.workers:
            if process.poll() is None:
                process.kill()
        if self.scheduler.poll() is None:
            self.scheduler.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def dask_cluster():
    cluster = Cluster(n_workers=2)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def fresh_cluster():
    """A cluster of its own, for a test that kills a worker."""
    cluster = Cluster(n_workers=2)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def scale_data(tmp_path_factory) -> Path:
    """Two systems (JSONL, with missing predictions) and references with a
    varying number per item, as JSONL, plain text and Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("scale")
    predictions, references = varied_pairs(n=160, seed=11, long_words=40)
    rng = random.Random(3)
    other = [p if rng.random() > 0.1 else None for p in reversed(predictions)]
    mine = [p if i % 17 else None for i, p in enumerate(predictions)]
    lines = {"a.jsonl": mine, "b.jsonl": other}
    for name, values in lines.items():
        (folder / name).write_text("".join(json.dumps({"text": v}) + "\n" for v in values), encoding="utf-8")
    (folder / "refs.jsonl").write_text(
        "".join(json.dumps({"reference": r}) + "\n" for r in references), encoding="utf-8"
    )
    (folder / "first_refs.txt").write_text("".join(r[0].replace("\n", " ") + "\n" for r in references), "utf-8")
    pq.write_table(pa.table({"output": mine}), folder / "a.parquet", row_group_size=50)
    pq.write_table(pa.table({"output": other}), folder / "b.parquet", row_group_size=64)
    pq.write_table(pa.table({"gold": pa.array(references, pa.list_(pa.string()))}), folder / "refs.parquet", row_group_size=30)
    return folder
