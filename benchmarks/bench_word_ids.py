"""Word ids without a Python call per word: measured against the dictionary.

The fast BLEU engine turns each chunk of texts into word ids with
``str.split`` and one ``dict`` lookup per word
(``evalkit.metrics.sacrebleu_tokenize.lookup``). This probe times the
vectorised alternative proposed in issue 14 on the same chunks, CPU time,
interleaved runs:

1. the chunk's joined text encoded once to UTF-32;
2. word boundaries from a table of the code points ``str.split()`` treats
   as whitespace (``chr(c).isspace()``, all below U+3001);
3. a polynomial hash of each word's code points (uint64, wrapping: prefix
   sums of ``code * B**position``, times ``B**-start``);
4. ``np.unique`` of the hashes;
5. exact verification: every occurrence's code points against its
   representative's (a collision would fall back to the dictionary);
6. the distinct words back to ``str`` (one decode) and their ids from the
   same dictionary, so ids stay valid across chunks.

It checks that both roads give the same partition (equal ids iff equal
words) and prints the CPU seconds of each step.

    python benchmarks/bench_word_ids.py --n 20000
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402

from evalkit.metrics.ngram_counts import number_texts  # noqa: E402
from evalkit.metrics.sacrebleu_tokenize import MARK, Ids, lookup  # noqa: E402

LIMIT = 0x3001  # no code point at or above it is whitespace for str.split()
SPACE = np.array([chr(c).isspace() for c in range(LIMIT)] + [False])
BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
INVERSE = pow(BASE, -1, 1 << 64)


def _powers(base: int, size: int) -> np.ndarray:
    out = np.full(size, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out)  # wraps modulo 2**64


def dictionary_ids(text: str, ids: Ids, steps: dict[str, float]) -> np.ndarray:
    start = time.process_time()
    found = lookup(ids, text.split())
    steps["split + dict lookup per word"] = steps.get("split + dict lookup per word", 0.0) + time.process_time() - start
    return found


def vectorised_ids(text: str, ids: Ids, steps: dict[str, float], powers: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    clock = [time.process_time()]

    def step(name: str) -> None:
        now = time.process_time()
        steps[name] = steps.get(name, 0.0) + now - clock[0]
        clock[0] = now

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    step("1 encode UTF-32")
    space = SPACE[np.minimum(codes, LIMIT)]
    edges = np.diff(np.concatenate(([True], space, [True])).view(np.int8))
    starts, ends = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    step("2 word boundaries")
    prefix = np.zeros(len(codes) + 1, dtype=np.uint64)
    np.cumsum(codes * powers[0][: len(codes)], out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * powers[1][starts]
    step("3 hash")
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    step("4 unique")
    lengths = ends - starts
    representative = first[inverse]
    shift = np.repeat(starts[representative] - starts, lengths)
    chars = np.flatnonzero(~space)
    if not (np.array_equal(lengths, lengths[representative]) and np.array_equal(codes[chars], codes[chars + shift])):
        raise RuntimeError("hash collision: the engine would fall back to the dictionary")
    step("5 verify every occurrence")
    word_starts, word_lengths = starts[first], lengths[first] + 1
    at = np.repeat(word_starts - (np.cumsum(word_lengths) - word_lengths), word_lengths)
    gathered = codes[np.minimum(at + np.arange(int(word_lengths.sum())), len(codes) - 1)]
    gathered[np.cumsum(word_lengths) - 1] = 32  # a space after each distinct word
    words = gathered.tobytes().decode("utf-32-le", "surrogatepass").split()
    step("6a distinct words to str")
    found = lookup(ids, words)[inverse.reshape(-1)]
    step("6b dict lookup per distinct word")
    return found


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack((a, b)), axis=1)
    return len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="sentence pairs")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs of each road")
    args = parser.parse_args(argv)
    assert not any(chr(c).isspace() for c in range(LIMIT, 0x110000))
    predictions, references = data.sentence_pairs(args.n, seed=0)
    chunks = []
    for start in range(0, args.n, 1024):  # as bleu_engine chunks them
        texts = number_texts(predictions[start : start + 1024], [(r,) for r in references[start : start + 1024]])[0]
        chunks.append(f" {MARK} ".join(texts))
    powers = (_powers(BASE, max(map(len, chunks))), _powers(INVERSE, max(map(len, chunks))))
    totals: dict[str, list[float]] = {"dictionary": [], "vectorised": []}
    steps: dict[str, float] = {}
    gc.disable()
    for run in range(args.runs):
        order = ["dictionary", "vectorised"] if run % 2 == 0 else ["vectorised", "dictionary"]
        for road in order:
            ids, start, out = Ids({MARK: 0}), time.process_time(), []
            for text in chunks:
                out.append(
                    dictionary_ids(text, ids, steps)
                    if road == "dictionary"
                    else vectorised_ids(text, ids, steps, powers)
                )
            totals[road].append(time.process_time() - start)
            if road == "dictionary":
                expected = np.concatenate(out)
            else:
                got = np.concatenate(out)
    words = sum(len(t.split()) for t in chunks)
    print(f"{args.n:,} pairs, {len(chunks)} chunks, {words:,} words, {sum(map(len, chunks)):,} code points")
    print(f"same partition of the words: {same_partition(expected, got)}")
    for road, values in totals.items():
        print(f"{road}: median CPU {statistics.median(values):.3f} s over {args.runs} runs")
    for name, seconds in sorted(steps.items()):
        print(f"  {name}: {seconds / args.runs:.3f} s a run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
