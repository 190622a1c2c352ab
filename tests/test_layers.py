"""The layer order of docs/architecture.md holds: no upward and no circular import (issue 14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_no_upward_or_circular_import() -> None:
    script = REPO / "scripts" / "check_layers.py"
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_catches_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    from scripts.check_layers import check

    pkg = tmp_path / "cnfutures"
    (pkg / "market").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "market" / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("import cnfutures.market.calendar\n")  # base -> market: upward
    (pkg / "market" / "calendar.py").write_text("from cnfutures.market import rules\n")
    (pkg / "market" / "rules.py").write_text("def f():\n    from cnfutures.market import calendar\n")
    problems = check(tmp_path)
    assert any("upward import of cnfutures.market.calendar" in p for p in problems)
    assert any(p.startswith("import cycle:") and "cnfutures.market.rules" in p for p in problems)
