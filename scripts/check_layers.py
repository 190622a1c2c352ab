"""Fail on an upward or circular import between cnfutures' layers (docs/architecture.md).

Usage: python scripts/check_layers.py [SRC_DIR]

Every ``import`` and ``from ... import`` of a ``cnfutures`` module, at module level or inside
a function (a lazy import is still a dependency), is read with :mod:`ast` and checked:

1. **Upward**: a module may import modules of its own layer or of lower layers only
   (the layer order is :data:`LAYERS`, bottom first; the package ``__init__`` and the
   ``__main__`` entry points sit above everything, since they only gather public names).
2. **Circular**: no cycle among the modules of the package (imports under
   ``if TYPE_CHECKING:`` are type annotations only and are skipped for the cycle check,
   not for the layer check).

Exit status 0 when clean; 1 with one line per violation otherwise.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

# bottom first; a module is in the first layer whose prefix matches its dotted name
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("cnfutures.errors", "cnfutures._dates", "cnfutures._text", "cnfutures.validation")),
    ("kernels", ("cnfutures._cache", "cnfutures._kernels")),
    ("market", ("cnfutures.market",)),
    ("frames", ("cnfutures.frames",)),
    ("access", ("cnfutures.access",)),
    ("simulate", ("cnfutures._params", "cnfutures._calibrate", "cnfutures.simulate")),
    ("api", ("cnfutures.pricing", "cnfutures.hedging", "cnfutures.valuation")),
    ("use case", ("cnfutures.backtest", "cnfutures.allocation")),
    ("face", ("cnfutures.cli", "cnfutures.report", "cnfutures.risk", "cnfutures.sweeps")),
    ("package", ("cnfutures",)),
)

ROOT = Path(__file__).resolve().parents[1] / "src"


def layer_of(module: str) -> int:
    """Index of the layer of a dotted module name (higher = further up)."""
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if p == "cnfutures":
                if module == "cnfutures":
                    return i
            elif module == p or module.startswith(p + "."):
                return i
    raise SystemExit(f"check_layers: {module} is in no layer; add it to LAYERS")


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                for n in ast.walk(sub):
                    if isinstance(n, ast.Import | ast.ImportFrom):
                        out.add(id(n))
    return out


def imports(path: Path, module: str, known: set[str]) -> Iterator[tuple[str, int, bool]]:
    """``(imported cnfutures module, line, type-checking only)`` of one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            # ``from cnfutures.x import y``: y may be a submodule
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for t in targets:
            if t == "cnfutures" or t.startswith("cnfutures."):
                while t not in known and "." in t:
                    t = t.rpartition(".")[0]
                yield t, node.lineno, id(node) in typing_only


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check(src: Path = ROOT) -> list[str]:
    """Every violation as one line of text (empty when the layering holds)."""
    files = {module_name(p, src): p for p in sorted((src / "cnfutures").rglob("*.py"))}
    known = set(files)
    problems: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        here = layer_of(mod)
        for target, line, typing_only in imports(path, mod, known):
            if target == mod or mod.startswith(target + ".") or target == "cnfutures":
                continue  # a package's own parents (``import cnfutures.x`` runs cnfutures/__init__)
            there = layer_of(target)
            rel = path.relative_to(src)
            if there > here:
                problems.append(
                    f"{rel}:{line}: upward import of {target} ({LAYERS[there][0]}) "
                    f"from {mod} ({LAYERS[here][0]})"
                )
            if not typing_only:
                graph[mod].add(target)
    for comp in _cycles(graph):
        problems.append(f"import cycle: {' <-> '.join(comp)}")
    return problems


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else ROOT
    problems = check(src)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering violation(s); layers bottom first: "
              + " < ".join(name for name, _ in LAYERS))  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
