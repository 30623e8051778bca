"""The layers of docs/architecture.md, checked on the source: no import circle, computation never imports
presentation, figures never import what fits models.

The import graph is read with ``ast`` (imports inside functions count too), so
the check needs nothing beyond this test and runs in well under a second.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "automl"

PRESENTATION = ("automl.viz", "automl.dashboard", "automl.report", "automl.cli")
# The result classes are plain data; these methods of theirs hand the result to presentation, on demand.
PRESENTATION_DOORS = {
    ("automl.result", "FitResult.dashboard"), ("automl.result", "FitResult.report"),
    ("automl.clustering.result", "ClusterResult.figures"), ("automl.clustering.result", "ClusterResult.dashboard"),
    ("automl.clustering.result", "ClusterResult.report"),
}
# Figures draw what they are given: nothing that trains, predicts or computes curves.
NOT_FOR_FIGURES = ("sklearn", "umap", "keras", "tensorflow", "keras_tuner", "lightgbm", "xgboost", "shap",
                   "automl.models", "automl.search", "automl.evaluate", "automl.clustering", "automl.refit",
                   "automl.api", "automl.preprocess")


def _modules(root: Path = PACKAGE) -> dict[str, Path]:
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imports(module: str, path: Path, modules) -> list[tuple[str, str]]:
    """``(imported name, enclosing function)`` for every import in ``path``, relative imports resolved.

    The name is the longest dotted prefix that is a module of the package, or the
    top-level name for outside libraries.
    """
    is_package = path.name == "__init__.py"
    found: list[tuple[str, str]] = []

    def resolve(name: str, level: int) -> str:
        if level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (level - 1)]
            name = ".".join(base + ([name] if name else []))
        if not name.startswith("automl"):
            return name.split(".")[0]
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    def visit(node, scope: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, scope + [child.name])
                continue
            where = ".".join(scope)
            if isinstance(child, ast.Import):
                found.extend((resolve(alias.name, 0), where) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                found.append((resolve(child.module or "", child.level), where))
                prefix = (child.module + ".") if child.module else ""
                found.extend((resolve(prefix + alias.name, child.level), where) for alias in child.names)
            visit(child, scope)

    visit(ast.parse(path.read_text(encoding="utf-8")), [])
    return [(name, where) for name, where in found if name]


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a package's ``__init__`` re-exporting its children, and a
    module naming its own parent package, are not edges: neither is a circle of work)."""
    modules = _modules(root)
    graph = {m: set() for m in modules}
    for module, path in modules.items():
        for dep, _ in _imports(module, path, modules):
            if dep in modules and dep != module and not dep.startswith(module + ".") \
                    and not module.startswith(dep + "."):
                graph[module].add(dep)
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, circles = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def _is_presentation(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PRESENTATION)


def test_the_circle_finder_finds_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": set()}
    assert import_circles(graph) == [["a", "b", "c"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_automl():
    graph = import_graph()
    assert {"automl.progress", "automl.dashboard.progress", "automl.viz.evaluation"} <= set(graph)
    circles = import_circles(graph)
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_computation_never_imports_presentation():
    modules = _modules()
    offenders = []
    for module, path in modules.items():
        # the package root wires the layers together (it offers the notebook progress listener to the hooks)
        if module == "automl" or _is_presentation(module):
            continue
        for name, where in _imports(module, path, modules):
            if _is_presentation(name) and (module, where) not in PRESENTATION_DOORS:
                offenders.append(f"{module} ({where or 'module level'}) imports {name}")
    assert not offenders, "\n".join(offenders)


def test_hooks_never_import_widgets():
    modules = _modules()
    names = {name for name, _ in _imports("automl.progress", modules["automl.progress"], modules)}
    assert not {n for n in names if n.startswith("automl.dashboard") or n in ("ipywidgets", "IPython")}


@pytest.mark.parametrize("module", sorted(m for m in _modules() if m.startswith("automl.viz")))
def test_figures_only_draw(module):
    modules = _modules()
    bad = sorted({name for name, _ in _imports(module, modules[module], modules)
                  if any(name == p or name.startswith(p + ".") for p in NOT_FOR_FIGURES)})
    assert not bad, f"{module} imports {bad}: figures draw tables computed elsewhere"


def test_the_layer_checks_see_a_violation(tmp_path):
    """The checks are not vacuous: a computation module importing a widget module, in a circle, is caught."""
    root = tmp_path / "automl"
    (root / "dashboard").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "progress.py").write_text("def f():\n    from .dashboard.progress import W\n")
    (root / "dashboard" / "__init__.py").write_text("")
    (root / "dashboard" / "progress.py").write_text("from ..progress import f\n")
    assert import_circles(import_graph(root)) == [["automl.dashboard.progress", "automl.progress"]]
    modules = _modules(root)
    assert ("automl.dashboard.progress", "f") in _imports("automl.progress", root / "progress.py", modules)
