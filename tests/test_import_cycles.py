"""No import circles between covidseg's modules.

Every module of the installed package (``pkgutil.walk_packages``) is parsed with ``ast``;
its ``import`` / ``from ... import`` statements (relative ones resolved) are the edges
between covidseg modules. ``from pkg import name`` points at ``pkg.name`` when that is a
module, else at ``pkg`` (its ``__init__``). The implicit import of a module's parent
packages is not an edge.

Each edge has a kind: ``module`` (runs when the module is imported: module level, class
bodies, ``if``/``try`` at module level), ``function`` (inside a function: runs on first
call) or ``typing`` (under ``if TYPE_CHECKING:``: annotations only). Two rules:

* the ``module`` edges alone have no cycle at all (such a circle can break an import);
* all edges together have no cycle either, except the circles in :data:`ALLOWED`: a circle
  through a lazy or annotation-only import does not break at run time, but it still means
  two modules need each other (the ``Prediction`` circle between the Segmenter and its
  writers was one).

A failure names each cycle with the kind of every edge, e.g.
``a -(function)-> b -(typing)-> a``.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
from pathlib import Path

import covidseg

KINDS = ("module", "function", "typing")

# Circles known to exist, each the set of modules of one strongly connected component, to
# be removed by the branch named; the lead deletes an entry after merging that branch (the
# last test fails while a listed circle no longer exists, so a fixed one cannot come back).
ALLOWED: list[frozenset[str]] = []


def _modules() -> dict[str, Path]:
    found = {"covidseg": Path(covidseg.__file__)}
    errors: list[str] = []
    for info in pkgutil.walk_packages(covidseg.__path__, "covidseg.", onerror=errors.append):
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            found[info.name] = Path(spec.origin)
    assert not errors, f"packages that could not be walked: {errors}"
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> list[tuple[ast.stmt, str]]:
    """Every import statement of a module with its kind (see the module docstring)."""
    found: list[tuple[ast.stmt, str]] = []

    def visit(node: ast.AST, kind: str) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append((node, kind))
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, "typing")
            for child in node.orelse:
                visit(child, kind)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and kind == "module":
            kind = "function"
        for child in ast.iter_child_nodes(node):
            visit(child, kind)

    visit(tree, "module")
    return found


def _targets(stmt: ast.stmt, module: str, is_package: bool, known: set[str]) -> set[str]:
    if isinstance(stmt, ast.Import):
        return {a.name for a in stmt.names if a.name in known}
    assert isinstance(stmt, ast.ImportFrom)
    if stmt.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(stmt.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{stmt.module}" if stmt.module else package
    else:
        base = stmt.module or ""
    out = set()
    for alias in stmt.names:
        sub = f"{base}.{alias.name}"
        if sub in known:
            out.add(sub)
        elif base in known:
            out.add(base)
    return out


Graph = dict[str, dict[str, str]]  # module -> {imported module: kind of the strongest edge}


def import_graph() -> Graph:
    """Module -> the covidseg modules it imports, each with the edge's kind (``module`` wins
    over ``function`` over ``typing`` when a module is imported several ways)."""
    modules = _modules()
    known = set(modules)
    graph: Graph = {}
    for name, path in modules.items():
        edges: dict[str, str] = {}
        for stmt, kind in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for target in _targets(stmt, name, path.name == "__init__.py", known) - {name}:
                if KINDS.index(kind) < KINDS.index(edges.get(target, "typing")) or target not in edges:
                    edges[target] = kind
        graph[name] = edges
    return graph


def only(graph: Graph, kinds: tuple[str, ...]) -> Graph:
    return {m: {t: k for t, k in edges.items() if k in kinds} for m, edges in graph.items()}


def cycles(graph: Graph) -> list[tuple[frozenset[str], str]]:
    """Each strongly connected component of more than one module (Tarjan) with one shortest
    cycle through it, written ``a -(kind)-> b -(kind)-> a``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[frozenset[str]] = []

    def strongconnect(v: str) -> None:  # recursion depth is bounded by the module count
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return [(comp, _cycle_in(graph, comp)) for comp in components]


def _cycle_in(graph: Graph, comp: frozenset[str]) -> str:
    """A shortest cycle through the component's first module (breadth-first)."""
    start = min(comp)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(set(graph[v]) & comp):
                if w == start:
                    path = paths[v] + [start]
                    return path[0] + "".join(f" -({graph[a][b]})-> {b}" for a, b in zip(path, path[1:]))
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle in component {sorted(comp)}")  # pragma: no cover


def test_no_import_cycle_at_module_level():
    graph = import_graph()
    assert len(graph) > 50 and "covidseg.inference.segmenter" in graph  # the walk found the package
    found = [text for _, text in cycles(only(graph, ("module",)))]
    assert not found, "import cycles between covidseg modules at import time:\n  " + "\n  ".join(found)


def test_no_import_cycle_through_any_import():
    found = [text for comp, text in cycles(import_graph()) if comp not in ALLOWED]
    assert not found, "import cycles between covidseg modules:\n  " + "\n  ".join(found)


def test_allowed_cycles_still_exist():
    """A listed circle that is gone must leave :data:`ALLOWED`, so it cannot come back unseen."""
    present = {comp for comp, _ in cycles(import_graph())}
    stale = [sorted(a) for a in ALLOWED if a not in present]
    assert not stale, f"no longer a cycle, remove from ALLOWED: {stale}"


def test_the_checker_finds_planted_cycles(tmp_path):
    graph = {"a": {"b": "module"}, "b": {"c": "function"}, "c": {"a": "typing"}, "d": {"a": "module"}, "e": {}}
    assert cycles(graph) == [(frozenset("abc"), "a -(module)-> b -(function)-> c -(typing)-> a")]
    assert cycles(only(graph, ("module",))) == []
    # statement kinds, as parsed
    tree = ast.parse("import covidseg.x\n"
                     "from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from covidseg import y\n"
                     "class K:\n    from . import z\n"
                     "def f():\n    from .w import v\n")
    kinds = [(ast.unparse(s), k) for s, k in _imports(tree)]
    assert kinds == [("import covidseg.x", "module"), ("from typing import TYPE_CHECKING", "module"),
                     ("from covidseg import y", "typing"), ("from . import z", "module"),
                     ("from .w import v", "function")]
    known = {"covidseg", "covidseg.p", "covidseg.p.z", "covidseg.p.w"}
    assert _targets(tree.body[3].body[0], "covidseg.p.m", False, known) == {"covidseg.p.z"}
    assert _targets(tree.body[4].body[0], "covidseg.p", True, known) == {"covidseg.p.w"}
