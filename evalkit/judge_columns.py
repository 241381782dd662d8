"""Where the judge meets the statistics: run the ``[judge]`` table of a config,
and turn judge results into :class:`~evalkit.stats.analysis.JudgeColumn`
values (``win_rate``, ``position_consistency``...) that are shown, get
intervals and are gated beside the metrics.

A system's ``win_rate`` is its win rate against the baseline (read from
either side of the pair); without a baseline, against its only opponent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import ConfigError, InputError
from evalkit.stats.analysis import JudgeColumn

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.config import RunSettings
    from evalkit.judge.types import JudgeRun, PanelRun
    from evalkit.stats.gates import Gate

__all__ = [
    "AGREEMENT",
    "JudgeResult",
    "check_agreement_gates",
    "columns_from_pairs",
    "judge_columns",
    "load_judge_pairs",
    "run_judges",
]

#: Pair fields seen from system_a's side (flipped for system_b) and fields that
#: do not depend on the side.
_SIDED = ("win_rate", "decisive_win_rate", "mean_p_win")
_NEUTRAL = ("position_consistency", "first_position_rate", "agreement")
#: The judge value that gates on agreement with human labels: a pair's
#: ``human_agreement.accuracy``; in single mode a system's Spearman rho.
AGREEMENT = "agreement"
#: Stability over ``--repeats``: a column only when the run had repeats.
_STABILITY = ("flip_rate", "repeat_agreement", "pass_k")


@dataclass(frozen=True)
class JudgeResult:
    """One run of the ``[judge]`` table, and the folder its files go to."""

    run: JudgeRun
    out: Path
    #: a panel of judges: its judges and agreement (``run`` is its pooled run)
    panel: PanelRun | None = None


def run_judges(
    settings: RunSettings,
    on_run: Callable[[JudgeRun], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> tuple[JudgeResult, ...]:
    """Run every run of the ``[judge]`` table (none without one) against one
    server provider (the local judge starts once, when a call must be sent);
    ``on_run`` sees each run as soon as it is done, ``on_start`` is told
    before the local judge starts."""
    if settings.judge is None:
        return ()
    from evalkit.judge.cli import run_panel_spec, run_spec, specs_from_table, uses_logits
    from evalkit.judge.server import JudgeServers

    default_out = str((settings.out or Path("reports")).resolve() / "judge")
    specs = specs_from_table(
        settings.judge, base_dir=settings.base_dir, source=settings.source, default_out=default_out
    )
    logits_all = any(uses_logits(spec) for spec in specs)
    results = []
    with JudgeServers(logits_all=logits_all, on_start=on_start) as servers:
        for spec in specs:
            panel = run_panel_spec(spec, servers=servers) if spec.panel else None
            run = panel.pooled if panel is not None else run_spec(spec, servers=servers)[0]
            if on_run is not None:
                on_run(run)
            results.append(JudgeResult(run, spec.out, panel))
    return tuple(results)


def load_judge_pairs(path: Path) -> list[Mapping[str, object]]:
    """The pair records of a judge ``summary.json`` (a file, or a folder that
    holds ``summary.json`` or ``pairwise/summary.json``)."""
    candidates = [path] if path.suffix == ".json" else [path / "summary.json", path / "pairwise" / "summary.json"]
    for candidate in candidates:
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"cannot read the judge summary: {exc}", path=str(candidate)) from None
            if isinstance(data, dict) and data.get("shard"):
                shard = data["shard"]
                which = f"{shard.get('number')}/{shard.get('total')}" if isinstance(shard, dict) else ""
                raise InputError(
                    f"this is shard {which} of a judge run, not its result",
                    path=str(candidate),
                    hint="merge the shards with evalkit judge merge DIR... and give the merged summary.json",
                )
            pairs = data.get("pairs") if isinstance(data, dict) else None
            if not isinstance(pairs, list):
                raise InputError("no 'pairs' list: not a pairwise judge summary.json", path=str(candidate))
            return [p for p in pairs if isinstance(p, dict)]
    raise InputError("no judge summary.json here", path=str(path), hint="give the summary.json of a pairwise run")


def _side(
    pairs: Sequence[Mapping[str, object]], system: str, baseline: str | None
) -> tuple[Mapping[str, object], bool] | None:
    """The one pair of ``system`` against the baseline (or its only
    opponent), and whether ``system`` is its system_b."""
    found = []
    for pair in pairs:
        a, b = pair.get("system_a"), pair.get("system_b")
        if system in (a, b):
            other = b if a == system else a
            if baseline is None or other == baseline:
                found.append((pair, b == system))
    return found[0] if len(found) == 1 else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def columns_from_pairs(pairs: Sequence[Mapping[str, object]], *, baseline: str | None) -> list[JudgeColumn]:
    """Judge values per system from pair records (``summary.json``'s
    ``pairs``), without per-item scores.

    >>> columns_from_pairs([{"system_a": "new", "system_b": "main", "win_rate": 0.4}], baseline="main")
    [JudgeColumn(system='new', metric='win_rate', value=0.4, per_item=None)]
    """
    pairs = [_with_agreement(p) for p in pairs]
    systems = dict.fromkeys(str(p[k]) for p in pairs for k in ("system_a", "system_b") if k in p)
    out: list[JudgeColumn] = []
    for system in systems:
        side = _side(pairs, system, baseline) if system != baseline else None
        if side is None:
            continue
        pair, flipped = side
        for key in _SIDED + _NEUTRAL:
            if key not in pair:
                continue
            value = _number(pair[key])
            if value is not None and flipped and key in _SIDED:
                value = 1.0 - value
            out.append(JudgeColumn(system, key, value))
        out += [
            JudgeColumn(system, key, _number(pair[key])) for key in _STABILITY if _number(pair.get(key)) is not None
        ]
    return out


def _with_agreement(pair: Mapping[str, object]) -> Mapping[str, object]:
    """A pair record with its ``agreement`` (``human_agreement.accuracy``) on top, when labels measured it."""
    human = pair.get("human_agreement")
    if isinstance(human, Mapping) and AGREEMENT not in pair:
        return {**pair, AGREEMENT: human.get("accuracy")}
    return pair


def check_agreement_gates(gates: Sequence[Gate], settings: RunSettings) -> None:
    """A gate on ``agreement`` needs human labels in the ``[judge]`` table (or
    a judge summary that has them): refused before anything runs, never a
    silent pass."""
    if not any(g.metric == AGREEMENT for g in gates) or settings.checks.judge_summary is not None:
        return
    table = settings.judge or {}
    tables: list[Mapping[str, object]] = [table]
    tables += [sub for sub in (table.get("pairwise"), table.get("single")) if isinstance(sub, Mapping)]
    if any("labels" in t for t in tables):
        return
    rule = next(g.rule for g in gates if g.metric == AGREEMENT)
    where = f"{settings.source}: " if settings.source else ""
    raise ConfigError(
        f"{where}gate {rule!r} measures the judge against human labels, but no labels are given",
        hint='add labels = "FILE" to the [judge] table (format: docs/judge.md, "Human labels")',
    )


def judge_columns(
    runs: Sequence[JudgeRun], *, baseline: str | None, summary_file: Path | None = None
) -> list[JudgeColumn]:
    """The judge values of this run's judge runs (with per-item scores), and
    of a ``summary.json`` from another run."""
    columns: list[JudgeColumn] = []
    for run in runs:
        columns += _run_columns(run, baseline)
    if summary_file is not None:
        columns += columns_from_pairs(load_judge_pairs(summary_file), baseline=baseline)
    return columns


def _canary_columns(run: JudgeRun) -> list[JudgeColumn]:
    """``canary_drift`` (1 when the drift canary moved beyond the judge's
    stability, else 0) and ``null_canary_wins`` (how many null-model canaries
    beat the baseline), the same for every system of the run: gateable with
    ``canary_drift > 0`` or ``null_canary_wins > 0``."""
    values: dict[str, float] = {}
    if run.canary is not None:
        values["canary_drift"] = 1.0 if run.canary.drift else 0.0
    if run.null_canaries:
        values["null_canary_wins"] = float(sum(1 for c in run.null_canaries if c.beats_baseline))
    return [JudgeColumn(system, key, value) for system in run.systems for key, value in values.items()]


def _run_columns(run: JudgeRun, baseline: str | None) -> list[JudgeColumn]:
    """A run's values and its canaries'; ``win_rate`` and ``judge_score``
    carry their per-item verdicts (both orders of an item already
    reconciled), for intervals."""
    return _judge_values(run, baseline) + _canary_columns(run)


def _single_values(run: JudgeRun) -> list[JudgeColumn]:
    from evalkit.judge.agreement_report import single_agreement_of

    columns = [
        JudgeColumn(s.system, "judge_score", s.mean, tuple(run.single_item_scores(s.system))) for s in run.singles
    ]
    for s in run.singles:
        values = {key: getattr(s, key) for key in _STABILITY}
        columns += [JudgeColumn(s.system, key, value) for key, value in values.items() if value is not None]
    for a in (single_agreement_of(run, s.system) for s in run.singles):
        if a is not None and a.system is not None:
            columns.append(JudgeColumn(a.system, AGREEMENT, a.spearman))
    return columns


def _judge_values(run: JudgeRun, baseline: str | None) -> list[JudgeColumn]:
    from evalkit.judge.agreement_report import human_agreement_record

    if run.mode == "single":
        return _single_values(run)
    columns = []
    records = [
        {**p.to_dict(), "human_agreement": human_agreement_record(run, (p.system_a, p.system_b))} for p in run.pairs
    ]
    for column in columns_from_pairs(records, baseline=baseline):
        if column.metric == "win_rate":
            opponent = _opponent(run, column.system, baseline)
            per_item = tuple(run.pair_item_scores(column.system, opponent, probabilities=False))
            column = JudgeColumn(column.system, column.metric, column.value, per_item)
        columns.append(column)
    return columns


def _opponent(run: JudgeRun, system: str, baseline: str | None) -> str:
    if baseline is not None:
        return baseline
    pair = next(p for p in run.pairs if system in (p.system_a, p.system_b))
    return pair.system_b if pair.system_a == system else pair.system_a
