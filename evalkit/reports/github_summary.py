"""``--github-summary``: append the comparison's statistics and gates, as
markdown, to the file GitHub Actions names in ``$GITHUB_STEP_SUMMARY``; the
job's summary page shows it.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "summary.md")
>>> _ = append_github_summary("## hello", environ={"GITHUB_STEP_SUMMARY": path})
>>> open(path).read()
'## hello\\n\\n'
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.stats.analysis import Analysis
    from evalkit.stats.gates import GateOutcome

__all__ = ["ENV_VAR", "append_github_summary", "render_github_summary"]

ENV_VAR = "GITHUB_STEP_SUMMARY"


def render_github_summary(
    analysis: Analysis, gates: Sequence[GateOutcome] = (), *, title: str = "evalkit comparison"
) -> str:
    """Markdown for the step summary: the gates first (what a reviewer needs),
    then intervals and differences from the baseline."""
    from evalkit.reports.statistics import render_gates_markdown, render_stats_markdown

    parts = [f"## {title}", ""]
    systems = ", ".join(f"**{s}**" if s == analysis.baseline else s for s in analysis.systems)
    parts += [f"Systems: {systems}" + (f" (baseline: **{analysis.baseline}**)" if analysis.baseline else ""), ""]
    if gates:
        parts += [render_gates_markdown(gates), ""]
    parts += [render_stats_markdown(analysis, heading_level=3)]
    return "\n".join(parts)


def append_github_summary(markdown: str, *, environ: Mapping[str, str] | None = None) -> Path:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY``; return that path.

    Appending (not replacing) is what GitHub expects: several steps may
    write to the same summary.
    """
    env = os.environ if environ is None else environ
    target = env.get(ENV_VAR)
    if not target:
        raise ConfigError(
            f"--github-summary: ${ENV_VAR} is not set",
            hint="GitHub Actions sets it in every job step; outside Actions leave out --github-summary",
        )
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write(markdown.rstrip("\n") + "\n\n")
    except OSError as exc:
        raise ConfigError(f"--github-summary: cannot append to {path}: {exc.strerror}") from None
    return path
