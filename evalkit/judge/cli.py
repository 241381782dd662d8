"""``evalkit judge pairwise|single`` and the ``[judge]`` table of ``evalkit run``.

Module-level imports stay light (argparse only): ``evalkit --help`` must not
load openai or pandas. Errors are raised as :class:`EvalkitError` subclasses;
``evalkit.cli`` turns them into exit code 2 in one place.

Exit codes of a judge run: 0 done; 1 stopped early by ``--max-cost`` (the
report is written, completed calls are cached: rerun to finish).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
from collections.abc import Mapping
from typing import Any

from evalkit.errors import ConfigError

__all__ = ["add_parser", "handler", "run_config", "CONFIG_KEYS"]

#: Keys of a ``[judge]`` table (docs/judge.md documents each).
CONFIG_KEYS = {
    "mode",
    "prompts",
    "prompt_field",
    "systems",
    "prediction_field",
    "references",
    "reference_field",
    "judge",
    "base_url",
    "model",
    "template",
    "protocol",
    "grammar_backend",
    "reconcile",
    "swap",
    "baseline",
    "concurrency",
    "timeout",
    "max_retries",
    "api_key_env",
    "temperature",
    "max_tokens",
    "top_logprobs",
    "seed",
    "price",
    "max_cost",
    "dry_run",
    "cache",
    "out",
    "limit",
    "merge_system",
}


def add_parser(subparsers: Any) -> None:
    """Register ``judge`` with its ``pairwise`` and ``single`` sub-commands."""
    judge = subparsers.add_parser(
        "judge",
        help="judge answers with an LLM: pairwise (both orders) or single score",
        description="Judge system outputs with an LLM over any OpenAI-compatible server, or the local Gemma judge.",
    )
    modes = judge.add_subparsers(dest="judge_mode", metavar="MODE")
    modes.required = True
    for mode, text in (
        ("pairwise", "compare systems two by two, each pair in both orders"),
        ("single", "grade each system's answers on the template's scale"),
    ):
        p = modes.add_parser(mode, help=text, description=text[0].upper() + text[1:] + ".")
        _add_arguments(p, mode)
        p.set_defaults(func=handler, judge_mode=mode)


def _add_arguments(p: argparse.ArgumentParser, mode: str) -> None:
    data = p.add_argument_group("data")
    data.add_argument(
        "--prompts", required=True, metavar="FILE", help="the questions, one per line (.txt/.jsonl/.csv/.tsv)"
    )
    data.add_argument("--prompt-field", metavar="NAME", help="field/column of the prompts in .jsonl/.csv/.tsv")
    data.add_argument(
        "--system",
        action="append",
        required=True,
        metavar="NAME=FILE",
        help="a system's answers, one per prompt (repeatable)",
    )
    data.add_argument("--prediction-field", metavar="NAME", help="field/column of the answers in .jsonl/.csv/.tsv")
    data.add_argument("--references", metavar="FILE", help="reference answers (for the -ref templates)")
    data.add_argument("--reference-field", metavar="NAME", help="field/column of the references")
    data.add_argument("--limit", type=int, metavar="N", help="judge only the first N items")

    server = p.add_argument_group("judge server")
    server.add_argument("--judge", choices=["local"], help="start the embedded local judge (llama.cpp + Gemma 3 270M)")
    server.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    server.add_argument("--model", metavar="NAME", help="the judge model's name on that server")
    server.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="environment variable holding the API key (default: OPENAI_API_KEY; never pass a key on the command line)",
    )
    server.add_argument(
        "--concurrency", type=int, metavar="N", help="requests in flight (default: 8; 1 for --judge local)"
    )
    server.add_argument(
        "--timeout", type=float, metavar="S", help="seconds per request (default: 60; 600 for --judge local)"
    )
    server.add_argument(
        "--max-retries", type=int, default=5, metavar="N", help="retries after 429/5xx/connection errors (default: 5)"
    )

    judging = p.add_argument_group("judging")
    judging.add_argument(
        "--template", metavar="NAME|FILE.toml", help=f"judge template (default: {mode}); see judges/README.md"
    )
    judging.add_argument(
        "--protocol", choices=["text", "grammar", "logprobs"], help="verdict protocol (default: the template's)"
    )
    judging.add_argument(
        "--grammar-backend",
        choices=["gbnf", "choice", "json_schema"],
        default="gbnf",
        help="how --protocol grammar constrains the answer: llama.cpp GBNF, vLLM guided_choice, "
        "OpenAI json_schema (default: gbnf)",
    )
    if mode == "pairwise":
        judging.add_argument(
            "--reconcile",
            choices=["tie", "average"],
            default="tie",
            help="two verdicts that disagree make a tie, or average P(A wins) (logprobs) (default: tie)",
        )
        judging.add_argument("--no-swap", action="store_true", help="judge each pair in one order only (reported)")
        judging.add_argument(
            "--baseline", metavar="NAME", help="compare every system with this one instead of all pairs"
        )
    judging.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default: 0)")
    judging.add_argument("--max-tokens", type=int, metavar="N", help="answer length limit (default: the template's)")
    judging.add_argument(
        "--top-logprobs", type=int, default=20, metavar="K", help="top-k for --protocol logprobs (default: 20)"
    )
    judging.add_argument("--seed", type=int, help="sampling seed sent to the server")

    cost = p.add_argument_group("cost, cache and output")
    cost.add_argument("--price", metavar="IN,OUT", help="USD per million input and output tokens, to report cost")
    cost.add_argument("--max-cost", type=float, metavar="USD", help="stop before the run's cost would pass this")
    cost.add_argument(
        "--dry-run", action="store_true", help="print how many calls and tokens the run would take; send nothing"
    )
    cost.add_argument("--cache", metavar="PATH", help="SQLite cache file (default: ~/.cache/evalkit/judge.sqlite)")
    cost.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    cost.add_argument("--out", metavar="DIR", help=f"report folder (default: reports/judge-{mode})")


def _parse_systems(items: list[str]) -> dict[str, str]:
    systems: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path:
            raise ConfigError(
                f"--system {item!r} is not NAME=FILE", hint="for example: --system strong=outputs/strong.txt"
            )
        if name.strip() in systems:
            raise ConfigError(f"system name {name.strip()!r} is given twice")
        systems[name.strip()] = path
    return systems


def handler(args: argparse.Namespace) -> int:
    """Run ``evalkit judge pairwise|single`` from parsed arguments."""
    settings: dict[str, Any] = {
        "mode": args.judge_mode,
        "prompts": args.prompts,
        "prompt_field": args.prompt_field,
        "systems": _parse_systems(args.system),
        "prediction_field": args.prediction_field,
        "references": args.references,
        "reference_field": args.reference_field,
        "judge": args.judge,
        "base_url": args.base_url,
        "model": args.model,
        "template": args.template,
        "protocol": args.protocol,
        "grammar_backend": args.grammar_backend,
        "reconcile": getattr(args, "reconcile", "tie"),
        "swap": not getattr(args, "no_swap", False),
        "baseline": getattr(args, "baseline", None),
        "concurrency": args.concurrency,
        "timeout": args.timeout,
        "max_retries": args.max_retries,
        "api_key_env": args.api_key_env,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "top_logprobs": args.top_logprobs,
        "seed": args.seed,
        "price": args.price,
        "max_cost": args.max_cost,
        "dry_run": args.dry_run,
        "cache": False if args.no_cache else args.cache,
        "out": args.out or f"reports/judge-{args.judge_mode}",
        "limit": args.limit,
    }
    return _run_all([{k: v for k, v in settings.items() if v is not None}], base_dir=pathlib.Path.cwd())


def run_config(table: Mapping[str, Any], *, base_dir: pathlib.Path) -> int:
    """Run the ``[judge]`` table of ``evalkit run CONFIG.toml``.

    Paths are relative to ``base_dir`` (the config file's folder). The table
    holds one run (``mode = "pairwise"`` or ``"single"``), or shared keys plus
    ``[judge.pairwise]`` and/or ``[judge.single]`` sub-tables: both then run
    against one judge (one local server), writing ``OUT/pairwise`` and
    ``OUT/single``.
    """
    table = dict(table)
    subs = {mode: table.pop(mode) for mode in ("pairwise", "single") if isinstance(table.get(mode), Mapping)}
    unknown = set(table) - CONFIG_KEYS
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [judge]: {', '.join(sorted(unknown))}",
            hint=f"known keys: {', '.join(sorted(CONFIG_KEYS | {'pairwise', 'single'}))}",
        )
    runs = []
    if subs:
        if "mode" in table:
            raise ConfigError("[judge] has both 'mode' and [judge.pairwise]/[judge.single] sub-tables; keep one")
        out = table.get("out", "reports/judge")
        for mode, sub in subs.items():
            bad = set(sub) - CONFIG_KEYS
            if bad:
                raise ConfigError(f"unknown key(s) in [judge.{mode}]: {', '.join(sorted(bad))}")
            merged = {**table, **dict(sub), "mode": mode}
            if "out" not in sub:
                merged["out"] = str(pathlib.Path(out) / mode)
            runs.append(merged)
    else:
        if "mode" not in table:
            raise ConfigError('[judge] needs mode = "pairwise" or "single" (or [judge.pairwise]/[judge.single] tables)')
        table.setdefault("out", f"reports/judge-{table['mode']}")
        runs.append(table)
    return _run_all(runs, base_dir=base_dir)


# -- shared path ----------------------------------------------------------------


def _typed(settings: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = settings.get(key, default)
    if value is None:
        return default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"judge setting {key} = {value!r} must be a {name}")
    return value


def _price(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        numbers = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != 2 or min(numbers) < 0:
        raise ConfigError(
            f"price {value!r} is not IN,OUT", hint="USD per million input and output tokens, e.g. --price 2.5,10"
        )
    return numbers  # type: ignore[return-value]


def _read(path: str, field: str | None, base_dir: pathlib.Path) -> tuple[list[str | None], str]:
    from evalkit.inputs import read_segments

    full = pathlib.Path(path)
    if not full.is_absolute():
        full = base_dir / full
    values = read_segments(full, field=field)
    return [v if v is None or isinstance(v, str) else str(v) for v in values], str(full)


def _load_config(settings: Mapping[str, Any], base_dir: pathlib.Path) -> tuple[Any, str | None, bool]:
    from evalkit.errors import InputError
    from evalkit.judge.cache import default_cache_path
    from evalkit.judge.run import JudgeConfig

    mode = settings.get("mode")
    if mode not in ("pairwise", "single"):
        raise ConfigError(f"judge mode must be 'pairwise' or 'single', not {mode!r}")
    if not settings.get("prompts"):
        raise ConfigError("the judge needs prompts", hint='pass --prompts FILE (or prompts = "FILE" in [judge])')
    systems_spec = settings.get("systems")
    if not isinstance(systems_spec, Mapping) or not systems_spec:
        raise ConfigError("the judge needs systems", hint='pass --system NAME=FILE (or [judge.systems] NAME = "FILE")')
    prompts, prompts_file = _read(_typed(settings, "prompts", str), settings.get("prompt_field"), base_dir)
    systems: dict[str, list[str | None]] = {}
    for name, path in systems_spec.items():
        if not isinstance(path, str):
            raise ConfigError(f"system {name!r} must be a file path, not {path!r}")
        answers, answers_file = _read(path, settings.get("prediction_field"), base_dir)
        if len(answers) != len(prompts):
            raise InputError(
                f"{prompts_file} has {len(prompts)} prompts but {answers_file} has {len(answers)} answers "
                f"(system {name!r})",
                hint="give exactly one answer per prompt, in the same order",
            )
        systems[str(name)] = answers
    references = None
    if settings.get("references"):
        references, ref_file = _read(_typed(settings, "references", str), settings.get("reference_field"), base_dir)
        if len(references) != len(prompts):
            raise InputError(
                f"{prompts_file} has {len(prompts)} prompts but {ref_file} has {len(references)} references"
            )

    local = settings.get("judge")
    if local not in (None, "local"):
        raise ConfigError(f"judge = {local!r}: the only embedded judge is 'local'")
    if local and (settings.get("base_url") or settings.get("model")):
        raise ConfigError("give either --judge local or --base-url/--model, not both")
    template = settings.get("template")
    if isinstance(template, str) and template.endswith(".toml") and not pathlib.Path(template).is_absolute():
        template = str(base_dir / template)
    cache = settings.get("cache")
    if cache is False:
        cache_path = None
    elif cache:
        cache_path = pathlib.Path(_typed(settings, "cache", str))
        cache_path = cache_path if cache_path.is_absolute() else base_dir / cache_path
    else:
        cache_path = default_cache_path()

    api_key = None
    if not local:
        env_name = _typed(settings, "api_key_env", str)
        if env_name is not None and env_name not in os.environ:
            raise ConfigError(f"the API key variable {env_name} is not set", hint=f"export {env_name}=... first")
        api_key = os.environ.get(env_name or "OPENAI_API_KEY")

    config = JudgeConfig(
        mode=mode,
        prompts=prompts,
        systems=systems,
        references=references,
        base_url=_typed(settings, "base_url", str, ""),
        model=_typed(settings, "model", str, ""),
        template=template,
        protocol=_typed(settings, "protocol", str),
        grammar_backend=_typed(settings, "grammar_backend", str, "gbnf"),
        reconcile=_typed(settings, "reconcile", str, "tie"),
        swap=_typed(settings, "swap", bool, True),
        baseline=_typed(settings, "baseline", str),
        concurrency=_typed(settings, "concurrency", int, 1 if local else 8),
        timeout=_typed(settings, "timeout", float, 600.0 if local else 60.0),
        max_retries=_typed(settings, "max_retries", int, 5),
        temperature=_typed(settings, "temperature", float, 0.0),
        max_tokens=_typed(settings, "max_tokens", int),
        top_logprobs=_typed(settings, "top_logprobs", int, 20),
        seed=_typed(settings, "seed", int),
        price=_price(settings.get("price")),
        max_cost=_typed(settings, "max_cost", float),
        cache_path=cache_path,
        dry_run=_typed(settings, "dry_run", bool, False),
        limit=_typed(settings, "limit", int),
        merge_system=_typed(settings, "merge_system", bool, bool(local)),
    )
    return config, api_key, bool(local)


def _progress() -> tuple[Any, Any, Any]:
    """A tqdm bar on stderr when it is a terminal; otherwise no-ops."""
    if not sys.stderr.isatty():
        return None, None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="call", file=sys.stderr, dynamic_ncols=True, leave=True)
    counts = {"hit": 0, "done": 0, "failed": 0}

    def on_total(n: int) -> None:
        bar.total = n
        bar.refresh()

    def progress(event: str) -> None:
        counts[event] += 1
        bar.set_postfix(cached=counts["hit"], failed=counts["failed"], refresh=False)
        bar.update(1)

    return progress, on_total, bar.close


def _protocol(config: Any) -> str:
    from evalkit.judge.templates import load_template

    return config.protocol or load_template(config.template or config.mode).protocol


def _run_all(runs: list[dict[str, Any]], *, base_dir: pathlib.Path) -> int:
    from dataclasses import replace

    from evalkit.judge.local_server import MODEL_NAME, SERVER_ID
    from evalkit.judge.report import render_markdown, write_report
    from evalkit.judge.run import run_judge

    loaded = []
    for settings in runs:
        config, api_key, local = _load_config(settings, base_dir)
        if local:  # the cache key uses SERVER_ID: the local server's port changes from run to run
            config = replace(config, base_url="http://127.0.0.1/v1", model=MODEL_NAME, server_id=SERVER_ID)
        loaded.append((config, api_key, local))
    # Start the local server only if some call is not in the cache yet.
    needs_local = any(
        local and not config.dry_run and run_judge(replace(config, dry_run=True)).estimate["to_send"]  # type: ignore[index]
        for config, _, local in loaded
    )
    server = None
    status = 0
    try:
        if needs_local:
            from evalkit.judge.local_server import LocalJudge

            print("evalkit: starting the local judge (llama.cpp + Gemma 3 270M)...", file=sys.stderr)
            server = LocalJudge(logits_all=any(_protocol(c) == "logprobs" for c, _, local in loaded if local)).start()
        for (config, api_key, local), settings in zip(loaded, runs):
            if local and server is not None:
                config = replace(config, base_url=server.base_url)
            progress, on_total, close = _progress()
            try:
                run = run_judge(config, api_key=api_key, progress=progress, on_total=on_total)
            finally:
                close()
            if run.estimate is not None:
                e = run.estimate
                print(
                    f"dry run ({config.mode}): {e['calls']} calls, {e['cached']} cached, {e['to_send']} to send; "
                    f"about {e['prompt_tokens_estimate']} input tokens and at most {e['completion_tokens_max']} "
                    "output tokens" + (f"; at most ${e['cost_max']:.4f}" if e.get("cost_max") is not None else "")
                )
                continue
            out = pathlib.Path(settings["out"])
            out = out if out.is_absolute() else base_dir / out
            write_report(run, out)
            print(render_markdown(run))
            print(f"evalkit: wrote {out / 'summary.json'} and {out / 'judgments.jsonl'}", file=sys.stderr)
            if run.stopped:
                print(f"evalkit: the judge run stopped early ({run.stopped}); rerun to finish", file=sys.stderr)
                status = max(status, 1)
    finally:
        if server is not None:
            server.stop()
    return status
