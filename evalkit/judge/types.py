"""The judge's types, the bottom layer of the package: settings (how to judge),
data (what to judge), templates, planned calls, verdicts, per-item outcomes,
summaries and the run's typed result.

Every other module of :mod:`evalkit.judge` imports from here and nothing here
imports them. Each setting is declared once, as a field of
:class:`JudgeSettings` or :class:`JudgeData` with its type, default and help:
the command line (``evalkit judge``), the ``[judge]`` table of a config file
and the Python API (``run_judge``, the judge metrics) all fill these classes,
validated by :func:`evalkit.settings.validate`.

>>> from evalkit.settings import validate
>>> s = validate(JudgeSettings, {"judge": "local", "top_logprobs": "5"}, where="demo.toml [judge]")
>>> (s.top_logprobs, s.resolved().concurrency, s.resolved().timeout)
(5, 1, 600.0)
>>> validate(JudgeSettings, {"top_logprobs": 50}, where="demo.toml [judge]")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
evalkit.errors.ConfigError: demo.toml [judge]: top_logprobs = 50: Input should be less than or equal to 20
"""

from __future__ import annotations

import pathlib
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple

from annotated_types import Ge, Gt, Le

from evalkit.errors import TemplateError
from evalkit.settings import setting

if TYPE_CHECKING:  # agreement.py builds on these types; the run only carries its results
    from evalkit.judge.agreement import PairAgreement, SingleAgreement
    from evalkit.judge.labels import HumanLabels
    from evalkit.judge.style_control import StyleControl

__all__ = [
    "Agreement",
    "CallRecord",
    "CanaryChange",
    "CanaryCheck",
    "CascadeStage",
    "Conversation",
    "DryRunEstimate",
    "GRAMMAR_BACKENDS",
    "ItemOutcome",
    "ItemVerdict",
    "JudgeData",
    "JudgeInputs",
    "JudgeRun",
    "JudgeSettings",
    "JudgeSpec",
    "JudgeStats",
    "Job",
    "LabelTokens",
    "LocalModel",
    "LogprobMethod",
    "LOCAL_MODEL_NAME",
    "LOCAL_SERVER_ID",
    "Mode",
    "NullCanary",
    "OrderCall",
    "PROTOCOLS",
    "POOL_MODES",
    "PairSummary",
    "PanelMember",
    "PanelRun",
    "PanelSettings",
    "Price",
    "Progress",
    "RECONCILE_MODES",
    "Rating",
    "Shard",
    "SingleSummary",
    "Template",
    "Verdict",
    "WholeRun",
    "system_pairs",
]

Mode = Literal["pairwise", "single"]
VerdictProtocol = Literal["text", "grammar", "logprobs"]
GrammarBackend = Literal["gbnf", "choice", "json_schema"]
Reconcile = Literal["tie", "average"]
#: The verdict protocols: free text, grammar-constrained text, log-probabilities.
PROTOCOLS: tuple[str, ...] = ("text", "grammar", "logprobs")
#: How a grammar-constrained verdict is requested: llama.cpp's GBNF ``grammar``
#: field, vLLM's ``guided_choice``, or OpenAI's ``response_format`` JSON schema.
GRAMMAR_BACKENDS: tuple[str, ...] = ("gbnf", "choice", "json_schema")
RECONCILE_MODES: tuple[str, ...] = ("tie", "average")

#: The embedded local judge's model name on its server.
LOCAL_MODEL_NAME = "gemma-3-270m"
#: Stands for the local judge in cache keys: its port changes from run to run.
LOCAL_SERVER_ID = "evalkit-local:gemma3-270m-q4_k_m"

PositiveInt = Annotated[int, Ge(1)]
NonNegativeInt = Annotated[int, Ge(0)]
PositiveFloat = Annotated[float, Gt(0)]


class Price(NamedTuple):
    """USD per million input and output tokens; ``"2.5,10"`` or ``[2.5, 10]``."""

    input: float
    output: float

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000

    @classmethod
    def parse(cls, value: object) -> Price:
        parts = value.split(",") if isinstance(value, str) else value
        try:
            numbers = tuple(float(p) for p in parts) if isinstance(parts, (list, tuple)) else ()
        except (TypeError, ValueError):
            numbers = ()
        if len(numbers) != 2 or min(numbers) < 0:
            raise ValueError("give IN,OUT: USD per million input and output tokens, e.g. 2.5,10")
        return cls(*numbers)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: object, handler: object) -> object:
        # pydantic loads only when settings are validated: evalkit --help stays light.
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(cls.parse)


class Shard(NamedTuple):
    """Shard ``number`` of ``total`` (1-based): ``"2/3"``. A sharded run judges
    only the calls whose cache key falls in its shard
    (:func:`evalkit.judge.shard.shard_of`)."""

    number: int
    total: int

    def __str__(self) -> str:
        return f"{self.number}/{self.total}"

    @classmethod
    def parse(cls, value: object) -> Shard:
        if isinstance(value, tuple) and len(value) == 2:
            value = f"{value[0]}/{value[1]}"
        text = value.strip() if isinstance(value, str) else ""
        index, sep, count = text.partition("/")
        try:
            i, n = (int(index), int(count)) if sep else (0, 0)
        except ValueError:
            i, n = 0, 0
        if n < 1 or not 1 <= i <= n:
            raise ValueError("give I/N with 1 <= I <= N, e.g. 2/3 (shard 2 of 3)")
        return cls(i, n)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: object, handler: object) -> object:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(cls.parse)


@dataclass(frozen=True)
class JudgeSettings:
    """How to judge: the judge server, the template and protocol, sampling,
    cost, cache and output. Mode-dependent defaults (``None`` here) are
    filled by :meth:`resolved`, the one place that knows them."""

    judge: Literal["local"] | None = setting(None, help="start the embedded local judge (llama.cpp + Gemma 3 270M)")
    base_url: str | None = setting(
        None, metavar="URL", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1"
    )
    model: str | None = setting(None, metavar="NAME", help="the judge model's name on that server")
    api_key_env: str | None = setting(
        None,
        metavar="NAME",
        help="environment variable holding the API key (default: OPENAI_API_KEY; never pass a key on the command line)",
    )
    concurrency: PositiveInt | None = setting(
        None, metavar="N", help="requests in flight (default: 8; 1 for --judge local)"
    )
    timeout: PositiveFloat | None = setting(
        None, metavar="S", help="seconds per request (default: 60; 600 for --judge local)"
    )
    max_retries: NonNegativeInt = setting(5, metavar="N", help="retries after 429/5xx/connection errors")
    template: str | None = setting(
        None, metavar="NAME|FILE.toml", help="judge template (default: pairwise or single); see judges/README.md"
    )
    protocol: VerdictProtocol | None = setting(None, help="verdict protocol (default: the template's)")
    grammar_backend: GrammarBackend = setting(
        "gbnf",
        help="how --protocol grammar constrains the answer: llama.cpp GBNF, vLLM guided_choice, OpenAI json_schema",
    )
    reconcile: Reconcile = setting("tie", help="two verdicts that disagree make a tie, or average P(A wins) (logprobs)")
    swap: bool = setting(True, help="judge each pair in both orders (--no-swap: one order only, reported)")
    baseline: str | None = setting(None, metavar="NAME", help="compare every system with this one instead of all pairs")
    temperature: Annotated[float, Ge(0)] = setting(0.0, metavar="T", help="sampling temperature")
    max_tokens: PositiveInt | None = setting(None, metavar="N", help="answer length limit (default: the template's)")
    top_logprobs: Annotated[int, Ge(1), Le(20)] = setting(20, metavar="K", help="top-k for --protocol logprobs")
    seed: int | None = setting(None, metavar="N", help="sampling seed sent to the server")
    price: Price | None = setting(
        None, metavar="IN,OUT", help="USD per million input and output tokens, to report cost"
    )
    max_cost: PositiveFloat | None = setting(None, metavar="USD", help="stop before the run's cost would pass this")
    dry_run: bool = setting(False, help="print how many calls and tokens the run would take; send nothing")
    cache: str | Literal[False] | None = setting(
        None,
        metavar="PATH",
        path=True,
        help="SQLite cache file (default: ~/.cache/evalkit/judge.sqlite; false in a config file: no cache)",
    )
    out: str | None = setting(None, metavar="DIR", path=True, help="report folder (default: reports/judge-MODE)")
    limit: NonNegativeInt | None = setting(None, metavar="N", help="judge only the first N items")
    merge_system: bool | None = setting(
        None,
        help="fold the system message into the user turn (default: on for --judge local, "
        "whose chat format drops system messages)",
    )
    backoff_base: PositiveFloat = setting(0.5, cli=False, help="the backoff unit in seconds of the retries")
    repeats: PositiveInt = setting(
        1,
        metavar="K",
        help="make every call K times with distinct seeds (seed+r); report flip rate, Fleiss' kappa and pass^k",
    )
    canary: str | None = setting(
        None,
        metavar="FILE",
        path=True,
        help="drift canary: JSONL items with a trusted run's verdicts, judged again in every run (docs/judge.md)",
    )
    canary_tolerance: Annotated[float, Ge(0), Le(0.5)] = setting(
        0.05,
        metavar="P",
        help="the share of canary verdicts that may change by chance when no flip rate was measured (--repeats 1)",
    )
    write_canary: str | None = setting(
        None, metavar="FILE", path=True, help="write this run's scored items and verdicts as a drift canary file"
    )
    null_canary: bool = setting(
        False,
        help="also judge a constant answer and one that instructs the judge against the baseline; "
        "flag the judge if either beats it",
    )
    style_control: bool = setting(
        True, help="pairwise: report length-controlled win rates and style-controlled ratings (docs/judge.md)"
    )
    style_control_rounds: Annotated[int, Ge(1000)] = setting(
        1000, metavar="N", help="bootstrap rounds of the length/style-controlled intervals (at least 1000)"
    )
    shard: Shard | None = setting(
        None,
        metavar="I/N",
        help="judge only shard I of N of the calls, chosen by cache key (a Slurm array or Kubernetes indexed "
        "job runs one each); then evalkit judge merge DIR...",
    )
    local_model: str | None = setting(
        None,
        metavar="PATH",
        path=True,
        help="--judge local with this GGUF model file instead of Gemma 3 270M",
    )
    local_chat_format: str | None = setting(
        None,
        metavar="NAME",
        help="llama-cpp-python chat format of the local model, e.g. gemma, chatml, llama-3 "
        "(default: gemma for Gemma 3 270M, else the chat template stored in the GGUF file)",
    )

    @property
    def local(self) -> bool:
        return self.judge == "local"

    def resolved(self) -> JudgeSettings:
        """These settings with the mode-dependent defaults filled in: the local
        judge takes one request at a time, may take minutes per call on a
        laptop, and needs the system message folded into the user turn."""
        local = self.local
        return replace(
            self,
            concurrency=self.concurrency if self.concurrency is not None else (1 if local else 8),
            timeout=self.timeout if self.timeout is not None else (600.0 if local else 60.0),
            merge_system=self.merge_system if self.merge_system is not None else local,
        )

    def reported(self) -> dict[str, object]:
        """The settings ``summary.json`` records: every setting except where
        the key, cache and reports live."""
        hidden = {"api_key_env", "cache", "out", "dry_run", "backoff_base", "write_canary"}
        out: dict[str, object] = {}
        for f in fields(self):
            if f.name not in hidden:
                value = getattr(self, f.name)
                if isinstance(value, Shard):
                    value = str(value)
                out[f.name] = list(value) if isinstance(value, Price) else value
        return out


@dataclass(frozen=True)
class JudgeData:
    """What to judge: files and the fields to read from them. A config file
    gives the paths relative to itself."""

    prompts: str | None = setting(
        None, metavar="FILE", path=True, help="the questions, one per line (.txt/.jsonl/.csv/.tsv)"
    )
    prompt_field: str | None = setting(None, metavar="NAME", help="field/column of the prompts in .jsonl/.csv/.tsv")
    systems: dict[str, str] = setting(
        default_factory=dict, cli=False, path=True, help="a system's answers, one per prompt: NAME = FILE"
    )
    prediction_field: str | None = setting(None, metavar="NAME", help="field/column of the answers in .jsonl/.csv/.tsv")
    references: str | list[str] | None = setting(
        None,
        metavar="FILE",
        path=True,
        help="reference answers (for the -ref templates); repeat for several per item",
    )
    reference_field: str | None = setting(
        None, metavar="NAME", help="field/column of the references (a JSONL list gives several)"
    )
    labels: str | None = setting(
        None,
        metavar="FILE",
        path=True,
        help="human labels (.jsonl/.csv/.tsv) to measure the judge's agreement with; see docs/judge.md",
    )
    id_field: str | None = setting(
        None, metavar="NAME", help="field/column of the prompts' ids, when the labels name items by id"
    )
    turn: PositiveInt | None = setting(
        None,
        metavar="N",
        help="conversations (JSONL with a messages list): judge turn N (default: the last turn)",
    )

    @property
    def reference_files(self) -> list[str]:
        if self.references is None:
            return []
        return [self.references] if isinstance(self.references, str) else list(self.references)


@dataclass(frozen=True)
class JudgeInputs:
    """The loaded texts: one prompt per item, each system's answers (``None``
    for a missing one) and, optionally, the references of each item."""

    prompts: tuple[str | None, ...]
    systems: Mapping[str, tuple[str | None, ...]]
    references: tuple[tuple[str, ...], ...] | None = None
    #: multi-turn data: each item's conversation up to the judged turn, whose
    #: last question and answers are ``prompts`` and ``systems``
    conversations: tuple[Conversation, ...] | None = None

    @classmethod
    def of(
        cls,
        prompts: Sequence[str | None],
        systems: Mapping[str, Sequence[str | None]],
        references: Sequence[str | Sequence[str] | None] | None = None,
    ) -> JudgeInputs:
        """Build from lists; a reference entry is a string, several strings,
        or ``None``/empty for an item without one."""
        refs = None
        if references is not None:
            refs = tuple(() if r is None else ((r,) if isinstance(r, str) else tuple(r)) for r in references)
        return cls(tuple(prompts), {name: tuple(a) for name, a in systems.items()}, refs)

    @property
    def n_items(self) -> int:
        return len(self.prompts)

    def limited(self, limit: int | None) -> JudgeInputs:
        if limit is None:
            return self
        return self.subset(range(max(0, min(limit, self.n_items))))

    def subset(self, items: Sequence[int]) -> JudgeInputs:
        """These inputs restricted to ``items`` (in that order)."""
        refs = None if self.references is None else tuple(self.references[i] for i in items)
        convs = None if self.conversations is None else tuple(self.conversations[i] for i in items)
        systems = {s: tuple(a[i] for i in items) for s, a in self.systems.items()}
        return JudgeInputs(tuple(self.prompts[i] for i in items), systems, refs, convs)


@dataclass(frozen=True)
class Conversation:
    """One item of multi-turn data, up to the judged turn: the user's
    questions, each system's answers (``None``: a system without this
    conversation) and, optionally, the reference answers."""

    questions: tuple[str, ...]
    answers: Mapping[str, tuple[str, ...] | None]
    references: tuple[str, ...] | None = None


def system_pairs(systems: Sequence[str], baseline: str | None = None) -> list[tuple[str, str]]:
    """The pairs a pairwise run judges: every two systems, or each against ``baseline``.

    >>> system_pairs(["a", "b", "c"]), system_pairs(["a", "b", "c"], "b")
    ([('a', 'b'), ('a', 'c'), ('b', 'c')], [('a', 'b'), ('c', 'b')])
    """
    if baseline is not None:
        return [(name, baseline) for name in systems if name != baseline]
    return [(a, b) for i, a in enumerate(systems) for b in systems[i + 1 :]]


# -- templates ------------------------------------------------------------------

#: Placeholders that show a whole conversation (multi-turn data, up to the judged turn).
CONVERSATION_PLACEHOLDERS = frozenset({"conversation", "conversation_a", "conversation_b", "reference_conversation"})


def template_fields(text: str) -> set[str]:
    """The ``{placeholders}`` of a template text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@dataclass(frozen=True)
class Template:
    """A loaded, validated judge template (:mod:`evalkit.judge.templates`
    reads them).

    ``labels`` are the verdict strings the judge may answer: for a pairwise
    template (first, second[, tie]), for a single template the scale's
    integers as strings. ``values`` maps each label to its meaning: "first",
    "second", "tie" (pairwise) or the integer score (single).
    """

    name: str
    version: str
    mode: Mode
    path: pathlib.Path
    system: str
    user: str
    verdict_format: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    values: Mapping[str, Any]
    instructions: Mapping[str, str] = field(default_factory=dict)
    headings: tuple[str, ...] = ()
    protocol: VerdictProtocol = "text"
    max_tokens: int = 512
    description: str = ""

    @property
    def needs_reference(self) -> bool:
        return bool({"reference", "reference_conversation"} & self.placeholders)

    @property
    def placeholders(self) -> set[str]:
        return template_fields(self.system) | template_fields(self.user)

    @property
    def needs_conversation(self) -> bool:
        """Whether the template shows whole conversations (multi-turn data)."""
        return bool(CONVERSATION_PLACEHOLDERS & self.placeholders)

    @property
    def id(self) -> str:
        """``name@version``: what the cache key and the signature carry."""
        return f"{self.name}@{self.version}"

    @property
    def scale(self) -> str:
        """``"1-10"`` for a single template's scale; ``"0-1"`` (win rates) for a pairwise one."""
        return f"{self.labels[0]}-{self.labels[-1]}" if self.mode == "single" else "0-1"

    def instructions_for(self, protocol: str) -> str:
        """The output instructions for ``protocol``.

        The grammar protocol constrains the answer to a bare label, as the
        logprobs protocol reads one: without its own instructions it uses
        the logprobs ones, then the text ones.
        """
        if protocol in self.instructions:
            return self.instructions[protocol]
        if protocol == "grammar":
            for fallback in ("logprobs", "text"):
                if fallback in self.instructions:
                    return self.instructions[fallback]
        if not self.instructions:
            return ""
        raise TemplateError(
            f'{self.path}: template {self.name!r} has no [instructions] {protocol} = "..."',
            hint=f"add the output instructions for the {protocol} protocol, or choose another --protocol",
        )

    def verdict_text(self, label: str) -> str:
        """The answer text the template asks for, e.g. ``[[A]]``."""
        return self.verdict_format.replace("{verdict}", label)


# -- calls and verdicts ---------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One parsed judge call.

    ``label`` is the legal label chosen (for logprobs: the most probable one);
    ``value`` is its meaning: an ``int`` score or, for logprobs, the expected
    score (single); ``"first"``, ``"second"`` or ``"tie"`` (pairwise).
    ``p_first`` is P(the answer shown first wins), ties counting half: 1, 0 or
    0.5 for a categorical verdict, the renormalised probability for logprobs.
    """

    label: str | None = None
    value: Any = None
    p_first: float | None = None
    probabilities: Mapping[str, float] | None = None
    #: logprobs: legal labels absent from the top-k, and an upper bound on the
    #: probability mass they could have had (each is below the k-th token's).
    missing_labels: tuple[str, ...] = ()
    missing_mass_bound: float | None = None
    unscored: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: logprobs: how the probabilities were obtained (``logit_bias`` or ``top_k``)
    method: str | None = None

    @property
    def ok(self) -> bool:
        return self.unscored is None


@dataclass(frozen=True)
class Job:
    """One planned judgment: an item of a system (single) or of a pair in one
    order. ``key`` names its call (several jobs may share one); ``None`` when
    an input is missing and nothing is sent (``unscored`` says which)."""

    item: int
    systems: tuple[str, ...]  # (system,) or (system_a, system_b)
    order: Literal["ab", "ba"] | None  # pairwise: system_a shown first ("ab") or second
    shown: tuple[str, ...]
    key: str | None
    #: system -> why its answer may be aimed at the judge
    flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unscored: str | None = None
    #: which of the ``--repeats`` this call is (0 for the first)
    repeat: int = 0


@dataclass(frozen=True)
class CallRecord:
    """One judge call as made (or served from the cache, or not sent)."""

    key: str
    messages: tuple[Mapping[str, str], ...]
    verdict: Verdict
    #: the normalised answer (content, finish_reason, top_logprobs, refusal);
    #: ``None`` when no answer came
    response: Mapping[str, Any] | None = None
    usage: Mapping[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    attempts: int = 0
    cached: bool = False

    @property
    def prompt_tokens(self) -> int:
        return int(self.usage.get("prompt_tokens", 0))

    @property
    def completion_tokens(self) -> int:
        return int(self.usage.get("completion_tokens", 0))


@dataclass(frozen=True)
class OrderCall:
    """One order of a pairwise item (or the one call of a single item)."""

    order: Literal["ab", "ba"] | None
    shown: tuple[str, ...]
    call: CallRecord | None  # None: not sent, an input is missing
    flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unscored: str | None = None
    repeat: int = 0

    @property
    def label(self) -> str | None:
        return self.call.verdict.label if self.call is not None else None

    @property
    def raw_answer(self) -> str | None:
        if self.call is None or self.call.response is None:
            return None
        content = self.call.response.get("content")
        return None if content is None else str(content)


@dataclass(frozen=True)
class ItemOutcome:
    """One item of a system pair after reconciliation, from system_a's side."""

    outcome: str | None  # "win", "loss", "tie"; None when unscored
    consistent: bool | None  # both orders agreed; None without two scored orders
    p_win: float | None  # P(system_a wins), ties counting half
    unscored: str | None = None


#: The per-item score of a reconciled pairwise outcome, from system_a's side.
OUTCOME_SCORE: Mapping[str, float] = {"win": 1.0, "tie": 0.5, "loss": 0.0}


@dataclass(frozen=True)
class ItemVerdict:
    """One item of a pair or of a system, with its calls.

    Pairwise: ``outcome`` (win/loss/tie from ``systems[0]``'s side), ``score``
    (1, 0.5, 0), ``p_win`` and ``consistent``; single: ``score`` is the grade.
    ``unscored`` is the reason when the item has no score (never a 0).
    """

    mode: Mode
    item: int
    systems: tuple[str, ...]
    calls: tuple[OrderCall, ...]
    score: float | None
    outcome: str | None = None
    p_win: float | None = None
    consistent: bool | None = None
    unscored: str | None = None
    #: with ``--repeats`` K > 1: each repeat's verdict (its reconciled outcome,
    #: or its label in single mode; ``None`` unscored), the share of scored
    #: repeats giving the majority verdict, whether they disagree, and (single)
    #: the spread max - min of their scores
    repeat_verdicts: tuple[str | None, ...] = ()
    agreement: float | None = None
    flipped: bool | None = None
    spread: float | None = None

    @property
    def flagged(self) -> bool:
        return any(c.flags for c in self.calls)


# -- summaries --------------------------------------------------------------------


@dataclass(frozen=True)
class PairSummary:
    """One system pair, counted from ``system_a``'s side (a ``summary.json``
    ``pairs`` record)."""

    system_a: str
    system_b: str
    n: int
    wins: int
    losses: int
    ties: int
    unscored: int
    win_rate: float | None
    decisive_win_rate: float | None
    decisive_win_rate_se: float | None
    position_consistency: float | None
    first_position_rate: float | None
    mean_p_win: float | None
    swapped: bool
    possible_injection: int
    unscored_reasons: Mapping[str, int]
    #: stability over ``--repeats`` (``None`` with one repeat): the chance that
    #: two repeats of an item disagree, Fleiss' kappa over repeats, the share
    #: of items whose K repeats all agree (judge/repeats.py)
    repeats: int = 1
    flip_rate: float | None = None
    repeat_agreement: float | None = None
    pass_k: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["unscored_reasons"] = dict(self.unscored_reasons)
        return out


@dataclass(frozen=True)
class SingleSummary:
    """One system in single mode (a ``summary.json`` ``systems`` record)."""

    system: str
    n: int
    mean: float | None
    stdev: float | None
    unscored: int
    histogram: Mapping[str, int]
    possible_injection: int
    unscored_reasons: Mapping[str, int]
    #: stability over ``--repeats``, as in :class:`PairSummary`, and the mean
    #: over items of the spread (max - min) of their repeats' scores
    repeats: int = 1
    flip_rate: float | None = None
    repeat_agreement: float | None = None
    pass_k: float | None = None
    mean_spread: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["histogram"] = dict(self.histogram)
        out["unscored_reasons"] = dict(self.unscored_reasons)
        return out


@dataclass(frozen=True)
class Rating:
    """A Bradley-Terry rating: ``strength`` (geometric mean 1 over the
    systems) and ``rating`` = 1000 + 400 log10(strength), the Elo scale."""

    system: str
    strength: float
    rating: float

    def to_dict(self) -> dict[str, Any]:
        return {"system": self.system, "strength": self.strength, "rating": self.rating}


@dataclass(frozen=True)
class JudgeStats:
    """Run totals (``summary.json``'s top-level counters)."""

    calls: int = 0
    requests_sent: int = 0
    probe_requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    possible_injection: int = 0
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class DryRunEstimate:
    """What a run would take (``--dry-run``): nothing is sent."""

    calls: int
    cached: int
    to_send: int
    prompt_tokens_estimate: int
    completion_tokens_max: int
    cost_max: float | None


@dataclass(frozen=True)
class CanaryChange:
    """One drift-canary item whose verdict moved: the trusted verdict (an
    outcome of answer_a, or a grade) and today's (``None`` unscored)."""

    item: int
    trusted: str | float
    now: str | float | None


@dataclass(frozen=True)
class CanaryCheck:
    """The drift canary of a run (``--canary FILE``), judged again with the
    run's settings and compared with the verdicts a trusted run gave.

    ``changed`` items of ``n`` scored moved; ``rate`` is the chance of a
    change that the judge's stability explains (the 95% upper bound of the
    flip rate measured by the repeats, or ``--canary-tolerance`` without
    repeats: ``basis`` says which); ``expected_max`` is the most changes a
    one-sided binomial test at 5% accepts, ``p_value`` that test's.
    """

    file: str
    n: int
    changed: int
    unscored: int
    rate: float
    basis: str
    expected_max: int
    p_value: float
    drift: bool
    changes: tuple[CanaryChange, ...] = ()
    calls: int = 0

    @property
    def message(self) -> str:
        head = "drift detected" if self.drift else "no drift"
        return (
            f"canary: {head}, {self.changed}/{self.n} verdicts changed, expected <= {self.expected_max} "
            f"(p = {self.p_value:.3g}; change rate {self.rate:.3f} from {self.basis})"
        )


@dataclass(frozen=True)
class NullCanary:
    """A null-model canary (``--null-canary``): a content-free answer given
    to every item, judged against the baseline. ``low``/``high`` bound its
    win rate (ties half) with a 95% Wilson interval; ``beats_baseline`` when
    the win rate is over 0.5 and so is ``low``."""

    name: str
    answer: str
    baseline: str
    n: int
    win_rate: float | None
    low: float | None
    high: float | None
    beats_baseline: bool

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class WholeRun:
    """What a shard knows of the whole run: its number of distinct calls and
    a digest of their cache keys (shards that read the same data and
    settings agree on it)."""

    calls: int
    digest: str


@dataclass(frozen=True)
class JudgeRun:
    """The typed result of a judge run: what the report writers, the judge
    metrics and the statistics layer take.

    ``settings`` are the resolved settings; ``base_url`` and ``model`` the
    server that was (or would be) asked.
    """

    mode: Mode
    settings: JudgeSettings
    template: Template
    protocol: str
    signature: str
    systems: tuple[str, ...]
    n_items: int
    base_url: str
    model: str
    pairs: tuple[PairSummary, ...] = ()
    singles: tuple[SingleSummary, ...] = ()
    items: tuple[ItemVerdict, ...] = ()
    ratings: tuple[Rating, ...] | None = None
    stats: JudgeStats = field(default_factory=JudgeStats)
    stopped: str | None = None
    estimate: DryRunEstimate | None = None
    #: agreement with human labels (``labels``): one per pair, or per system in single mode
    agreement: tuple[PairAgreement | SingleAgreement, ...] = ()
    #: the human labels the agreement was measured against (``None`` without)
    labels: HumanLabels | None = None
    #: the drift canary and the null-model canaries, when asked for
    canary: CanaryCheck | None = None
    null_canaries: tuple[NullCanary, ...] = ()
    #: the texts judged, kept when ``write_canary`` asks for them
    inputs: JudgeInputs | None = None
    #: pairwise: length-controlled win rates and style-controlled ratings
    style_control: StyleControl | None = None
    #: a shard (``settings.shard``): the whole run it is part of
    whole_run: WholeRun | None = None
    #: logprobs: the method chosen for this server and template (``None`` for other protocols)
    logprobs: LabelTokens | None = None

    def pair(self, system_a: str, system_b: str) -> PairSummary:
        """The summary of the pair judged as (``system_a``, ``system_b``)."""
        for p in self.pairs:
            if (p.system_a, p.system_b) == (system_a, system_b):
                return p
        raise KeyError(f"no pair ({system_a!r}, {system_b!r}) in this run")

    def single(self, system: str) -> SingleSummary:
        for s in self.singles:
            if s.system == system:
                return s
        raise KeyError(f"no system {system!r} in this run")

    def pair_items(self, system_a: str, system_b: str) -> list[ItemVerdict]:
        """The items of the pair judged as (``system_a``, ``system_b``), in item order."""
        self.pair(system_a, system_b)  # a KeyError naming the pair if it was not judged
        found = [i for i in self.items if i.mode == "pairwise" and i.systems == (system_a, system_b)]
        return sorted(found, key=lambda i: i.item)

    def pair_item_scores(self, system: str, opponent: str, *, probabilities: bool | None = None) -> list[float | None]:
        """Per-item scores of ``system`` against ``opponent`` (either side of
        the judged pair): win 1, tie 0.5, loss 0, ``None`` unscored; with
        ``probabilities`` (default: when reconcile is ``average``) the mean
        P(``system`` wins) over both orders. Their mean over scored items is
        the win rate (or ``mean_p_win``), so intervals can be bootstrapped
        from them."""
        use_p = self.settings.reconcile == "average" if probabilities is None else probabilities
        flipped = not any((p.system_a, p.system_b) == (system, opponent) for p in self.pairs)
        items = self.pair_items(opponent, system) if flipped else self.pair_items(system, opponent)
        out: list[float | None] = []
        for item in items:
            value = item.p_win if use_p else item.score
            if item.unscored is not None or value is None:
                out.append(None)
            else:
                out.append(1.0 - value if flipped else value)
        return out

    def single_item_scores(self, system: str) -> list[float | None]:
        """Per-item grades of ``system`` (``None`` unscored), in item order."""
        self.single(system)
        items = sorted((i for i in self.items if i.mode == "single" and i.systems == (system,)), key=lambda i: i.item)
        return [i.score if i.unscored is None else None for i in items]

    def unscored_items(self, systems: tuple[str, ...]) -> dict[int, str]:
        """Item index -> reason, for the items of ``systems`` (a judged pair or one system) without a score."""
        return {i.item: i.unscored or "unscored" for i in self.items if i.systems == systems and i.score is None}


class Progress:
    """Progress of a run: ``total(n)`` once, then ``update(event)`` per call
    with event ``"hit"`` (from the cache), ``"done"`` or ``"failed"``. The
    base class does nothing."""

    def total(self, n: int) -> None:
        """The number of distinct calls of the run."""

    def update(self, event: str) -> None:
        """One call finished."""


@dataclass(frozen=True)
class JudgeSpec:
    """One judge run, parsed and checked but not run: ``evalkit judge`` makes
    one from the command line, a ``[judge]`` table makes one per mode
    (:func:`evalkit.judge.cli.specs_from_table`); ``run_spec`` runs it.

    Paths in ``data`` are resolved (relative to the config file's folder);
    ``template`` is loaded, so that its errors come before anything runs.
    """

    mode: Mode
    settings: JudgeSettings
    data: JudgeData
    template: Template
    protocol: str
    out: pathlib.Path
    #: where the settings came from, for messages: a file and table, or the command line
    where: str
    #: a panel of judges (empty: one judge, ``settings``), and how it is pooled
    panel: tuple[PanelMember, ...] = ()
    pool: str = "majority"
    cascade_margin: float = 0.1


# -- panels of judges -------------------------------------------------------------

Pool = Literal["majority", "mean", "cascade"]
#: How a panel's verdicts are pooled per item.
POOL_MODES: tuple[str, ...] = ("majority", "mean", "cascade")


@dataclass(frozen=True)
class PanelSettings:
    """A panel of judges: the members come from a TOML file (``[[judge]]``
    entries) or a ``[[judge.panel]]`` list; each member's keys are
    :class:`JudgeSettings` keys (plus an optional ``name``) over the run's
    shared settings."""

    panel: str | None = setting(
        None,
        metavar="FILE.toml",
        path=True,
        help="a panel of judges: [[judge]] entries, each with its own server/model/template/protocol "
        "(a config file may give [[judge.panel]] entries instead)",
    )
    pool: Pool = setting(
        "majority",
        help="pool the panel per item: majority vote, mean P(win) (mean grade), or a cascade "
        "(judges in order; an item goes on only while unsettled)",
    )
    cascade_margin: Annotated[float, Ge(0), Le(0.5)] = setting(
        0.1,
        metavar="M",
        help="--pool cascade: an item goes to the next judge when its two orders disagree or |P(win) - 0.5| < M",
    )


@dataclass(frozen=True)
class PanelMember:
    """One judge of a panel, parsed and checked."""

    name: str
    settings: JudgeSettings
    template: Template
    protocol: str


@dataclass(frozen=True)
class CascadeStage:
    """What one judge of a cascade did: ``judged`` items (pair-items), of
    which it ``settled`` the ones no later judge saw; its distinct calls and
    the calls it would have made judging every item."""

    judge: str
    judged: int
    settled: int
    calls: int
    calls_if_all: int
    cost: float | None = None
    cost_saved_estimate: float | None = None

    @property
    def calls_saved(self) -> int:
        return self.calls_if_all - self.calls

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["calls_saved"] = self.calls_saved
        return out


@dataclass(frozen=True)
class Agreement:
    """Krippendorff's alpha between the panel's judges: over every unit
    (pair-item or system-item), and per pair or system; ``None`` where it is
    undefined (fewer than two judges on any unit, or one value only)."""

    level: Literal["nominal", "interval"]
    alpha: float | None
    by: Mapping[str, float | None] = field(default_factory=dict)
    units: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "alpha": self.alpha, "units": self.units, "by": dict(self.by)}


@dataclass(frozen=True)
class PanelRun:
    """A panel's typed result: each judge's own run (reconciled for position
    by its own settings), the pooled run (its items and summaries, no calls)
    and the agreement between judges; a cascade adds its stages."""

    pool: str
    names: tuple[str, ...]
    members: tuple[JudgeRun, ...]
    pooled: JudgeRun
    agreement: Agreement
    stages: tuple[CascadeStage, ...] = ()
    cascade_margin: float | None = None


# -- the local model and the logprobs method ----------------------------------------


@dataclass(frozen=True)
class LocalModel:
    """A GGUF file given with ``--local-model``: ``name`` (the file's stem)
    is the model name in reports and the signature; ``server_id`` (name, size
    and a digest of the file's head) stands for it in cache keys."""

    path: str
    chat_format: str | None
    name: str
    server_id: str


#: How the logprobs protocol obtained the labels' probabilities: the same
#: ``logit_bias`` on every label token (exact), or the labels found in the
#: top-k (exact only when all are there; else a bound on the missing mass).
LogprobMethod = Literal["logit_bias", "top_k"]


@dataclass(frozen=True)
class LabelTokens:
    """The logprobs method chosen for a server and template: ``token_ids``
    maps each label to the token ids that stand for it (e.g. ``A`` and
    `` A``), all given the same bias; ``note`` says why ``top_k`` was chosen
    or that a label is read from its first token."""

    method: LogprobMethod
    token_ids: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    note: str | None = None
    #: labels of several tokens, read from their first token (its text is a prefix of the label)
    first_token_labels: tuple[str, ...] = ()

    @property
    def all_ids(self) -> tuple[int, ...]:
        return tuple(sorted({t for ids in self.token_ids.values() for t in ids}))
