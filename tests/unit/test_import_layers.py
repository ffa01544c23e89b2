"""Imports flow one way: config → store → ingest / linkage / flags → steward → graphql / api → cli.

Every `import` in the package is read (function-local ones too): a module may import
its own layer and the layers below, never above; and no two modules import each other,
directly or round a loop (a function-local import that dodges a cycle is still a cycle).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

# Lowest first. A module belongs to the layer of its top-level name under cpgraph.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "config", "text", "vocabulary", "terminal", "keys", "files"),
    ("store", "runtime"),
    ("contract", "ingest", "linkage", "flags", "generate", "security", "work"),
    ("steward",),
    ("graphql", "api", "web"),
    ("cli", "demo", "__main__"),
)


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "cpgraph").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
                targets = subs + ([base] if len(subs) < len(node.names) else [])
            # importing a.b.c runs the package a.b's __init__ first: an edge to it too
            parents = {t.rsplit(".", 1)[0] for t in targets if t.count(".") > 1}
            found = {t for t in {*targets, *parents} if t in mods and t != name}
            # a package's own modules may be imported by its __init__, not the reverse
            edges[name].update(t for t in found if not name.startswith(t + "."))
    return edges


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return 0
    for k, names in enumerate(LAYERS):
        if parts[1] in names:
            return k
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_no_module_imports_a_layer_above_its_own() -> None:
    mods = _modules()
    upward = [
        f"{m} -> {t}"
        for m, targets in sorted(_imports(mods).items())
        for t in sorted(targets)
        if _layer(t) > _layer(m)
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    edges = _imports(_modules())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(_modules()):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_check_sees_function_local_imports_and_parent_packages(tmp_path: Path) -> None:
    # a module that hides an upward import in a function, and one that imports a
    # package's submodule (which runs the package's __init__ first)
    (tmp_path / "hidden.py").write_text(
        "def f():\n    from cpgraph.cli import app\n    return app\n", encoding="utf-8"
    )
    (tmp_path / "sub.py").write_text("from cpgraph.ingest import readers\n", encoding="utf-8")
    mods = {
        "cpgraph.linkage.hidden": tmp_path / "hidden.py",
        "cpgraph.linkage.sub": tmp_path / "sub.py",
        "cpgraph.cli": tmp_path / "cli.py",
        "cpgraph.ingest": tmp_path / "ingest.py",
        "cpgraph.ingest.readers": tmp_path / "readers.py",
    }
    for name in ("cli.py", "ingest.py", "readers.py"):
        (tmp_path / name).write_text("", encoding="utf-8")
    edges = _imports(mods)
    assert edges["cpgraph.linkage.hidden"] == {"cpgraph.cli"}
    assert _layer("cpgraph.cli") > _layer("cpgraph.linkage.hidden")
    assert edges["cpgraph.linkage.sub"] == {"cpgraph.ingest", "cpgraph.ingest.readers"}
