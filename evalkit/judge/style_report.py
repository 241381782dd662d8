"""Length and style control in the judge's reports: the fields each pair of
``summary.json`` gains, its ``style_controlled_ratings`` section and the
markdown (``report.md`` and the terminal) that shows them.

Takes only the :class:`~evalkit.judge.types.JudgeRun`; a run without style
control (single mode, ``--no-style-control``, a dry run) adds nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalkit.formatting import format_number, markdown_escape, markdown_table
from evalkit.judge.types import JudgeRun, PairSummary

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.judge.style_control import StyleControl  # numpy: only where a run has style control

__all__ = ["shard_features_json", "style_markdown", "style_pair_fields", "style_ratings_section", "style_tables"]


def style_pair_fields(run: JudgeRun, pair: PairSummary) -> dict[str, Any]:
    """The length-control fields of one pair's ``summary.json`` record."""
    if run.style_control is None:
        return {}
    return run.style_control.pair(pair.system_a, pair.system_b).to_dict()


def style_ratings_section(run: JudgeRun) -> dict[str, Any] | None:
    """``summary.json``'s ``style_controlled_ratings`` (``None`` without ratings)."""
    return run.style_control.ratings_dict() if run.style_control is not None else None


def _with_ci(value: float | None, ci: list[float] | None, scale: str) -> str:
    text = format_number(value, scale)
    if ci is None:
        return text
    return f"{text} [{format_number(ci[0], scale)}, {format_number(ci[1], scale)}]"


#: A table: its caption, header and rows of text.
Table = tuple[str, list[str], list[list[str]]]


def style_tables(style: StyleControl, *, reconcile: str = "tie") -> list[Table]:
    """The length-control table (one row per pair) and, with ratings, the
    style-controlled ratings and the coefficients: what the markdown and
    ``report.html`` show."""
    target = "mean P(A wins)" if reconcile == "average" else "win rate"
    caption = (
        f"Length and style control (95% intervals from {style.rounds} bootstrap rounds over items, "
        f"seed {style.seed}; length in {style.length_unit}; raw = the {target} of the scored items):"
    )
    rows = [
        [p.system_a, p.system_b, str(p.n)]
        + [_with_ci(p.raw_win_rate.value, p.raw_win_rate.ci, "0-1")]
        + [_with_ci(p.length_controlled_win_rate.value, p.length_controlled_win_rate.ci, "0-1")]
        + [_with_ci(p.length_coefficient.value, p.length_coefficient.ci, "0-100")]
        for p in style.pairs
    ]
    header = ["system A", "system B", "n", "raw win rate", "length-controlled win rate", "length coefficient"]
    tables: list[Table] = [(caption, header, rows)]
    if style.ratings is not None:
        rows = [
            [
                r.system,
                _with_ci(r.rating.value, r.rating.ci, "0-100"),
                _with_ci(r.raw_rating.value, r.raw_rating.ci, "0-100"),
            ]
            for r in style.ratings
        ]
        tables.append(
            (
                "Style-controlled Bradley-Terry ratings (Elo scale), beside the raw ones:",
                ["system", "style-controlled rating", "raw rating"],
                rows,
            )
        )
        rows = [[k, _with_ci(e.value, e.ci, "0-100")] for k, e in style.coefficients.items()]
        tables.append(
            ("Style coefficients (log-odds per unit of normalised difference):", ["feature", "coefficient"], rows)
        )
    return tables


def style_markdown(run: JudgeRun) -> list[str]:
    """The "Length and style control" lines of the judge's markdown section."""
    if run.style_control is None:
        return []
    lines: list[str] = []
    for caption, header, rows in style_tables(run.style_control, reconcile=run.settings.reconcile):
        lines += ["", caption, "", markdown_table(header, rows)]
    lines += [f"\n**Warning:** {markdown_escape(w)}." for w in run.style_control.warnings]
    return lines


def shard_features_json(run: JudgeRun) -> str | None:
    """A shard's ``style_features.json``: the style features of every answer
    of the whole run (a shard reads all of them), so that ``evalkit judge
    merge`` computes the merged run's length and style control as an
    unsharded run does; ``None`` when the run has none to compute."""
    import json

    from evalkit.judge.style_features import STYLE_FEATURES, style_features

    if run.whole_run is None or run.mode != "pairwise" or not run.settings.style_control or run.inputs is None:
        return None
    systems = {
        name: [None if text is None else [style_features(text)[f] for f in STYLE_FEATURES] for text in texts]
        for name, texts in run.inputs.systems.items()
    }
    return json.dumps({"features": list(STYLE_FEATURES), "systems": systems}) + "\n"
