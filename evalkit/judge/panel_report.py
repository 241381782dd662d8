"""A panel's report: ``summary.json`` (the pooled fields of a judge summary
plus a ``panel`` record: each judge's own fields, the inter-judge agreement
and the cascade's stages), ``judgments.jsonl`` (each item's pooled verdict
beside every judge's), ``report.md``, and each judge's own report in a
folder named after it. The writers take only a :class:`PanelRun`.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from evalkit.formatting import format_number, markdown_table
from evalkit.jsonable import jsonable
from evalkit.judge.report import public_url, render_markdown, report_texts, summary_dict
from evalkit.judge.types import ItemVerdict, JudgeRun, PanelRun

__all__ = ["panel_judgments_jsonl", "panel_report_texts", "panel_summary_dict", "render_panel_markdown"]


def _judge_record(name: str, run: JudgeRun) -> dict[str, Any]:
    pairwise = run.mode == "pairwise"
    return {
        "name": name,
        "model": run.model,
        "base_url": public_url(run.base_url),
        "template": run.template.id,
        "protocol": run.protocol,
        "reconcile": run.settings.reconcile if pairwise else None,
        "signature": run.signature,
        "pairs": [p.to_dict() for p in run.pairs] if pairwise else None,
        "systems": [s.to_dict() for s in run.singles] if not pairwise else None,
        "calls": run.stats.calls,
        "requests_sent": run.stats.requests_sent,
        "cost": run.stats.cost,
        "report": name,
    }


def panel_summary_dict(panel: PanelRun) -> dict[str, Any]:
    """The pooled run's summary with a ``panel`` record."""
    out = summary_dict(panel.pooled)
    stages = [s.to_dict() for s in panel.stages] or None
    out["panel"] = {
        "pool": panel.pool,
        "cascade_margin": panel.cascade_margin,
        "judges": [_judge_record(name, run) for name, run in zip(panel.names, panel.members)],
        "inter_judge_agreement": panel.agreement.to_dict(),
        "cascade": stages,
        "calls_saved": sum(s.calls_saved for s in panel.stages) if panel.stages else None,
    }
    return dict(jsonable(out))


def _verdict(item: ItemVerdict | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"outcome": item.outcome, "score": item.score, "p_win": item.p_win, "consistent": item.consistent,
            "unscored": item.unscored}  # fmt: skip


def panel_judgments_jsonl(panel: PanelRun) -> str:
    """One line per pooled item: the pooled verdict and each judge's (each
    judge's calls are in its own ``judgments.jsonl``)."""
    by_judge = [{(i.systems, i.item): i for i in run.items} for run in panel.members]
    lines = []
    for item in panel.pooled.items:
        key = (item.systems, item.item)
        record = {"item": item.item, "systems": list(item.systems), "pooled": _verdict(item)}
        record["judges"] = {name: _verdict(judge.get(key)) for name, judge in zip(panel.names, by_judge)}
        lines.append(json.dumps(jsonable(record), ensure_ascii=False) + "\n")
    return "".join(lines)


def _judge_rows(panel: PanelRun) -> tuple[list[str], list[list[str]]]:
    if panel.pooled.mode == "single":
        header = ["judge", "model", "template", "protocol", "system", "mean", "unscored"]
        rows = [
            [name, run.model, run.template.id, run.protocol, s.system, format_number(s.mean, run.template.scale)]
            + [str(s.unscored)]
            for name, run in zip(panel.names, panel.members)
            for s in run.singles
        ]
        return header, rows
    header = ["judge", "model", "template", "protocol", "pair", "win rate", "position consistency"]
    header += ["first-position rate", "unscored"]
    rows = [
        [name, run.model, run.template.id, run.protocol, f"{p.system_a} vs {p.system_b}"]
        + [format_number(v, "0-1") for v in (p.win_rate, p.position_consistency, p.first_position_rate)]
        + [str(p.unscored)]
        for name, run in zip(panel.names, panel.members)
        for p in run.pairs
    ]
    return header, rows


def _cascade_lines(panel: PanelRun) -> list[str]:
    if not panel.stages:
        return []
    rows = [
        [s.judge, str(s.judged), str(s.settled), str(s.calls), str(s.calls_if_all), str(s.calls_saved)]
        + ["–" if s.cost_saved_estimate is None else f"${s.cost_saved_estimate:.4f}"]
        for s in panel.stages
    ]
    header = ["judge", "items judged", "items settled", "calls", "calls if it judged all", "calls saved"]
    return [
        "",
        f"Cascade (margin {panel.cascade_margin:g}): an item went to the next judge when its two orders "
        "disagreed or |P(win) - 0.5| was below the margin; the last judge decided what was left.",
        "",
        markdown_table([*header, "cost saved (estimate)"], rows),
    ]


def render_panel_markdown(panel: PanelRun, *, heading_level: int = 2) -> str:
    """The pooled section, then each judge's figures, the agreement and the cascade."""
    h = "#" * heading_level
    pooled = render_markdown(panel.pooled, heading_level=heading_level).rstrip("\n").split("\n")
    pooled[0] = f"{h} LLM judge panel ({panel.pooled.mode}, pool `{panel.pool}`, {len(panel.names)} judges)"
    agreement = panel.agreement
    by = ", ".join(f"{k}: {format_number(v, '0-1')}" for k, v in agreement.by.items())
    header, rows = _judge_rows(panel)
    lines = [*pooled, "", f"{h}# Judges", "", markdown_table(header, rows), ""]
    lines.append(
        f"Inter-judge agreement (Krippendorff's alpha, {agreement.level}, {agreement.units} units): "
        f"{format_number(agreement.alpha, '0-1')}" + (f" ({by})" if len(agreement.by) > 1 else "") + "."
    )
    lines += _cascade_lines(panel)
    return "\n".join(lines) + "\n"


def panel_report_texts(panel: PanelRun, out_dir: str | pathlib.Path) -> dict[pathlib.Path, str]:
    """Every file of a panel's report, built before any is written."""
    out = pathlib.Path(out_dir)
    files = {
        out / "judgments.jsonl": panel_judgments_jsonl(panel),
        out / "summary.json": json.dumps(panel_summary_dict(panel), indent=2, ensure_ascii=False) + "\n",
        out / "report.md": render_panel_markdown(panel),
    }
    for name, run in zip(panel.names, panel.members):
        files.update(report_texts(run, out / name))
    return files


def write_panel_report(panel: PanelRun, out_dir: str | pathlib.Path) -> None:
    """Write the panel's files and each judge's report into ``out_dir``."""
    from evalkit.reports.atomic import write_files_atomic

    write_files_atomic(panel_report_texts(panel, out_dir))
