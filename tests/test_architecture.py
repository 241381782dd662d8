"""The shape docs/architecture.md describes, checked: every import points down
the layers, and no function grows past 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "evalkit"

#: Layers from the bottom (0) up; a module may import its own layer or lower.
#: The longest matching prefix decides.
LAYERS: dict[str, int] = {
    "evalkit.errors": 0,
    "evalkit.result": 0,
    "evalkit.item_scores": 0,
    "evalkit.exact_sum": 0,
    "evalkit.formatting": 0,
    "evalkit.jsonable": 0,
    "evalkit._lazy": 0,
    "evalkit.resources": 0,
    "evalkit.retry": 0,
    "evalkit.reports.atomic": 0,
    "evalkit.parallel": 0,
    "evalkit.settings": 1,
    "evalkit.options": 1,
    "evalkit.inputs": 2,
    "evalkit.loading": 2,
    "evalkit.config": 2,
    "evalkit.partitions": 2,
    "evalkit.frames": 2,
    "evalkit.featurizers": 3,
    "evalkit.judge": 3,
    "evalkit.metrics": 4,
    "evalkit.runner": 5,
    "evalkit.dask_engine": 5,
    "evalkit.stats": 6,
    "evalkit.judge_columns": 7,
    "evalkit.evaluation": 8,
    "evalkit.reports": 9,
    "evalkit.cli": 10,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    matches = [prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def _imports(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.startswith("evalkit")]


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    missing = [_module_name(p) for p in SOURCES if _module_name(p) != "evalkit" and _layer(_module_name(p)) is None]
    assert not missing


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: _module_name(p))
def test_imports_point_down(path):
    module = _module_name(path)
    if module == "evalkit":
        return  # the package's lazy re-exports
    own = _layer(module)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    upward = [
        f"{module}:{line} imports {name} (layer {_layer(name)} > {own})"
        for line, name in _imports(tree, module)
        if (_layer(name) or 0) > (own or 0)
    ]
    assert not upward


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: _module_name(p))
def test_no_function_is_longer_than_60_lines(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert not long
