"""Merging the folders of a sharded judge run into the run's result.

``evalkit judge ... --shard I/N`` writes one folder per shard (its
``summary.json``, ``judgments.jsonl`` with every call's full record, and its
cache). :func:`read_shards` reads them, refuses folders that are not shards
of one run (other settings, another split, a missing shard, conflicting
verdicts) and :func:`merged_run` rebuilds the planned jobs and call records
from the judgments, then recomputes the items, win rates, scores and ratings
through :func:`evalkit.judge.aggregate.assemble` and
:func:`~evalkit.judge.aggregate.run_stats`, the functions an unsharded run
uses: the merged ``summary.json``, ``judgments.jsonl`` and ``report.md`` are
an unsharded run's. Counters of HTTP requests are the shards' sums (each
shard probes its server once).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evalkit.errors import InputError
from evalkit.judge.aggregate import Assembled, assemble, run_stats
from evalkit.judge.cache import JudgeCache
from evalkit.judge.shard import shard_of
from evalkit.judge.templates import load_template
from evalkit.judge.types import (
    CallRecord,
    Job,
    JudgeRun,
    JudgeSettings,
    JudgeStats,
    Mode,
    Shard,
    Template,
    Verdict,
    WholeRun,
    system_pairs,
)
from evalkit.settings import setting_names, validate

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.judge.style_control import StyleControl  # numpy: only when a merged run has style control

__all__ = ["ShardOutput", "merge_caches", "merged_run", "read_shard", "read_shards"]

_HINT = "give the --out folder of every shard of one run of evalkit judge ... --shard I/N"
#: Settings that may differ between the shards of one run.
_PER_SHARD = ("shard",)


def _load_json(path: pathlib.Path, line: int | None = None, text: str | None = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8") if text is None else text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read it: {exc}", path=str(path), line=line, hint=_HINT) from None


def _shard_of_summary(summary: object, path: pathlib.Path) -> tuple[Shard, WholeRun]:
    """The shard a ``summary.json`` says it is, and what it knows of the whole run."""
    block = summary.get("shard") if isinstance(summary, dict) else None
    if not isinstance(summary, dict) or not isinstance(block, dict):
        raise InputError("not a shard: its summary.json has no shard (a whole run needs no merge)", path=str(path))
    settings = summary.get("settings")
    if not (
        isinstance(settings, dict)
        and isinstance(settings.get("systems"), list)
        and isinstance(settings.get("n_items"), int)
        and summary.get("mode") in ("pairwise", "single")
        and isinstance(summary.get("signature"), str)
        and isinstance(summary.get("judge"), dict)
    ):
        raise InputError(
            "not a judge shard's summary: its mode, signature, judge or settings is missing", path=str(path)
        )
    try:
        whole = WholeRun(int(block["run_calls"]), str(block["run_digest"]))
        return Shard.parse(f"{block['number']}/{block['total']}"), whole
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f'its "shard" is unusable: {exc}', path=str(path)) from None


def read_shard(folder: pathlib.Path) -> ShardOutput:
    """One shard's folder: its ``summary.json`` and ``judgments.jsonl``."""
    summary_file, judgments_file = folder / "summary.json", folder / "judgments.jsonl"
    for path in (summary_file, judgments_file):
        if not path.is_file():
            raise InputError(f"no {path.name} here: not the folder of a judge run", path=str(folder), hint=_HINT)
    summary = _load_json(summary_file)
    shard, whole = _shard_of_summary(summary, summary_file)
    try:
        text = judgments_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read it: {exc}", path=str(judgments_file)) from None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            record = _load_json(judgments_file, number, line)
            if not isinstance(record, dict):
                raise InputError("not a JSON object", path=str(judgments_file), line=number)
            records.append((number, record))
    return ShardOutput(folder, summary, shard, whole, tuple(records))


def _identity(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What must be equal across the shards of one run."""
    settings = dict(summary.get("settings") or {})
    for name in _PER_SHARD:
        settings.pop(name, None)
    if settings.get("judge") == "local":  # the local judge's port changes from run to run
        settings.pop("base_url", None)
    base = str(summary.get("signature", "")).rsplit("|shard:", 1)[0]
    return {"signature": base, "evalkit_version": summary.get("evalkit_version"), **settings}


def _check_same_run(shards: Sequence[ShardOutput]) -> None:
    first = shards[0]
    counts = {s.shard.total for s in shards}
    if len(counts) > 1:
        split = ", ".join(f"{s.folder} is {s.shard}" for s in shards)
        raise InputError(
            f"the folders are shards of different splits ({split})", hint="merge the N shards of one --shard I/N split"
        )
    expected = _identity(first.summary)
    for other in shards[1:]:
        found = _identity(other.summary)
        diff = [
            f"{k} {expected.get(k)!r} vs {found.get(k)!r}"
            for k in {**expected, **found}
            if expected.get(k) != found.get(k)
        ]
        if diff:
            raise InputError(
                f"shard {other.shard} ({other.folder}) was run with other settings than shard {first.shard} "
                f"({first.folder}): {'; '.join(sorted(diff))}",
                hint="merge only the shards of one run: the same settings, template, systems and evalkit version",
            )
        if other.whole != first.whole:
            raise InputError(
                f"shard {other.shard} ({other.folder}) planned other calls than shard {first.shard} ({first.folder}): "
                f"{other.whole.calls} and {first.whole.calls} calls, digests {other.whole.digest[:12]} and "
                f"{first.whole.digest[:12]}: the shards read different data",
                hint="give every shard the same prompts, answers and references",
            )


def _verdicts(shard: ShardOutput) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Each record's job -> its call and verdict (what two copies of a shard must agree on)."""
    fields = ("key", "verdict", "meaning", "p_first", "probabilities", "unscored", "raw_answer")
    return {_job_id(r): tuple(json.dumps(r.get(f), sort_keys=True) for f in fields) for _, r in shard.records}


def _job_id(record: Mapping[str, Any]) -> tuple[Any, ...]:
    systems = (
        (record.get("system"),) if record.get("mode") == "single" else (record.get("system_a"), record.get("system_b"))
    )
    return (record.get("item"), systems, record.get("order"), record.get("repeat") or 0)


def _one_per_index(shards: Sequence[ShardOutput]) -> tuple[list[ShardOutput], list[str]]:
    """One folder per shard index; a shard given twice must agree with itself."""
    chosen: dict[int, ShardOutput] = {}
    notes: list[str] = []
    for shard in shards:
        kept = chosen.setdefault(shard.shard.number, shard)
        if kept is shard:
            continue
        a, b = _verdicts(kept), _verdicts(shard)
        conflicts = sorted((k for k in a.keys() | b.keys() if a.get(k) != b.get(k)), key=str)
        if conflicts:
            item, systems, order, repeat = conflicts[0]
            raise InputError(
                f"shard {shard.shard} is in {kept.folder} and {shard.folder} with different calls or verdicts "
                f"({len(conflicts)} jobs, first: item {item} of {'/'.join(map(str, systems))}"
                + (f", order {order}" if order else "")
                + (f", repeat {repeat}" if repeat else "")
                + ")",
                hint="keep the folder of the run that finished and give only that one",
            )
        notes.append(f"shard {shard.shard} is in {kept.folder} and {shard.folder}: identical, merged once")
    return [chosen[i] for i in sorted(chosen)], notes


def read_shards(folders: Iterable[pathlib.Path]) -> tuple[list[ShardOutput], list[str]]:
    """Every shard of one run, one per index and checked; and notes (shards given twice).

    Raises :class:`InputError` for a folder that is not a shard, shards of
    other settings or another split, conflicting copies of a shard, and
    missing shards, named: ``shard 3/4 missing: no folder given has it``.
    """
    shards = [read_shard(pathlib.Path(f)) for f in folders]
    if not shards:
        raise InputError("no shard folder given", hint=_HINT)
    _check_same_run(shards)
    unique, notes = _one_per_index(shards)
    count = shards[0].shard.total
    missing = [i for i in range(1, count + 1) if i not in {s.shard.number for s in unique}]
    if missing:
        names = ", ".join(f"{i}/{count}" for i in missing)
        plural = "s" if len(missing) > 1 else ""
        raise InputError(
            f"shard{plural} {names} missing: no folder given has {'them' if plural else 'it'}",
            hint=f"run evalkit judge ... --shard {missing[0]}/{count} (its cache keeps what it did) and merge again",
        )
    for shard in unique:
        _check_membership(shard)
    return unique, notes


def _check_membership(shard: ShardOutput) -> None:
    """Every call in a shard's judgments belongs to that shard (a renamed or mixed-up folder does not)."""
    path = str(shard.folder / "judgments.jsonl")
    for line, record in shard.records:
        key = record.get("key") if record.get("messages") is not None else None
        if not isinstance(key, str) and key is not None:
            raise InputError("its key is not a string", path=path, line=line)
        try:
            owner = shard_of(key, shard.shard.total) if key is not None else 1
        except ValueError:
            raise InputError(f"key {key!r} is not a cache key", path=path, line=line) from None
        if owner != shard.shard.number:
            raise InputError(
                f"this job belongs to shard {owner}/{shard.shard.total}, not to shard {shard.shard}",
                path=path,
                line=line,
                hint="a shard's folder holds only its own judgments: rerun that shard into a folder of its own",
            )


# -- rebuilding the run ----------------------------------------------------------------


def _settings(summary: Mapping[str, Any], where: str) -> JudgeSettings:
    """The run's settings (without the shard) from a shard's ``summary.json``."""
    reported = dict(summary.get("settings") or {})
    values = {k: v for k, v in reported.items() if k in setting_names(JudgeSettings) and k != "shard"}
    if values.get("judge") == "local":  # reported with the local server's address and model name
        values.pop("base_url", None)
        values.pop("model", None)
    return validate(JudgeSettings, values, where=where)


def _job(record: Mapping[str, Any]) -> Job:
    pairwise = record["mode"] == "pairwise"
    systems = (str(record["system_a"]), str(record["system_b"])) if pairwise else (str(record["system"]),)
    key = record.get("key") if record.get("messages") is not None else None
    flags = {str(k): tuple(v) for k, v in (record.get("possible_injection") or {}).items()}
    shown = tuple(record["shown"]) if pairwise else systems
    unscored = record.get("unscored") if key is None else None
    order = record.get("order") if pairwise else None
    return Job(int(record["item"]), systems, order, shown, key, flags, unscored, repeat=int(record.get("repeat") or 0))


def _call(record: Mapping[str, Any]) -> CallRecord:
    response = None
    if any(record.get(k) is not None for k in ("raw_answer", "finish_reason", "top_logprobs")):
        response = {
            "content": record.get("raw_answer"),
            "finish_reason": record.get("finish_reason"),
            "top_logprobs": record.get("top_logprobs"),
        }
    verdict = Verdict(
        label=record.get("verdict"),
        value=record.get("meaning"),
        p_first=record.get("p_first"),
        probabilities=record.get("probabilities"),
        missing_labels=tuple(record.get("missing_labels") or ()),
        missing_mass_bound=record.get("missing_mass_bound"),
        unscored=record.get("unscored"),
    )
    usage = {"prompt_tokens": int(record["prompt_tokens"]), "completion_tokens": int(record["completion_tokens"])}
    messages = tuple(dict(m) for m in record["messages"])
    latency = float(record["latency_s"])
    return CallRecord(
        str(record["key"]), messages, verdict, response, usage, latency, int(record["attempts"]), bool(record["cached"])
    )


def _jobs_and_calls(shards: Sequence[ShardOutput]) -> tuple[list[Job], dict[str, CallRecord]]:
    jobs: list[Job] = []
    calls: dict[str, CallRecord] = {}
    for shard in shards:
        for line, record in shard.records:
            try:
                job = _job(record)
                if job.key is not None and job.key not in calls:
                    calls[job.key] = _call(record)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                path = str(shard.folder / "judgments.jsonl")
                raise InputError(f"not a judgment record of evalkit judge: {exc!r}", path=path, line=line) from None
            jobs.append(job)
    return jobs, calls


def _plan_order(jobs: list[Job], mode: str, systems: Sequence[str], baseline: str | None) -> list[Job]:
    """The jobs in the order an unsharded run plans them: pair (or system), item, order, repeat."""
    groups = system_pairs(list(systems), baseline) if mode == "pairwise" else [(s,) for s in systems]
    rank = {tuple(g): n for n, g in enumerate(groups)}
    return sorted(jobs, key=lambda j: (rank.get(j.systems, len(rank)), j.item, j.order != "ab", j.repeat))


def _template(settings: JudgeSettings, mode: str, judge: Mapping[str, Any]) -> Template:
    template = load_template(settings.template or mode)
    if template.version != judge.get("template_version"):
        raise InputError(
            f"the shards used version {judge.get('template_version')} of template {template.name!r}; "
            f"this one is version {template.version}",
            path=str(template.path),
            hint="merge with the template file the shards were run with",
        )
    return template


def _stats(
    shards: Sequence[ShardOutput], calls: Mapping[str, CallRecord], parts: Assembled, settings: JudgeSettings
) -> JudgeStats:
    """The run's totals: recomputed from the calls; HTTP counters and durations summed over the shards."""
    names = ("requests_sent", "retries", "probe_requests")
    counters = {name: sum(int(s.summary.get(name) or 0) for s in shards) for name in names}
    return run_stats(
        calls,
        counters={"calls": len(calls), **counters},
        price=settings.price,
        flagged=len(parts.flagged),
        duration_s=sum(float(s.summary.get("duration_s") or 0.0) for s in shards),
    )


def merged_run(shards: Sequence[ShardOutput]) -> JudgeRun:
    """The whole run, from the checked shards of :func:`read_shards`."""
    first = shards[0].summary
    settings = _settings(first, f"{shards[0].folder / 'summary.json'} settings")
    mode: Mode = "pairwise" if first.get("mode") == "pairwise" else "single"
    reported, judge = dict(first["settings"]), dict(first.get("judge") or {})
    systems, n_items = tuple(str(s) for s in reported["systems"]), int(reported["n_items"])
    template = _template(settings, mode, judge)
    jobs, calls = _jobs_and_calls(shards)
    if len(calls) != shards[0].whole.calls:
        raise InputError(
            f"the shards hold {len(calls)} of the run's {shards[0].whole.calls} calls: a judgments.jsonl is incomplete",
            path=str(shards[0].folder),
            hint="rerun the shards (their caches keep what they finished) and merge again",
        )
    parts = assemble(
        mode=mode,
        template=template,
        systems=systems,
        n_items=n_items,
        jobs=_plan_order(jobs, mode, systems, settings.baseline),
        records=calls,
        baseline=settings.baseline,
        reconcile_mode=settings.reconcile,
        swapped=settings.swap,
    )
    return JudgeRun(
        mode=mode,
        settings=settings,
        template=template,
        protocol=str(judge.get("protocol")),
        signature=str(first["signature"]).rsplit("|shard:", 1)[0],
        systems=systems,
        n_items=n_items,
        base_url=str(judge.get("base_url") or ""),
        model=str(judge.get("model") or ""),
        pairs=parts.pairs,
        singles=parts.singles,
        items=parts.items,
        ratings=parts.ratings,
        stats=_stats(shards, calls, parts, settings),
        stopped=next((str(s.summary["stopped"]) for s in shards if s.summary.get("stopped")), None),
        style_control=_style_control(shards[0], settings, mode, parts, n_items),
    )


def _style_control(
    shard: ShardOutput, settings: JudgeSettings, mode: Mode, parts: Assembled, n_items: int
) -> StyleControl | None:
    """The merged run's length and style control, as an unsharded run
    computes it, from the answers' features a shard wrote (every shard read
    every answer)."""
    if mode != "pairwise" or not settings.style_control:
        return None
    from evalkit.judge.style_control import style_control_from_features

    path = shard.folder / "style_features.json"
    data = _load_json(path) if path.is_file() else None
    if not isinstance(data, dict) or not isinstance(data.get("systems"), dict):
        raise InputError(
            "no style_features.json with the answers' style features", path=str(path), hint="rerun the shard"
        )
    names = list(data.get("features") or [])
    features = {
        (str(system), i): dict(zip(names, values))
        for system, rows in data["systems"].items()
        for i, values in enumerate(rows)
        if values is not None
    }
    return style_control_from_features(
        parts.items,
        features,
        n_items=n_items,
        probabilities=settings.reconcile == "average",
        rounds=settings.style_control_rounds,
        rate=parts.ratings is not None,
    )


def merge_caches(sources: Iterable[pathlib.Path], target: pathlib.Path) -> int:
    """Copy every row of the ``sources`` caches that ``target`` lacks into it; the rows added."""
    cache = JudgeCache(target)
    try:
        return sum(
            cache.copy_from(source) for source in sources if source.is_file() and source.resolve() != target.resolve()
        )
    finally:
        cache.close()


@dataclass(frozen=True)
class ShardOutput:
    """One shard's folder as read: its summary, its shard and its judgment records (with line numbers)."""

    folder: pathlib.Path
    summary: Mapping[str, Any]
    shard: Shard
    whole: WholeRun
    records: tuple[tuple[int, Mapping[str, Any]], ...]
