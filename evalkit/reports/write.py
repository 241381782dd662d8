"""Every file of a run, from its :class:`~evalkit.evaluation.Evaluation`: each
text is built before any file is written, then each file is written
atomically; nothing reads back what an earlier step wrote.

``OUT/report.md``, ``summary.csv``, ``items.csv``, ``summary.json``; with
statistics ``statistics.json`` and ``report.html``; each judge run's
``summary.json``, ``judgments.jsonl`` and ``report.md`` in its own folder;
``--junit FILE``; ``--github-summary`` appends to ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.jsonable import jsonable
from evalkit.reports.atomic import FileText, write_files_atomic

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.evaluation import Evaluation
    from evalkit.judge.types import JudgeRun, PanelRun

__all__ = ["report_files", "report_markdown", "write_evaluation"]


def report_markdown(evaluation: Evaluation) -> str:
    """``report.md``: the comparison, its statistics and gates, the judge runs."""
    from evalkit.reports.markdown import render_markdown
    from evalkit.reports.statistics import render_gates_markdown, render_stats_markdown

    parts: list[str] = []
    if evaluation.comparison is not None:
        parts.append(render_markdown(evaluation.comparison).rstrip("\n"))
    if evaluation.analysis is not None:
        parts.append(render_stats_markdown(evaluation.analysis, evaluation.gates).rstrip("\n"))
    elif evaluation.gates:
        parts.append("## Gates\n\n" + render_gates_markdown(evaluation.gates))
    if evaluation.gates_skipped:
        parts.append(f"**Gates not checked: {evaluation.gates_skipped}.**")
    panels = evaluation.judge_panels or (None,) * len(evaluation.judge_runs)
    parts += [_judge_markdown(run, panel) for run, panel in zip(evaluation.judge_runs, panels) if run.estimate is None]
    return "\n\n".join(parts) + "\n"


def _judge_markdown(run: JudgeRun, panel: PanelRun | None = None) -> str:
    """The judge's section; a panel's shows each judge, the agreement and the cascade too."""
    if panel is not None:
        from evalkit.judge.panel_report import render_panel_markdown

        return render_panel_markdown(panel).rstrip("\n")
    from evalkit.judge.report import render_markdown as render_judge

    return render_judge(run).rstrip("\n")


def _statistics_json(evaluation: Evaluation) -> str:
    assert evaluation.analysis is not None
    document = {**evaluation.analysis.to_dict(), "gates": [o.to_dict() for o in evaluation.gates]}
    return json.dumps(jsonable(document), indent=2, ensure_ascii=False) + "\n"


def _html(evaluation: Evaluation) -> str:
    """``report.html``: the figures, then the item explorer."""
    from evalkit.judge.agreement_report import human_outcomes
    from evalkit.reports.explorer import explorer_data_from, judge_item
    from evalkit.reports.html import render_html

    comparison, analysis = evaluation.comparison, evaluation.analysis
    assert comparison is not None and analysis is not None
    items = []
    for run in evaluation.judge_runs:
        humans = human_outcomes(run)
        items += [
            judge_item(v, humans.get((v.systems[0], v.systems[-1], v.item)) if v.mode == "pairwise" else None)
            for v in run.items
        ]
    explorer = explorer_data_from(comparison, items, prompts=comparison.prompts, baseline=comparison.baseline)
    pairs = [pair.to_dict() for run in evaluation.judge_runs for pair in run.pairs]
    return render_html(
        comparison, analysis, evaluation.gates, explorer=explorer, judge_pairs=pairs, judge_runs=evaluation.judge_runs
    )


def report_files(evaluation: Evaluation, out_dir: Path) -> dict[Path, FileText]:
    """Every file's path and text, built before anything is written, but for
    ``items.csv`` (one row per item, system and metric: millions of rows on a
    large run), whose text is a generator rendered as it is written."""
    from evalkit.reports.csv_writer import items_csv, summary_csv
    from evalkit.reports.json_writer import render_json

    files: dict[Path, FileText] = {out_dir / "report.md": report_markdown(evaluation)}
    comparison = evaluation.comparison
    if comparison is not None:
        files[out_dir / "summary.csv"] = summary_csv(comparison)
        files[out_dir / "items.csv"] = items_csv(comparison)
        files[out_dir / "summary.json"] = render_json(comparison)
    checks = evaluation.settings.checks
    if evaluation.analysis is not None:
        files[out_dir / "statistics.json"] = _statistics_json(evaluation)
        if checks.html and comparison is not None:
            files[out_dir / "report.html"] = _html(evaluation)
    if checks.junit is not None and (evaluation.gates or evaluation.analysis is not None):
        from evalkit.reports.junit import render_junit

        properties = {"baseline": checks.baseline}
        if evaluation.analysis is not None:
            properties["statistics"] = evaluation.analysis.signature
        files[checks.junit] = render_junit(evaluation.gates, properties=properties)
    files.update(_judge_files(evaluation, out_dir))
    return files


def _judge_files(evaluation: Evaluation, out_dir: Path) -> dict[Path, str]:
    files: dict[Path, str] = {}
    panels = evaluation.judge_panels or (None,) * len(evaluation.judge_runs)
    for run, folder, panel in zip(evaluation.judge_runs, evaluation.judge_dirs, panels):
        if panel is not None and run.estimate is None:
            from evalkit.judge.panel_report import panel_report_texts

            files.update(panel_report_texts(panel, folder))
        elif run.estimate is None:
            from evalkit.judge.report import report_texts

            files.update(report_texts(run, folder))
    return files


def write_evaluation(evaluation: Evaluation, out_dir: Path) -> list[str]:
    """Write every file; append to ``$GITHUB_STEP_SUMMARY`` when asked. The
    paths written, for the CLI's message."""
    files = report_files(evaluation, out_dir)
    write_files_atomic(files)
    written = [str(p) for p in files]
    if evaluation.settings.checks.github_summary and evaluation.analysis is not None:
        from evalkit.reports.github_summary import append_github_summary, render_github_summary

        path = append_github_summary(render_github_summary(evaluation.analysis, evaluation.gates))
        written.append(f"{path} (appended)")
    return written
