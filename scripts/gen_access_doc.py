"""Render the generated sections of docs/access.md from the access data.

Sections: "Which route can trade what, since when" (``routes_markdown``) and "What each route
costs" (``route_costs_markdown``, from ``access/data/route_costs.toml``).

Usage: ``python scripts/gen_access_doc.py`` (rewrites the section between the markers);
``--check`` exits 1 when the committed page is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _docpage

DOC = Path(__file__).resolve().parents[1] / "docs" / "access.md"
BEGIN, END = _docpage.markers("access-routes", "gen_access_doc.py")
COST_BEGIN, COST_END = _docpage.markers("route-economics", "gen_access_doc.py")


def render(text: str) -> str:
    """Return ``text`` with the generated section replaced by a fresh rendering of the data."""
    from cnfutures.access.economics import route_costs_markdown
    from cnfutures.access.summary import routes_markdown

    text = _docpage.replace(text, BEGIN, END, routes_markdown(), doc=DOC)
    return _docpage.replace(text, COST_BEGIN, COST_END, route_costs_markdown(), doc=DOC)


def main(argv: list[str]) -> int:
    return _docpage.main(DOC, render, argv, "gen_access_doc.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
