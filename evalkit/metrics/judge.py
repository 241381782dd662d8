"""The LLM judge as metrics like the others: one table, one statistics layer,
the gates and every writer treat a judge column like any other column.

- ``judge`` (:class:`JudgeScore`, capability ``prompts``): each answer graded
  on the template's scale; the value is the mean grade of the scored items.
- ``judge_pairwise`` (:class:`JudgePairwise`, capability ``paired``, whose
  ``score_pair`` takes the prompts too): a system against the baseline system, each item judged in
  both orders; the value is the win rate (ties count half), each item's score
  its reconciled outcome (win 1, tie 0.5, loss 0).

Their options are the judge's settings (:class:`~evalkit.judge.types.JudgeSettings`,
one definition): ``template``, ``protocol``, ``base_url``, ``model``,
``judge="local"``... Both run :func:`evalkit.judge.run.run_judge`; the HTTP is
the judge client's. Give them a shared :class:`~evalkit.judge.server.JudgeServers`
with :meth:`~JudgeScore.use_servers` so that several metrics share one local
judge; without one, each scoring starts (and stops) its own when it must send
a call.

>>> metric = JudgeScore(template="mt-bench-single", base_url="http://127.0.0.1:9/v1", model="m")
>>> metric.settings.template, sorted(metric.capabilities)
('mt-bench-single', ['prompts'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from evalkit.errors import ConfigError
from evalkit.judge.types import JudgeInputs, JudgeSettings, Mode
from evalkit.metrics.base import ReferencesInput, check_predictions
from evalkit.result import MetricResult
from evalkit.settings import keyword_signature, subset, validate

if TYPE_CHECKING:
    from evalkit.judge.server import JudgeServers
    from evalkit.judge.types import JudgeRun

__all__ = ["JudgePairwise", "JudgeScore", "JudgeScoreOptions", "JudgePairwiseOptions"]

#: Settings of a report run that are no metric's business.
_RUN_ONLY = ("out", "dry_run", "limit", "shard")
#: The options of ``judge``: the judge's settings but the pairwise and run-only ones.
JudgeScoreOptions = subset(
    JudgeSettings, exclude=(*_RUN_ONLY, "reconcile", "swap", "baseline"), name="JudgeScoreOptions"
)
#: The options of ``judge_pairwise``: the baseline is the runner's.
JudgePairwiseOptions = subset(JudgeSettings, exclude=(*_RUN_ONLY, "baseline"), name="JudgePairwiseOptions")


class _JudgeMetric:
    """Options validated through the judge's settings; running through run_judge."""

    name: ClassVar[str]
    mode: ClassVar[Mode]
    options_model: ClassVar[type]
    needs_references: ClassVar[bool] = False
    higher_is_better: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        from evalkit.judge.calls import check_settings
        from evalkit.judge.templates import load_template

        # from Python nothing is converted; the command line's strings were converted by the registry
        checked: object = validate(self.options_model, options, where=f"metric {self.name}", strict=True)
        values = {name: getattr(checked, name) for name in vars(checked)}
        self.settings = JudgeSettings(**values)
        self.template = load_template(self.settings.template or self.mode)
        self.protocol = check_settings(self.settings, mode=self.mode, template=self.template)
        self._servers: JudgeServers | None = None

    def use_servers(self, servers: JudgeServers) -> None:
        """Send through ``servers`` (shared with other runs of the process)."""
        self._servers = servers

    def _run(self, inputs: JudgeInputs, *, baseline: str | None = None) -> JudgeRun:
        from dataclasses import replace

        from evalkit.judge.run import api_key_from_env, run_judge

        settings = self.settings if baseline is None else replace(self.settings, baseline=baseline)
        api_key = api_key_from_env(settings)
        return run_judge(settings, inputs, mode=self.mode, api_key=api_key, server=self._servers)

    def _needs_prompts(self) -> ConfigError:
        return ConfigError(
            f"metric {self.name!r} needs the prompts (the questions the answers reply to)",
            hint="give prompts: evalkit run's prompts = FILE, or score_with_prompts(...) in Python",
        )


def _references(references: ReferencesInput | None, n: int, name: str) -> list[Sequence[str] | None] | None:
    if references is None:
        return None
    refs = list(references)
    if len(refs) != n:
        raise ConfigError(f"metric {name!r}: {n} predictions but {len(refs)} references")
    return [(r,) if isinstance(r, str) else tuple(r) for r in refs]


class JudgeScore(_JudgeMetric):
    """``judge``: the mean grade of each answer on the template's scale."""

    name: ClassVar[str] = "judge"
    mode: ClassVar[Mode] = "single"
    capabilities: ClassVar[frozenset[str]] = frozenset({"prompts"})
    options_model: ClassVar[type] = JudgeScoreOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)

    def score(self, *, predictions: Sequence[str | None], references: ReferencesInput | None = None) -> MetricResult:
        raise self._needs_prompts()

    def score_with_prompts(
        self,
        *,
        predictions: Sequence[str | None],
        prompts: Sequence[str | None],
        references: ReferencesInput | None = None,
    ) -> MetricResult:
        """Grade each prediction; an item the judge could not grade is unscored with its reason."""
        preds = check_predictions(predictions)
        refs = _references(references, len(preds), self.name) if self.template.needs_reference else None
        run = self._run(JudgeInputs.of(prompts, {"system": preds}, refs))
        summary = run.single("system")
        return MetricResult(
            metric=self.name,
            value=summary.mean,
            per_item=tuple(run.single_item_scores("system")),
            details={
                "stdev": summary.stdev,
                "histogram": dict(summary.histogram),
                "possible_injection": summary.possible_injection,
                "unscored_reasons": dict(summary.unscored_reasons),
            },
            unscored=run.unscored_items(("system",)),
            signature=run.signature,
            scale=run.template.scale,
        )


class JudgePairwise(_JudgeMetric):
    """``judge_pairwise``: a system's win rate against the baseline system."""

    name: ClassVar[str] = "judge_pairwise"
    mode: ClassVar[Mode] = "pairwise"
    capabilities: ClassVar[frozenset[str]] = frozenset({"paired"})
    options_model: ClassVar[type] = JudgePairwiseOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)

    def score(self, *, predictions: Sequence[str | None], references: ReferencesInput | None = None) -> MetricResult:
        raise ConfigError(
            f"metric {self.name!r} scores a system against a baseline system",
            hint="name a baseline (evalkit run --baseline NAME), or call score_pair(...) in Python",
        )

    def score_pair(
        self,
        *,
        predictions: Sequence[str | None],
        baseline: Sequence[str | None],
        prompts: Sequence[str | None] | None = None,
        references: ReferencesInput | None = None,
        system: str = "system",
        baseline_name: str = "baseline",
    ) -> MetricResult:
        """Judge each item of ``predictions`` against ``baseline`` in both orders."""
        if prompts is None:
            raise self._needs_prompts()
        if system == baseline_name:
            raise ConfigError(f"metric {self.name!r}: the system and the baseline are both named {system!r}")
        preds, base = check_predictions(predictions), check_predictions(baseline)
        refs = _references(references, len(preds), self.name) if self.template.needs_reference else None
        inputs = JudgeInputs.of(prompts, {system: preds, baseline_name: base}, refs)
        run = self._run(inputs, baseline=baseline_name)
        pair = run.pair(system, baseline_name)
        details = pair.to_dict()
        for key in ("system_a", "system_b", "n", "unscored", "win_rate"):
            details.pop(key)
        return MetricResult(
            metric=self.name,
            value=pair.win_rate,
            per_item=tuple(run.pair_item_scores(system, baseline_name, probabilities=False)),
            details={"baseline": baseline_name, **details},
            unscored=run.unscored_items((system, baseline_name)),
            signature=f"{run.signature}|vs:{baseline_name}",
        )


def _declare_options(cls: type[_JudgeMetric]) -> None:
    # Tools that read ``__init__``'s signature and annotations (the metric
    # options layer, help()) see the options model's settings: the one
    # declaration, not a copy.
    signature = keyword_signature(cls.options_model)
    init: Any = cls.__init__
    init.__signature__ = signature
    init.__annotations__ = {p.name: p.annotation for p in signature.parameters.values() if p.name != "self"}


_declare_options(JudgeScore)
_declare_options(JudgePairwise)
