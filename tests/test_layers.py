"""The house stays layered: every gridv2g module imports only from its own layer's package or
from layers below it (DESIGN.md, "Layers"), and no two gridv2g modules import each other in a
cycle. Imports are read from the source (module level and inside functions alike), so a lazy
import cannot hide an upward dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gridv2g"

#: lowest first; a module may import its own package (the first name after ``gridv2g.``) and
#: any package of a lower layer, nothing of its own layer's other packages or above
LAYERS: list[set[str]] = [
    {"errors", "version"},
    {"horizon", "parallel", "progress", "units", "store"},
    {"feeders", "profiles", "fleet"},
    {"inputs"},
    {"case", "model"},
    {"solvers", "plots"},
    {"report"},
    {"result"},
    {"problems"},
    {"validation"},
    {"siting", "hosting"},
    {"api"},
    {"batch", "bench"},
    {"__init__"},
    {"cli"},
    {"__main__"},
]
#: compatibility paths (README, "Layout") sit with the package they point to
SHIMS = {
    "case_v2a": "case",
    "plots_v2a": "plots",
    "validation_opendss": "validation",
}


def _package(module: str) -> str:
    """``gridv2g.case.build`` -> ``case``; ``gridv2g`` -> ``__init__``."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return SHIMS.get(top, top)


def _layer(package: str) -> int:
    for k, layer in enumerate(LAYERS):
        if package in layer:
            return k
    raise AssertionError(f"gridv2g.{package} is in no layer of tests/test_layers.py")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path) -> set[str]:
    """gridv2g modules that ``module`` imports (absolute or relative, at any depth)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gridv2g")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if path.name != "__init__.py":
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            if base.startswith("gridv2g"):
                # "from gridv2g.feeders import checks" imports a submodule; "from gridv2g
                # import plots" imports the package plots, not gridv2g's own __init__
                subs = {f"{base}.{a.name}" for a in node.names}
                named = subs & MODULE_NAMES
                found |= named
                if len(named) < len(subs):
                    found.add(base)
    return found


MODULES = _modules()
MODULE_NAMES = set(MODULES)


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for target in _imports(module, path):
            if target in MODULES and target != module:
                graph.add_edge(module, target)
    return graph


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(_package(module))


def test_no_import_goes_up_or_sideways():
    bad = []
    for module, path in MODULES.items():
        own = _package(module)
        for target in _imports(module, path):
            if target not in MODULES:
                continue
            other = _package(target)
            if other == own:
                continue
            if _layer(other) >= _layer(own):
                bad.append(f"{module} imports {target}")
    assert not bad, "imports against the layer order:\n" + "\n".join(sorted(bad))


def test_no_import_cycle():
    cycles = list(nx.simple_cycles(_graph()))
    # a package's __init__ re-exporting its own modules is not a cycle of the house
    cycles = [c for c in cycles if len({_package(m) for m in c}) > 1 or len(c) > 2]
    assert not cycles, f"import cycles: {cycles[:5]}"


@pytest.mark.parametrize(
    ("module", "imports", "expected"),
    [
        ("gridv2g.result.grid", {"gridv2g.problems.station"}, True),
        ("gridv2g.model.der", {"gridv2g.case"}, True),
        ("gridv2g.case.build", {"gridv2g.inputs"}, False),
    ],
)
def test_the_checker_catches_an_upward_import(module, imports, expected):
    """The rule itself: an import from above (or a sibling package) is caught."""
    own = _package(module)
    upward = any(_package(t) != own and _layer(_package(t)) >= _layer(own) for t in imports)
    assert upward is expected
