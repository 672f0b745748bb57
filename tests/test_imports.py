"""The import graph of theory/ and empirical/ (module- and function-level
imports, relative imports resolved): no cycle between modules nor between
sub-packages, theory/ never imports torch or empirical (docs/architecture.md,
"Two halves, one direction"), and the two front ends of empirical/ stay apart
(docs/architecture.md, "Two front ends, one conclusion")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from cases import fresh

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "empirical")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST):
    """Every Import/ImportFrom node, at any depth, outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if _type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Absolute names of what module ``name`` imports: ``import a.b`` gives a.b;
    ``from a import b`` gives a.b when that is a module, else a."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in _imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
            continue
        if node.level:
            base = name.split(".") if is_package else name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            candidate = f"{source}.{alias.name}"
            out.add(candidate if candidate in modules else source)
    return out


def graph(package: str | None = None) -> dict[str, set[str]]:
    """module -> the modules of theory/ and empirical/ it imports (restricted to
    ``package`` when given)."""
    modules = _modules()
    keep = {m for m in modules if package is None or m == package or m.startswith(package + ".")}
    return {m: imported(m, modules[m], modules) & keep - {m} for m in sorted(keep)}


def unit(module: str) -> str:
    """The sub-package a module belongs to (``empirical.pipeline`` for
    ``empirical.pipeline.pilot``); a module directly in ``theory`` or ``empirical`` is its own."""
    parts = module.split(".")
    if len(parts) >= 2 and (ROOT / parts[0] / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module


def unit_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between sub-packages: A -> B when a module of A imports one of B."""
    out: dict[str, set[str]] = {}
    for module, deps in edges.items():
        u = unit(module)
        out.setdefault(u, set())
        out[u] |= {unit(d) for d in deps} - {u}
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
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
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_graph_sees_function_level_and_relative_imports(tmp_path):
    modules = {
        name: tmp_path / f"pkg/{file}.py"
        for name, file in (("pkg", "__init__"), ("pkg.a", "a"), ("pkg.b", "b"))
    }
    for path in modules.values():
        path.parent.mkdir(exist_ok=True)
    modules["pkg"].write_text("")
    modules["pkg.a"].write_text("def f():\n    from . import b\n")
    modules["pkg.b"].write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.c\nimport pkg.a\n"
    )
    assert imported("pkg.a", modules["pkg.a"], modules) == {"pkg.b"}
    assert imported("pkg.b", modules["pkg.b"], modules) == {"typing", "pkg.a"}  # not pkg.c
    assert cycles({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}}) == [["pkg.a", "pkg.b"]]


def test_sub_packages_are_found_and_their_cycles_seen():
    assert unit("empirical.pipeline.pilot") == "empirical.pipeline" == unit("empirical.pipeline")
    assert unit("empirical.cli") == "empirical.cli" and unit("theory.rates.signs") == "theory.rates"
    # a function-level import from one sub-package into another, and back: a cycle of units only
    edges = {
        "empirical.pipeline.a": {"empirical.tracking.b"},
        "empirical.tracking.c": {"empirical.pipeline.d"},
    }
    assert cycles(edges) == []
    assert cycles(unit_graph(edges)) == [["empirical.pipeline", "empirical.tracking"]]


def test_theory_has_no_import_cycle():
    assert cycles(graph("theory")) == []


def test_theory_never_imports_torch_or_empirical():
    modules = _modules()
    bad = {
        name: sorted(x for x in imported(name, path, modules) if x.split(".")[0] in ("torch", "empirical"))
        for name, path in modules.items()
        if name.split(".")[0] == "theory"
    }
    assert not {k: v for k, v in bad.items() if v}


def test_no_import_cycle_across_both_packages():
    assert cycles(graph()) == []


def test_empirical_has_no_import_cycle():
    assert cycles(graph("empirical")) == []


def test_no_import_cycle_between_sub_packages():
    """e.g. empirical.pipeline <-> empirical.tracking through imports inside functions."""
    assert cycles(unit_graph(graph())) == []


def test_the_front_ends_meet_only_in_the_conclusion():
    """pipeline/ (the built-in models) never imports tracking/ (a user's loop); tracking/ never
    imports pipeline/ (its settings, pilot and batched driver); the shared back half,
    conclusion/, imports neither; the drivers above them (runner, user_model, cli) may."""
    units = unit_graph(graph("empirical"))
    assert "empirical.tracking" not in units["empirical.pipeline"]
    assert "empirical.pipeline" not in units["empirical.tracking"]
    assert not {"empirical.pipeline", "empirical.tracking"} & units["empirical.conclusion"]
    assert "empirical.conclusion" in units["empirical.pipeline"] & units["empirical.tracking"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_seen(package):
    assert any(name.startswith(package + ".") for name in graph(package))


def _shadowable() -> list[tuple[str, str]]:
    """(package, name): a public name (``__all__``) of a package that is also one of its sub-modules."""
    pairs = []
    for init in sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py")):
        package = _module_name(init)
        public = set()
        for node in ast.parse(init.read_text()).body:
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "__all__" for t in node.targets
            ):
                public = set(ast.literal_eval(node.value))
        subs = {p.stem for p in init.parent.glob("*.py")} | {
            p.parent.name for p in init.parent.glob("*/__init__.py")
        }
        pairs += [(package, name) for name in sorted(public & (subs - {"__init__"}))]
    return pairs


_KINDS = """
import importlib, json, types
kinds = {{}}
for package, name in {pairs!r}:
    if {first!r}:
        importlib.import_module(f"{{package}}.{{name}}")
    value = getattr(importlib.import_module(package), name)
    kinds[f"{{package}}.{{name}}"] = "module" if isinstance(value, types.ModuleType) else type(value).__name__
print(json.dumps(kinds))
"""


def test_a_public_name_stays_itself_when_its_namesake_submodule_is_imported_first():
    """``import empirical.conclusion.x`` sets attribute x of the package to the sub-module (the import
    system does so on loading it): a lazily loaded function of the same name would then be
    shadowed (``from empirical.conclusion import conclude`` gave a module and verify raised
    TypeError). Each such name is what a fresh import gives, whichever comes first (fresh
    interpreters)."""
    pairs = _shadowable()
    assert ("theory", "bound") in pairs  # theory keeps its functions (theory/__init__.py, _Package)
    kinds = [fresh(_KINDS.format(pairs=pairs, first=first)) for first in (False, True)]
    assert kinds[0] == kinds[1]
    assert kinds[0]["theory.bound"] == "function" and kinds[0]["theory.rates"] == "module"
