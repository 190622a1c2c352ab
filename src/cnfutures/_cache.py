"""Where cnfutures' compiled numba kernels are cached, and compiling them all at once.

One cache serves every way the package is used (``make``, the command line, a user's own
script): by default the user's cache folder, keyed by the cnfutures and numba versions,
e.g. ``~/.cache/cnfutures/0.1.0-numba0.68.1`` on Linux. Setting ``NUMBA_CACHE_DIR`` overrides
it (numba's own variable, so it applies to all numba code of the process).

The default applies to cnfutures' kernels only: a cache locator is put in front of numba's
own locators that answers for source files inside this package and leaves every other
function to numba's usual rules. Where numba's (private) locator API is not the expected one,
the package falls back to setting ``numba.config.CACHE_DIR`` for the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "KERNEL_MODULES",
    "WarmupTiming",
    "cache_dir",
    "default_cache_dir",
    "install_locator",
    "kernel_sources_stamp",
    "warmup_modules",
]

# kernel modules that define a ``_warmup`` function (imported by name: ``cnfutures._kernels``
# re-exports this list and imports this module, never the reverse)
KERNEL_MODULES: tuple[str, ...] = (
    "cnfutures._kernels.calendar",
    "cnfutures._kernels.black76",
    "cnfutures._kernels.bachelier",
    "cnfutures._kernels.implied",
    "cnfutures._kernels.american",
    "cnfutures._kernels.carry",
    "cnfutures._kernels.hedge",
    "cnfutures._kernels.settlement",
    "cnfutures._kernels.paths",
)

_PACKAGE_DIR = str(Path(__file__).resolve().parent)
_installed = False


def default_cache_dir() -> Path:
    """The per-user cache folder of the kernels when ``NUMBA_CACHE_DIR`` is not set.

    ``$XDG_CACHE_HOME`` (else ``~/.cache``) on Linux, ``~/Library/Caches`` on macOS and
    ``%LOCALAPPDATA%`` on Windows, then ``cnfutures/<version>-numba<numba version>``.

    Examples
    --------
    >>> default_cache_dir().parent.name
    'cnfutures'
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    from cnfutures import __version__

    return base / "cnfutures" / f"{__version__}-numba{metadata.version('numba')}"


def cache_dir() -> Path:
    """The folder the kernels are cached in now: ``NUMBA_CACHE_DIR`` if set, else the default.

    Examples
    --------
    >>> import os
    >>> cache_dir() == (Path(os.environ["NUMBA_CACHE_DIR"]) if os.environ.get("NUMBA_CACHE_DIR")
    ...                 else default_cache_dir())
    True
    """
    env = os.environ.get("NUMBA_CACHE_DIR")
    return Path(env) if env else default_cache_dir()


_KERNELS_DIR = Path(_PACKAGE_DIR) / "_kernels"
_stamps: dict[tuple[tuple[str, int, int], ...], str] = {}


def kernel_sources_stamp() -> str:
    """SHA-256 of every kernel source file (``cnfutures/_kernels/*.py``), in name order.

    The cache stamp of each compiled kernel: editing any kernel module invalidates every
    cached kernel, since numba inlines functions called across modules into the caller's
    machine code. Re-hashed only when a file's modification time or size changes.

    Examples
    --------
    >>> len(kernel_sources_stamp())
    64
    """
    import hashlib

    files = sorted(_KERNELS_DIR.glob("*.py"))
    key = tuple((f.name, (st := f.stat()).st_mtime_ns, st.st_size) for f in files)
    got = _stamps.get(key)
    if got is None:
        h = hashlib.sha256()
        for f in files:
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        got = _stamps[key] = h.hexdigest()
    return got


def install_locator() -> None:
    """Make numba cache cnfutures' kernels in :func:`cache_dir` (idempotent).

    Called by ``cnfutures._kernels`` before any kernel is defined.
    """
    global _installed
    if _installed:
        return
    _installed = True
    import importlib

    caching: Any = importlib.import_module("numba.core.caching")
    config: Any = importlib.import_module("numba.core.config")

    base: Any = getattr(caching, "UserProvidedCacheLocator", None) or getattr(
        caching, "_UserProvidedCacheLocator", None
    )
    impl: Any = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    if base is None or impl is None or not isinstance(getattr(impl, "_locator_classes", None), list):
        if not config.CACHE_DIR:  # unknown numba internals: a process-wide default instead
            config.CACHE_DIR = str(default_cache_dir())
        return
    default_root = str(default_cache_dir())

    class CnFuturesCacheLocator(base):  # type: ignore[misc, valid-type]
        """numba's user-provided-directory locator for cnfutures' kernels.

        Rooted at ``NUMBA_CACHE_DIR`` when set, else at cnfutures' default folder. Its source
        stamp covers every kernel source file, not only the function's own: a kernel that
        calls (and so inlines) a function of another kernel module is recompiled when that
        module changes (numba's own stamp would keep serving the stale machine code).
        """

        def __init__(self, py_func: Any, py_file: str) -> None:
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            root = config.CACHE_DIR or default_root
            self._cache_path = os.path.join(root, self.get_suitable_cache_subpath(py_file))

        def get_source_stamp(self) -> Any:
            return kernel_sources_stamp()

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            if not os.path.abspath(py_file).startswith(_PACKAGE_DIR):
                return None  # not one of ours: numba's own rules
            return super(base, cls).from_function(py_func, py_file)

    impl._locator_classes.insert(0, CnFuturesCacheLocator)


@dataclass(frozen=True)
class WarmupTiming:
    """How long one kernel module took to compile or load [s]."""

    module: str
    seconds: float
    ok: bool
    message: str = ""


_CHILD = (
    "import importlib, sys, time\n"
    "t = time.perf_counter()\n"
    "m = importlib.import_module(sys.argv[1])\n"
    "getattr(m, '_warmup', lambda: None)()\n"
    "print(time.perf_counter() - t)\n"
)


def warmup_modules(
    modules: Sequence[str] | None = None,
    *,
    jobs: int = 1,
    progress: Callable[[WarmupTiming, int, int], None] | None = None,
) -> list[WarmupTiming]:
    """Compile (or load from the cache) the kernels of each module; time each one.

    Parameters
    ----------
    modules : sequence of str, optional
        Kernel modules (default: every module in ``cnfutures._kernels.KERNEL_MODULES``
        that exists and defines ``_warmup``).
    jobs : int
        With ``jobs > 1`` the modules compile in that many child processes at once (numba
        compiles on one core; the cache they write is shared). ``1``: in this process.
    progress : callable, optional
        Called as ``progress(timing, done, total)`` after each module.

    Returns
    -------
    list of WarmupTiming
        In the order the modules finished.

    Examples
    --------
    >>> [t.ok for t in warmup_modules(["cnfutures._kernels.carry"])]
    [True]
    """
    import importlib
    import importlib.util

    from cnfutures.errors import InputError

    if jobs < 1:
        raise InputError(f"jobs={jobs}; accepted: a whole number >= 1")
    todo: list[str] = []
    for name in KERNEL_MODULES if modules is None else modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            todo.append(name)
        elif modules is not None:
            raise InputError(f"no kernel module {name!r}; accepted: {', '.join(KERNEL_MODULES)}")
    out: list[WarmupTiming] = []

    def done(t: WarmupTiming) -> None:
        out.append(t)
        if progress is not None:
            progress(t, len(out), len(todo))

    if jobs == 1:
        for name in todo:
            t0 = time.perf_counter()
            warm = getattr(importlib.import_module(name), "_warmup", None)
            if warm is not None:
                warm()
            done(WarmupTiming(name, time.perf_counter() - t0, True))
        return out
    env = dict(os.environ)
    if not env.get("NUMBA_CACHE_DIR"):
        env["NUMBA_CACHE_DIR"] = str(default_cache_dir())  # the children write the same cache
    running: list[tuple[str, float, subprocess.Popen[str]]] = []
    queue = list(todo)
    while queue or running:
        while queue and len(running) < jobs:
            name = queue.pop(0)
            proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, name],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            running.append((name, time.perf_counter(), proc))
        time.sleep(0.05)
        for item in list(running):
            name, t0, proc = item
            if proc.poll() is None:
                continue
            running.remove(item)
            _, stderr = proc.communicate()
            ok = proc.returncode == 0
            msg = "" if ok else (stderr.strip().splitlines() or ["failed"])[-1]
            done(WarmupTiming(name, time.perf_counter() - t0, ok, msg))
    return out
