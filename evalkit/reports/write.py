"""Write a comparison's report files into a folder, each one atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.reports.atomic import write_files_atomic
from evalkit.reports.csv_writer import items_csv, summary_csv
from evalkit.reports.json_writer import render_json
from evalkit.reports.markdown import render_markdown

__all__ = ["report_files", "write_report"]


def report_files(comparison: Any, out_dir: Path, *, statistics_markdown: str = "") -> dict[Path, str]:
    """Every report file's path and text, built before anything is written.
    ``statistics_markdown`` (intervals, significance, gates) ends report.md."""
    report = render_markdown(comparison)
    if statistics_markdown:
        report = report.rstrip("\n") + "\n\n" + statistics_markdown
    return {
        out_dir / "report.md": report,
        out_dir / "summary.csv": summary_csv(comparison),
        out_dir / "items.csv": items_csv(comparison),
        out_dir / "summary.json": render_json(comparison),
    }


def write_report(comparison: Any, out_dir: str | Path, *, statistics_markdown: str = "") -> list[Path]:
    files = report_files(comparison, Path(out_dir), statistics_markdown=statistics_markdown)
    write_files_atomic(files)
    return list(files)
