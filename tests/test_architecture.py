"""The layout the README's "Architecture" section describes, checked: no import cycle among podium's
modules, and each concern in one place."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

SRC = REPO / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """podium modules `path` imports, at the top or inside a function (a cycle hidden in a function
    is still a cycle), but not under `if TYPE_CHECKING:` (never at run time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {id(sub) for node in ast.walk(tree)
                 if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                 for sub in ast.walk(node)}
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[:len(parts) - node.level + 1], base])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    # Importing a.b.c runs a/__init__ and a/b/__init__ first; but a module's own packages are already
    # being imported when it runs (importing them again is not a cycle).
    with_parents = {".".join(name.split(".")[:i]) for name in found for i in range(1, name.count(".") + 2)}
    own = module_name(path).split(".")
    ancestors = {".".join(own[:i]) for i in range(1, len(own))}
    return {name for name in with_parents if name in modules and name not in ancestors}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(SRC.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) - {module_name(path)} for path in paths}


def test_no_import_cycle_in_src() -> None:
    graph = import_graph()
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        if node in path:
            cycle = [*path[path.index(node):], node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        for target in sorted(graph[node]):
            walk(target, [*path, node])
        done.add(node)

    for module in sorted(graph):
        walk(module, [])


def test_the_graph_sees_real_imports() -> None:
    """The check above would pass on an empty graph: make sure it reads imports at all."""
    graph = import_graph()
    assert "podium.formats" in graph["podium.pipeline"]
    assert "podium.speakers" in graph["podium.align"]
    assert "podium.diarize.pipeline" in graph["podium.diarize"]  # imported inside a function


def test_each_concern_has_one_home() -> None:
    src = SRC / "podium"
    gone = ["render.py", "models.py", "bench.py", "cli.py", "diarize/scoring.py", "diarize/weights.py",
            "diarize/enroll.py", "evaluate/cli.py", "batch/cli.py"]
    assert [name for name in gone if (src / name).exists()] == []
    defines_sample_rate = sorted(str(p.relative_to(src)) for p in src.rglob("*.py")
                                 if "\nSAMPLE_RATE = " in p.read_text(encoding="utf-8"))
    assert defines_sample_rate == ["media.py"]
    parser_names = ("def read_" + "turns", "def load_" + "rttm")  # split: this file is searched too
    rttm_parsers = sorted(str(p.relative_to(REPO)) for folder in ("src", "tests", "benchmarks", "scripts")
                          for p in (REPO / folder).rglob("*.py")
                          if any(name in p.read_text(encoding="utf-8") for name in parser_names))
    assert rttm_parsers == ["src/podium/formats/rttm.py"]
