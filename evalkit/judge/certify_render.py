"""Rendering of report cards (:mod:`evalkit.judge.certify`): one card as
markdown (``card.md`` and the terminal), several cards as one table
(``evalkit judge certify --compare``). Numbers go through
:mod:`evalkit.formatting`; model and set names are escaped table cells.
"""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.formatting import format_number, markdown_escape, markdown_table
from evalkit.judge.certify import LengthPreference, ReportCard

__all__ = ["render_card", "render_comparison", "verdict"]


def _rate(value: float | None, ci: tuple[float, float] | None = None) -> str:
    text = format_number(value, "0-1")
    if value is not None and ci is not None:
        text += f" [{format_number(ci[0], '0-1')}, {format_number(ci[1], '0-1')}]"
    return text


def _longer(p: LengthPreference) -> str:
    if p.share is None:
        return "n/a (no decisive verdict)"
    return f"{format_number(p.share, '0-1')} of {p.n} decisive"


def _judge_name(card: ReportCard) -> str:
    return f"{card.model} (local)" if card.local else card.model


def verdict(card: ReportCard) -> str:
    """What the judge may and may not be used for, in one or two sentences."""
    if card.agreement is None or card.agreement_ci is None:
        return "No verdict: no item had both a human label and a scored judge verdict."
    low, high = card.agreement_ci
    chance = format_number(card.chance, "0-1")
    constant = f"{format_number(card.constant, '0-1')} for a judge that always answers {card.constant_judge!r}"
    if high < card.chance:
        return (
            f"Worse than chance on this set: the whole interval of its agreement with humans lies below the "
            f"coin flip's {chance}. Do not use this judge to decide which answer is better; "
            "use it to try the judge pipeline offline."
        )
    if low <= max(card.chance, card.constant or 0.0):
        return (
            f"No better than chance on this set: the interval of its agreement with humans reaches the "
            f"coin flip's {chance} or the {constant}. Do not use this judge to decide which answer is better; "
            "use it to try the judge pipeline offline."
        )
    if card.human_agreement is not None and high < card.human_agreement:
        return (
            f"Better than chance ({chance}; {constant}) but below the humans' agreement with each other "
            f"({format_number(card.human_agreement, '0-1')}): use it to rank systems far apart, "
            "and check close calls by hand."
        )
    return (
        f"Better than chance ({chance}; {constant}). Check that its position consistency and length "
        "preference suit your use before trusting small differences."
    )


def _rows(card: ReportCard) -> list[list[str]]:
    human_ceiling = _rate(card.human_agreement, card.human_agreement_ci)
    if card.human_agreement is None:
        human_ceiling = "n/a (one annotator)" if card.annotators < 2 else "n/a (no labelled, scored item)"
    constant = (
        f"always {card.constant_judge!r}: {_rate(card.constant)}" if card.constant_judge else "always one verdict: n/a"
    )
    tokens = f"{card.prompt_tokens} in, {card.completion_tokens} out"
    unscored = f"{card.unscored} of {card.items} ({format_number(card.unscored_rate, '0-1')})"
    return [
        ["agreement with humans", _rate(card.agreement, card.agreement_ci), f"coin flip: {_rate(card.chance)}"],
        ["", "", constant],
        ["both orders right", _rate(card.agreement_both_orders), ""],
        ["agreement without ties", _rate(card.agreement_without_ties), ""],
        ["Cohen's kappa", _rate(card.kappa, card.kappa_ci), "chance: 0"],
        ["human-human agreement (ceiling)", "", human_ceiling],
        ["position consistency", _rate(card.position_consistency), "unbiased: 1"],
        ["first-position rate", _rate(card.first_position_rate), "unbiased: 0.5"],
        [
            "prefers the longer answer",
            _longer(card.longer_preferred),
            f"humans: {_longer(card.human_longer_preferred)}",
        ],
        ["unscored", unscored, ""],
        ["calls", str(card.calls), ""],
        ["tokens", tokens, ""],
        ["cost (USD)", format_number(card.cost, "0-1"), ""],
        ["wall time (s)", f"{card.wall_s:.1f}", ""],
    ]


def render_card(card: ReportCard) -> str:
    """The card as a markdown section."""
    head = (
        f"## Judge report card: {markdown_escape(_judge_name(card))} on {markdown_escape(card.set)}\n\n"
        f"Template {markdown_escape(card.template)}, protocol {card.protocol}, reconcile {card.reconcile}; "
        f"{card.items} items judged{' in both orders' if card.position_consistency is not None else ''}, "
        f"{card.labelled} with a human label "
        f"({card.annotators} annotator{'s' if card.annotators != 1 else ''} per item). "
        "Intervals are 95% bootstrap intervals over items.\n\n"
    )
    table = markdown_table(["measure", "judge", "reference"], _rows(card))
    return f"{head}{table}\n\n**What this judge may be used for:** {verdict(card)}\n\nSignature: `{card.signature}`\n"


def render_comparison(cards: Sequence[ReportCard]) -> str:
    """Several cards as one markdown table, one row per card."""
    header = [
        "judge",
        "set",
        "protocol",
        "items",
        "agreement [95% CI]",
        "best constant",
        "kappa",
        "human-human",
        "consistency",
        "first-position",
        "longer (judge)",
        "longer (humans)",
        "unscored",
        "calls",
        "tokens",
        "cost",
        "wall s",
    ]
    rows = [
        [
            _judge_name(c),
            c.set,
            c.protocol,
            str(c.items),
            _rate(c.agreement, c.agreement_ci),
            format_number(c.constant, "0-1"),
            format_number(c.kappa, "0-1"),
            format_number(c.human_agreement, "0-1"),
            format_number(c.position_consistency, "0-1"),
            format_number(c.first_position_rate, "0-1"),
            format_number(c.longer_preferred.share, "0-1"),
            format_number(c.human_longer_preferred.share, "0-1"),
            format_number(c.unscored_rate, "0-1"),
            str(c.calls),
            str(c.prompt_tokens + c.completion_tokens),
            format_number(c.cost, "0-1"),
            f"{c.wall_s:.1f}",
        ]
        for c in cards
    ]
    return markdown_table(header, rows) + "\n"
