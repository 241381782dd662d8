"""Metrics on a Dask cluster, with the numbers one process gives.

The client plans partitions of the items (:mod:`evalkit.partitions`: byte
offsets and Parquet row groups, no text) or takes a Dask DataFrame's; each
worker reads its partition and scores it with the same metric objects
(pickled) through the runner's own scoring path. The client then merges the
parts of every (system, metric) in item order with the metric's
``merge_parts`` (capability ``partitioned``): corpus metrics (BLEU, chrF, TER)
from their concatenated sufficient statistics, bit for bit; mean metrics
(ROUGE) from the per-item scores. Statistics (bootstrap, paired tests) run on
the client from the merged results, as after a one-process run.

Metrics that cannot be merged from parts (MAUVE, the judge metrics, plugins
that do not declare ``partitioned``) run on the client over all items.

A lost worker's partitions are computed again on another worker (Dask's own
retry); an unreachable scheduler, workers with other versions, or partitions
that keep killing workers raise :class:`~evalkit.errors.EngineError`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from evalkit.errors import ConfigError, EngineError, InputError, MissingDependencyError
from evalkit.frames import FrameColumns, frame_columns, part_inputs
from evalkit.loading import (
    InputSpec,
    check_prediction_count,
    check_reference_counts,
    check_reference_nulls,
    join_references,
)
from evalkit.metrics import registry
from evalkit.metrics.base import Metric, PartitionedMetric, has_capability
from evalkit.partitions import FilePlan, plan_file, read_part
from evalkit.result import MetricResult
from evalkit.runner import Comparison, Options, _Inputs, _score_all, build_metrics, compare

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["CONNECT_TIMEOUT", "DaskSetup", "compare_files", "compare_frame", "connect"]

#: seconds to wait for a scheduler before giving up
CONNECT_TIMEOUT = 5
#: packages whose versions change numbers: client and workers must agree
_PINNED = ("evalkit", "sacrebleu", "rouge_score", "numpy", "rapidfuzz")
_INSTALL = "pip install 'evalkit[dask]'"


def _worker_versions() -> dict[str, str]:
    """The versions that matter for exact numbers, where this runs."""
    import importlib

    found = {"python": f"{sys.version_info[0]}.{sys.version_info[1]}"}
    for name in _PINNED:
        module = importlib.import_module(name)
        found[name] = str(getattr(module, "__version__", "") or _distribution_version(name))
    return found


def _distribution_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name.replace("_", "-"))
    except PackageNotFoundError:
        return "?"


def check_versions(client: Client) -> None:
    """Every worker runs the client's versions of what changes numbers."""
    here = _worker_versions()
    try:
        client.get_versions(check=True)
        workers = client.run(_worker_versions)
    except ValueError as exc:  # distributed's own check: dask/distributed/msgpack... differ
        raise EngineError(f"the Dask workers run other versions than this client: {exc}") from None
    except Exception as exc:  # the probe did not even unpickle: no (or another) evalkit there
        raise EngineError(
            f"the Dask workers cannot run evalkit's code ({type(exc).__name__}: {exc})",
            hint="install the same evalkit (and its dask extra) on every worker",
        ) from None
    for worker, versions in sorted(workers.items()):
        for name, mine in here.items():
            if versions.get(name) != mine:
                raise EngineError(
                    f"worker {worker} runs {name} {versions.get(name)}, this client {mine}: "
                    "the numbers would not be the same",
                    hint=f"install {name} {mine} on every worker (one environment for client and workers)",
                )


def _local_cluster() -> Any:
    """A LocalCluster on this machine: one single-threaded worker process per core."""
    from distributed import LocalCluster

    from evalkit.parallel import available_cores

    try:
        return LocalCluster(
            n_workers=available_cores(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        )
    except (RuntimeError, OSError, TimeoutError) as exc:
        raise EngineError(
            f"could not start a local Dask cluster: {exc}",
            hint="in a script, call evalkit from under `if __name__ == '__main__':` (workers start a fresh Python), "
            "or give --scheduler tcp://HOST:PORT",
        ) from None


@contextlib.contextmanager
def connect(scheduler: str | None) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a new LocalCluster
    (one single-threaded worker process per core) when it is ``None``."""
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError("dask and distributed (for --engine dask)", install=_INSTALL) from None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            address: Any = stack.enter_context(_local_cluster())
        else:
            address = scheduler
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise EngineError(
                f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT} s ({exc})",
                hint="check the address (tcp://HOST:PORT) and that `dask scheduler` runs there",
            ) from None
        stack.enter_context(client)
        check_versions(client)
        yield client


def _gather(client: Client, futures: list[Any]) -> list[Any]:
    """Every partition's result, in order, each fetched as soon as it is
    ready and then released, so that a worker holds only the partitions in
    flight. A lost worker's partitions are recomputed by Dask; a partition
    that keeps killing workers is an error."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    where = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    pending = as_completed(futures, loop=client.loop, with_results=True)
    futures.clear()  # only `pending` holds them now: a fetched one is released
    try:
        for future, result in pending:
            results[where[future.key]] = result
            del future, result
    except KilledWorker as exc:
        raise EngineError(
            f"a partition killed Dask workers again and again ({exc})",
            hint="look at the workers' logs (memory?); a smaller --partition-size needs less memory per task",
        ) from None
    except (OSError, TimeoutError) as exc:
        raise EngineError(f"lost the connection to the Dask scheduler: {exc}") from None
    return results


# -- on the workers ------------------------------------------------------------------


def _score_systems(
    metrics: Sequence[Metric], systems: Mapping[str, Sequence[str | None]], references: Any
) -> dict[str, list[MetricResult]]:
    return {name: _score_all(metrics, preds, _Inputs(references)) for name, preds in systems.items()}


def _score_file_part(metrics: Sequence[Metric], source: FileSource, k: int) -> dict[str, list[MetricResult]]:
    systems = {name: read_part(plan, k) for name, plan in source.systems.items()}
    streams = []
    for plan in source.references:
        segments = read_part(plan, k, allow_lists=True)
        check_reference_nulls(plan.path, segments, first=k * plan.size)
        streams.append(segments)
    references = join_references(streams) if streams else None
    return _score_systems(metrics, systems, references)  # type: ignore[arg-type]


def _score_frame_part(metrics: Sequence[Metric], columns: FrameColumns, part: Any) -> dict[str, list[MetricResult]]:
    systems, references, _ = part_inputs(part, columns)
    return _score_systems(metrics, systems, references)


# -- on the client ----------------------------------------------------------------------


def _merge(
    metrics: Sequence[Metric], systems: Sequence[str], parts: Sequence[dict[str, list[MetricResult]]]
) -> dict[tuple[str, str], MetricResult]:
    """Every (system, metric)'s parts merged. The parts are taken out of
    ``parts`` and let go once merged, so that the client holds the parts or
    the whole of each one, not both."""
    merged: dict[tuple[str, str], MetricResult] = {}
    for system in systems:
        by_metric: list[tuple[MetricResult, ...]] = list(zip(*(part.pop(system) for part in parts)))
        by_metric = by_metric or [()] * len(metrics)
        for j, metric in enumerate(metrics):
            pieces, by_metric[j] = by_metric[j], ()
            merged[(system, metric.name)] = cast(PartitionedMetric, metric).merge_parts(pieces)
            del pieces
    return merged


def _split_metrics(names: Sequence[str], options: Options) -> tuple[list[Metric], list[str]]:
    """Metrics the workers score in parts, and the names of those the client
    scores over all items."""
    built = build_metrics(names, options)
    parted = [m for m in built if has_capability(m, "partitioned")]
    whole = [n for n, m in zip(names, built) if not has_capability(m, "partitioned")]
    return parted, whole


def _comparison(
    names: Sequence[str],
    systems: Sequence[str],
    n_items: int,
    merged: dict[tuple[str, str], MetricResult],
    metric_objects: dict[str, Metric],
    setup: DaskSetup,
    whole: Comparison | None,
) -> Comparison:
    results = dict(merged)
    objects = dict(metric_objects)
    if whole is not None:
        results.update(whole.results)
        objects.update(whole.metric_objects)
    return Comparison(
        systems=tuple(systems),
        metrics=tuple(names),
        results={(s, m): results[(s, m)] for s in systems for m in names},
        n_items=n_items,
        options={k: dict(v) for k, v in setup.options.items()},
        baseline=setup.baseline,
        metric_objects={n: objects[n] for n in names},
        prompts=whole.prompts if whole is not None else None,
        predictions=whole.predictions if whole is not None else {},
        references=whole.references if whole is not None else None,
    )


def _plans(
    systems: Mapping[str, InputSpec], references: Sequence[InputSpec], size: int
) -> tuple[dict[str, FilePlan], list[FilePlan]]:
    refs = [plan_file(s.path, field=s.field, format=s.format, size=size) for s in references]
    check_reference_counts({p.path: p.n_items for p in refs})
    plans = {}
    for name, spec in systems.items():
        plan = plan_file(spec.path, field=spec.field, format=spec.format, size=size)
        if refs:
            check_prediction_count(name, plan.path, plan.n_items, refs[0].n_items, [p.path for p in refs])
        plans[name] = plan
    counts = {name: p.n_items for name, p in plans.items()}
    if len(set(counts.values())) > 1:
        raise InputError("systems have different numbers of items: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return plans, refs


def compare_files(
    systems: Mapping[str, InputSpec],
    *,
    references: Sequence[InputSpec],
    prompts: InputSpec | None,
    metrics: Sequence[str],
    setup: DaskSetup,
) -> Comparison:
    """``runner.compare`` over files, the metrics scored on a Dask cluster."""
    names = registry.expand(list(metrics))
    plans, ref_plans = _plans(systems, references, setup.partition_size)
    parted, whole_names = _split_metrics(names, setup.options)
    first = next(iter(plans.values()))
    merged: dict[tuple[str, str], MetricResult] = {}
    if parted:
        source = FileSource(plans, tuple(ref_plans))
        with connect(setup.scheduler) as client:
            futures = [client.submit(_score_file_part, parted, source, k, pure=False) for k in range(first.n_parts)]
            merged = _merge(parted, list(plans), _gather(client, futures))
    whole = _whole(whole_names, systems, references, prompts, setup) if whole_names else None
    objects = {m.name: m for m in parted}
    return _comparison(names, list(plans), first.n_items, merged, objects, setup, whole)


def _whole(
    names: Sequence[str],
    systems: Mapping[str, InputSpec],
    references: Sequence[InputSpec],
    prompts: InputSpec | None,
    setup: DaskSetup,
) -> Comparison:
    """The metrics that cannot be merged from parts, over all items here."""
    from evalkit.loading import load_references, load_systems, load_texts

    refs, files = load_references(list(references)) if references else (None, [])
    loaded = load_systems(dict(systems), n_references=len(refs) if refs is not None else None, reference_files=files)
    texts = load_texts(prompts) if prompts is not None else None
    wanted = set(names)
    options = {k: v for k, v in setup.options.items() if k in wanted or set(registry.GROUPS.get(k, ())) & wanted}
    return compare(
        loaded, references=refs, metrics=list(names), options=options, prompts=texts, baseline=setup.baseline
    )


def compare_frame(
    frame: Any,
    *,
    references: str | Sequence[str] | None,
    metrics: Sequence[str],
    setup: DaskSetup,
) -> Comparison:
    """``runner.compare`` over a pandas or Dask DataFrame (:mod:`evalkit.frames`),
    its partitions scored on a Dask cluster."""
    try:
        import dask.dataframe as dd
    except ImportError:
        raise MissingDependencyError("dask (for engine='dask')", install=_INSTALL) from None
    columns = frame_columns(frame, references=references, prompts=None)
    names = registry.expand(list(metrics))
    parted, whole_names = _split_metrics(names, setup.options)
    if whole_names:
        raise ConfigError(
            f"{', '.join(whole_names)} cannot be merged from partitions",
            hint="score it with engine='local'; on Dask a frame takes the metrics that declare 'partitioned'",
        )
    if not isinstance(frame, dd.DataFrame):
        import dask

        # keep cells as they are: Dask would turn object columns (lists of references) into strings
        with dask.config.set({"dataframe.convert-string": False}):
            frame = dd.from_pandas(frame, chunksize=setup.partition_size, sort=False)
    with connect(setup.scheduler) as client:
        from dask import delayed

        tasks = [delayed(_score_frame_part, pure=False)(parted, columns, part) for part in frame.to_delayed()]
        parts = _gather(client, list(client.compute(tasks)))
    merged = _merge(parted, columns.systems, parts)
    n_items = len(next(iter(merged.values())).per_item)
    return _comparison(names, columns.systems, n_items, merged, {m.name: m for m in parted}, setup, None)


@dataclass(frozen=True)
class DaskSetup:
    """Where and how a Dask run scores."""

    scheduler: str | None = None
    partition_size: int = 50_000
    options: Options = field(default_factory=dict)
    baseline: str | None = None


@dataclass(frozen=True)
class FileSource:
    """What every worker needs to read partition ``k`` of every input."""

    systems: Mapping[str, FilePlan]
    references: tuple[FilePlan, ...]
