"""A third-party metric, installed as a real package with an entry point in
the ``evalkit.metrics`` group, runs by name through ``evalkit compare``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PLUGIN = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "evalkit-length-plugin"
        version = "1.0"

        [project.entry-points."evalkit.metrics"]
        length_ratio = "evalkit_length_plugin:LengthRatio"

        [tool.setuptools]
        py-modules = ["evalkit_length_plugin"]
    """,
    "evalkit_length_plugin.py": """
        from evalkit.metrics.base import normalize_references
        from evalkit.result import MetricResult


        class LengthRatio:
            name = "length_ratio"
            needs_references = True

            def __init__(self, *, unit: str = "word", cap: float = 10.0):
                self.unit, self.cap = unit, cap

            def score(self, *, predictions, references=None):
                refs = normalize_references(references, len(predictions), metric=self.name)
                size = (lambda t: len(t.split())) if self.unit == "word" else len
                per_item = [
                    None if p is None else min(self.cap, size(p) / max(1, size(r[0])))
                    for p, r in zip(predictions, refs)
                ]
                scored = [v for v in per_item if v is not None]
                return MetricResult(
                    metric=self.name,
                    value=sum(scored) / len(scored) if scored else None,
                    per_item=per_item,
                    unscored={i: "missing prediction" for i, v in enumerate(per_item) if v is None},
                    signature=f"length_ratio|unit:{self.unit}|cap:{self.cap}",
                )
    """,
}


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    src = tmp_path_factory.mktemp("plugin_src")
    for name, text in PLUGIN.items():
        (src / name).write_text(textwrap.dedent(text))
    site = tmp_path_factory.mktemp("plugin_site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(src),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return site


def test_plugin_metric_runs_through_compare(evalkit_cli, plugin_site, write, tmp_path):
    pred = write("p.txt", "one two three four\none\n")
    ref = write("r.txt", "one two\none two\n")
    env = {"PYTHONPATH": str(plugin_site)}
    listed = evalkit_cli("metrics", env=env)
    assert "length_ratio" in listed.stdout.split()
    proc = evalkit_cli(
        "compare",
        "--system",
        f"s={pred}",
        "--references",
        ref,
        "--metrics",
        "length_ratio,bleu",
        "--set",
        "length_ratio.cap=1.5",
        "--format",
        "json",
        "--out",
        tmp_path / "o",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)["results"][0]
    assert record["metric"] == "length_ratio"
    assert record["value"] == pytest.approx((1.5 + 0.5) / 2)  # capped 2.0 -> 1.5, and 0.5
    assert record["signature"] == "length_ratio|unit:word|cap:1.5"


def test_plugin_option_errors_are_config_errors(evalkit_cli, plugin_site, write, tmp_path):
    pred = write("p.txt", "a\n")
    proc = evalkit_cli(
        "compare",
        "--system",
        f"s={pred}",
        "--references",
        pred,
        "--metrics",
        "length_ratio",
        "--set",
        "length_ratio.cap=big",
        "--out",
        tmp_path / "o",
        env={"PYTHONPATH": str(plugin_site)},
    )
    assert proc.returncode == 2 and "length_ratio.cap='big': input should be a valid number" in proc.stderr


def test_without_the_plugin_the_name_is_unknown(evalkit_cli, write, tmp_path):
    pred = write("p.txt", "a\n")
    proc = evalkit_cli(
        "compare", "--system", f"s={pred}", "--references", pred, "--metrics", "length_ratio", "--out", tmp_path / "o"
    )
    assert proc.returncode == 2 and "unknown metric 'length_ratio'" in proc.stderr
