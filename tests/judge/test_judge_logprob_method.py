"""The logprobs protocol's exact label probabilities: the same logit_bias on
every label token, probed once per server, with the top-k fallback recorded.

The scripted "model" below has fixed first-token logits over a small
vocabulary; B is outside its top 5, as Gemma 3 270M's "B" is outside its top
20. The expected probabilities are computed here by hand from those logits.
"""

from __future__ import annotations

import json
import math

import pytest
from scripted_server import Reply

from evalkit.judge.calls import plan_calls, request_params
from evalkit.judge.logprob_method import LOGIT_BIAS, choose_label_tokens
from evalkit.judge.run import run_judge
from evalkit.judge.templates import load_template
from evalkit.judge.types import JudgeInputs, JudgeSettings, LabelTokens

BOS = 1
#: token id -> (text, logit of the first answer token)
VOCAB = {
    10: ("You", 6.0),
    11: ("The", 5.5),
    12: ("I", 5.0),
    13: ("Sure", 4.5),
    14: ("A", 4.0),
    15: ("Both", 3.0),
    16: ("B", 1.0),
    17: ("C", -1.0),
    18: (" A", -2.0),
    19: (" B", -3.0),
    20: (" C", -4.0),
    21: ("**", 2.0),
}
IDS = {text: token for token, (text, _) in VOCAB.items()}
LABEL_IDS = {"A": (14, 18), "B": (16, 19), "C": (17, 20)}
PAIR = load_template("mt-bench-pairwise")


def tokenize(text: str) -> list[int]:
    """llama-cpp-python's /extras/tokenize adds BOS; a text outside the vocabulary is split by character."""
    if text in IDS:
        return [BOS, IDS[text]]
    return [BOS] + [IDS.get(ch, 99) for ch in text]


def model(honour_bias: bool, k: int = 5):
    """A script answering with the top-k first-token logprobs of VOCAB, with the request's logit_bias added or not."""

    def answer(request, n=0):
        logits = {token: logit for token, (_, logit) in VOCAB.items()}
        if honour_bias:
            for token, bias in (request.get("logit_bias") or {}).items():
                logits[int(token)] += float(bias)
        top_k = max(k, int(request.get("top_logprobs") or 0)) if honour_bias else k
        norm = math.log(sum(math.exp(v) for v in logits.values()))
        best = sorted(logits, key=lambda t: -logits[t])[:top_k]
        top = [(VOCAB[t][0], logits[t] - norm) for t in best]
        return Reply(top[0][0], top_logprobs=top, finish_reason="length")

    return answer


def expected_label_probabilities() -> dict[str, float]:
    """Each label's mass ("A" and " A" both stand for A), renormalised over the labels: by hand from VOCAB."""
    mass = {label: sum(math.exp(VOCAB[t][1]) for t in ids) for label, ids in LABEL_IDS.items()}
    total = sum(mass.values())
    return {label: m / total for label, m in mass.items()}


def run(server, tmp_path, **options):
    settings = JudgeSettings(
        base_url=server.base_url,
        model="judge",
        template="mt-bench-pairwise",
        protocol="logprobs",
        reconcile="average",
        cache=str(tmp_path / "cache.sqlite"),
        **options,
    )
    inputs = JudgeInputs.of(["q0", "q1"], {"x": ["x0", "x1"], "y": ["y0", "y1"]})
    return run_judge(settings, inputs, mode="pairwise")


def test_logit_bias_requests_carry_every_label_token_with_equal_biases(scripted, tmp_path):
    answer = model(honour_bias=True)
    server = scripted(answer, probe=answer, tokenize=tokenize)
    result = run(server, tmp_path)
    # The labels were tokenized on the server, with and without a leading space.
    assert set(server.tokenize_requests) == {"", "A", " A", "B", " B", "C", " C"}
    expected_bias = {str(t): LOGIT_BIAS for ids in LABEL_IDS.values() for t in ids}
    assert len(server.requests) == 4
    for request in server.requests:
        assert request["logit_bias"] == expected_bias
        assert request["logprobs"] is True and request["max_tokens"] == 1 and request["top_logprobs"] >= 6
    assert result.logprobs == LabelTokens("logit_bias", LABEL_IDS)
    assert "proto:logprobs+logit_bias" in result.signature


def test_renormalising_over_the_labels_gives_the_models_own_distribution(scripted, tmp_path, evalkit_cli, write):
    answer = model(honour_bias=True)
    server = scripted(answer, probe=answer, tokenize=tokenize)
    prompts = write("prompts.txt", "q0\nq1\n")
    x, y = write("x.txt", "x0\nx1\n"), write("y.txt", "y0\ny1\n")
    out = tmp_path / "out"
    result = evalkit_cli(
        "judge", "pairwise", "--prompts", prompts, "--system", f"x={x}", "--system", f"y={y}",
        "--base-url", server.base_url, "--model", "judge", "--template", "mt-bench-pairwise",
        "--protocol", "logprobs", "--reconcile", "average", "--cache", tmp_path / "c.sqlite", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = expected_label_probabilities()
    records = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(records) == 4
    for record in records:
        assert record["logprobs_method"] == "logit_bias"
        assert record["probabilities"] == pytest.approx(expected, rel=1e-9)
        assert record["missing_labels"] is None and record["missing_mass_bound"] is None
        assert record["p_first"] == pytest.approx(expected["A"] + expected["C"] / 2, rel=1e-9)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["judge"]["logprobs_method"] == "logit_bias"
    # P(x wins) averaged over both orders: the judge always prefers the answer shown first.
    assert summary["pairs"][0]["mean_p_win"] == pytest.approx(0.5, abs=1e-12)
    assert "exact (the same logit_bias on every label token" in (out / "report.md").read_text()


def test_a_server_that_ignores_logit_bias_falls_back_to_the_top_k_and_says_so(scripted, tmp_path):
    answer = model(honour_bias=False)
    server = scripted(answer, probe=answer, tokenize=tokenize)
    result = run(server, tmp_path)
    assert result.logprobs is not None and result.logprobs.method == "top_k"
    assert "ignored logit_bias" in (result.logprobs.note or "")
    assert all("logit_bias" not in request for request in server.requests)  # the calls are sent without it
    calls = [c.call for item in result.items for c in item.calls]
    z = sum(math.exp(logit) for _, logit in VOCAB.values())
    top5 = [math.exp(VOCAB[t][1]) / z for t in (10, 11, 12, 13, 14)]
    bound = min(1 - sum(top5), 2 * min(top5))  # two labels missing, each below the 5th token
    for call in calls:
        # Only A is in the top 5: renormalising over the labels found gives P(A) = 1, and says what it missed.
        assert call.verdict.method == "top_k" and call.verdict.probabilities == {"A": 1.0}
        assert call.verdict.missing_labels == ("B", "C")
        assert call.verdict.missing_mass_bound == pytest.approx(bound, rel=1e-9)
    assert "proto:logprobs+top_k" in result.signature


def test_a_server_without_a_tokenizer_falls_back_to_the_top_k(scripted, tmp_path):
    answer = model(honour_bias=True)
    server = scripted(answer, probe=answer)  # no /extras/tokenize: 404, and /tokenize: 404
    result = run(server, tmp_path)
    assert result.logprobs.method == "top_k" and "no tokenizer endpoint" in result.logprobs.note
    assert all(c.call.verdict.method == "top_k" for item in result.items for c in item.calls)


def test_the_method_is_probed_once_and_kept_in_the_cache(scripted, tmp_path):
    answer = model(honour_bias=True)
    server = scripted(answer, probe=answer, tokenize=tokenize)
    first = run(server, tmp_path)
    tokenized = len(server.tokenize_requests)
    again = run(server, tmp_path, limit=1)  # a subset: every call is in the cache
    assert again.stats.requests_sent == 0 and again.stats.cache_hits == 2
    assert len(server.tokenize_requests) == tokenized
    assert again.logprobs == first.logprobs


def test_cache_keys_change_with_the_method():
    settings = JudgeSettings(base_url="http://x/v1", model="m")
    inputs = JudgeInputs.of(["q"], {"x": ["a"], "y": ["b"]})
    common = dict(mode="pairwise", template=PAIR, protocol="logprobs", server="http://x/v1", model="m", nonce="n")
    by_method = {
        method: set(plan_calls(settings, inputs, tokens=tokens, **common).calls)
        for method, tokens in [
            ("none", None),
            ("top_k", LabelTokens("top_k")),
            ("logit_bias", LabelTokens("logit_bias", LABEL_IDS)),
        ]
    }
    assert by_method["none"] == by_method["top_k"]  # the top-k method sends the same request as before
    assert by_method["top_k"].isdisjoint(by_method["logit_bias"])
    params = request_params(settings, PAIR, "logprobs", LabelTokens("logit_bias", LABEL_IDS))
    assert params["logit_bias"] == {str(t): 100.0 for t in (14, 16, 17, 18, 19, 20)}


@pytest.mark.parametrize(
    "labels, tokenized, method, ids, note",
    [
        # one token each; the spaced form too where it is one token
        (("A", "B"), {"A": [1, 5], " A": [1, 6], "B": [1, 7], " B": [1, 8, 9]}, "logit_bias", {"A": (5, 6), "B": (7,)}, None),
        # "Yes" is two tokens whose first begins no other label: read from its first token
        (("Yes", "No"), {"Yes": [1, 3, 4], " Yes": [1, 30, 4], "No": [1, 7], " No": [1, 8]}, "logit_bias",
         {"Yes": (3,), "No": (7, 8)}, "label(s) Yes are several tokens"),
        # Gemma splits digits: "10" begins with the token of "1"
        (("1", "10"), {"1": [1, 5], " 1": [1, 6], "10": [1, 5, 0], " 10": [1, 6, 0]}, "top_k", {},
         "first token also stands for '1'"),
        # two labels tokenized to the same id
        (("A", "a"), {"A": [1, 5], " A": [1, 6], "a": [1, 6], " a": [1, 6]}, "top_k", {}, "share a token"),
    ],
)  # fmt: skip
def test_choose_label_tokens(labels, tokenized, method, ids, note):
    chosen = choose_label_tokens(labels, tokenized, empty=[1])
    assert chosen.method == method and dict(chosen.token_ids) == ids
    assert (chosen.note is None) if note is None else (note in chosen.note)
