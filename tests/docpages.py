"""The check that a documentation page's generated sections are current (scripts/_docpage.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` as a module (the scripts folder is not a package path)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def assert_page_current(script: str) -> str:
    """Fail when the page written by ``scripts/<script>.py`` differs from a fresh rendering.

    Returns the page's text.
    """
    mod = load_script(script)
    text: str = mod.DOC.read_text(encoding="utf-8")
    assert mod.render(text) == text, f"{mod.DOC.name} is out of date: run python scripts/{script}.py"
    return text
