"""Generated sections of documentation pages: one way to write them and to check them.

A page marks each generated section with
``<!-- BEGIN GENERATED: <name> (scripts/<script>.py) -->`` ... ``<!-- END GENERATED: <name> -->``;
the script that owns it replaces what lies between the markers with a fresh rendering.
``python scripts/<script>.py`` rewrites the page, ``--check`` exits 1 when the committed page
is out of date, and ``tests/docpages.py`` runs the same check in the test suite.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def markers(name: str, script: str) -> tuple[str, str]:
    """The BEGIN and END markers of section ``name`` owned by ``scripts/<script>``."""
    return f"<!-- BEGIN GENERATED: {name} (scripts/{script}) -->", f"<!-- END GENERATED: {name} -->"


def replace(text: str, begin: str, end: str, body: str, *, doc: Path) -> str:
    """``text`` with what lies between ``begin`` and ``end`` replaced by ``body``."""
    if begin not in text or end not in text:
        raise SystemExit(f"{doc}: markers {begin!r} / {end!r} not found")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}{end}{tail}"


def main(doc: Path, render: Callable[[str], str], argv: Sequence[str], script: str) -> int:
    """Rewrite ``doc`` with ``render`` or, with ``--check``, exit 1 when it is out of date."""
    text = doc.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print(f"{doc} is out of date: run python scripts/{script}", file=sys.stderr)
            return 1
        return 0
    doc.write_text(new, encoding="utf-8")
    return 0
