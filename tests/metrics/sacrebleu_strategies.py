"""Hypothesis strategies for the sacrebleu parity tests: text that is hard on
tokenizers (digits, dots, commas, dashes, XML entities, ``<skipped>``,
unicode whitespace and letters, combining marks, the NUL character the fast
engines use as a mark) and items with one to several references."""

from __future__ import annotations

from hypothesis import strategies as st

#: tokenizers sacrebleu 2.6.0 runs without extra downloads or packages
#: (ja-mecab, ko-mecab, spm, flores101/200 and spBLEU-1K need them)
TOKENIZERS = ("13a", "intl", "char", "zh", "none")

_PIECES = [
    "the", "The", "THE", "cat", "cats", "a", "A", "of", "is", "it's", "'s", "1", "2.5", "1,000", "3-4", "10.",
    "-", "--", ".", ",", "...", ".,", ",.", "$5", "5$", "(hi)", "e.g.", "U.S.", "a.b,c", "x-y", "9-", "-9",
    "&amp;", "&lt;", "&gt;", "&quot;", "&amp;lt;", "<skipped>", "<", ">", "&", "!", "?", ";", ":", "/", "@", "#",
    "%", "^", "_", "`", "{", "}", "~", "[", "]", "|", "\\", "=", "+", "*", '"', "'",
    "café", "naïve", "Zürich", "ΣΑΣ", "σοφός", "Москва", "東京", "北京大学", "こんにちは", "カタカナ", "한국어",
    "😀", "👍🏽", "İstanbul", "ß", "ﬁle", "e\u0301", "٣", "²", "Ⅻ", "\u200b",
    "。", "、", "（", "）", "！", "？", "，",
]  # fmt: skip
_SEPARATORS = [" ", " ", " ", "  ", "", "\t", "\n", "-\n", "\u3000", "\xa0", "\x1c", "\x85", "\u2028", " \n "]

_piece = st.one_of(
    st.sampled_from(_PIECES),
    st.sampled_from(_PIECES),
    st.text(max_size=4),  # any unicode: control characters, surrogates, NUL
)


@st.composite
def texts(draw: st.DrawFn, max_pieces: int = 16) -> str:
    """A line: pieces glued by assorted (unicode) whitespace, sometimes none."""
    pieces = draw(st.lists(_piece, max_size=max_pieces))
    out = []
    for piece in pieces:
        out.append(piece)
        out.append(draw(st.sampled_from(_SEPARATORS)))
    if draw(st.booleans()):
        out = out[:-1]
    return "".join(out)


@st.composite
def items(draw: st.DrawFn, max_items: int = 6, max_references: int = 3) -> tuple[list[str], list[list[str]]]:
    """Predictions and, per item, one to ``max_references`` references;
    references are often a prediction changed a little (so that n-grams match)."""
    n = draw(st.integers(1, max_items))
    predictions: list[str] = []
    references: list[list[str]] = []
    for _ in range(n):
        prediction = draw(texts())
        refs = []
        for _ in range(draw(st.integers(1, max_references))):
            if prediction and draw(st.booleans()):
                words = prediction.split()
                cut = draw(st.integers(0, len(words)))
                refs.append(" ".join(words[cut:] + draw(st.lists(st.sampled_from(_PIECES), max_size=3)) + words[:cut]))
            else:
                refs.append(draw(texts()))
        predictions.append(prediction)
        references.append(refs)
    return predictions, references


def reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    """Per-item references -> sacrebleu's streams, ``None`` where an item has fewer."""
    width = max(len(r) for r in references)
    return [[r[k] if k < len(r) else None for r in references] for k in range(width)]
