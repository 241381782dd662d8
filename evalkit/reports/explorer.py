"""The item explorer of ``report.html``: every item, every system, every score.

:func:`render_explorer` turns an :class:`ExplorerData` into one HTML fragment,
``<section id="explorer">``, holding its stylesheet, its data and its script.
In the browser it shows a paged table of items (50 a page, so 10,000 items
stay quick) that can be sorted by any metric, by the difference from the
baseline or by how much the systems disagree, filtered (judge inconsistent
across orders, judge against humans, flagged, unscored) and searched; a
clicked row opens the item: prompt, references, the outputs side by side with
the words they share with a reference marked, every score, and the judge's
calls in both orders with their raw answers.

Untrusted text (prompts, references, outputs, judge answers, system names) is
only ever put into the page as data: the data travel as JSON inside
``<script type="application/json">`` with ``<``, ``>``, ``&``, U+2028 and
U+2029 escaped, and the script writes them with ``textContent``, never as
HTML. Large data are gzip-compressed and base64-encoded, and the browser
inflates them with its own ``DecompressionStream``: nothing is fetched.

The pipeline builds :class:`ExplorerData`; :func:`explorer_data_from` does so
from a :class:`~evalkit.runner.Comparison`, and :func:`judge_item` turns each
reconciled :class:`~evalkit.judge.types.ItemVerdict` of a judge run into a
:class:`JudgeItem`.

>>> import evalkit
>>> c = evalkit.compare({"a": ["x y"], "b": ["x z"]}, references=["x y"], metrics="rouge1")
>>> data = explorer_data_from(c, baseline="a")
>>> data.scores["rouge1"]["b"]
(0.5,)
>>> fragment = render_explorer(data)
>>> fragment.startswith('<section id="explorer"'), fragment.count('type="application/json"')
(True, 1)
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeAlias

from evalkit.errors import InputError

if TYPE_CHECKING:
    from evalkit.judge.types import ItemVerdict
    from evalkit.runner import Comparison

__all__ = [
    "ExplorerData",
    "JudgeItem",
    "MetricColumn",
    "OrderVerdict",
    "explorer_data_from",
    "judge_item",
    "render_explorer",
    "script_hash",
]

#: JSON larger than this is embedded gzip-compressed (see :func:`embed`).
COMPRESS_ABOVE = 32 * 1024

JSONValue: TypeAlias = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


@dataclass(frozen=True)
class OrderVerdict:
    """One judge call of a pairwise item (or the single call of a single-score item)."""

    order: str | None  # "ab" (system_a shown first), "ba", or None in single mode
    verdict: str | None  # the label the judge gave ("A", "B", "C", "7"...), None if unscored
    raw_answer: str | None  # the judge's whole answer (its explanation for the text protocol)
    unscored: str | None = None  # why the call gave no verdict


@dataclass(frozen=True)
class JudgeItem:
    """The judge's view of one item: one system (single) or one pair (pairwise)."""

    mode: str  # "pairwise" | "single"
    item: int  # 0-based item index
    systems: tuple[str, ...]  # (system_a, system_b) or (system,)
    outcome: str | None  # pairwise: "win" | "loss" | "tie" from system_a's side; single: None
    score: float | None  # single: the grade; pairwise: P(system_a wins) or 1/0.5/0
    consistent: bool | None  # pairwise: both orders agreed
    calls: tuple[OrderVerdict, ...]
    flags: tuple[str, ...] = ()  # e.g. "possible_injection: answer of 'weak' contains '...'"
    unscored: str | None = None
    human: str | None = None  # the human label, when labels were given
    agrees_with_human: bool | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("pairwise", "single"):
            raise ValueError(f"judge mode must be 'pairwise' or 'single', not {self.mode!r}")
        if len(self.systems) != (2 if self.mode == "pairwise" else 1):
            raise ValueError(f"a {self.mode} judge item names {len(self.systems)} systems: {self.systems}")


@dataclass(frozen=True)
class MetricColumn:
    name: str
    higher_is_better: bool = True
    scale: str = "0-1"  # "0-1" or "0-100", for display


@dataclass(frozen=True)
class ExplorerData:
    """Everything the explorer shows, per item.

    ``outputs[system][i]`` is ``None`` for a missing output and
    ``scores[metric][system][i]`` is ``None`` for an unscored item: the
    explorer shows them as missing/unscored, never as 0.
    """

    systems: tuple[str, ...]
    baseline: str | None
    n_items: int
    prompts: tuple[str | None, ...] | None
    references: tuple[tuple[str, ...], ...] | None
    outputs: Mapping[str, tuple[str | None, ...]]
    metrics: tuple[MetricColumn, ...]
    scores: Mapping[str, Mapping[str, tuple[float | None, ...]]]
    judge: tuple[JudgeItem, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "outputs", MappingProxyType({s: tuple(v) for s, v in self.outputs.items()}))
        object.__setattr__(
            self,
            "scores",
            MappingProxyType(
                {m: MappingProxyType({s: tuple(v) for s, v in per.items()}) for m, per in self.scores.items()}
            ),
        )
        self._check()

    def _check(self) -> None:
        if self.baseline is not None and self.baseline not in self.systems:
            raise ValueError(f"baseline {self.baseline!r} is not one of the systems {self.systems}")
        if set(self.outputs) != set(self.systems):
            raise ValueError(f"outputs are given for {sorted(self.outputs)}, systems are {list(self.systems)}")
        if [m.name for m in self.metrics] != list(self.scores):
            raise ValueError(f"scores are given for {list(self.scores)}, metrics are {[m.name for m in self.metrics]}")
        columns: list[tuple[str, Sequence[object]]] = [(f"outputs of {s!r}", v) for s, v in self.outputs.items()]
        if self.prompts is not None:
            columns.append(("prompts", self.prompts))
        if self.references is not None:
            columns.append(("references", self.references))
        for metric, per_system in self.scores.items():
            if set(per_system) != set(self.systems):
                raise ValueError(f"{metric} scores are given for {sorted(per_system)}, systems are {self.systems}")
            for system, scores in per_system.items():
                columns.append((f"{metric} scores of {system!r}", scores))
                bad = next((v for v in scores if v is not None and not math.isfinite(v)), None)
                if bad is not None:
                    raise ValueError(f"{metric} of {system!r} has a non-finite score {bad}: unscored items are None")
        for what, column in columns:
            if len(column) != self.n_items:
                raise InputError(f"the item explorer got {len(column)} {what} for {self.n_items} items")
        for judged in self.judge:
            if not 0 <= judged.item < self.n_items:
                raise InputError(
                    f"the judge's item {judged.item} ({' vs '.join(judged.systems)}) is outside the "
                    f"{self.n_items} items of the comparison",
                    hint="judge the same prompts as the ones scored",
                )


def explorer_data_from(
    comparison: Comparison,
    judge_items: Iterable[JudgeItem] = (),
    *,
    prompts: Sequence[str | None] | None = None,
    baseline: str | None = None,
) -> ExplorerData:
    """The explorer's data from a :class:`~evalkit.runner.Comparison`.

    Metrics without per-item scores (MAUVE) have no column. ``prompts`` (one
    per item: the prompt or source) are optional.
    """
    metrics = []
    scores: dict[str, dict[str, tuple[float | None, ...]]] = {}
    for name in comparison.metrics:
        results = [comparison.results[(s, name)] for s in comparison.systems]
        if any(len(r.per_item) != comparison.n_items for r in results):
            continue
        first = results[0]
        metrics.append(MetricColumn(name, first.higher_is_better, first.scale))
        scores[name] = {s: tuple(r.per_item) for s, r in zip(comparison.systems, results)}
    outputs = {s: tuple(comparison.predictions.get(s, (None,) * comparison.n_items)) for s in comparison.systems}
    return ExplorerData(
        systems=tuple(comparison.systems),
        baseline=baseline,
        n_items=comparison.n_items,
        prompts=None if prompts is None else tuple(prompts),
        references=comparison.references,
        outputs=outputs,
        metrics=tuple(metrics),
        scores=scores,
        judge=tuple(judge_items),
    )


def judge_item(verdict: ItemVerdict, human: str | None = None) -> JudgeItem:
    """The explorer's view of one reconciled item of a judge run; ``human``
    is the human label as an outcome from system_a's side, when labels were given."""
    calls = tuple(OrderVerdict(c.order, c.label, c.raw_answer, c.unscored) for c in verdict.calls)
    flags = dict.fromkeys(
        f"possible_injection: answer of {system!r}: {', '.join(reasons)}"
        for c in verdict.calls
        for system, reasons in c.flags.items()
    )
    return JudgeItem(
        mode=verdict.mode,
        item=verdict.item,
        systems=verdict.systems,
        outcome=verdict.outcome,
        score=verdict.score,
        consistent=verdict.consistent,
        calls=calls,
        flags=tuple(flags),
        unscored=verdict.unscored,
        human=human,
        agrees_with_human=None if human is None or verdict.outcome is None else human == verdict.outcome,
    )


def _number(value: float | None) -> float | None:
    # Six decimals are more than any display needs and keep the data small.
    return None if value is None else round(float(value), 6)


def _judge_payload(item: JudgeItem) -> dict[str, JSONValue]:
    return {
        "mode": item.mode,
        "item": item.item,
        "systems": list(item.systems),
        "outcome": item.outcome,
        "score": _number(item.score),
        "consistent": item.consistent,
        "calls": [[c.order, c.verdict, c.raw_answer, c.unscored] for c in item.calls],
        "flags": list(item.flags),
        "unscored": item.unscored,
        "human": item.human,
        "agrees": item.agrees_with_human,
    }


def payload(data: ExplorerData) -> dict[str, JSONValue]:
    """The data as the page's script reads them: column-wise lists in system and metric order."""
    return {
        "version": 1,
        "systems": list(data.systems),
        "baseline": data.baseline,
        "n": data.n_items,
        "prompts": None if data.prompts is None else list(data.prompts),
        "references": None if data.references is None else [list(r) for r in data.references],
        "outputs": [list(data.outputs[s]) for s in data.systems],
        "metrics": [{"name": m.name, "higher": m.higher_is_better, "scale": m.scale} for m in data.metrics],
        "scores": [[[_number(v) for v in data.scores[m.name][s]] for s in data.systems] for m in data.metrics],
        "judge": [_judge_payload(j) for j in data.judge],
    }


_JSON_ESCAPES: dict[str | int, str | int | None] = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: object) -> str:
    """JSON that is safe inside ``<script type="application/json">``: it cannot
    close the element or start a comment, and JavaScript reads it unchanged.

    >>> script_json({"a": "</script><!--&\\u2028"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u003c!--\\\\u0026\\\\u2028"}'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # These characters occur only inside JSON strings, where \\uXXXX means the same.
    return text.translate(str.maketrans(_JSON_ESCAPES))


def embed(value: object, *, compress: bool | None = None) -> tuple[str, str]:
    """``(encoding, text)`` for the data element: ``"json"`` or ``"gzip+base64"``.

    ``compress=None`` compresses when the JSON is over :data:`COMPRESS_ABOVE`
    bytes (gzip level 6 with a fixed timestamp, so the same data give the same
    page).
    """
    text = script_json(value)
    raw = text.encode("utf-8")
    if compress is None:
        compress = len(raw) > COMPRESS_ABOVE
    if not compress:
        return "json", text
    packed = gzip.compress(raw, compresslevel=6, mtime=0)
    return "gzip+base64", base64.b64encode(packed).decode("ascii")


# Static markup only: the script fills it from the data, as text.
_SKELETON = (
    '<div class="ex-controls" role="search">'
    '<label>Search <input id="ex-search" type="search" placeholder="words in prompt, references, outputs" '
    'autocomplete="off"></label>'
    '<label>Show <select id="ex-show"></select></label>'
    '<label>Sort by <select id="ex-sort"></select></label>'
    '<label>Order <select id="ex-dir"><option value="auto">default (worst or largest first)</option>'
    '<option value="asc">ascending</option><option value="desc">descending</option></select></label>'
    '<button type="button" id="ex-reset">Reset</button>'
    "</div>"
    '<p id="ex-pick" hidden><span id="ex-pick-text"></span> '
    '<button type="button" id="ex-pick-clear">show all</button></p>'
    '<p id="ex-status" role="status">Loading the items…</p>'
    '<div class="ex-scroll"><table id="ex-table"><thead></thead><tbody></tbody></table></div>'
    '<div class="ex-pager"><button type="button" id="ex-prev">‹ previous</button> '
    '<span id="ex-page"></span> <button type="button" id="ex-next">next ›</button></div>'
    '<div id="ex-detail" hidden></div>'
)


@cache
def _asset(name: str) -> str:
    return resources.files("evalkit.reports").joinpath(name).read_text(encoding="utf-8")


def script_hash() -> str:
    """The CSP source (``'sha256-...'``) of the explorer's inline script."""
    digest = hashlib.sha256(_asset("explorer.js").encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def render_explorer(data: ExplorerData, *, compress: bool | None = None) -> str:
    """The ``<section id="explorer">`` fragment with its style, data and script."""
    encoding, text = embed(payload(data), compress=compress)
    return (
        '<section id="explorer" aria-labelledby="explorer-title">'
        '<h2 id="explorer-title">Items</h2>'
        f"<style>{_asset('explorer.css')}</style>"
        "<noscript><p>The item explorer needs JavaScript.</p></noscript>"
        f"{_SKELETON}"
        f'<script type="application/json" id="explorer-data" data-encoding="{encoding}">{text}</script>'
        f"<script>{_asset('explorer.js')}</script>"
        "</section>"
    )
