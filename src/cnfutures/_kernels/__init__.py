"""Pure numba kernels: contiguous float64/int64 numpy arrays and scalars in, arrays out.

Each kernel is written as a plain Python function and bound with ``njit(cache=True)`` under
a ``*_nb`` name, so the plain twin can be tested against the compiled one. Modules register
a warm-up callable in :data:`WARMUPS` through :func:`register_warmup`.

Compiling the ``prange`` body
    numba types the body of a ``parallel=True`` kernel twice: with the kernel, then again
    as the gufunc it outlines the loop into, under other flags (``error_model="numpy"``,
    ``noalias``). Flags are part of the key under which a ``register_jitable`` helper's
    compiled code is reused, so every helper the body calls directly is compiled twice,
    and, when an inherited flag such as ``error_model`` differs, everything it calls too.
    Hence parallel kernels are bound with ``error_model="numpy"`` (which their gufunc body
    runs under anyway), and a body calls a heavy helper through a one-line ``*_entry``
    helper: only that line is compiled twice.
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
