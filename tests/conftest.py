"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data``; skips the test cleanly where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA} (it sits beside the checkout in CI)")
    return SHARED_DATA


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fuzzing suite's counts (issue 15: inputs tried, typed errors, wrong answers)."""
    from tests import _fuzz_stats as fs

    if not fs.COUNTS["tried"]:
        return
    c = fs.COUNTS
    terminalreporter.write_sep("-", "fuzzing suite (tests/test_fuzz_loaders.py)")
    terminalreporter.write_line(
        f"inputs tried: {c['tried']}, typed errors: {c['typed_error']}, correct frames: "
        f"{c['correct_frame']}, wrong answers: {c['wrong_answer']}, "
        f"foreign exceptions: {c['foreign_exception']}"
    )
    targets = ", ".join(f"{k} {v}" for k, v in sorted(fs.BY_TARGET.items()))
    terminalreporter.write_line(f"by target: {targets}")
    for line in fs.FAILURES[:10]:
        terminalreporter.write_line(f"  {line}")
