"""Judge reports: ``summary.json``, ``judgments.jsonl`` and a markdown section.

The writers take only a :class:`~evalkit.judge.run.JudgeRun`; every file is
written atomically. ``summary.json`` fields are documented in ``docs/judge.md``.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from evalkit.jsonable import jsonable
from evalkit.judge.run import JudgeRun, config_to_dict

__all__ = ["summary_dict", "render_markdown", "write_report", "judgments_jsonl"]


def public_url(url: str) -> str:
    """``url`` without user info or query (they may carry credentials)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def summary_dict(run: JudgeRun) -> dict[str, Any]:
    """The JSON-ready summary of a run (what ``summary.json`` holds)."""
    from evalkit import __version__

    config = run.config
    settings = config_to_dict(config)
    settings["base_url"] = public_url(settings["base_url"])
    out: dict[str, Any] = {
        "mode": config.mode,
        "signature": run.signature,
        "judge": {
            "model": config.model,
            "base_url": public_url(config.base_url),
            "template": run.template.name,
            "template_version": run.template.version,
            "protocol": run.protocol,
            "grammar_backend": config.grammar_backend if run.protocol == "grammar" else None,
            "reconcile": config.reconcile if config.mode == "pairwise" else None,
            "swap": config.swap if config.mode == "pairwise" else None,
            "baseline": config.baseline,
        },
        "pairs": list(run.pairs) if config.mode == "pairwise" else None,
        "ratings": (
            [{"system": s, **v} for s, v in sorted(run.ratings.items(), key=lambda kv: -kv[1]["strength"])]
            if run.ratings
            else None
        ),
        "systems": list(run.systems) if config.mode == "single" else None,
        "stopped": run.stopped,
        "evalkit_version": __version__,
        "settings": settings,
    }
    out.update(run.stats)
    return jsonable(out)


def judgments_jsonl(run: JudgeRun) -> str:
    """One JSON line per judge call (and per item that needed no call)."""
    return "".join(json.dumps(jsonable(r), ensure_ascii=False) + "\n" for r in run.judgments)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_markdown(run: JudgeRun, *, heading_level: int = 2) -> str:
    """A markdown section with the run's table and its settings."""
    h = "#" * heading_level
    config = run.config
    s = run.stats
    lines = [f"{h} LLM judge ({config.mode})", ""]
    lines.append(
        f"Judge `{config.model}` with template `{run.template.id}`, protocol `{run.protocol}`"
        + (f", reconcile `{config.reconcile}`" if config.mode == "pairwise" else "")
        + f". Signature: `{run.signature}`"
    )
    lines.append("")
    if config.mode == "pairwise":
        if not config.swap:
            lines += [
                "**--no-swap was used: each pair was judged in one order only; position bias is not corrected "
                "and position consistency is unknown.**",
                "",
            ]
        lines.append(
            "| system A | system B | n | wins | losses | ties | unscored | win rate | decisive win rate "
            "| position consistency | first-position rate |"
        )
        lines.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for p in run.pairs:
            lines.append(
                f"| {p['system_a']} | {p['system_b']} | {p['n']} | {p['wins']} | {p['losses']} | {p['ties']} "
                f"| {p['unscored']} | {_fmt(p['win_rate'])} | {_fmt(p['decisive_win_rate'])} "
                f"| {_fmt(p['position_consistency'])} | {_fmt(p['first_position_rate'])} |"
            )
        if run.ratings:
            lines += ["", "Bradley-Terry ratings (Elo scale):", "", "| system | rating |", "|---|--:|"]
            for name, r in sorted(run.ratings.items(), key=lambda kv: -kv[1]["strength"]):
                lines.append(f"| {name} | {r['rating']:.0f} |")
        lines += [
            "",
            "Win rate counts ties as half; the decisive win rate leaves ties out. Position consistency: "
            "share of items whose two verdicts agree after swapping; first-position rate: share of single "
            "verdicts that chose the answer shown first (0.5 means no position bias).",
        ]
    else:
        lines.append("| system | n | mean | unscored | histogram |")
        lines.append("|---|--:|--:|--:|---|")
        for r in run.systems:
            hist = " ".join(f"{k}:{v}" for k, v in r["histogram"].items() if v)
            lines.append(f"| {r['system']} | {r['n']} | {_fmt(r['mean'], 2)} | {r['unscored']} | {hist or '–'} |")
    lines += [
        "",
        f"Calls: {s.get('calls', 0)} ({s.get('cache_hits', 0)} from the cache, {s.get('failed_calls', 0)} unscored); "
        f"HTTP requests sent: {s.get('requests_sent', 0)}; tokens: {s.get('prompt_tokens', 0)} in, "
        f"{s.get('completion_tokens', 0)} out"
        + (f"; cost: ${s['cost']:.4f}" if s.get("cost") is not None else "")
        + f"; answers flagged as possible injection: {s.get('possible_injection', 0)}.",
    ]
    if run.stopped:
        lines += ["", f"**The run stopped early: {run.stopped}. Rerun to finish (completed calls are cached).**"]
    return "\n".join(lines) + "\n"


def write_report(run: JudgeRun, out_dir: str | pathlib.Path) -> dict[str, pathlib.Path]:
    """Write ``judgments.jsonl``, ``summary.json`` and ``report.md`` into ``out_dir``."""
    from evalkit.reports.atomic import write_text_atomic

    out = pathlib.Path(out_dir)
    files = {
        "judgments": out / "judgments.jsonl",
        "summary": out / "summary.json",
        "report": out / "report.md",
    }
    # Build every text before writing any file: nothing is written half.
    texts = {
        "judgments": judgments_jsonl(run),
        "summary": json.dumps(summary_dict(run), indent=2, ensure_ascii=False) + "\n",
        "report": render_markdown(run),
    }
    for name, path in files.items():
        write_text_atomic(path, texts[name])
    return files
