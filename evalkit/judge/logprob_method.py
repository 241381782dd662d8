"""How the logprobs protocol gets the probability of **every** legal label.

A server's ``top_logprobs`` show only the k most likely first tokens: Gemma
3 270M starts its answer with "You", "A" is in its top 20 and "B" is not, so
renormalising over the labels found there gives P(A) = 1 on every call.
Instead evalkit adds the same ``logit_bias`` (+100) to every token of every
legal label. A uniform bias multiplies each label's probability by the same
factor, so their ratios, and the distribution renormalised over the labels,
are the model's own; and the labels then fill the top of the top-k.

Steps, once per server, model and template (the result is kept in the
judge cache beside the calls):

1. token ids: the server's tokenizer (llama.cpp's ``/extras/tokenize`` or
   ``/tokenize``) gives the ids of each label and of the label after a
   space (``"A"`` and ``" A"``); a label of several tokens is read from its
   first token when no other label shares that token, else the run falls
   back;
2. probe: one request with the bias; the server honours it when every
   label comes back in the top-k with nearly all the mass;
3. otherwise the method is ``top_k``: the labels found in the top-k, with
   the bound on the mass of those missing (as before), and a note saying why.

>>> t = choose_label_tokens(("A", "B", "C"), {"A": [2, 10], " A": [2, 11], "B": [2, 12], " B": [2, 13],
...                         "C": [2, 14], " C": [2, 15, 16]}, empty=[2])
>>> t.method, dict(t.token_ids)
('logit_bias', {'A': (10, 11), 'B': (12, 13), 'C': (14,)})
>>> print(choose_label_tokens(("1", "10"), {"1": [5], " 1": [6], "10": [5, 0], " 10": [6, 0]}, empty=[]).note)
label '10' is several tokens and its first token also stands for '1': the labels' probabilities are read from the top-k
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from evalkit.judge.types import LabelTokens, Template

__all__ = ["LOGIT_BIAS", "capability_key", "choose_label_tokens", "honoured", "label_tokens_from", "resolve"]

#: The bias added to every label token: OpenAI's largest allowed value.
LOGIT_BIAS = 100.0
#: The most token ids biased at once (OpenAI's top_logprobs cap: all must fit in the top-k).
MAX_BIASED = 20


def _strip(tokens: Sequence[int], empty: Sequence[int]) -> list[int]:
    """The tokens of a text without what the tokenizer adds to any text (BOS)."""
    n = len(empty)
    return list(tokens[n:]) if list(tokens[:n]) == list(empty) else list(tokens)


def choose_label_tokens(
    labels: Sequence[str], tokenized: Mapping[str, Sequence[int]], *, empty: Sequence[int]
) -> LabelTokens:
    """The token ids to bias for ``labels``, from the tokenizations of each
    label and of the label after a space (``tokenized``) and of the empty
    text (``empty``: what the tokenizer always adds). Pure."""
    singles: dict[str, list[int]] = {}
    firsts: dict[str, int | None] = {}
    for label in labels:
        variants = [_strip(tokenized[label], empty), _strip(tokenized[" " + label], empty)]
        singles[label] = [v[0] for v in variants if len(v) == 1]
        firsts[label] = variants[0][0] if variants[0] else None
    multi = [label for label in labels if not singles[label]]
    for label in multi:
        first = firsts[label]
        owners = [o for o in labels if o != label and (first == firsts[o] or first in singles[o])]
        if first is None or owners:
            return LabelTokens(
                "top_k",
                note=f"label {label!r} is several tokens and its first token also stands for "
                f"{', '.join(repr(o) for o in owners) or 'nothing'}: the labels' probabilities are read from the top-k",
            )
    for label in multi:
        singles[label] = [firsts[label]]  # type: ignore[list-item]
    ids = {label: tuple(dict.fromkeys(singles[label])) for label in labels}
    seen: dict[int, str] = {}
    for label, label_ids in ids.items():
        for token in label_ids:
            if token in seen:
                return LabelTokens("top_k", note=f"labels {seen[token]!r} and {label!r} share a token")
            seen[token] = label
    if len(seen) > MAX_BIASED:
        return LabelTokens("top_k", note=f"{len(seen)} label tokens do not fit in the top {MAX_BIASED}")
    note = None
    if multi:
        names = ", ".join(multi)
        note = f"label(s) {names} are several tokens: each is read from its first token, which no other label has"
    return LabelTokens("logit_bias", ids, note, first_token_labels=tuple(multi))


def honoured(labels: Sequence[str], response: Mapping[str, Any], tokens: LabelTokens) -> bool:
    """Whether a probe answer shows the bias: every label in the top-k, with
    at least 99% of the probability between them."""
    from evalkit.judge.protocols import label_mass

    mass, _ = label_mass(labels, response.get("top_logprobs") or [], tokens.first_token_labels)
    return set(mass) == set(labels) and sum(mass.values()) >= 0.99


def capability_key(server: str, model: str, template: Template) -> str:
    """The cache key of the method chosen for this server, model and label set."""
    payload: dict[str, Any] = {"schema": "evalkit-logprobs-method-v1", "server": server.rstrip("/"), "model": model}
    payload["labels"] = list(template.labels)
    text = json.dumps(payload, sort_keys=True)
    return "method:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def label_tokens_from(value: Mapping[str, Any] | None) -> LabelTokens | None:
    """A :class:`LabelTokens` from its cached form (``None`` if absent or malformed)."""
    if not value or value.get("method") not in ("logit_bias", "top_k"):
        return None
    ids = {str(k): tuple(int(t) for t in v) for k, v in dict(value.get("token_ids") or {}).items()}
    firsts = tuple(str(x) for x in value.get("first_token_labels") or ())
    return LabelTokens(value["method"], ids, value.get("note"), first_token_labels=firsts)


def cached_form(tokens: LabelTokens) -> dict[str, Any]:
    return {
        "method": tokens.method,
        "token_ids": {k: list(v) for k, v in tokens.token_ids.items()},
        "note": tokens.note,
        "first_token_labels": list(tokens.first_token_labels),
    }


async def resolve(client: Any, template: Template) -> LabelTokens:
    """Tokenize the labels on the server and probe the bias (``client`` is a
    :class:`evalkit.judge.client.JudgeClient`)."""
    texts = [""] + [v for label in template.labels for v in (label, " " + label)]
    tokenized: dict[str, list[int]] = {}
    for text in texts:
        tokens = await client.tokenize(text)
        if tokens is None:
            note = "the server has no tokenizer endpoint (/extras/tokenize or /tokenize): labels read from the top-k"
            return LabelTokens("top_k", note=note)
        tokenized[text] = tokens
    chosen = choose_label_tokens(template.labels, tokenized, empty=tokenized[""])
    if chosen.method != "logit_bias":
        return chosen
    bias = {str(t): LOGIT_BIAS for t in chosen.all_ids}
    response = await client.probe_logit_bias(bias, top_logprobs=max(len(bias), 2))
    if response is None or not honoured(template.labels, response, chosen):
        return LabelTokens("top_k", note="the server ignored logit_bias in its logprobs: labels read from the top-k")
    return chosen
