"""The LLM judge: single-score and pairwise judging over any OpenAI-compatible
server, with position swapping, a resumable cache and a real local judge.

The layers, each importing only the ones below it:

    types      settings, data, templates, planned calls, verdicts, summaries,
               the run's result (the bottom)
    templates  TOML data files in ``judges/``, checked by a settings model
    render     messages with nonce delimiters, escaping, injection flags
    protocols  pure parsing of a verdict (text, grammar, logprobs)
    cache      SQLite cache of parsed calls
    turns      a conversation (multi-turn data) rendered into a template's
               conversation placeholders; ``conversations`` reads such data
    calls      checks, request parameters, rendering and keying every call
    aggregate  pure: swap reconciliation, items, summaries, Bradley-Terry
    labels     human labels (JSONL/CSV/TSV) read and checked into ``HumanLabels``
    agreement  pure: the verdicts' agreement with human labels, with intervals
    style_control  pure: length-controlled win rates and style-controlled
               ratings with bootstrap intervals (over style_features and
               logistic_fit; style_report puts them in the reports)
    client     the only module that knows HTTP (retries: :mod:`evalkit.retry`)
    send       probe, concurrency, budget, parsing and cache writes
    server     endpoints; the local judge started lazily and shared
    shard      ``--shard I/N``: which calls a shard makes (by cache key)
    run        ``run_judge(settings, inputs, mode=...) -> JudgeRun``
    pooling    pure: a panel's votes per item, the cascade's rule, Krippendorff's alpha
    panel      ``run_panel(members, inputs, mode=...) -> PanelRun`` (``panel_spec``
               parses the judges; ``panel_report`` writes a panel's files)
    report     ``summary.json``, ``judgments.jsonl``, the markdown section
               (``agreement_report``: its agreement tables)
    merge      shard folders -> the whole run's ``JudgeRun``
    cli        ``evalkit judge`` and the ``[judge]`` table (printing lives here)

Importing this package is light: openai loads only when a run talks to a server.
"""

from __future__ import annotations

__all__ = [
    "HumanLabels",
    "JudgeData",
    "JudgeInputs",
    "JudgeRun",
    "JudgeServers",
    "JudgeSettings",
    "JudgeSpec",
    "PanelRun",
    "Template",
    "load_labels",
    "load_template",
    "pairwise_agreement",
    "run_judge",
    "run_panel",
    "single_agreement",
]

from typing import TYPE_CHECKING

from evalkit._lazy import lazy_getattr

if TYPE_CHECKING:
    from evalkit.judge.agreement import pairwise_agreement, single_agreement
    from evalkit.judge.labels import HumanLabels, load_labels
    from evalkit.judge.panel import run_panel
    from evalkit.judge.run import run_judge
    from evalkit.judge.server import JudgeServers
    from evalkit.judge.templates import load_template
    from evalkit.judge.types import JudgeData, JudgeInputs, JudgeRun, JudgeSettings, JudgeSpec, PanelRun, Template

_LAZY = {
    "HumanLabels": "evalkit.judge.labels",
    "load_labels": "evalkit.judge.labels",
    "pairwise_agreement": "evalkit.judge.agreement",
    "single_agreement": "evalkit.judge.agreement",
    "JudgeData": "evalkit.judge.types",
    "JudgeInputs": "evalkit.judge.types",
    "JudgeRun": "evalkit.judge.types",
    "JudgeServers": "evalkit.judge.server",
    "JudgeSettings": "evalkit.judge.types",
    "JudgeSpec": "evalkit.judge.types",
    "Template": "evalkit.judge.types",
    "load_template": "evalkit.judge.templates",
    "run_judge": "evalkit.judge.run",
    "PanelRun": "evalkit.judge.types",
    "run_panel": "evalkit.judge.panel",
}


__getattr__ = lazy_getattr("evalkit.judge", _LAZY, globals())
