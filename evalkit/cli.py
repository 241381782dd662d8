"""The ``evalkit`` command: parse, call :func:`~evalkit.evaluation.evaluate`,
write, and turn :class:`~evalkit.errors.EvalkitError` into exit code 2 in
exactly one place.

Exit codes (:class:`~evalkit.errors.ExitCode`): 0 success, 1 a regression
gate failed, 2 bad input or config, 3 the judge stopped before ``--max-cost``
would be passed (rerun to finish), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit import __version__
from evalkit.errors import EvalkitError, ExitCode

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.config import CheckSettings, RunSettings
    from evalkit.evaluation import Evaluation
    from evalkit.judge.types import JudgeRun
    from evalkit.runner import Comparison

FORMATS = ("table", "markdown", "csv", "json")

EPILOG = """examples:
  evalkit score --metric rouge --predictions out.txt --references ref.txt
  evalkit compare --references ref.txt --system a=a.txt --system b=b.txt --metrics rouge,bleu,chrf
  evalkit run datasets/demo/demo.toml
  evalkit metrics

exit codes: 0 ok, 1 a --fail-if gate failed, 2 bad input or config,
3 the judge stopped at --max-cost (rerun to finish), 130 interrupted"""


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--references", action="append", default=[], metavar="FILE", help="references; repeat for several per item"
    )
    p.add_argument(
        "--prediction-field",
        metavar="NAME",
        help="field (.jsonl) or column (.csv/.tsv) of the predictions (default: text, prediction, output, response)",
    )
    p.add_argument(
        "--reference-field",
        metavar="NAME",
        help="field or column holding the references; a JSONL list gives several (default: text, reference, target)",
    )
    p.add_argument("--prompts", metavar="FILE", help="one prompt per item, for judge metrics (judge, judge_pairwise)")
    p.add_argument("--prompt-field", metavar="NAME", help="field or column of the prompts in .jsonl/.csv/.tsv")


def _add_metric_options(p: argparse.ArgumentParser, *, single: bool) -> None:
    if single:
        p.add_argument("--metric", required=True, help="metric or group name, e.g. rouge, rougeL, bleu, chrf, ter")
    else:
        p.add_argument(
            "--metrics", default="rouge,bleu,chrf", help="comma-separated metric names (default: %(default)s)"
        )
    p.add_argument(
        "--set",
        dest="set_options",
        action="append",
        default=[],
        metavar="METRIC.OPTION=VALUE",
        help="a metric option, e.g. rouge.use_stemmer=true or bleu.tokenize=intl (repeatable)",
    )
    p.add_argument("--format", choices=FORMATS, default=None, help="what to print (default: table)")


def _add_check_options(p: argparse.ArgumentParser) -> None:
    from evalkit.config import ENGINE_SETTINGS, CheckSettings
    from evalkit.settings import add_arguments

    add_arguments(
        p.add_argument_group("statistics and CI gates (see docs/ci.md)"), CheckSettings, exclude=ENGINE_SETTINGS
    )
    _add_engine_options(p)


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    from evalkit.config import ENGINE_SETTINGS, CheckSettings
    from evalkit.settings import add_arguments

    add_arguments(
        p.add_argument_group("where the metrics run (see docs/scale.md)"), CheckSettings, only=ENGINE_SETTINGS
    )


def _add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("score", help="score one file of predictions", description="Score one file of predictions.")
    p.add_argument(
        "--predictions", required=True, metavar="FILE", help="one prediction per line (.txt, .jsonl, .csv, .tsv)"
    )
    _add_input_options(p)
    _add_metric_options(p, single=True)
    p.add_argument("--out", metavar="DIR", help="also write report.md, summary.csv, items.csv, summary.json here")
    _add_engine_options(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "compare",
        help="compare several systems on the same references",
        description="Compare systems; writes DIR/report.md, summary.csv, items.csv, summary.json and prints the table.",
    )
    p.add_argument("--system", action="append", required=True, metavar="NAME=FILE", help="a system's outputs")
    _add_input_options(p)
    _add_metric_options(p, single=False)
    p.add_argument("--out", metavar="DIR", help="report folder (default: reports/run-YYYYmmdd-HHMMSS)")
    _add_check_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "run", help="run a comparison described by a TOML file", description="Run CONFIG.toml (README: config format)."
    )
    p.add_argument("config", metavar="CONFIG.toml")
    p.add_argument("--out", metavar="DIR", help="override the config's output folder")
    p.add_argument("--format", choices=FORMATS, default=None, help="what to print (default: table)")
    _add_check_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("metrics", help="list the metrics evalkit knows (plugins included)")
    p.set_defaults(func=cmd_metrics)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalkit",
        description="Score and compare text generated by language models.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"evalkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_commands(sub)
    from evalkit.judge.cli import add_parser as add_judge_parser

    add_judge_parser(sub)
    return parser


# -- building the settings from the command line ----------------------------------


def _settings(args: argparse.Namespace, systems: dict[str, str], metrics: str, checks: CheckSettings) -> RunSettings:
    from evalkit.config import RunSettings
    from evalkit.loading import InputSpec
    from evalkit.options import parse_set_options

    return RunSettings(
        metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()),
        systems={name: InputSpec(Path(path), args.prediction_field) for name, path in systems.items()},
        references=tuple(InputSpec(Path(p), args.reference_field) for p in args.references),
        prompts=InputSpec(Path(args.prompts), args.prompt_field) if args.prompts else None,
        options=parse_set_options(args.set_options),
        out=Path(args.out) if args.out else None,
        format=args.format or "table",
        checks=checks,
    )


def _default_out() -> Path:
    return Path("reports") / datetime.now(timezone.utc).strftime("run-%Y%m%d-%H%M%S")


# -- printing ------------------------------------------------------------------------


class _Printer:
    """Prints results as :func:`evaluate` produces them."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt

    def comparison_ready(self, comparison: Comparison) -> None:
        from evalkit.reports import csv_writer, json_writer, markdown, table

        render = {
            "table": table.render_table,
            "markdown": markdown.render_markdown,
            "csv": csv_writer.summary_csv,
            "json": json_writer.render_json,
        }[self.fmt]
        sys.stdout.write(render(comparison))
        sys.stdout.flush()

    def local_judge_starting(self) -> None:
        from evalkit.judge.cli import announce_local_start

        announce_local_start()

    def judge_run_ready(self, run: JudgeRun) -> None:
        from evalkit.judge.cli import describe_run

        text = describe_run(run)
        if self.fmt in ("table", "markdown"):
            print(text, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)


def _print_checks(evaluation: Evaluation, fmt: str) -> None:
    """The statistics and the gates: on stdout for people, stderr otherwise."""
    from evalkit.reports.statistics import render_gates_text, render_stats_markdown, render_stats_text

    if evaluation.analysis is not None and fmt == "table":
        sys.stdout.write(render_stats_text(evaluation.analysis, ()))
    elif evaluation.analysis is not None and fmt == "markdown":
        sys.stdout.write("\n" + render_stats_markdown(evaluation.analysis, ()))
    if evaluation.gates_skipped:
        print(f"evalkit: gates not checked: {evaluation.gates_skipped}", file=sys.stderr)
    gates, failed = evaluation.gates, evaluation.gates_failed
    if failed:
        print(f"evalkit: {len(failed)} of {len(gates)} gate check(s) failed:", file=sys.stderr)
        print("\n".join(render_gates_text(failed)), file=sys.stderr)
    elif gates:
        print(f"evalkit: all {len(gates)} gate check(s) hold", file=sys.stderr)
    if evaluation.budget_stopped:
        print("evalkit: the judge stopped before --max-cost would be passed; rerun to finish", file=sys.stderr)


def _run(settings: RunSettings, out: Path | None) -> int:
    from evalkit.evaluation import evaluate
    from evalkit.reports.write import write_evaluation

    evaluation = evaluate(settings, progress=_Printer(settings.format))
    _print_checks(evaluation, settings.format)
    if out is not None:
        written = write_evaluation(evaluation, out)
        print("evalkit: wrote " + ", ".join(written), file=sys.stderr)
    return int(evaluation.status)


# -- commands ---------------------------------------------------------------------------


def cmd_score(args: argparse.Namespace) -> int:
    from evalkit.config import CheckSettings, with_command_line
    from evalkit.settings import arguments_given

    # score prints the scores alone: no statistics (compare and run have them)
    checks = with_command_line(CheckSettings(bootstrap=0), arguments_given(args, CheckSettings))
    settings = _settings(args, {Path(args.predictions).stem: args.predictions}, args.metric, checks)
    return _run(settings, settings.out)


def cmd_compare(args: argparse.Namespace) -> int:
    from evalkit.config import CheckSettings, with_command_line
    from evalkit.loading import parse_named_paths
    from evalkit.settings import arguments_given

    checks = with_command_line(CheckSettings(), arguments_given(args, CheckSettings))
    settings = _settings(args, parse_named_paths(args.system), args.metrics, checks)
    return _run(settings, settings.out or _default_out())


def cmd_run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from evalkit.config import CheckSettings, load_config, with_command_line
    from evalkit.settings import arguments_given

    settings = load_config(args.config)
    checks = with_command_line(settings.checks, arguments_given(args, CheckSettings))
    out = Path(args.out) if args.out else settings.out or _default_out()
    settings = replace(settings, checks=checks, out=out, format=args.format or settings.format)
    return _run(settings, out)


def cmd_metrics(args: argparse.Namespace) -> int:
    from evalkit.metrics.registry import GROUPS, available

    for name in available():
        suffix = f"  (= {', '.join(GROUPS[name])})" if name in GROUPS else ""
        print(name + suffix)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # Result warnings (e.g. MAUVE's small-sample one) are printed with the
    # table and kept in the reports: don't repeat them as Python warnings.
    warnings.filterwarnings("ignore", message="MAUVE is unreliable")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return int(ExitCode.USAGE)
    try:
        return int(args.func(args) or 0)
    except EvalkitError as exc:
        print(f"evalkit: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("evalkit: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
