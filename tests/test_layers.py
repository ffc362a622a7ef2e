"""The package's layers: every import points down (or sideways within one package), the sibling engines never
import each other, and no private name (``_lift``, ``row_keys``…) is imported from another module.

Layers, lowest first (README "Layout"): errors/seeding/files/folders/database/protection/novel_values/progress/vocabulary →
schemas → io ∥ dp → relational ∥ text ∥ demo_bank → synthesizer → evaluation → demo → cli. Every import is
read from the source with :mod:`ast`, those inside functions included (the lazy imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "synthbank"

#: module or package prefix → layer (the longest matching prefix wins)
LAYERS = {
    "synthbank.errors": 0, "synthbank.seeding": 0, "synthbank.files": 0, "synthbank.folders": 0, "synthbank.database": 0,
    "synthbank.protection": 0, "synthbank.novel_values": 0, "synthbank.quiet": 0,
    "synthbank.key_values": 0, "synthbank.progress": 0, "synthbank.executors": 0, "synthbank.vocabulary": 0, "synthbank.settings": 0,
    "synthbank.schemas": 1,
    "synthbank.io": 2, "synthbank.dp": 2,
    "synthbank.relational": 3, "synthbank.text": 3, "synthbank.demo_bank": 3,
    "synthbank.synthesizer": 4,
    "synthbank.evaluation": 5,
    "synthbank.demo": 6,
    "synthbank.cli": 7,
}
#: packages of one layer that must not import each other
SIBLINGS = {"synthbank.relational", "synthbank.text", "synthbank.demo_bank"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> tuple[str, int] | None:
    matches = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    if not matches:
        return None
    prefix = max(matches, key=len)
    return prefix, LAYERS[prefix]


def imports(path: Path):
    """``(line, imported module, names)`` for every import of ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [a.name for a in node.names]
            # `from synthbank.relational import persistence` imports a module: judge that module
            for name in names:
                full = f"{base}.{name}"
                if (PACKAGE.parent / (full.replace(".", "/") + ".py")).exists() or (PACKAGE.parent / full.replace(".", "/")).is_dir():
                    yield node.lineno, full, []
                else:
                    yield node.lineno, base, [name]


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_has_a_layer():
    assert [module_name(p) for p in SOURCES if layer_of(module_name(p)) is None] == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_point_down_and_no_private_name_crosses_modules(path):
    here = module_name(path)
    home, level = layer_of(here)
    problems = []
    for line, target, names in imports(path):
        if not target.startswith("synthbank"):
            continue
        if target == "synthbank":  # the package itself: only __version__
            bad = [n for n in names if n != "__version__"]
            if bad:
                problems.append(f"line {line}: imports {bad} from the top-level package")
            continue
        found = layer_of(target)
        assert found is not None, f"{here} line {line}: {target} has no layer"
        other_home, other_level = found
        if other_level > level:
            problems.append(f"line {line}: imports {target} (layer {other_level}) from layer {level}")
        elif other_level == level and other_home != home and {home, other_home} <= SIBLINGS:
            problems.append(f"line {line}: imports its sibling {target}")
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if target.rpartition(".")[2].startswith("_") and target.rpartition(".")[2] != "__init__":
            private.append(target)
        if private:
            problems.append(f"line {line}: imports private {private} from {target}")
    assert problems == [], f"{here}: " + "; ".join(problems)


def import_graph() -> dict[str, set[str]]:
    """synthbank module → the synthbank modules it imports (lazy imports inside functions included)."""
    modules = {module_name(p) for p in SOURCES} | {"synthbank"}
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        here = module_name(path)
        targets = set()
        for _, imported, _names in imports(path):
            while imported and imported not in modules:  # `synthbank.x.y` where y is a name, not a module
                imported = imported.rpartition(".")[0]
            if imported and imported != here and imported.startswith("synthbank"):
                targets.add(imported)
        graph[here] = targets
    return graph


def test_no_import_circles():
    """No module reaches itself through imports: two modules that need each other are one responsibility
    split wrongly (text.dp and text.training once were; their shared step pieces now live in text.steps)."""
    graph = import_graph()
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                circles.append(path[path.index(target):] + [target] if target in path else [node, target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # a package's __init__ re-exporting its modules is not a circle with them
    circles = [c for c in circles if not any(b.startswith(a + ".") or a.startswith(b + ".") for a, b in zip(c, c[1:]))]
    assert circles == [], "import circles: " + "; ".join(" → ".join(c) for c in circles)
