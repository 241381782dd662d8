"""A run's agreement with human labels, as the reports show it: the
``human_agreement`` record of each pair (or system) in ``summary.json`` and
the markdown tables of ``report.md`` and the terminal. Categories come from
the labels file: every cell goes through :func:`~evalkit.formatting.markdown_table`,
which escapes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.formatting import format_number, markdown_table
from evalkit.judge.agreement import PairAgreement, SingleAgreement
from evalkit.judge.types import JudgeRun

__all__ = [
    "agreement_markdown",
    "human_outcomes",
    "agreement_tables",
    "human_agreement_record",
    "pair_agreement_of",
    "single_agreement_of",
]

AGREEMENT_NOTE = (
    "Accuracy: the reconciled verdict against the majority human label, a tie against a decisive label "
    "counting one half; A first / B first: the single verdict in that order; both orders: both verdicts right; "
    "with / without ties: MT-Bench's two conventions; κ: Cohen's kappa over a wins / b wins / tie; "
    "human–human: how often two annotators agree, the ceiling. Brackets: 95% bootstrap intervals over items. "
    "Definitions: docs/judge.md, 'Human labels'."
)


def pair_agreement_of(run: JudgeRun, system_a: str, system_b: str) -> PairAgreement | None:
    """The agreement of the pair judged as (``system_a``, ``system_b``), if labels covered it."""
    for a in run.agreement:
        if isinstance(a, PairAgreement) and (a.system_a, a.system_b) == (system_a, system_b):
            return a
    return None


def single_agreement_of(run: JudgeRun, system: str) -> SingleAgreement | None:
    for a in run.agreement:
        if isinstance(a, SingleAgreement) and a.system == system:
            return a
    return None


def human_agreement_record(run: JudgeRun, systems: tuple[str, ...]) -> dict[str, Any] | None:
    """``summary.json``'s ``human_agreement`` of a pair or a system (``None``
    without labels for it)."""
    found = pair_agreement_of(run, *systems) if len(systems) == 2 else single_agreement_of(run, systems[0])
    return found.to_dict() if found is not None else None


def human_outcomes(run: JudgeRun) -> dict[tuple[str, str, int], str]:
    """(system_a, system_b, item) -> the majority human label of a judged
    pair's item as an outcome from system_a's side ("win", "loss", "tie"),
    for the item explorer; empty without pairwise labels."""
    from evalkit.judge.agreement import majority_label

    if run.labels is None or run.mode != "pairwise":
        return {}
    outcome = {"a": "win", "b": "loss", "tie": "tie"}
    out: dict[tuple[str, str, int], str] = {}
    for p in run.pairs:
        for item, labels in run.labels.for_pair(p.system_a, p.system_b).items():
            out[(p.system_a, p.system_b, item)] = outcome[majority_label(labels)]
    return out


def _with_ci(value: float | None, ci: tuple[float, float] | None, scale: str = "0-1") -> str:
    text = format_number(value, scale)
    if value is None or ci is None:
        return text
    return f"{text} [{format_number(ci[0], scale)}, {format_number(ci[1], scale)}]"


def _pair_row(a: PairAgreement, first: list[str]) -> list[str]:
    return first + [
        str(a.n),
        _with_ci(a.accuracy, a.accuracy_ci),
        format_number(a.accuracy_ab, "0-1"),
        format_number(a.accuracy_ba, "0-1"),
        format_number(a.accuracy_both, "0-1"),
        format_number(a.agreement_with_ties, "0-1"),
        format_number(a.agreement_without_ties, "0-1"),
        _with_ci(a.kappa, a.kappa_ci),
        _with_ci(a.human_human_agreement, a.human_human_agreement_ci),
    ]


_PAIR_HEADER = ["n", "accuracy", "A first", "B first", "both orders", "with ties", "without ties", "κ", "human–human"]


#: A titled table: (title, header, rows), rendered as markdown or HTML.
Table = tuple[str, list[str], list[list[str]]]


def _pair_tables(pairs: Sequence[PairAgreement]) -> list[Table]:
    rows = [_pair_row(a, [a.system_a, a.system_b, str(a.n_annotators)]) for a in pairs]
    tables = [("Agreement with human labels", ["system A", "system B", "annotators", *_PAIR_HEADER], rows)]
    by_category = [_pair_row(c, [a.system_a, a.system_b, name]) for a in pairs for name, c in a.by_category.items()]
    if by_category:
        tables.append(("By category", ["system A", "system B", "category", *_PAIR_HEADER], by_category))
    return tables


def _single_row(a: SingleAgreement, first: list[str], scale: str) -> list[str]:
    return first + [
        str(a.n),
        _with_ci(a.spearman, a.spearman_ci),
        _with_ci(a.kendall, a.kendall_ci),
        _with_ci(a.mae, a.mae_ci, scale),
    ]


_SINGLE_HEADER = ["n", "Spearman ρ", "Kendall τ", "mean abs. error"]
SINGLE_NOTE = (
    "The human score of an item is the mean of its annotators' scores; ρ and τ (τ-b) rank judge against "
    "human scores. Brackets: 95% bootstrap intervals over items. Definitions: docs/judge.md, 'Human labels'."
)


def _single_tables(singles: Sequence[SingleAgreement], scale: str) -> list[Table]:
    rows = [_single_row(a, [a.system or "all", str(a.n_annotators)], scale) for a in singles]
    tables = [("Agreement with human labels", ["system", "annotators", *_SINGLE_HEADER], rows)]
    by_category = [
        _single_row(c, [a.system or "all", name], scale) for a in singles for name, c in a.by_category.items()
    ]
    if by_category:
        tables.append(("By category", ["system", "category", *_SINGLE_HEADER], by_category))
    return tables


def agreement_tables(run: JudgeRun) -> tuple[list[Table], str]:
    """The run's agreement tables (none without labels) and the note that explains them."""
    pairs = [a for a in run.agreement if isinstance(a, PairAgreement)]
    singles = [a for a in run.agreement if isinstance(a, SingleAgreement)]
    if pairs:
        return _pair_tables(pairs), AGREEMENT_NOTE
    if singles:
        return _single_tables(singles, run.template.scale), SINGLE_NOTE
    return [], ""


def agreement_markdown(run: JudgeRun) -> list[str]:
    """The lines of the run's "Agreement with human labels" part (none without labels)."""
    tables, note = agreement_tables(run)
    lines: list[str] = []
    for title, header, rows in tables:
        lines += ["", f"{title}:", "", markdown_table(header, rows)]
    return lines + ["", note] if tables else lines
