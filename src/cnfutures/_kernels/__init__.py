"""Pure numba kernels: contiguous float64/int64 numpy arrays and scalars in, arrays out.

Each kernel is written as a plain Python function and bound with ``njit(cache=True)`` under
a ``*_nb`` name, so the plain twin can be tested against the compiled one. Modules register
a warm-up callable in :data:`WARMUPS` through :func:`register_warmup`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from cnfutures._cache import KERNEL_MODULES, install_locator

# before any kernel is defined: cache cnfutures' kernels in one folder (see cnfutures._cache)
install_locator()

WARMUPS: list[Callable[[], None]] = []
__all__ = ["KERNEL_MODULES", "WARMUPS", "warmup_all"]

def warmup_all() -> None:
    """Import every kernel module that exists and run its ``_warmup`` (compile or load cache)."""
    for name in KERNEL_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):  # area not in this build
                continue
            raise
        warm = getattr(module, "_warmup", None)
        if warm is not None:
            warm()
