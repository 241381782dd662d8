"""``evalkit judge pairwise|single`` and the ``[judge]`` table of ``evalkit run``.

Both fill the same settings classes (:class:`~evalkit.judge.types.JudgeSettings`
and :class:`~evalkit.judge.types.JudgeData`): the command-line options are
generated from them, a table is validated through them. A run is parsed into a
:class:`~evalkit.judge.types.JudgeSpec` first (:func:`spec_from_args`,
:func:`specs_from_table`: nothing runs, every error comes first), then run by
:func:`run_spec` with a server provider that starts the local judge only when
a call must be sent. Printing and writing stay here.

Module-level imports stay light (argparse and the settings classes): ``evalkit
--help`` must not load openai or pandas. Errors are raised as
:class:`EvalkitError` subclasses; ``evalkit.cli`` turns them into exit code 2
in one place.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evalkit.errors import ConfigError, ExitCode
from evalkit.judge.types import JudgeData, JudgeSettings, JudgeSpec, Mode, PanelSettings, Progress
from evalkit.settings import add_arguments, arguments_given, path_settings, setting_names, validate

if TYPE_CHECKING:
    from evalkit.judge.labels import HumanLabels
    from evalkit.judge.server import JudgeServers
    from evalkit.judge.types import JudgeInputs, JudgeRun, PanelRun

__all__ = [
    "CONFIG_KEYS",
    "EXIT_CODES",
    "add_parser",
    "handler",
    "merge_handler",
    "make_spec",
    "run_spec",
    "spec_from_args",
    "specs_from_table",
]

MODES: tuple[Mode, ...] = ("pairwise", "single")
#: Settings that only a pairwise run has.
PAIRWISE_ONLY = ("reconcile", "swap", "baseline", "null_canary")
#: Keys of a ``[judge]`` table (docs/judge.md documents each): one per setting.
CONFIG_KEYS = frozenset(
    {"mode", *setting_names(JudgeSettings), *setting_names(JudgeData), *setting_names(PanelSettings)}
)

EXIT_CODES = (
    "exit codes: 0 done; 2 bad input, config or template, an unreachable server, refused credentials, "
    f"an exhausted quota or an unsupported protocol; {int(ExitCode.BUDGET_STOPPED)} stopped before --max-cost "
    "would be passed (the report is written and completed calls are cached: rerun to finish); "
    f"{int(ExitCode.INTERRUPTED)} interrupted"
)


# -- the command line ------------------------------------------------------------


def add_parser(subparsers: Any) -> None:
    """Register ``judge`` with its ``pairwise`` and ``single`` sub-commands."""
    judge = subparsers.add_parser(
        "judge",
        help="judge answers with an LLM: pairwise (both orders) or single score; certify a judge",
        description="Judge system outputs with an LLM over any OpenAI-compatible server, or the local Gemma judge.",
        epilog=EXIT_CODES,
    )
    modes = judge.add_subparsers(dest="judge_mode", metavar="MODE")
    modes.required = True
    for mode, text in (
        ("pairwise", "compare systems two by two, each pair in both orders"),
        ("single", "grade each system's answers on the template's scale"),
    ):
        p = modes.add_parser(mode, help=text, description=text[0].upper() + text[1:] + ".", epilog=EXIT_CODES)
        _add_arguments(p, mode)
        p.set_defaults(func=handler, judge_mode=mode)
    _add_merge_parser(modes)
    from evalkit.judge.certify_cli import add_certify_parser

    add_certify_parser(modes, EXIT_CODES)


def _add_merge_parser(modes: Any) -> None:
    text = "merge the folders of a run sharded with --shard I/N into the run's report"
    p = modes.add_parser(
        "merge",
        help=text,
        description=text[0].upper() + text[1:] + ": summary.json, judgments.jsonl and report.md equal to an "
        "unsharded run's, and one cache with every shard's calls.",
        epilog="exit codes: 0 merged; 2 a folder is not a shard, shards of other settings or another split, "
        "a shard missing or given twice with other verdicts",
    )
    p.add_argument("folders", nargs="+", metavar="DIR", help="the --out folder of each shard")
    p.add_argument("--out", metavar="DIR", help="report folder (default: reports/judge-MODE)")
    p.add_argument("--cache", metavar="PATH", help="the merged cache (default: OUT/cache.sqlite)")
    p.add_argument(
        "--labels", metavar="FILE", help="human labels (items by 0-based index): the merged run's agreement with them"
    )
    p.set_defaults(func=merge_handler, judge_mode="merge")


def merge_handler(args: argparse.Namespace) -> int:
    """Run ``evalkit judge merge DIR... [--out DIR] [--cache PATH] [--labels FILE]``."""
    from evalkit.judge.merge import merge_caches, merged_run, read_shards
    from evalkit.judge.report import render_markdown, write_report

    folders = [pathlib.Path(f) for f in args.folders]
    shards, notes = read_shards(folders)
    run = merged_run(shards)
    if args.labels:
        from evalkit.judge.labels import load_labels
        from evalkit.judge.run import agreement_of

        labels = load_labels(args.labels, mode=run.mode, n_items=run.n_items, systems=list(run.systems))
        run = dataclasses.replace(run, agreement=agreement_of(run, labels), labels=labels)
    out = pathlib.Path(args.out or f"reports/judge-{run.mode}")
    cache = pathlib.Path(args.cache) if args.cache else out / "cache.sqlite"
    added = merge_caches([f / "cache.sqlite" for f in folders], cache)
    write_report(run, out)
    for note in notes:
        print(f"evalkit: {note}", file=sys.stderr)
    print(render_markdown(run))
    print(
        f"evalkit: merged {len(shards)} shards into {out / 'summary.json'} and {out / 'judgments.jsonl'}; "
        f"{added} calls added to the cache {cache}",
        file=sys.stderr,
    )
    return int(ExitCode.BUDGET_STOPPED if run.stopped else ExitCode.OK)


def _add_arguments(p: argparse.ArgumentParser, mode: str) -> None:
    data = p.add_argument_group("data")
    add_arguments(data, JudgeData)
    data.add_argument(
        "--system",
        dest="system",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a system's answers, one per prompt (repeatable)",
    )
    judging = p.add_argument_group("judge")
    add_arguments(judging, JudgeSettings, exclude=() if mode == "pairwise" else PAIRWISE_ONLY)
    judging.add_argument(
        "--no-cache", dest="cache", action="store_const", const=False, help="neither read nor write the cache"
    )
    add_arguments(p.add_argument_group("panel of judges (docs/judge.md: Panels and cascades)"), PanelSettings)


def spec_from_args(args: argparse.Namespace) -> JudgeSpec:
    """The run that ``evalkit judge pairwise|single ...`` asks for."""
    from evalkit.loading import parse_named_paths

    data = arguments_given(args, JudgeData)
    if args.system:
        data["systems"] = parse_named_paths(args.system, option="--system")
    return _spec(
        args.judge_mode,
        arguments_given(args, JudgeSettings),
        data,
        where="the command line",
        base_dir=None,
        panel_values=arguments_given(args, PanelSettings),
    )


def handler(args: argparse.Namespace) -> int:
    """Run ``evalkit judge pairwise|single`` from parsed arguments."""
    return _run_and_report([spec_from_args(args)])


# -- the [judge] table -----------------------------------------------------------


def _resolve(value: Any, base_dir: pathlib.Path) -> Any:
    if isinstance(value, str):
        return value if pathlib.Path(value).is_absolute() else str(base_dir / value)
    if isinstance(value, list):
        return [_resolve(v, base_dir) for v in value]
    if isinstance(value, Mapping):
        return {k: _resolve(v, base_dir) for k, v in value.items()}
    return value


def _with_paths(values: Mapping[str, Any], cls: type, base_dir: pathlib.Path | None) -> dict[str, Any]:
    """``values`` with the settings marked ``path=True`` made relative to ``base_dir``."""
    out = dict(values)
    if base_dir is None:
        return out
    for name in path_settings(cls):
        if name in out and out[name] is not False and out[name] is not None:
            out[name] = _resolve(out[name], base_dir)
    template = out.get("template")
    if isinstance(template, str) and template.endswith(".toml"):
        out["template"] = _resolve(template, base_dir)
    return out


def _mode(value: object, where: str) -> Mode:
    if value == "pairwise":
        return "pairwise"
    if value == "single":
        return "single"
    raise ConfigError(f'{where}: mode = {value!r}: the judge\'s mode is "pairwise" or "single"')


def _spec(
    mode: object,
    settings_values: Mapping[str, Any],
    data_values: Mapping[str, Any],
    *,
    where: str,
    base_dir: pathlib.Path | None,
    default_out: str | None = None,
    panel_values: Mapping[str, Any] | None = None,
) -> JudgeSpec:
    from evalkit.judge.calls import check_settings
    from evalkit.judge.run import api_key_from_env
    from evalkit.judge.templates import load_template

    mode = _mode(mode, where)
    if mode == "single":
        settings_values = {k: v for k, v in settings_values.items() if k not in PAIRWISE_ONLY}
    settings = validate(JudgeSettings, _with_paths(settings_values, JudgeSettings, base_dir), where=where)
    data = validate(JudgeData, _with_paths(data_values, JudgeData, base_dir), where=where)
    out = settings.out or default_out or f"reports/judge-{mode}"
    if base_dir is not None and settings.out is None:
        out = str(_resolve(out, base_dir))
    if panel_values and panel_values.get("panel") is not None:
        return _panel_spec(mode, settings_values, data, panel_values, where=where, base_dir=base_dir, out=out)
    template = load_template(settings.template or str(mode))
    protocol = check_settings(settings, mode=mode, template=template)
    api_key_from_env(settings)  # a variable named but not set is an error now, not after other runs
    settings, out = _shard_defaults(settings, out)
    return JudgeSpec(mode, settings, data, template, protocol, pathlib.Path(out), where)


def _shard_defaults(settings: JudgeSettings, out: str) -> tuple[JudgeSettings, str]:
    """A shard writes into a folder of its own (``OUT-shard-I-of-N`` unless
    ``--out`` is given) and keeps its cache there (unless ``--cache`` is
    given): the folder is all that ``evalkit judge merge`` needs."""
    shard = settings.shard
    if shard is None:
        return settings, out
    if settings.out is None:
        out = f"{out}-shard-{shard.number}-of-{shard.total}"
    if settings.cache is None:
        settings = dataclasses.replace(settings, cache=str(pathlib.Path(out) / "cache.sqlite"))
    return settings, out


def _panel_spec(
    mode: Mode,
    settings_values: Mapping[str, Any],
    data: JudgeData,
    panel_values: Mapping[str, Any],
    *,
    where: str,
    base_dir: pathlib.Path | None,
    out: str,
) -> JudgeSpec:
    """A run of a panel of judges: each judge's entry over the shared settings."""
    from evalkit.judge.panel_spec import panel_members, panel_settings

    panel = panel_settings(panel_values, mode=mode, where=where)
    canaries = [k for k in ("canary", "write_canary", "null_canary", "shard") if settings_values.get(k)]
    if canaries:
        raise ConfigError(
            f"{where}: {canaries[0]} is for one judge, not a panel of judges",
            hint="run it with each judge on its own",
        )
    shared = {k: v for k, v in settings_values.items() if k != "out"}
    members = panel_members(
        panel_values["panel"],
        _with_paths(shared, JudgeSettings, base_dir),
        mode=mode,
        where=where,
        base_dir=base_dir,
        resolve=lambda values, folder: _with_paths(values, JudgeSettings, folder),
    )
    first = members[0]
    return JudgeSpec(
        mode, first.settings, data, first.template, first.protocol, pathlib.Path(out), where,
        panel=members, pool=panel.pool, cascade_margin=panel.cascade_margin,
    )  # fmt: skip


def make_spec(
    mode: str,
    settings_values: Mapping[str, Any],
    data_values: Mapping[str, Any],
    *,
    where: str,
    default_out: str | None = None,
) -> JudgeSpec:
    """A spec from settings and data values given in code (``evalkit judge
    certify`` names a shipped set's files): parsed and checked, not run."""
    return _spec(mode, settings_values, data_values, where=where, base_dir=None, default_out=default_out)


def _split(table: Mapping[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A table's settings, data and panel values; unknown keys are an error."""
    unknown = [key for key in table if key not in CONFIG_KEYS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}",
            hint=f"known keys: {', '.join(sorted(CONFIG_KEYS | set(MODES)))}",
        )
    data_keys = set(setting_names(JudgeData))
    panel_keys = set(setting_names(PanelSettings))
    settings = {k: v for k, v in table.items() if k not in data_keys | panel_keys and k != "mode"}
    panel = {k: v for k, v in table.items() if k in panel_keys}
    return settings, {k: v for k, v in table.items() if k in data_keys}, panel


def specs_from_table(
    table: Mapping[str, Any], *, base_dir: pathlib.Path, source: str = "", default_out: str | None = None
) -> list[JudgeSpec]:
    """The runs of a ``[judge]`` table, parsed and checked, not run.

    Paths are relative to ``base_dir`` (the config file's folder); ``source``
    (the file's name) prefixes messages. The table holds one run (``mode =
    "pairwise"`` or ``"single"``), or shared keys plus ``[judge.pairwise]``
    and/or ``[judge.single]`` sub-tables: one spec each, writing ``OUT/pairwise``
    and ``OUT/single``. ``default_out`` replaces the default report folder.
    """
    prefix = f"{source} " if source else ""
    shared = {k: v for k, v in table.items() if k not in MODES or not isinstance(v, Mapping)}
    subs = {mode: table[mode] for mode in MODES if isinstance(table.get(mode), Mapping)}
    settings, data, panel = _split(shared, f"{prefix}[judge]")
    for sub in subs.values():
        if "shard" in sub:
            settings["shard"] = sub["shard"]
    if "shard" in settings:
        raise ConfigError(
            f"{prefix}[judge]: shard is for evalkit judge only: the judge values of a run need every call",
            hint="run evalkit judge pairwise|single ... --shard I/N per machine, then evalkit judge merge DIR..., "
            "and give the merged summary.json to --judge-summary",
        )
    if not subs:
        if "mode" not in table:
            raise ConfigError(
                f'{prefix}[judge] needs mode = "pairwise" or "single" (or [judge.pairwise]/[judge.single] tables)'
            )
        where = f"{prefix}[judge]"
        return [
            _spec(
                table["mode"],
                settings,
                data,
                where=where,
                base_dir=base_dir,
                default_out=default_out,
                panel_values=panel,
            )  # fmt: skip
        ]
    if "mode" in table:
        raise ConfigError(f"{prefix}[judge] has both 'mode' and [judge.pairwise]/[judge.single] sub-tables; keep one")
    out = str(shared.get("out") or default_out or "reports/judge")
    specs = []
    for mode, sub in subs.items():
        where = f"{prefix}[judge.{mode}]"
        sub_settings, sub_data, sub_panel = _split(sub, where)
        merged = {**settings, **sub_settings}
        if "out" not in sub_settings:
            merged["out"] = str(pathlib.Path(out) / mode)
        panel_values = {**panel, **sub_panel}
        specs.append(
            _spec(mode, merged, {**data, **sub_data}, where=where, base_dir=base_dir, panel_values=panel_values)
        )
    return specs


# -- running ---------------------------------------------------------------------


def run_spec(spec: JudgeSpec, *, servers: JudgeServers, progress: Progress | None = None) -> tuple[JudgeRun, ExitCode]:
    """Run one spec with ``servers`` (shared by the runs of a process) and
    return its result and exit status: :attr:`ExitCode.BUDGET_STOPPED` when
    the run stopped before ``max_cost`` would be passed, else ``OK``. Reads
    the inputs and the API key; writes and prints nothing."""
    from evalkit.judge.canary import run_canaries
    from evalkit.judge.inputs import load_inputs
    from evalkit.judge.run import api_key_from_env, run_judge

    inputs = load_inputs(spec.data)
    labels = _labels(spec, inputs)
    api_key = api_key_from_env(spec.settings)
    run = run_judge(
        spec.settings, inputs, mode=spec.mode, api_key=api_key, server=servers, progress=progress, labels=labels
    )
    run = run_canaries(run, inputs, api_key=api_key, server=servers)
    return run, ExitCode.BUDGET_STOPPED if run.stopped else ExitCode.OK


def run_panel_spec(spec: JudgeSpec, *, servers: JudgeServers, progress: Progress | None = None) -> PanelRun:
    """Run a spec with a panel of judges (``spec.panel``); reads the inputs
    and the human labels, if any; writes nothing."""
    from evalkit.judge.inputs import load_inputs
    from evalkit.judge.panel import run_panel

    inputs = load_inputs(spec.data)
    return run_panel(
        spec.panel,
        inputs,
        mode=spec.mode,
        pool=spec.pool,
        cascade_margin=spec.cascade_margin,
        servers=servers,
        progress=progress,
        labels=_labels(spec, inputs),
    )


def _labels(spec: JudgeSpec, inputs: JudgeInputs) -> HumanLabels | None:
    """The spec's human labels, read and checked before anything is sent."""
    from evalkit.judge.labels import load_labels, load_prompt_ids

    data = spec.data
    if data.labels is None:
        if data.id_field is not None:
            raise ConfigError(f"{spec.where}: id_field is set but no labels", hint="give --labels FILE, or drop it")
        return None
    ids = load_prompt_ids(data.prompts, data.id_field) if data.prompts and data.id_field else None
    return load_labels(data.labels, mode=spec.mode, n_items=inputs.n_items, systems=list(inputs.systems), ids=ids)


class _Bar(Progress):
    """A tqdm bar on stderr."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="call", file=sys.stderr, dynamic_ncols=True, leave=True)
        self.counts = {"hit": 0, "done": 0, "failed": 0}

    def total(self, n: int) -> None:
        self.bar.total = n
        self.bar.refresh()

    def update(self, event: str) -> None:
        self.counts[event] += 1
        self.bar.set_postfix(cached=self.counts["hit"], failed=self.counts["failed"], refresh=False)
        self.bar.update(1)


def describe_run(run: JudgeRun) -> str:
    """What a run shows on the terminal: its dry-run estimate, or its section."""
    from evalkit.judge.report import render_markdown

    e = run.estimate
    if e is None:
        return render_markdown(run)
    cost = f"; at most ${e.cost_max:.4f}" if e.cost_max is not None else ""
    return (
        f"dry run ({run.mode}): {e.calls} calls, {e.cached} cached, {e.to_send} to send; "
        f"about {e.prompt_tokens_estimate} input tokens and at most {e.completion_tokens_max} output tokens{cost}"
    )


def _print_estimate(run: JudgeRun) -> None:
    print(describe_run(run))


def _report(spec: JudgeSpec, run: JudgeRun) -> None:
    from evalkit.judge.report import render_markdown, write_report

    write_report(run, spec.out)
    print(render_markdown(run))
    print(f"evalkit: wrote {spec.out / 'summary.json'} and {spec.out / 'judgments.jsonl'}", file=sys.stderr)
    if run.stopped:
        print(f"evalkit: the judge run stopped early ({run.stopped}); rerun to finish", file=sys.stderr)


def announce_local_start() -> None:
    print("evalkit: starting the local judge (llama.cpp + Gemma 3 270M)...", file=sys.stderr)


def _report_panel(spec: JudgeSpec, panel: PanelRun) -> ExitCode:
    from evalkit.judge.panel_report import render_panel_markdown, write_panel_report

    if panel.pooled.estimate is not None or any(m.estimate is not None for m in panel.members):
        for member, name in zip(panel.members, panel.names):
            print(f"{name}: {describe_run(member)}")
        return ExitCode.OK
    write_panel_report(panel, spec.out)
    print(render_panel_markdown(panel))
    print(f"evalkit: wrote {spec.out / 'summary.json'} and one folder per judge", file=sys.stderr)
    stopped = [m.stopped for m in panel.members if m.stopped]
    if stopped:
        print(f"evalkit: the judge run stopped early ({stopped[0]}); rerun to finish", file=sys.stderr)
        return ExitCode.BUDGET_STOPPED
    return ExitCode.OK


def uses_logits(spec: JudgeSpec) -> bool:
    """Whether the spec's local judge needs llama.cpp's ``--logits_all`` (the logprobs protocol)."""
    settings = [(m.settings, m.protocol) for m in spec.panel] or [(spec.settings, spec.protocol)]
    return any(s.local and protocol == "logprobs" for s, protocol in settings)


def _run_and_report(specs: Sequence[JudgeSpec]) -> int:
    from evalkit.judge.server import JudgeServers

    logits_all = any(uses_logits(spec) for spec in specs)
    status = ExitCode.OK
    with JudgeServers(logits_all=logits_all, on_start=announce_local_start) as servers:
        for spec in specs:
            bar = _Bar() if sys.stderr.isatty() else None
            try:
                if spec.panel:
                    status = max(status, _report_panel(spec, run_panel_spec(spec, servers=servers, progress=bar)))
                    continue
                run, code = run_spec(spec, servers=servers, progress=bar)
            finally:
                if bar is not None:
                    bar.bar.close()
            if run.estimate is not None:
                _print_estimate(run)
                continue
            _report(spec, run)
            status = max(status, code)
    return int(status)
