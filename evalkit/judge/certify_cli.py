"""``evalkit judge certify``: a judge's report card on a shipped human-labelled set.

``--set NAME`` runs the judge (the same settings as ``evalkit judge
pairwise``: ``--judge local`` or ``--base-url URL --model NAME``,
``--template``, ``--protocol``, ``--limit``...) over the set's pairs, in both
orders, through :func:`evalkit.judge.run.run_judge`; the card
(:mod:`evalkit.judge.certify`) is printed and written as ``card.json`` and
``card.md`` beside the run's ``summary.json`` and ``judgments.jsonl``.
``--compare CARD.json ...`` prints one table across cards.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import ExitCode, InputError
from evalkit.judge.types import JudgeSettings
from evalkit.settings import add_arguments, arguments_given

if TYPE_CHECKING:
    from evalkit.judge.certify import ReportCard
    from evalkit.judge.sets import LabelledSet

__all__ = ["add_certify_parser", "certify_handler"]

#: Settings that make no sense for a report card: the set fixes the pair; a
#: card needs every call of the set (no shard) and judges the set, not canaries.
_EXCLUDED = ("baseline", "shard", "canary", "canary_tolerance", "write_canary", "null_canary")


def _set_folders() -> list[str]:
    # Folder names only (no TOML parsed): `evalkit --help` stays light.
    from evalkit.resources import datasets_dir

    try:
        return sorted(p.parent.name for p in (datasets_dir() / "human").glob("*/set.toml"))
    except FileNotFoundError:
        return []


def add_certify_parser(modes: Any, epilog: str) -> None:
    """Register ``certify`` beside ``pairwise`` and ``single``."""
    text = "a judge's report card: its agreement with humans on a shipped labelled set, biases and costs"
    description = (
        f"{text[0].upper() + text[1:]}. The card is printed and written to --out "
        "(default: reports/certify-SET) as card.json and card.md, beside the run's summary.json."
    )
    p = modes.add_parser("certify", help=text, description=description, epilog=epilog)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--set",
        dest="set",
        metavar="NAME",
        help=f"a shipped human-labelled set ({', '.join(_set_folders())}) or a folder with a set.toml",
    )
    what.add_argument(
        "--compare", dest="compare", nargs="+", metavar="CARD.json", help="print one table of these cards"
    )
    judging = p.add_argument_group("judge")
    add_arguments(judging, JudgeSettings, exclude=_EXCLUDED)
    judging.add_argument(
        "--no-cache", dest="cache", action="store_const", const=False, help="neither read nor write the cache"
    )
    p.set_defaults(func=certify_handler, judge_mode="certify")


def certify_handler(args: argparse.Namespace) -> int:
    """Run ``evalkit judge certify`` from parsed arguments."""
    from evalkit.judge.sets import labelled_set

    if args.compare:
        return _compare(args.compare)
    return _certify(labelled_set(args.set), arguments_given(args, JudgeSettings))


def _read_card(path: str) -> ReportCard:
    from evalkit.judge.certify import card_from_dict

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a JSON report card: {exc}", path=path) from None
    return card_from_dict(data, path=path)


def _compare(paths: list[str]) -> int:
    from evalkit.judge.certify_render import render_comparison

    print(render_comparison([_read_card(p) for p in paths]), end="")
    return int(ExitCode.OK)


def _certify(labelled: LabelledSet, settings_values: dict[str, Any]) -> int:
    from evalkit.judge.cli import announce_local_start, describe_run, make_spec
    from evalkit.judge.inputs import load_inputs
    from evalkit.judge.labels import load_labels
    from evalkit.judge.run import api_key_from_env, run_judge
    from evalkit.judge.server import JudgeServers

    data = {"prompts": str(labelled.prompts), "systems": {k: str(v) for k, v in labelled.systems.items()}}
    spec = make_spec(
        "pairwise", settings_values, data, where="the command line", default_out=f"reports/certify-{labelled.name}"
    )
    inputs = load_inputs(spec.data)
    labels = load_labels(str(labelled.labels), mode="pairwise", n_items=inputs.n_items, systems=list(inputs.systems))
    logits_all = spec.settings.local and spec.protocol == "logprobs"
    with JudgeServers(logits_all=logits_all, on_start=announce_local_start) as servers:
        run = run_judge(spec.settings, inputs, mode="pairwise", api_key=api_key_from_env(spec.settings), server=servers)
    if run.estimate is not None:
        print(describe_run(run))
        return int(ExitCode.OK)
    from evalkit.judge.agreement import pairwise_agreement
    from evalkit.judge.certify import build_card

    a, b = labelled.pair
    agreement = pairwise_agreement(run.pair_items(a, b), labels, a, b)
    card = build_card(
        run, inputs.limited(spec.settings.limit), labels, agreement, set_name=labelled.name, pair=labelled.pair
    )
    _write(card, run, spec.out)
    return int(ExitCode.BUDGET_STOPPED if run.stopped else ExitCode.OK)


def _write(card: ReportCard, run: Any, out: Path) -> None:
    from evalkit.judge.certify_render import render_card
    from evalkit.judge.report import report_texts
    from evalkit.reports.atomic import write_files_atomic

    text = render_card(card)
    files = dict(report_texts(run, out))
    files[out / "card.json"] = json.dumps(card.to_dict(), indent=2) + "\n"
    files[out / "card.md"] = text
    write_files_atomic(files)
    print(text, end="")
    print(f"evalkit: wrote {out / 'card.json'} and {out / 'card.md'}", file=sys.stderr)
    if run.stopped:
        print(f"evalkit: the judge run stopped early ({run.stopped}); rerun to finish", file=sys.stderr)
