"""The judge's stability over repeats and its canaries, for ``report.html``:
small escaped tables (every name and text from a run is untrusted)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from evalkit.formatting import format_number

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.judge.types import JudgeRun

__all__ = ["judge_checks_html"]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _rate(value: float | None) -> str:
    return format_number(value, "0-1")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _stability(run: JudgeRun) -> list[str]:
    k = run.settings.repeats
    if k < 2:
        return []
    if run.mode == "pairwise":
        rows = [
            [f"{p.system_a} vs {p.system_b}", _rate(p.flip_rate), _rate(p.repeat_agreement), _rate(p.pass_k)]
            for p in run.pairs
        ]
        header = ["pair", "flip rate", "repeat agreement (Fleiss' kappa)", f"pass^{k}"]
    else:
        rows = [[s.system, _rate(s.flip_rate), _rate(s.repeat_agreement), _rate(s.pass_k)] for s in run.singles]
        header = ["system", "flip rate", "repeat agreement (Fleiss' kappa)", f"pass^{k}"]
    caption = f"Stability of the judge ({run.mode}) over {k} repeats with distinct seeds."
    return [f'<p class="muted">{_e(caption)}</p>', _table(header, rows)]


def _canaries(run: JudgeRun) -> list[str]:
    parts = []
    if run.canary is not None:
        text = _e(run.canary.message)
        parts.append(f"<p><strong>{text}</strong></p>" if run.canary.drift else f"<p>{text}</p>")
    if run.null_canaries:
        rows = [
            [c.name, c.baseline, str(c.n), _rate(c.win_rate), f"[{_rate(c.low)}, {_rate(c.high)}]"]
            + ["yes: the judge can be gamed" if c.beats_baseline else "no"]
            for c in run.null_canaries
        ]
        parts.append(_table(["null canary", "against", "n", "win rate", "95% interval", "beats baseline"], rows))
    return parts


def judge_checks_html(runs: Sequence[JudgeRun]) -> str | None:
    """A section with each run's stability table and canaries, or ``None`` when no run has any."""
    parts: list[str] = []
    for run in runs:
        if run.estimate is None:
            parts += _stability(run) + _canaries(run)
    if not parts:
        return None
    return '<h2 id="judge-checks">Judge stability and canaries</h2>\n' + "\n".join(parts)
