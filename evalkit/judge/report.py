"""Judge reports: ``summary.json``, ``judgments.jsonl`` and a markdown section.

The writers take only a :class:`~evalkit.judge.types.JudgeRun`; every file is
written atomically. ``summary.json`` fields are documented in ``docs/judge.md``.
Numbers print through :mod:`evalkit.formatting`, like every other table.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from evalkit.formatting import format_number, markdown_escape, markdown_table
from evalkit.jsonable import jsonable
from evalkit.judge.agreement_report import agreement_markdown
from evalkit.judge.stability_report import canary_lines, stability_lines
from evalkit.judge.style_report import shard_features_json, style_markdown, style_pair_fields, style_ratings_section
from evalkit.judge.types import ItemVerdict, JudgeRun, OrderCall

__all__ = ["judgments_jsonl", "public_url", "render_markdown", "report_texts", "summary_dict", "write_report"]


def public_url(url: str) -> str:
    """``url`` without user info or query (they may carry credentials)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _settings(run: JudgeRun) -> dict[str, Any]:
    """The run's settings (no data, no secret) for ``summary.json``."""
    out: dict[str, Any] = {"mode": run.mode, "systems": list(run.systems), "n_items": run.n_items}
    out.update(run.settings.reported())
    out.update(base_url=public_url(run.base_url), model=run.model, template=run.settings.template or run.mode)
    return out


def _with_agreement(run: JudgeRun, record: dict[str, Any], systems: tuple[str, ...]) -> dict[str, Any]:
    from evalkit.judge.agreement_report import human_agreement_record

    return {**record, "human_agreement": human_agreement_record(run, systems)}


def summary_dict(run: JudgeRun) -> dict[str, Any]:
    """The JSON-ready summary of a run (what ``summary.json`` holds)."""
    from evalkit import __version__

    s = run.settings
    pairwise = run.mode == "pairwise"
    out: dict[str, Any] = {
        "mode": run.mode,
        "signature": run.signature,
        "judge": {
            "model": run.model,
            "base_url": public_url(run.base_url),
            "template": run.template.name,
            "template_version": run.template.version,
            "protocol": run.protocol,
            "grammar_backend": s.grammar_backend if run.protocol == "grammar" else None,
            "reconcile": s.reconcile if pairwise else None,
            "swap": s.swap if pairwise else None,
            "baseline": s.baseline,
        },
        "pairs": [
            {**_with_agreement(run, p.to_dict(), (p.system_a, p.system_b)), **style_pair_fields(run, p)}
            for p in run.pairs
        ]
        if pairwise and not s.shard
        else None,
        "ratings": [r.to_dict() for r in run.ratings] if run.ratings else None,
        "style_controlled_ratings": style_ratings_section(run),
        "systems": [_with_agreement(run, r.to_dict(), (r.system,)) for r in run.singles]
        if not pairwise and not s.shard
        else None,
        "stopped": run.stopped,
        "evalkit_version": __version__,
        "settings": _settings(run),
    }
    if run.logprobs is not None:
        out["judge"]["logprobs_method"] = run.logprobs.method
        out["judge"]["logprobs_note"] = run.logprobs.note
    out.update(run.stats.to_dict())
    out["repeats"] = s.repeats
    out["canary"] = dataclasses.asdict(run.canary) if run.canary is not None else None
    out["null_canaries"] = [c.to_dict() for c in run.null_canaries] or None
    out["shard"] = _shard(run)
    return dict(jsonable(out))


def _shard(run: JudgeRun) -> dict[str, Any] | None:
    """``summary.json``'s ``shard``: which part of a run this is (``None``: the whole run)."""
    shard, whole = run.settings.shard, run.whole_run
    if shard is None or whole is None:
        return None
    return {
        "number": shard.number,
        "total": shard.total,
        "calls": run.stats.calls,
        "run_calls": whole.calls,
        "run_digest": whole.digest,
    }


def _shard_lines(run: JudgeRun) -> list[str]:
    shard, calls = run.settings.shard, run.whole_run.calls if run.whole_run else None
    return [
        f"**Shard {shard}: not a result.** This shard judged {run.stats.calls} of the run's {calls} calls "
        "(chosen by cache key); its verdicts are in judgments.jsonl. Win rates, scores and ratings come from "
        "`evalkit judge merge` over every shard's folder.",
    ]


def _call_record(item: ItemVerdict, order_call: OrderCall) -> dict[str, Any]:
    record: dict[str, Any] = {"item": item.item, "mode": item.mode}
    if item.mode == "single":
        record["system"] = item.systems[0]
    else:
        record.update(
            system_a=item.systems[0], system_b=item.systems[1], order=order_call.order, shown=list(order_call.shown)
        )
    # with --repeats: the call's repeat, and its item's agreement over repeats (null with one repeat)
    record.update(repeat=order_call.repeat, item_agreement=item.agreement, item_flipped=item.flipped)
    call = order_call.call
    if call is None:
        record.update(messages=None, raw_answer=None, verdict=None, unscored=order_call.unscored, cached=False)
        return record
    v = call.verdict
    response = call.response or {}
    record.update(
        messages=[dict(m) for m in call.messages],
        raw_answer=response.get("content"),
        finish_reason=response.get("finish_reason"),
        verdict=v.label,
        meaning=v.value,
        p_first=v.p_first,
        probabilities=dict(v.probabilities) if v.probabilities else None,
        missing_labels=list(v.missing_labels) or None,
        missing_mass_bound=v.missing_mass_bound,
        unscored=v.unscored,
        possible_injection={k: list(r) for k, r in order_call.flags.items()} or None,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        latency_s=round(call.latency_s, 4),
        cached=call.cached,
        attempts=call.attempts,
        key=call.key,
    )
    if response.get("top_logprobs"):
        record["top_logprobs"] = response["top_logprobs"]
    if v.method is not None:
        # logprobs: "logit_bias" (every label's exact probability) or "top_k" (labels found in the top-k)
        record["logprobs_method"] = v.method
    return record


def judgment_records(run: JudgeRun) -> list[dict[str, Any]]:
    """One record per judge call (and per item that needed no call), in report order."""
    return [_call_record(item, c) for item in run.items for c in item.calls]


def judgments_jsonl(run: JudgeRun) -> str:
    """``judgments.jsonl``: one JSON line per record of :func:`judgment_records`."""
    return "".join(json.dumps(jsonable(r), ensure_ascii=False) + "\n" for r in judgment_records(run))


def _rate(value: float | None) -> str:
    return format_number(value, "0-1")


_PAIR_NOTE = (
    "Win rate counts ties as half; the decisive win rate leaves ties out. Position consistency: "
    "share of items whose two verdicts agree after swapping; first-position rate: share of single "
    "verdicts that chose the answer shown first (0.5 means no position bias)."
)


def _pairwise_lines(run: JudgeRun) -> list[str]:
    lines: list[str] = []
    if not run.settings.swap:
        lines += [
            "**--no-swap was used: each pair was judged in one order only; position bias is not corrected "
            "and position consistency is unknown.**",
            "",
        ]
    header = ["system A", "system B", "n", "wins", "losses", "ties", "unscored", "win rate", "decisive win rate"]
    header += ["position consistency", "first-position rate"]
    rows = [
        [p.system_a, p.system_b, str(p.n), str(p.wins), str(p.losses), str(p.ties), str(p.unscored)]
        + [_rate(p.win_rate), _rate(p.decisive_win_rate), _rate(p.position_consistency)]
        + [_rate(p.first_position_rate)]
        for p in run.pairs
    ]
    lines.append(markdown_table(header, rows))
    if run.ratings:
        lines += ["", "Bradley-Terry ratings (Elo scale):", ""]
        lines.append(
            markdown_table(["system", "rating"], [[r.system, format_number(r.rating, "0-100")] for r in run.ratings])
        )
    return lines + ["", _PAIR_NOTE] + style_markdown(run)


def _single_lines(run: JudgeRun) -> list[str]:
    rows = []
    for r in run.singles:
        hist = " ".join(f"{k}:{v}" for k, v in r.histogram.items() if v)
        rows.append([r.system, str(r.n), format_number(r.mean, run.template.scale), str(r.unscored), hist or "–"])
    return [markdown_table(["system", "n", "mean", "unscored", "histogram"], rows)]


def _logprobs_line(run: JudgeRun) -> str:
    assert run.logprobs is not None
    if run.logprobs.method == "logit_bias":
        line = "Label probabilities: exact (the same logit_bias on every label token, renormalised over the labels)"
    else:
        line = "Label probabilities: the labels found in the top-k only (a label missing there has a bounded mass)"
    return line + (f"; {markdown_escape(run.logprobs.note)}." if run.logprobs.note else ".")


def render_markdown(run: JudgeRun, *, heading_level: int = 2) -> str:
    """A markdown section with the run's table and its settings."""
    h = "#" * heading_level
    s = run.stats
    lines = [f"{h} LLM judge ({run.mode})", ""]
    lines.append(
        f"Judge `{run.model}` with template `{run.template.id}`, protocol `{run.protocol}`"
        + (f", reconcile `{run.settings.reconcile}`" if run.mode == "pairwise" else "")
        + f". Signature: `{run.signature}`"
    )
    lines.append("")
    if run.logprobs is not None:
        lines += [_logprobs_line(run), ""]
    if run.settings.shard is not None:
        lines += _shard_lines(run)
    else:
        lines += _pairwise_lines(run) if run.mode == "pairwise" else _single_lines(run)
        lines += agreement_markdown(run)
        lines += stability_lines(run)
        lines += canary_lines(run)
    lines += [
        "",
        f"Calls: {s.calls} ({s.cache_hits} from the cache, {s.failed_calls} unscored); "
        f"HTTP requests sent: {s.requests_sent}; tokens: {s.prompt_tokens} in, {s.completion_tokens} out"
        + (f"; cost: ${s.cost:.4f}" if s.cost is not None else "")
        + f"; answers flagged as possible injection: {s.possible_injection}.",
    ]
    if run.stopped:
        lines += ["", f"**The run stopped early: {run.stopped}. Rerun to finish (completed calls are cached).**"]
    return "\n".join(lines) + "\n"


def report_texts(run: JudgeRun, out_dir: str | pathlib.Path) -> dict[pathlib.Path, str]:
    """Every file of a run's report, path and text, built before any is written."""
    out = pathlib.Path(out_dir)
    texts = {
        out / "judgments.jsonl": judgments_jsonl(run),
        out / "summary.json": json.dumps(summary_dict(run), indent=2, ensure_ascii=False) + "\n",
        out / "report.md": render_markdown(run),
    }
    features = shard_features_json(run)
    if features is not None:
        texts[out / "style_features.json"] = features
    if run.settings.write_canary and run.inputs is not None:
        from evalkit.judge.canary import canary_jsonl

        texts[pathlib.Path(run.settings.write_canary)] = canary_jsonl(run)
    return texts


def write_report(run: JudgeRun, out_dir: str | pathlib.Path) -> dict[str, pathlib.Path]:
    """Write ``judgments.jsonl``, ``summary.json`` and ``report.md`` into ``out_dir``."""
    from evalkit.reports.atomic import write_files_atomic

    texts = report_texts(run, out_dir)
    write_files_atomic(texts)
    names = ("judgments", "summary", "report", "canary")
    return dict(zip(names, texts))
