"""The markdown lines of a run's stability over ``--repeats`` and of its
canaries (the judge section of ``report.md`` and the terminal show them)."""

from __future__ import annotations

from evalkit.formatting import format_number, markdown_table
from evalkit.judge.types import JudgeRun

__all__ = ["canary_lines", "stability_lines"]

STABILITY_NOTE = (
    "Flip rate: the chance that two repeats of an item disagree (what a rerun may change); "
    "repeat agreement: Fleiss' kappa with the repeats as raters (1 perfect, 0 chance); "
    "pass^k: share of items whose repeats all agree. Items with an unscored repeat are left out."
)


def _rate(value: float | None) -> str:
    return format_number(value, "0-1")


def stability_lines(run: JudgeRun) -> list[str]:
    """The stability table, or nothing for a run without repeats."""
    repeats = run.settings.repeats
    if repeats < 2:
        return []
    lines = ["", f"Stability over {repeats} repeats (distinct seeds, temperature {run.settings.temperature:g}):", ""]
    if run.mode == "pairwise":
        rows = []
        for p in run.pairs:
            flipped = sum(1 for i in run.pair_items(p.system_a, p.system_b) if i.flipped)
            rows.append(
                [p.system_a, p.system_b, str(flipped)]
                + [_rate(p.flip_rate), _rate(p.repeat_agreement), _rate(p.pass_k)]
            )
        header = ["system A", "system B", "items flipped", "flip rate", "repeat agreement", f"pass^{repeats}"]
    else:
        rows = []
        for s in run.singles:
            flipped = sum(1 for i in run.items if i.systems == (s.system,) and i.flipped)
            rows.append(
                [s.system, str(flipped), _rate(s.flip_rate), _rate(s.repeat_agreement), _rate(s.pass_k)]
                + [format_number(s.mean_spread, run.template.scale)]
            )
        header = ["system", "items flipped", "flip rate", "repeat agreement", f"pass^{repeats}", "mean spread"]
    return lines + [markdown_table(header, rows), "", STABILITY_NOTE]


def canary_lines(run: JudgeRun) -> list[str]:
    """The drift canary's verdict and each null-model canary's win rate."""
    lines: list[str] = []
    check = run.canary
    if check is not None:
        text = check.message + (f"; {check.unscored} canary items unscored" if check.unscored else "")
        lines += ["", f"**{text}.**" if check.drift else text + "."]
    if run.null_canaries:
        rows = []
        for c in run.null_canaries:
            interval = f"[{_rate(c.low)}, {_rate(c.high)}]"
            verdict = "**beats the baseline: the judge can be gamed**" if c.beats_baseline else "no"
            rows.append([c.name, c.baseline, str(c.n), _rate(c.win_rate), interval, verdict])
        header = ["null canary", "against", "n", "win rate", "95% interval", "beats baseline"]
        lines += ["", "Null-model canaries (the same answer to every item; ties count half):", ""]
        lines.append(markdown_table(header, rows))
    return lines
