"""Counts of the fuzzing suite (tests/test_fuzz_loaders.py), printed at the end of the run
by ``pytest_terminal_summary`` in tests/conftest.py."""

from __future__ import annotations

from collections import Counter

#: outcome -> count: tried, typed_error, correct_frame, wrong_answer, foreign_exception
COUNTS: Counter[str] = Counter()
#: kind of input -> count tried
BY_TARGET: Counter[str] = Counter()
#: first few wrong answers / foreign exceptions, for the report
FAILURES: list[str] = []
