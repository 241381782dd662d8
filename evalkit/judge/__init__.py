"""The LLM judge: single-score and pairwise judging over any OpenAI-compatible
server, with position swapping, a resumable cache and a real local judge.

The layers, each testable alone:

    templates  (TOML data files in ``judges/``)
    -> render     messages with nonce delimiters, escaping, injection flags
    -> client     the only module that knows HTTP: concurrency, retries, timeouts
    -> protocols  pure parsing of a verdict (text, grammar, logprobs)
    -> aggregate  pure: swap reconciliation, win rates, Bradley-Terry

``run.run_judge(JudgeConfig(...)) -> JudgeRun`` ties them together; ``report``
writes ``summary.json``, ``judgments.jsonl`` and a markdown section; ``cli``
is the ``evalkit judge`` command.

Importing this package is light: openai loads only when a run talks to a server.
"""

from __future__ import annotations

__all__ = ["JudgeConfig", "JudgeRun", "run_judge", "load_template", "Template"]

from typing import TYPE_CHECKING

from evalkit._lazy import lazy_getattr

if TYPE_CHECKING:
    from evalkit.judge.run import JudgeConfig, JudgeRun, run_judge
    from evalkit.judge.templates import Template, load_template

_LAZY = {
    "JudgeConfig": "evalkit.judge.run",
    "JudgeRun": "evalkit.judge.run",
    "run_judge": "evalkit.judge.run",
    "Template": "evalkit.judge.templates",
    "load_template": "evalkit.judge.templates",
}


__getattr__ = lazy_getattr("evalkit.judge", _LAZY, globals())
