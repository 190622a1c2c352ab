"""Render the generated sections of docs/access.md from the access data.

Sections: "Which route can trade what, since when" (``routes_markdown``) and "What each route
costs" (``route_costs_markdown``, from ``access/data/route_costs.toml``).

Usage: ``python scripts/gen_access_doc.py`` (rewrites the section between the markers);
``--check`` exits 1 when the committed page is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "access.md"
BEGIN = "<!-- BEGIN GENERATED: access-routes (scripts/gen_access_doc.py) -->"
END = "<!-- END GENERATED: access-routes -->"
COST_BEGIN = "<!-- BEGIN GENERATED: route-economics (scripts/gen_access_doc.py) -->"
COST_END = "<!-- END GENERATED: route-economics -->"


def _replace(text: str, begin: str, end: str, body: str) -> str:
    if begin not in text or end not in text:
        raise SystemExit(f"{DOC}: markers {begin!r} / {end!r} not found")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}{end}{tail}"


def render(text: str) -> str:
    """Return ``text`` with the generated section replaced by a fresh rendering of the data."""
    from cnfutures.access.economics import route_costs_markdown
    from cnfutures.access.summary import routes_markdown

    text = _replace(text, BEGIN, END, routes_markdown())
    return _replace(text, COST_BEGIN, COST_END, route_costs_markdown())


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
