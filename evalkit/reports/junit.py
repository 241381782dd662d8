"""Gate outcomes as a JUnit XML file (``--junit FILE``): one test case per
gate and system, so CI systems list them like tests.

>>> from evalkit.stats.gates import GateOutcome
>>> xml = render_junit([GateOutcome("bleu < 30", "new", False, 28.0, 30.0, None, "bleu = 28: FAILED")])
>>> 'failures="1"' in xml and 'name="new: bleu &lt; 30"' in xml
True
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.stats.gates import GateOutcome

from evalkit.reports.atomic import write_text_atomic

__all__ = ["render_junit", "write_junit"]

SUITE = "evalkit gates"


def render_junit(outcomes: Sequence[GateOutcome], *, properties: Mapping[str, object] | None = None) -> str:
    """The XML text: one ``<testsuite>`` with one ``<testcase>`` per outcome;
    a failed gate carries a ``<failure>`` with its message."""
    failures = sum(1 for o in outcomes if not o.passed)
    counts = {"tests": str(len(outcomes)), "failures": str(failures), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": "evalkit", **counts, "time": "0"})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": SUITE,
            **counts,
            "time": "0",
            "timestamp": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        },
    )
    if properties:
        props = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            ET.SubElement(props, "property", {"name": str(key), "value": "" if value is None else str(value)})
    for o in outcomes:
        case = ET.SubElement(
            suite, "testcase", {"classname": "evalkit.gates", "name": f"{o.system}: {o.rule}", "time": "0"}
        )
        details = (
            f"rule: {o.rule}\nsystem: {o.system}\nobserved: {o.observed}\n"
            f"threshold: {o.threshold}\np_value: {o.p_value}\n{o.message}"
        )
        if o.passed:
            ET.SubElement(case, "system-out").text = details
        else:
            failure = ET.SubElement(case, "failure", {"message": o.message, "type": "GateFailed"})
            failure.text = details
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(
    path: str | os.PathLike[str], outcomes: Sequence[GateOutcome], *, properties: Mapping[str, object] | None = None
) -> None:
    """Write :func:`render_junit` to ``path`` atomically."""
    write_text_atomic(path, render_junit(outcomes, properties=properties))
