"""Judge templates and demo data ship inside the wheel and are found there."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.conftest import REPO


def test_wheel_ships_templates_and_demo_data(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = tmp_path.glob("evalkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (REPO / "judges").glob("*.toml"):
        assert f"evalkit/_data/judges/{template.name}" in names
    assert "evalkit/_data/datasets/demo/references.txt" in names
    assert "evalkit/_data/datasets/demo/system_strong.txt" in names
    for name in ("llmbar-natural", "pandalm-test"):  # evalkit judge certify's human-labelled sets
        for file in ("set.toml", "prompts.jsonl", "answer_1.jsonl", "answer_2.jsonl", "labels.jsonl", "LICENSE"):
            assert f"evalkit/_data/datasets/human/{name}/{file}" in names

    # installed from the wheel, evalkit.resources finds them in the package
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], check=True
    )
    code = "import evalkit.resources as r; print(r.judges_dir()); print(r.datasets_dir())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0].startswith(str(site)) and out[0].endswith("evalkit/_data/judges")
    assert out[1].startswith(str(site)) and out[1].endswith("evalkit/_data/datasets")
