"""``report.html``: one self-contained file with the comparison's plots.

No script, no stylesheet or font from elsewhere, no network: every figure is
inline SVG, so the file opens offline and can be attached to a CI run. The
figures, each an ``<svg>`` with a stable ``id``:

* ``plot-ci-METRIC``: each system's score with its confidence interval;
* ``plot-delta-METRIC``: each system's difference from the baseline with its
  paired interval, coloured when significant (only with a baseline);
* ``plot-dist-METRIC``: per-item score distributions, one histogram per
  system (metrics with per-item scores only);
* ``plot-win-matrix`` and ``plot-position-bias``: the judge's pairwise win
  rates and its position bias (only when judge pair records are given).

>>> import evalkit
>>> from evalkit.stats.analysis import analyze
>>> c = evalkit.compare({"a": ["x y"], "b": ["x z"]}, references=["x y"], metrics="rouge1")
>>> page = render_html(c, analyze(c, baseline="a", n_resamples=50))
>>> page.count("<svg"), "plot-ci-rouge1" in page
(3, True)
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evalkit.reports.atomic import write_text_atomic

if TYPE_CHECKING:
    from evalkit.judge.style_control import StyleControl
    from evalkit.judge.types import JudgeRun
    from evalkit.reports.explorer import ExplorerData
    from evalkit.runner import Comparison
    from evalkit.stats.analysis import Analysis
    from evalkit.stats.gates import GateOutcome

__all__ = ["plot_ids", "render_html", "write_html"]

_BETTER, _WORSE, _NEUTRAL, _BASE = "#1a7f37", "#cf222e", "#57606a", "#0969da"
_WIDTH = 680
_LABEL = 150  # left margin for system names


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "metric"


def _fmt(x: float, scale: str) -> str:
    return f"{x:.2f}" if scale == "0-100" else f"{x:.3f}"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out, t = [], first
    while t <= hi + step * 1e-9:
        out.append(round(t, 10))
        t += step
    return out


def _domain(values: Sequence[float], *, include: Sequence[float] = ()) -> tuple[float, float]:
    vals = [v for v in list(values) + list(include) if v is not None and math.isfinite(v)]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    if hi == lo:
        pad = abs(lo) * 0.05 or 0.5
    else:
        pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


class _Scale:
    def __init__(self, lo: float, hi: float, x0: float, x1: float) -> None:
        self.lo, self.hi, self.x0, self.x1 = lo, hi, x0, x1

    def __call__(self, v: float) -> float:
        return self.x0 + (v - self.lo) / (self.hi - self.lo) * (self.x1 - self.x0)


def _svg(plot_id: str, title: str, height: float, body: list[str]) -> str:
    return (
        f'<svg id="{_e(plot_id)}" class="plot" role="img" aria-label="{_e(title)}" '
        f'width="{_WIDTH}" height="{height:.0f}" viewBox="0 0 {_WIDTH} {height:.0f}">'
        f"<title>{_e(title)}</title>" + "".join(body) + "</svg>"
    )


def _axis(scale: _Scale, y: float, top: float, *, fmt: Callable[[float], str] = "{:g}".format) -> list[str]:
    out = [f'<line x1="{scale.x0:.1f}" x2="{scale.x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" class="axis"/>']
    for t in _ticks(scale.lo, scale.hi):
        x = scale(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{y + 14:.1f}" class="tick">{_e(fmt(t))}</text>')
    return out


def _label(y: float, name: str, *, bold: bool = False) -> str:
    shown = name if len(name) <= 20 else name[:19] + "…"
    cls = "label base" if bold else "label"
    return f'<text x="{_LABEL - 8}" y="{y + 4:.1f}" class="{cls}"><title>{_e(name)}</title>{_e(shown)}</text>'


def _pick(kind: str, metric: str, system: str) -> str:
    """Attributes that let the item explorer open a mark's items when it is clicked."""
    return f' data-pick="{kind}" data-metric="{_e(metric)}" data-system="{_e(system)}"'


def _ci_plot(analysis: Any, metric: str) -> str | None:
    rows = [(s, analysis.stat(s, metric)) for s in analysis.systems]
    values = []
    for _, st in rows:
        if st.value is not None:
            values.append(st.value)
        if st.interval is not None and st.interval.available:
            values += [st.interval.low, st.interval.high]
    if not values:
        return None
    scale = _Scale(*_domain(values), _LABEL, _WIDTH - 20)
    row_h, top = 26, 10
    height = top + row_h * len(rows) + 30
    body = _axis(scale, top + row_h * len(rows), top)
    for k, (system, st) in enumerate(rows):
        y = top + row_h * k + row_h / 2
        base = system == analysis.baseline
        body.append(_label(y, system, bold=base))
        if st.value is None:
            body.append(f'<text x="{scale.x0 + 4:.1f}" y="{y + 4:.1f}" class="tick">n/a</text>')
            continue
        color = _BASE if base else _NEUTRAL
        if st.interval is not None and st.interval.available:
            x1, x2 = scale(st.interval.low), scale(st.interval.high)
            body.append(
                f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="2"/>'
            )
            for x in (x1, x2):
                body.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 5:.1f}" y2="{y + 5:.1f}" '
                    f'stroke="{color}" stroke-width="2"/>'
                )
            low, high = _fmt(st.interval.low, st.scale), _fmt(st.interval.high, st.scale)
            tip = f"{system}: {_fmt(st.value, st.scale)} [{low}, {high}]"
        else:
            tip = f"{system}: {_fmt(st.value, st.scale)} (no interval)"
        body.append(
            f'<circle cx="{scale(st.value):.1f}" cy="{y:.1f}" r="4.5" fill="{color}"{_pick("score", metric, system)}>'
            f"<title>{_e(tip)}</title></circle>"
        )
    return _svg(f"plot-ci-{_slug(metric)}", f"{metric}: score and confidence interval per system", height, body)


def _delta_plot(analysis: Any, metric: str) -> str | None:
    rows = [(s, analysis.stat(s, metric)) for s in analysis.systems if s != analysis.baseline]
    rows = [(s, st) for s, st in rows if st.test is not None]
    if analysis.baseline is None or not rows:
        return None
    values = [st.test.difference for _, st in rows]
    for _, st in rows:
        if st.delta is not None and st.delta.available:
            values += [st.delta.low, st.delta.high]
    scale = _Scale(*_domain(values, include=[0.0]), _LABEL, _WIDTH - 20)
    row_h, top = 26, 10
    height = top + row_h * len(rows) + 30
    body = _axis(scale, top + row_h * len(rows), top)
    zero = scale(0.0)
    body.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top:.1f}" y2="{top + row_h * len(rows):.1f}" class="zero"/>'
    )
    for k, (system, st) in enumerate(rows):
        y = top + row_h * k + row_h / 2
        body.append(_label(y, system))
        diff, p = st.test.difference, st.test.p_value
        color = _NEUTRAL
        if p < analysis.alpha and diff != 0:
            improved = diff > 0 if st.higher_is_better else diff < 0
            color = _BETTER if improved else _WORSE
        if st.delta is not None and st.delta.available:
            x1, x2 = scale(st.delta.low), scale(st.delta.high)
            body.append(
                f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="2"/>'
            )
        tip = f"{system} - {analysis.baseline}: {diff:+.4g}, p = {p:.4g}"
        body.append(
            f'<rect x="{scale(diff) - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9" fill="{color}"'
            f"{_pick('delta', metric, system)}><title>{_e(tip)}</title></rect>"
        )
    return _svg(
        f"plot-delta-{_slug(metric)}", f"{metric}: difference from the baseline {analysis.baseline}", height, body
    )


def _dist_plot(comparison: Any, analysis: Any, metric: str) -> str | None:
    per_system = {}
    for system in analysis.systems:
        result = comparison.results[(system, metric)]
        per_system[system] = [v for v in result.per_item if v is not None]
    everything = [v for vals in per_system.values() for v in vals]
    if not everything:
        return None
    scale_name = comparison.results[(analysis.systems[0], metric)].scale
    natural_hi = 100.0 if scale_name == "0-100" else 1.0
    lo, hi = min(0.0, min(everything)), max(natural_hi, max(everything))
    n_bins = 20
    width = (hi - lo) / n_bins
    scale = _Scale(lo, hi, _LABEL, _WIDTH - 20)
    row_h, top = 40, 8
    height = top + row_h * len(per_system) + 30
    body = _axis(scale, top + row_h * len(per_system), top)
    for k, (system, vals) in enumerate(per_system.items()):
        base_y = top + row_h * (k + 1) - 4
        body.append(_label(base_y - 12, system, bold=system == analysis.baseline))
        if not vals:
            continue
        counts = [0] * n_bins
        for v in vals:
            counts[min(n_bins - 1, int((v - lo) / width))] += 1
        peak = max(counts)
        color = _BASE if system == analysis.baseline else _NEUTRAL
        for b, count in enumerate(counts):
            if not count:
                continue
            h = (row_h - 10) * count / peak
            x = scale(lo + b * width)
            low, high = f"{lo + b * width:.3g}", f"{lo + (b + 1) * width:.3g}"
            # the explorer puts an item in bin min(n_bins - 1, floor((v - lo) / width)), as here
            where = (
                f'{_pick("bin", metric, system)} data-lo="{lo!r}" data-width="{width!r}" data-bin="{b}" '
                f'data-bins="{n_bins}" data-from="{low}" data-to="{high}"'
            )
            body.append(
                f'<rect x="{x + 0.5:.1f}" y="{base_y - h:.1f}" width="{scale(lo + width) - scale(lo) - 1:.1f}" '
                f'height="{h:.1f}" fill="{color}" fill-opacity="0.55"{where}>'
                f"<title>{_e(f'{system}: {count} items in [{low}, {high})')}</title></rect>"
            )
        mean = sum(vals) / len(vals)
        body.append(
            f'<line x1="{scale(mean):.1f}" x2="{scale(mean):.1f}" y1="{base_y - row_h + 10:.1f}" y2="{base_y:.1f}" '
            f'stroke="#24292f" stroke-width="1.5">'
            f"<title>{_e(f'{system}: mean {mean:.4g} over {len(vals)} items')}</title></line>"
        )
    return _svg(f"plot-dist-{_slug(metric)}", f"{metric}: distribution of per-item scores", height, body)


def _win_matrix(analysis: Any, pairs: Sequence[Mapping[str, Any]]) -> str | None:
    rates: dict[tuple[str, str], float] = {}
    names: list[str] = []
    for pair in pairs:
        a, b, w = pair.get("system_a"), pair.get("system_b"), pair.get("win_rate")
        if a is None or b is None or w is None:
            continue
        rates[(a, b)], rates[(b, a)] = float(w), 1.0 - float(w)
        for n in (a, b):
            if n not in names:
                names.append(n)
    if not rates:
        return None
    cell, left, top = 60, _LABEL, 30
    height = top + cell * len(names) + 10
    body = [f'<text x="{left}" y="18" class="legend">row system\'s win rate against the column system</text>']
    for i, row in enumerate(names):
        y = top + cell * i
        body.append(_label(y + cell / 2, row))
        for j, col in enumerate(names):
            x = left + cell * j
            if i == j:
                body.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#eaeef2"/>')
                continue
            w = rates.get((row, col))
            if w is None:
                body.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#f6f8fa"/>')
                continue
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{_diverging(w)}" '
                f'data-pick="pair" data-system-a="{_e(row)}" data-system-b="{_e(col)}">'
                f"<title>{_e(f'{row} vs {col}: win rate {w:.3f}')}</title></rect>"
                f'<text x="{x + cell / 2 - 1:.1f}" y="{y + cell / 2 + 4:.1f}" class="cell">{w:.2f}</text>'
            )
    # column names under the grid
    for j, col in enumerate(names):
        middle = left + cell * j + cell / 2
        shown = col if len(col) <= 8 else col[:7] + "…"
        body.append(
            f'<text x="{middle - 1:.1f}" y="{top + cell * len(names) + 2 + 10:.1f}" class="tick">'
            f"<title>{_e(col)}</title>{_e(shown)}</text>"
        )
    return _svg("plot-win-matrix", "judge: pairwise win matrix", height + 14, body)


def _diverging(w: float) -> str:
    """Red (0) through white (0.5) to green (1)."""
    w = min(1.0, max(0.0, w))
    if w < 0.5:
        t = w / 0.5
        r, g, b = 207 + (255 - 207) * t, 34 + (255 - 34) * t, 46 + (255 - 46) * t
    else:
        t = (w - 0.5) / 0.5
        r, g, b = 255 + (26 - 255) * t, 255 + (127 - 255) * t, 255 + (55 - 255) * t
    return f"rgb({r:.0f},{g:.0f},{b:.0f})"


def _position_bias(pairs: Sequence[Mapping[str, Any]]) -> str | None:
    rows = []
    for pair in pairs:
        first, consistent = pair.get("first_position_rate"), pair.get("position_consistency")
        if first is None and consistent is None:
            continue
        rows.append((str(pair.get("system_a")), str(pair.get("system_b")), first, consistent))
    if not rows:
        return None
    scale = _Scale(0.0, 1.0, _LABEL, _WIDTH - 20)
    row_h, top = 34, 24
    height = top + row_h * len(rows) + 30
    body = _axis(scale, top + row_h * len(rows), top)
    body.append(
        f'<rect x="{_LABEL}" y="4" width="10" height="8" fill="#bf8700"/>'
        f'<text x="{_LABEL + 14}" y="12" class="legend">answer in first position chosen</text>'
        f'<rect x="{_LABEL + 230}" y="4" width="10" height="8" fill="{_BASE}"/>'
        f'<text x="{_LABEL + 244}" y="12" class="legend">same verdict after swapping</text>'
    )
    half = scale(0.5)
    body.append(
        f'<line x1="{half:.1f}" x2="{half:.1f}" y1="{top:.1f}" y2="{top + row_h * len(rows):.1f}" class="zero">'
        "<title>no position bias: 0.5</title></line>"
    )
    for k, (system_a, system_b, first, consistent) in enumerate(rows):
        y = top + row_h * k
        name = f"{system_a} vs {system_b}"
        body.append(_label(y + row_h / 2, name))
        pair_attributes = f'data-system-a="{_e(system_a)}" data-system-b="{_e(system_b)}"'
        for offset, value, color, what, pick in (
            (4, first, "#bf8700", "first position chosen", "pair"),
            (17, consistent, _BASE, "consistent after swap", "pair-inconsistent"),
        ):
            if value is None:
                continue
            body.append(
                f'<rect x="{scale.x0:.1f}" y="{y + offset:.1f}" width="{scale(value) - scale.x0:.1f}" height="11" '
                f'fill="{color}" data-pick="{pick}" {pair_attributes}>'
                f"<title>{_e(f'{name}: {what} {value:.3f}')}</title></rect>"
            )
    return _svg("plot-position-bias", "judge: position bias", height, body)


def _figure(svg: str | None, caption: str) -> str | None:
    if svg is None:
        return None
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def plot_ids(comparison: Any, analysis: Any) -> list[str]:
    """The ids of every figure :func:`render_html` draws for these inputs."""
    return re.findall(r'<svg id="([^"]+)"', render_html(comparison, analysis))


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#24292f;
margin:24px auto;max-width:960px;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}figure{margin:0 0 18px}figcaption{font-size:12px;color:#57606a}
th:first-child,td:first-child{text-align:left}th{background:#f6f8fa}
.plot{display:block;margin:4px 0 2px;max-width:100%;height:auto}
.axis{stroke:#57606a}.grid{stroke:#d8dee4;stroke-dasharray:2 3}.zero{stroke:#24292f;stroke-dasharray:4 3}
.tick{font-size:11px;fill:#57606a;text-anchor:middle}.label{font-size:12px;fill:#24292f;text-anchor:end}.base{font-weight:bold}
.cell{font-size:12px;fill:#24292f;text-anchor:middle}.legend{font-size:11px;fill:#57606a;text-anchor:start}
.fail{color:#cf222e}.pass{color:#1a7f37}.muted{color:#57606a}code{font-size:12px}
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _head(title: str, explorer: bool) -> list[str]:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">']
    if explorer:
        from evalkit.reports.explorer import script_hash

        # Only the explorer's own script may run, and nothing may be fetched:
        # a second line of defence behind writing untrusted text as text.
        parts.append(
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            f"script-src {script_hash()}; style-src 'unsafe-inline'; img-src data:\">"
        )
    parts += [
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
    ]
    return parts


def _gates_section(gates: Sequence[GateOutcome]) -> list[str]:
    if not gates:
        return []
    n_failed = sum(1 for g in gates if not g.passed)
    parts = [
        "<h2>Gates</h2>",
        f'<p class="{"fail" if n_failed else "pass"}"><strong>'
        + (f"{n_failed} of {len(gates)} gate checks failed" if n_failed else f"all {len(gates)} gate checks hold")
        + "</strong></p><ul>",
    ]
    for g in sorted(gates, key=lambda g: g.passed):
        cls = "pass" if g.passed else "fail"
        parts.append(
            f'<li class="{cls}">{"✔" if g.passed else "✘"} <code>{_e(g.rule)}</code> on '
            f"<strong>{_e(g.system)}</strong>: {_e(g.message)}</li>"
        )
    parts.append("</ul>")
    return parts


def _scores_section(analysis: Analysis) -> list[str]:
    from evalkit.reports.statistics import delta_cells, interval_cells

    parts = ["<h2>Scores with confidence intervals</h2>", _table(*interval_cells(analysis))]
    if analysis.baseline is not None and len(analysis.systems) > 1:
        parts.append(f"<h3>Difference from the baseline ({_e(analysis.baseline)})</h3>")
        parts.append(_table(*delta_cells(analysis)))
    test = "paired approximate randomization" if analysis.method == "ar" else "paired bootstrap (sacrebleu)"
    parts.append(
        f'<p class="muted">Intervals: {(1 - analysis.alpha) * 100:g}% percentile bootstrap, '
        f"{analysis.n_resamples:,} resamples, seed {analysis.seed}. Significance: {test}, "
        f"{analysis.n_trials:,} trials, p &lt; {analysis.alpha:g}. Signature: <code>{_e(analysis.signature)}</code></p>"
    )
    return parts


def _metric_sections(
    comparison: Comparison,
    analysis: Analysis,
    pairs: Sequence[Mapping[str, Any]],
    styles: Sequence[tuple[StyleControl, str]] = (),
) -> list[str]:
    parts = []
    level = f"{(1 - analysis.alpha) * 100:g}%"
    for metric in analysis.metrics:
        figures = [
            _figure(
                _ci_plot(analysis, metric),
                f"Score of each system with its {level} interval"
                + ("; the baseline in blue." if analysis.baseline else "."),
            ),
            _figure(
                _delta_plot(analysis, metric),
                f"Difference from the baseline {analysis.baseline} with its paired {level} interval: "
                "green significantly better, red significantly worse, grey no significant difference.",
            ),
            _figure(
                _dist_plot(comparison, analysis, metric),
                "Per-item scores, one histogram per system; the black line marks the mean.",
            ),
        ]
        shown = [f for f in figures if f]
        if shown:
            parts.append(f'<h2 id="metric-{_e(_slug(metric))}">{_e(metric)}</h2>')
            parts += shown
    judge_figures = [
        _figure(_win_matrix(analysis, pairs), "Pairwise win rates of the judge (ties count half)."),
        _figure(
            _position_bias(pairs),
            "Position bias: how often the answer shown first was chosen (0.5 is "
            "unbiased), and how often the verdict survived swapping the answers.",
        ),
    ]
    shown_judge = [f for f in judge_figures if f] + _style_control(styles)
    if shown_judge:
        parts.append('<h2 id="judge">Judge</h2>')
        parts += shown_judge
    return parts


def _judge_sections(runs: Sequence[JudgeRun]) -> list[str]:
    """The judge runs' own sections, each escaped where it is built."""
    from evalkit.reports.judge_checks import judge_checks_html

    checks = judge_checks_html(runs)
    return _agreement_section(runs) + ([checks] if checks else [])


def _agreement_section(runs: Sequence[JudgeRun]) -> list[str]:
    """The judge's agreement with human labels (categories come from the labels file: escaped)."""
    from evalkit.judge.agreement_report import agreement_tables

    parts: list[str] = []
    for run in runs:
        tables, note = agreement_tables(run)
        for title, header, rows in tables:
            parts += [f"<h3>{_e(title)} ({_e(run.mode)})</h3>", _table(header, rows)]
        if tables:
            parts.append(f'<p class="muted">{_e(note)}</p>')
    return ['<h2 id="judge-agreement">Judge: agreement with human labels</h2>', *parts] if parts else []


def _style_control(styles: Sequence[tuple[StyleControl, str]]) -> list[str]:
    """The judge's length-controlled win rates and style-controlled ratings
    (``(style control, reconcile mode)`` per pairwise run), with warnings."""
    from evalkit.judge.style_report import style_tables

    parts = []
    for style, reconcile in styles:
        for caption, header, rows in style_tables(style, reconcile=reconcile):
            parts += [f'<p class="muted">{_e(caption)}</p>', _table(header, rows)]
        parts += [f'<p class="fail">Warning: {_e(w)}.</p>' for w in style.warnings]
    return parts


def _closing_sections(comparison: Comparison, analysis: Analysis) -> list[str]:
    parts = []
    notes = [f"{s} / {m}: {st.note}" for (s, m), st in analysis.stats.items() if st.note]
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    signatures: dict[str, str] = {}
    for metric in analysis.metrics:
        for system in analysis.systems:
            sig = comparison.results[(system, metric)].signature
            if sig:
                signatures.setdefault(metric, sig)
    if signatures:
        parts.append(
            "<h2>Signatures</h2><ul>"
            + "".join(f"<li><code>{_e(m)}</code>: <code>{_e(s)}</code></li>" for m, s in signatures.items())
            + "</ul>"
        )
    return parts


def render_html(
    comparison: Comparison,
    analysis: Analysis,
    gates: Sequence[GateOutcome] = (),
    *,
    title: str = "evalkit comparison",
    explorer: ExplorerData | None = None,
    judge_pairs: Sequence[Mapping[str, Any]] = (),
    judge_runs: Sequence[JudgeRun] = (),
) -> str:
    """The whole page as one string (see the module docstring).

    With ``explorer``, the item explorer (:mod:`evalkit.reports.explorer`)
    follows the figures, and a click on a point or bar opens its items there.
    ``judge_pairs`` (the judge's pair records) draw the judge's figures;
    ``judge_runs`` add their sections: agreement with human labels,
    length and style control (pairwise), stability
    over repeats and canaries (:mod:`evalkit.reports.judge_checks`).
    """
    baseline = analysis.baseline
    parts = _head(title, explorer is not None)
    parts.append(
        f'<p class="muted">{comparison.n_items} items; systems: '
        + ", ".join(f"<strong>{_e(s)}</strong>" if s == baseline else _e(s) for s in analysis.systems)
        + (f"; baseline: <strong>{_e(baseline)}</strong>" if baseline else "")
        + "</p>"
    )
    parts += _gates_section(gates)
    parts += _scores_section(analysis)
    styles = [(run.style_control, run.settings.reconcile) for run in judge_runs if run.style_control]
    parts += _metric_sections(comparison, analysis, judge_pairs, styles)
    parts += _judge_sections(judge_runs)
    if explorer is not None:
        from evalkit.reports.explorer import render_explorer

        parts.append(render_explorer(explorer))
    parts += _closing_sections(comparison, analysis)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(
    path: str | os.PathLike[str],
    comparison: Comparison,
    analysis: Analysis,
    gates: Sequence[GateOutcome] = (),
    *,
    explorer: ExplorerData | None = None,
) -> None:
    """Write :func:`render_html` to ``path`` atomically."""
    write_text_atomic(path, render_html(comparison, analysis, gates, explorer=explorer))
