"""Slow, obviously-correct reference implementations the fast kernels are checked against.

Each area keeps its own module (``tests/naive_<area>.py``); this module re-exports them so
tests can write ``from tests import naive``.
"""

from __future__ import annotations

import importlib

for _name in ("naive_pricing", "naive_hedge", "naive_settlement", "naive_frames"):
    try:
        _mod = importlib.import_module(f"tests.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"tests.{_name}":
            raise
        continue
    globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("_")})
