"""Render the "Which route can trade what, since when" table into docs/access.md.

Usage: ``python scripts/gen_access_doc.py`` (rewrites the section between the markers);
``--check`` exits 1 when the committed page is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "access.md"
BEGIN = "<!-- BEGIN GENERATED: access-routes (scripts/gen_access_doc.py) -->"
END = "<!-- END GENERATED: access-routes -->"


def render(text: str) -> str:
    """Return ``text`` with the generated section replaced by a fresh rendering of the data."""
    from cnfutures.access.summary import routes_markdown

    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC}: markers {BEGIN!r} / {END!r} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{routes_markdown()}{END}{tail}"


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print(f"{DOC} is out of date: run python scripts/gen_access_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
