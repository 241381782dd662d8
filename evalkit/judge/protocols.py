"""Verdict protocols: pure functions from a judge's response to a verdict.

A response here is a plain mapping (what :mod:`evalkit.judge.client` makes of
the server's answer)::

    {"content": str | None, "finish_reason": str | None,
     "top_logprobs": [{"token": str, "logprob": float}, ...] | None,  # first token
     "refusal": str | None}

Nothing is clamped or guessed: a value outside the scale or label set, an
empty answer, a refusal or a truncated answer gives a :class:`Verdict` whose
``unscored`` says why.

>>> from evalkit.judge.templates import load_template
>>> t = load_template("mt-bench-single")
>>> parse_verdict(t, "text", {"content": "Fine. Rating: [[4]] ... no, Rating: [[6]]"}).value
6
>>> parse_verdict(t, "text", {"content": "Rating: [[11]]"}).unscored
"verdict '11' is outside the scale 1-10"
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from evalkit.judge.types import GRAMMAR_BACKENDS, LabelTokens, Template, Verdict

__all__ = [
    "Verdict",
    "parse_verdict",
    "parse_text",
    "parse_grammar",
    "parse_logprobs",
    "label_mass",
    "gbnf_grammar",
    "json_schema",
    "GRAMMAR_BACKENDS",
]

_REFUSAL = re.compile(
    r"^\s*(?:I'?m sorry|I am sorry|sorry,|I cannot|I can'?t|I am unable|I'?m unable|I won'?t|As an AI)\b",
    re.IGNORECASE,
)


def _meaning(template: Template, label: str) -> Verdict:
    value = template.values[label]
    p_first = None
    if template.mode == "pairwise":
        p_first = {"first": 1.0, "second": 0.0, "tie": 0.5}[value]
    return Verdict(label=label, value=value, p_first=p_first)


def _common_failures(response: Mapping[str, Any]) -> str | None:
    if response.get("refusal"):
        return f"refusal: {str(response['refusal'])[:200]}"
    if response.get("finish_reason") == "length":
        return "truncated answer (finish_reason=length)"
    if response.get("finish_reason") == "content_filter":
        return "answer withheld by the server's content filter"
    content = response.get("content")
    if content is None or not str(content).strip():
        return "empty answer"
    return None


def _out_of_set(template: Template, raw: str) -> str:
    if template.mode == "single":
        low, high = template.labels[0], template.labels[-1]
        return f"verdict {raw!r} is outside the scale {low}-{high}"
    return f"verdict {raw!r} is not one of {', '.join(template.labels)}"


def parse_text(template: Template, response: Mapping[str, Any]) -> Verdict:
    """Free text: the last match of the template's pattern wins."""
    failure = _common_failures(response)
    if failure:
        return Verdict(unscored=failure)
    content = str(response["content"])
    matches = template.pattern.findall(content)
    if not matches:
        if _REFUSAL.search(content):
            return Verdict(unscored=f"refusal: {content.strip()[:200]}")
        return Verdict(unscored=f"no verdict in the format {template.verdict_format!r}")
    raw = matches[-1].strip()
    if raw not in template.values:
        return Verdict(unscored=_out_of_set(template, raw))
    return _meaning(template, raw)


def parse_grammar(template: Template, response: Mapping[str, Any], backend: str = "gbnf") -> Verdict:
    """A grammar-constrained answer, validated again: it must be exactly one
    legal label, e.g. ``B`` or ``7`` (a server that ignored the constraint is
    caught here). The bare label keeps the constrained answer a token or two:
    llama.cpp checks the grammar against its whole vocabulary at each token."""
    failure = _common_failures(response)
    if failure:
        return Verdict(unscored=failure)
    content = str(response["content"]).strip()
    if backend == "json_schema":
        try:
            data = json.loads(content)
        except json.JSONDecodeError:
            return Verdict(unscored=f"answer is not JSON: {content[:200]!r}")
        if not isinstance(data, dict) or "verdict" not in data:
            return Verdict(unscored=f"JSON answer lacks 'verdict': {content[:200]!r}")
        raw = data["verdict"]
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            return Verdict(unscored=f"verdict {raw!r} is not a label")
        raw = str(raw)
        if raw not in template.values:
            return Verdict(unscored=_out_of_set(template, raw))
        return _meaning(template, raw)
    if content in template.values:
        return _meaning(template, content)
    return Verdict(unscored=f"answer does not follow the grammar: {content[:200]!r}")


def label_mass(
    labels: Sequence[str], top: Sequence[Mapping[str, Any]], first_token_labels: Sequence[str] = ()
) -> tuple[dict[str, float], list[float]]:
    """The probability of each label found among the ``top`` first tokens,
    and every top token's probability. Tokens such as "A" and " A" both
    stand for the label A; a label of ``first_token_labels`` is also stood
    for by a token whose text begins it."""
    mass: dict[str, float] = {}
    all_probs = []
    for entry in top:
        try:
            p = math.exp(float(entry["logprob"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
        all_probs.append(p)
        token = str(entry.get("token", "")).strip()
        label = token if token in labels else None
        if label is None and token:
            starts = [x for x in first_token_labels if x.startswith(token)]
            label = starts[0] if len(starts) == 1 else None
        if label is not None:
            mass[label] = mass.get(label, 0.0) + p
    return mass, all_probs


def parse_logprobs(template: Template, response: Mapping[str, Any], tokens: LabelTokens | None = None) -> Verdict:
    """A one-token verdict read from the first token's ``top_logprobs``: keep
    the legal labels, renormalise, and score with the distribution.

    With ``tokens.method == "logit_bias"`` every label carried the same bias,
    so every label must be in the top-k (else the call is unscored) and the
    renormalised distribution is the model's own; with ``top_k`` (or no
    ``tokens``) labels missing from the top-k get a bound on their mass."""
    top = response.get("top_logprobs")
    if not top:
        return Verdict(unscored="the response carries no top_logprobs for the first token")
    method = tokens.method if tokens is not None else "top_k"
    firsts = tokens.first_token_labels if tokens is not None else ()
    mass, all_probs = label_mass(template.labels, top, firsts)
    if not mass or sum(mass.values()) <= 0.0:
        return Verdict(unscored=f"no legal verdict token among the top {len(top)} first tokens", method=method)
    total = sum(mass.values())
    probs = {label: mass.get(label, 0.0) / total for label in template.labels if label in mass}
    missing = tuple(label for label in template.labels if label not in mass)
    bound = None
    if missing and method == "logit_bias":
        absent = ", ".join(missing)
        return Verdict(unscored=f"logit_bias not honoured: label(s) {absent} absent from the top-k", method=method)
    if missing:
        bound = min(max(0.0, 1.0 - sum(all_probs)), len(missing) * min(all_probs))
    label = max(probs, key=lambda k: probs[k])
    if template.mode == "single":
        expected = sum(template.values[k] * p for k, p in probs.items())
        return Verdict(
            label=label,
            value=expected,
            probabilities=probs,
            missing_labels=missing,
            missing_mass_bound=bound,
            method=method,
        )
    role_p = {"first": 0.0, "second": 0.0, "tie": 0.0}
    for k, p in probs.items():
        role_p[template.values[k]] += p
    p_first = role_p["first"] + 0.5 * role_p["tie"]
    return Verdict(
        label=label,
        value=template.values[label],
        p_first=p_first,
        probabilities=probs,
        missing_labels=missing,
        missing_mass_bound=bound,
        method=method,
    )


def parse_verdict(
    template: Template,
    protocol: str,
    response: Mapping[str, Any],
    *,
    backend: str = "gbnf",
    tokens: LabelTokens | None = None,
) -> Verdict:
    """Dispatch on ``protocol`` (``text``, ``grammar`` or ``logprobs``; ``tokens``: the logprobs method)."""
    if protocol == "text":
        return parse_text(template, response)
    if protocol == "grammar":
        return parse_grammar(template, response, backend)
    if protocol == "logprobs":
        return parse_logprobs(template, response, tokens)
    raise ValueError(f"unknown protocol {protocol!r}")


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def gbnf_grammar(template: Template) -> str:
    """A GBNF grammar that admits exactly the template's legal labels.

    >>> from evalkit.judge.templates import load_template
    >>> gbnf_grammar(load_template("mt-bench-pairwise"))
    'root ::= "A" | "B" | "C"'
    """
    return "root ::= " + " | ".join(_gbnf_literal(label) for label in template.labels)


def json_schema(template: Template) -> dict[str, Any]:
    """A JSON schema ``{"verdict": <legal label>}`` for ``response_format``."""
    if template.mode == "single":
        values = [template.values[label] for label in template.labels]
        prop: dict[str, Any] = {"type": "integer", "enum": values}
    else:
        prop = {"type": "string", "enum": list(template.labels)}
    return {
        "type": "object",
        "properties": {"verdict": prop},
        "required": ["verdict"],
        "additionalProperties": False,
    }
