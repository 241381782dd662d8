"""What ``evalkit compare`` / ``evalkit run`` do after scoring: statistics,
``--fail-if`` gates and the CI outputs (``report.html``, ``statistics.json``,
the statistics section of ``report.md``, ``--junit``, ``--github-summary``).

The CLI calls :func:`settings_from` before scoring (a bad rule fails fast,
exit 2), :func:`check` after it (pure: statistics and gate outcomes), hands
the statistics section to the ``report.md`` writer, then calls
:func:`write_outputs`, which returns the exit status: 1 when a gate failed,
else 0. :func:`run_checks` does both steps. Options and the ``[run]`` config table are
documented in ``docs/ci.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError, InputError
from evalkit.gates import Gate, evaluate, failed, parse_rules
from evalkit.jsonable import jsonable

# Copies of evalkit.stats' defaults (a test keeps them equal): this module is
# imported while the CLI builds its parser, and evalkit.stats imports numpy,
# which `evalkit --help` should not wait for.
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 12345
METHODS = ("ar", "bootstrap")

__all__ = [
    "CheckResult",
    "CheckSettings",
    "add_arguments",
    "check",
    "load_judge_pairs",
    "run_checks",
    "settings_from",
    "write_outputs",
]

RUN_KEYS = {
    "baseline",
    "fail_if",
    "bootstrap",
    "seed",
    "paired_test",
    "github_summary",
    "junit",
    "html",
    "judge_summary",
}


@dataclass(frozen=True)
class CheckSettings:
    """The statistics and CI settings of one run (see ``docs/ci.md``)."""

    baseline: str | None = None
    gates: tuple[Gate, ...] = ()
    bootstrap: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    paired_test: str = "ar"
    github_summary: bool = False
    junit: Path | None = None
    html: bool = True
    judge_summary: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the statistics/CI options to ``compare`` and ``run``. Defaults are
    ``None`` so that a config's ``[run]`` table can fill what is not given."""
    group = parser.add_argument_group("statistics and CI gates (see docs/ci.md)")
    group.add_argument("--baseline", metavar="NAME", help="compare every other system with this one")
    group.add_argument(
        "--fail-if",
        dest="fail_if",
        action="append",
        default=None,
        metavar="RULE",
        help='exit 1 when RULE holds, e.g. "bleu < baseline - 0.5 (p<0.05)" or "rougeL < 0.30" (repeatable)',
    )
    group.add_argument(
        "--bootstrap",
        type=int,
        metavar="N",
        help=f"bootstrap resamples for intervals (default {DEFAULT_RESAMPLES}; 0: no statistics)",
    )
    group.add_argument("--seed", type=int, metavar="N", help=f"seed of every resampling (default {DEFAULT_SEED})")
    group.add_argument(
        "--paired-test", dest="paired_test", choices=METHODS, help="paired test against the baseline (default: ar)"
    )
    group.add_argument(
        "--github-summary",
        dest="github_summary",
        action="store_true",
        default=None,
        help="append the results to $GITHUB_STEP_SUMMARY",
    )
    group.add_argument("--junit", metavar="FILE", help="write one JUnit test case per gate to FILE")
    group.add_argument("--html", dest="html", action="store_true", default=None, help="write report.html (default)")
    group.add_argument("--no-html", dest="html", action="store_false", help="do not write report.html")
    group.add_argument(
        "--judge-summary",
        dest="judge_summary",
        metavar="FILE",
        help="the judge's summary.json: its win rates and position consistency become gate metrics",
    )


def _typed(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if value is None:
        return None
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{where}: [run] {key} = {value!r} must be a{'n' if kind is int else ''} {kind.__name__}")
    return value


def settings_from(
    args: argparse.Namespace | None = None,
    table: Mapping[str, Any] | None = None,
    *,
    base_dir: Path | None = None,
    where: str = "config",
) -> CheckSettings:
    """Merge the ``[run]`` table (paths relative to ``base_dir``) and the
    command line (which wins); parse the gate rules."""
    table = dict(table or {})
    unknown = set(table) - RUN_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {sorted(unknown)[0]!r} in [run]", hint=f"known keys: {', '.join(sorted(RUN_KEYS))}"
        )
    fail_if = table.get("fail_if", [])
    if isinstance(fail_if, str):
        fail_if = [fail_if]
    if not isinstance(fail_if, list) or not all(isinstance(r, str) for r in fail_if):
        raise ConfigError(f"{where}: [run] fail_if must be a rule or a list of rules")
    base = base_dir or Path.cwd()

    def path(value: Any) -> Path | None:
        return None if value is None else base / value

    values: dict[str, Any] = {
        "baseline": _typed(table, "baseline", str, where),
        "bootstrap": _typed(table, "bootstrap", int, where),
        "seed": _typed(table, "seed", int, where),
        "paired_test": _typed(table, "paired_test", str, where),
        "github_summary": _typed(table, "github_summary", bool, where),
        "junit": path(_typed(table, "junit", str, where)),
        "html": _typed(table, "html", bool, where),
        "judge_summary": path(_typed(table, "judge_summary", str, where)),
    }
    rules = list(fail_if)
    if args is not None:
        for key in ("baseline", "bootstrap", "seed", "paired_test", "github_summary", "html"):
            if getattr(args, key, None) is not None:
                values[key] = getattr(args, key)
        for key in ("junit", "judge_summary"):
            if getattr(args, key, None) is not None:
                values[key] = Path(getattr(args, key))
        rules += list(getattr(args, "fail_if", None) or [])
    if values["paired_test"] is not None and values["paired_test"] not in METHODS:
        raise ConfigError(
            f"{where}: [run] paired_test = {values['paired_test']!r}", hint=f"choose one of: {', '.join(METHODS)}"
        )
    if values["bootstrap"] is not None and values["bootstrap"] < 0:
        raise ConfigError(f"--bootstrap must be 0 (no statistics) or a positive number, not {values['bootstrap']}")
    gates = tuple(parse_rules(rules))
    settings = CheckSettings(
        **{k: v for k, v in values.items() if v is not None},
        gates=gates,
    )
    if settings.bootstrap == 0 and any(g.alpha is not None for g in gates):
        raise ConfigError("gates with (p<...) need the paired test, which --bootstrap 0 turns off")
    if settings.github_summary and not os.environ.get("GITHUB_STEP_SUMMARY"):
        raise ConfigError(
            "--github-summary: $GITHUB_STEP_SUMMARY is not set",
            hint="GitHub Actions sets it in every job step; outside Actions leave out --github-summary",
        )
    if any(g.against_baseline for g in gates) and settings.baseline is None:
        raise ConfigError(
            "a --fail-if rule compares with the baseline, but no baseline is named",
            hint='add --baseline NAME (or baseline = "NAME" in [run])',
        )
    return settings


def load_judge_pairs(path: Path) -> list[dict[str, Any]]:
    """The pair records of a judge ``summary.json`` (a file, or a folder that
    holds ``summary.json`` or ``pairwise/summary.json``)."""
    candidates = [path] if path.suffix == ".json" else [path / "summary.json", path / "pairwise" / "summary.json"]
    for candidate in candidates:
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"cannot read the judge summary: {exc}", path=str(candidate)) from None
            pairs = data.get("pairs") if isinstance(data, dict) else None
            if not isinstance(pairs, list):
                raise InputError("no 'pairs' list: not a pairwise judge summary.json", path=str(candidate))
            return [p for p in pairs if isinstance(p, dict)]
    if path.suffix == ".json":
        raise InputError("no such file", path=str(path))
    return []


@dataclass(frozen=True)
class CheckResult:
    """Statistics and gate outcomes of one comparison (nothing written yet)."""

    analysis: Any | None
    outcomes: tuple[Any, ...]

    @property
    def status(self) -> int:
        """1 when a gate failed, else 0."""
        return 1 if failed(list(self.outcomes)) else 0

    def statistics_markdown(self) -> str:
        """The statistics section of ``report.md`` ("" without statistics)."""
        if self.analysis is None:
            return ""
        from evalkit.reports.deltas import render_stats_markdown

        return render_stats_markdown(self.analysis, list(self.outcomes))


def check(comparison: Any, settings: CheckSettings, *, judge_pairs: Sequence[Mapping[str, Any]] = ()) -> CheckResult:
    """Compute the statistics and evaluate the gates; writes and prints nothing."""
    from evalkit.analysis import analyze, judge_metrics_from_pairs

    if settings.baseline is not None and settings.baseline not in comparison.systems:
        raise ConfigError(
            f"baseline {settings.baseline!r} is not one of the systems",
            hint=f"systems: {', '.join(comparison.systems)}",
        )
    pairs = list(judge_pairs)
    if settings.judge_summary is not None:
        pairs += load_judge_pairs(settings.judge_summary)
    judge = judge_metrics_from_pairs(pairs, baseline=settings.baseline) if pairs else {}

    analysis = None
    if settings.bootstrap > 0:
        analysis = analyze(
            comparison,
            baseline=settings.baseline,
            n_resamples=settings.bootstrap,
            seed=settings.seed,
            paired_test_method=settings.paired_test,
            judge=judge,
            judge_pairs=pairs,
        )
        values, p_values = analysis.gate_values(), analysis.p_values()
    else:
        values = {s: {m: comparison.results[(s, m)].value for m in comparison.metrics} for s in comparison.systems}
        for system, per in judge.items():
            values.setdefault(system, {}).update(per)
        p_values = {}
    outcomes = evaluate(settings.gates, values=values, baseline=settings.baseline, p_values=p_values)
    return CheckResult(analysis, tuple(outcomes))


def write_outputs(
    comparison: Any,
    result: CheckResult,
    settings: CheckSettings,
    *,
    out_dir: Path | None,
    fmt: str = "table",
    stdout: Any = None,
    stderr: Any = None,
) -> int:
    """Print the statistics and the gates, write ``statistics.json``,
    ``report.html``, ``--junit`` and ``--github-summary``; the exit status.
    (``report.md`` takes :meth:`CheckResult.statistics_markdown` from the
    report writer, so that it is written once.)"""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    outcomes = list(result.outcomes)
    if result.analysis is not None:
        _report(comparison, result.analysis, outcomes, settings, out_dir=out_dir, fmt=fmt, stdout=stdout, stderr=stderr)
    elif settings.junit is not None:
        from evalkit.reports.junit import write_junit

        write_junit(settings.junit, outcomes)

    bad = failed(outcomes)
    if bad:
        print(f"evalkit: {len(bad)} of {len(outcomes)} gate check(s) failed:", file=stderr)
        for o in bad:
            print(f"  - {o.rule} [{o.system}]: {o.message}", file=stderr)
    elif outcomes:
        print(f"evalkit: all {len(outcomes)} gate check(s) hold", file=stderr)
    return result.status


def run_checks(
    comparison: Any,
    settings: CheckSettings,
    *,
    out_dir: Path | None,
    fmt: str = "table",
    judge_pairs: Sequence[Mapping[str, Any]] = (),
    stdout: Any = None,
    stderr: Any = None,
) -> int:
    """:func:`check` then :func:`write_outputs`; the exit status."""
    result = check(comparison, settings, judge_pairs=judge_pairs)
    return write_outputs(comparison, result, settings, out_dir=out_dir, fmt=fmt, stdout=stdout, stderr=stderr)


def _report(comparison, analysis, outcomes, settings, *, out_dir, fmt, stdout, stderr) -> None:
    from evalkit.reports.atomic import write_text_atomic
    from evalkit.reports.deltas import render_stats_markdown, render_stats_text

    # Machine-readable formats keep stdout to themselves.
    if fmt == "table":
        stdout.write(render_stats_text(analysis, outcomes))
    elif fmt == "markdown":
        stdout.write("\n" + render_stats_markdown(analysis, outcomes))
    written = []
    if out_dir is not None:
        out_dir = Path(out_dir)
        statistics = {**analysis.to_dict(), "gates": [jsonable(o.to_dict()) for o in outcomes]}
        write_text_atomic(
            out_dir / "statistics.json", json.dumps(jsonable(statistics), indent=2, ensure_ascii=False) + "\n"
        )
        written.append(str(out_dir / "statistics.json"))
        if settings.html:
            from evalkit.reports.html import write_html

            write_html(out_dir / "report.html", comparison, analysis, outcomes)
            written.append(str(out_dir / "report.html"))
    if settings.junit is not None:
        from evalkit.reports.junit import write_junit

        write_junit(
            settings.junit, outcomes, properties={"baseline": settings.baseline, "statistics": analysis.signature}
        )
        written.append(str(settings.junit))
    if settings.github_summary:
        from evalkit.reports.github_summary import append_github_summary, render_github_summary

        path = append_github_summary(render_github_summary(analysis, outcomes))
        written.append(f"{path} (appended)")
    if written:
        print(f"wrote {', '.join(written)}", file=stderr)
