"""``import evalkit`` and ``evalkit --help`` load none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "torch",
    "transformers",
    "faiss",
    "mauve",
    "openai",
    "pandas",
    "sentence_transformers",
    "sklearn",
    "sacrebleu",
    "rouge_score",
    "numpy",
    "llama_cpp",
    "pydantic",
]

PROBE = """
import json, sys
{code}
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""


def loaded_after(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_evalkit_is_light():
    assert loaded_after("import evalkit") == []


def test_help_is_light():
    code = "import contextlib, io\nfrom evalkit.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    assert loaded_after(code) == []
    for sub in ("judge", "compare", "score"):
        assert loaded_after(code.replace("['--help']", f"['{sub}', '--help']")) == []


def test_scoring_bleu_loads_no_heavy_optional_library():
    loaded = loaded_after("import evalkit\nevalkit.score('bleu', predictions=['a'], references=['a'])")
    assert "torch" not in loaded and "openai" not in loaded and "pandas" not in loaded
