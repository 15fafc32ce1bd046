"""The floor plan holds: every module sits in a layer, imports run only down the layers, no cycles.

Read from the source (``ast``), imports inside functions and ``TYPE_CHECKING`` blocks
included: a dependency is a dependency wherever it is written.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pipeline"

LAYERS = ("core", "io", "models", "stages", "report", "run", "cli")
"""Bottom to top: a module may import its own layer and the layers before it."""
REPORT_MAY_IMPORT = {"core", "io", "report"}
"""Writers only read the result: the data types, and the atomic writes to put files down."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    """The layer of ``pipeline.<layer>...``; the package root (only ``__version__``) counts as core."""
    parts = module.split(".")
    return "core" if len(parts) == 1 else parts[1]


def top_level_imports(path: Path) -> set[str]:
    """The first name of every module ``path`` imports (``evaluation`` for ``evaluation.music``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def imports(module: str) -> set[str]:
    """Every ``pipeline`` module ``module`` imports, resolved to modules (a name may be a submodule)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "pipeline")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            assert node.level == 0, f"{module}: relative import; write the absolute module"
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found


GRAPH = {module: imports(module) for module in MODULES}
Graph = dict[str, set[str]]


def upward_imports(graph: Graph) -> list[str]:
    return [
        f"{source} ({layer(source)}) imports {target} ({layer(target)})"
        for source, targets in graph.items()
        for target in targets
        if LAYERS.index(layer(target)) > LAYERS.index(layer(source))
    ]


def writers_reaching_out(graph: Graph) -> list[str]:
    return [
        f"{source} imports {target}"
        for source, targets in graph.items()
        if layer(source) == "report"
        for target in targets
        if layer(target) not in REPORT_MAY_IMPORT
    ]


def find_cycle(graph: Graph) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, str] = {}  # module -> "open" while on the path, "done" after
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_every_module_sits_in_a_layer() -> None:
    misplaced = [m for m in MODULES if layer(m) not in LAYERS and m != "pipeline"]
    assert not misplaced, f"modules outside the layer folders: {misplaced}"
    unknown = {target for targets in GRAPH.values() for target in targets if target not in MODULES}
    assert not unknown, f"imports of modules that do not exist: {sorted(unknown)}"


def test_imports_run_only_down_the_layers() -> None:
    assert not (found := upward_imports(GRAPH)), "\n".join(found)


def test_the_package_never_imports_the_evaluation() -> None:
    """The evaluation lives in the checkout beside bench/, outside the wheel: the product cannot need it."""
    found = [module for module, path in MODULES.items() if {"evaluation", "bench"} & top_level_imports(path)]
    assert not found, f"modules importing the checkout's evaluation or bench: {found}"


def test_writers_import_only_the_result_types_and_io() -> None:
    assert not (found := writers_reaching_out(GRAPH)), "\n".join(found)


def test_no_import_cycles() -> None:
    assert (cycle := find_cycle(GRAPH)) is None, "import cycle: " + " -> ".join(cycle or ())


def test_the_checks_catch_what_they_forbid(tmp_path: Path) -> None:
    def plus(source: str, target: str) -> Graph:
        return {**GRAPH, source: GRAPH[source] | {target}}

    assert upward_imports(plus("pipeline.core.types", "pipeline.run.runner"))
    assert writers_reaching_out(plus("pipeline.report.html", "pipeline.stages.metrics.floor"))
    assert find_cycle(plus("pipeline.core.types", "pipeline.core.validate")) is not None
    inside = tmp_path / "module.py"
    inside.write_text("def f():\n    from evaluation.music import FRAME\n    import bench.holdmusic\n")
    assert top_level_imports(inside) == {"evaluation", "bench"}
