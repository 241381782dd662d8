"""``evaluate(settings) -> Evaluation``: the whole run as one pure step.

Settings in (:class:`~evalkit.config.RunSettings`), one frozen
:class:`Evaluation` out: the comparison of every system on every metric, the
judge runs, the statistics and the gate outcomes. Nothing is printed or
written here; every writer (terminal, markdown, CSV, JSON, HTML, JUnit, the
GitHub summary, the judge's files) takes the :class:`Evaluation`. A caller
that wants to show results as they come passes a :class:`Progress`.

>>> from evalkit.config import RunSettings, CheckSettings
>>> from evalkit.loading import InputSpec
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "ref.txt").write_text("the cat sat on the mat\\n", encoding="utf-8")
>>> _ = (folder / "a.txt").write_text("the cat sat on the mat\\n", encoding="utf-8")
>>> settings = RunSettings(metrics=("bleu",), systems={"a": InputSpec(folder / "a.txt")},
...                        references=(InputSpec(folder / "ref.txt"),), checks=CheckSettings(bootstrap=0))
>>> round(evaluate(settings).comparison.result("a", "bleu").value, 6)
100.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from evalkit.config import CheckSettings, RunSettings
from evalkit.errors import ConfigError, ExitCode
from evalkit.stats.gates import Gate, GateOutcome, parse_rules
from evalkit.stats.gates import evaluate as evaluate_gates

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.judge.types import JudgeRun, PanelRun
    from evalkit.runner import Comparison
    from evalkit.stats.analysis import Analysis, JudgeColumn

__all__ = ["Evaluation", "Progress", "evaluate"]


class Progress(Protocol):
    """What :func:`evaluate` reports while it runs (the CLI prints it)."""

    def comparison_ready(self, comparison: Comparison) -> None: ...

    def judge_run_ready(self, run: JudgeRun) -> None: ...

    def local_judge_starting(self) -> None: ...


@dataclass(frozen=True)
class Evaluation:
    """Everything one run computed; what every writer takes."""

    settings: RunSettings
    comparison: Comparison | None
    judge_runs: tuple[JudgeRun, ...] = ()
    #: the folder each judge run's files go to (same order as ``judge_runs``)
    judge_dirs: tuple[Path, ...] = ()
    judge_columns: tuple[JudgeColumn, ...] = ()
    analysis: Analysis | None = None
    gates: tuple[GateOutcome, ...] = ()
    #: why no gate was checked although rules were given (a dry run)
    gates_skipped: str | None = None
    #: per judge run (same order), its panel of judges (``None``: one judge)
    judge_panels: tuple[PanelRun | None, ...] = ()

    @property
    def gates_failed(self) -> tuple[GateOutcome, ...]:
        return tuple(g for g in self.gates if not g.passed)

    @property
    def budget_stopped(self) -> bool:
        return any(run.stopped for run in self.judge_runs)

    @property
    def status(self) -> ExitCode:
        """1 when a gate failed; else 3 when the judge stopped at its budget; else 0."""
        if self.gates_failed:
            return ExitCode.GATE_FAILED
        if self.budget_stopped:
            return ExitCode.BUDGET_STOPPED
        return ExitCode.OK


def _preflight(checks: CheckSettings, gates: Sequence[Gate]) -> None:
    """Settings that cannot work fail before any scoring."""
    if checks.bootstrap == 0 and any(g.alpha is not None for g in gates):
        raise ConfigError("gates with (p<...) need the paired test, which --bootstrap 0 turns off")
    if checks.github_summary and not os.environ.get("GITHUB_STEP_SUMMARY"):
        raise ConfigError(
            "--github-summary: $GITHUB_STEP_SUMMARY is not set",
            hint="GitHub Actions sets it in every job step; outside Actions leave out --github-summary",
        )
    if any(g.against_baseline for g in gates) and checks.baseline is None:
        raise ConfigError(
            "a --fail-if rule compares with the baseline, but no baseline is named",
            hint='add --baseline NAME (or baseline = "NAME" in [run])',
        )


def _compare(settings: RunSettings) -> Comparison:
    from evalkit.loading import load_references, load_systems, load_texts
    from evalkit.runner import compare

    if settings.checks.engine == "dask":
        return _compare_on_dask(settings)
    refs, ref_files = load_references(list(settings.references)) if settings.references else (None, [])
    n_refs = len(refs) if refs is not None else None
    systems = load_systems(dict(settings.systems), n_references=n_refs, reference_files=ref_files)
    prompts = load_texts(settings.prompts) if settings.prompts is not None else None
    return compare(
        systems,
        references=refs,
        metrics=list(settings.metrics),
        options=settings.options,
        prompts=prompts,
        baseline=settings.checks.baseline,
    )


def _compare_on_dask(settings: RunSettings) -> Comparison:
    from evalkit.dask_engine import DaskSetup, compare_files

    checks = settings.checks
    setup = DaskSetup(checks.scheduler, checks.partition_size, settings.options, checks.baseline)
    return compare_files(
        dict(settings.systems),
        references=settings.references,
        prompts=settings.prompts,
        metrics=settings.metrics,
        setup=setup,
    )


def _analysis(comparison: Comparison | None, checks: CheckSettings, columns: Sequence[JudgeColumn]) -> Analysis | None:
    if comparison is None or checks.bootstrap == 0:
        return None
    from evalkit.stats.analysis import analyze

    return analyze(
        comparison,
        baseline=checks.baseline,
        n_resamples=checks.bootstrap,
        seed=checks.seed,
        paired_test_method=checks.paired_test,
        judge=columns,
    )


def _gate_values(
    comparison: Comparison | None, analysis: Analysis | None, columns: Sequence[JudgeColumn]
) -> dict[str, dict[str, float | None]]:
    if analysis is not None:
        return analysis.gate_values()
    values: dict[str, dict[str, float | None]] = {}
    if comparison is not None:
        for system in comparison.systems:
            values[system] = {m: comparison.results[(system, m)].value for m in comparison.metrics}
    for column in columns:
        values.setdefault(column.system, {})[column.metric] = column.value
    return values


def _gates(
    gates: Sequence[Gate],
    comparison: Comparison | None,
    analysis: Analysis | None,
    columns: Sequence[JudgeColumn],
    baseline: str | None,
) -> tuple[GateOutcome, ...]:
    if not gates:
        return ()
    tests = analysis.tests() if analysis is not None else {}
    outcomes = evaluate_gates(
        gates,
        values=_gate_values(comparison, analysis, columns),
        baseline=baseline,
        p_values={key: test.p_value for key, test in tests.items()},
        min_p_values={key: test.min_p_value for key, test in tests.items()},
    )
    return tuple(outcomes)


def evaluate(settings: RunSettings, *, progress: Progress | None = None) -> Evaluation:
    """Score, judge, analyse and check the gates of one run."""
    from evalkit.judge_columns import check_agreement_gates, judge_columns, run_judges

    checks = settings.checks
    gates = parse_rules(checks.fail_if)  # a bad rule fails before any scoring
    _preflight(checks, gates)
    check_agreement_gates(gates, settings)
    comparison = _compare(settings) if settings.metrics else None
    if comparison is not None and progress is not None:
        progress.comparison_ready(comparison)
    if progress is None:
        results = run_judges(settings)
    else:
        results = run_judges(settings, progress.judge_run_ready, progress.local_judge_starting)
    runs, dirs = tuple(r.run for r in results), tuple(r.out for r in results)
    panels = tuple(r.panel for r in results)
    if any(run.estimate is not None for run in runs):
        # A dry run gates nothing, and reads no summary an earlier run left.
        skipped = "a dry run sends no judge call, so no gate is checked" if gates else None
        return Evaluation(settings, comparison, runs, dirs, gates_skipped=skipped, judge_panels=panels)
    columns = judge_columns(runs, baseline=checks.baseline, summary_file=checks.judge_summary)
    analysis = _analysis(comparison, checks, columns)
    outcomes = _gates(gates, comparison, analysis, columns, checks.baseline)
    return Evaluation(settings, comparison, runs, dirs, tuple(columns), analysis, outcomes, judge_panels=panels)
