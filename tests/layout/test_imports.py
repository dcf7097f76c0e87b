"""The package's layout: imports run one way between its folders, and no module imports itself back.

Every module's imports are read with ``ast`` (function-local ones included, since a late import is
still a dependency); imports under ``if TYPE_CHECKING:`` are annotations only and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "flytelite"

# What each folder may import of ours, besides itself. The package root (``flytelite/__init__``,
# ``__main__``) names its exports by string and imports only the CLI.
ALLOWED = {
    "support": {"io"},  # redaction masks the credentials the storage layer defines (io/credentials.py)
    "io": set(),
    "types": {"io", "support"},
    "runtime": {"io", "support"},
    "model": {"types", "runtime", "support"},
    "resolvers": {"model", "types", "io", "support"},
    "torch_launcher": {"model", "runtime", "support"},
    "entrypoint": {"model", "types", "runtime", "resolvers", "io", "support", "torch_launcher"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imported(path: Path) -> set[str]:
    """The flytelite modules ``path`` imports, as absolute dotted names."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("flytelite"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("flytelite"):
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in node.names if (SRC.parent / f"{module}.{alias.name}".replace(".", "/")).with_suffix(".py").exists())
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    return {_module_name(path): _imported(path) for path in SRC.rglob("*.py")}


def test_imports_run_one_way_between_folders() -> None:
    wrong = []
    for module, imports in _graph().items():
        folder = _folder(module)
        for target in imports:
            target_folder = _folder(target)
            if target_folder in ("", folder) or target_folder in ALLOWED.get(folder, set()):
                continue
            if target_folder == "entrypoint" and module in ("flytelite.__main__",):
                continue
            wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the direction:\n" + "\n".join(sorted(wrong))


def test_only_the_cli_imports_the_entrypoint() -> None:
    outside = [m for m, imports in _graph().items() if _folder(m) != "entrypoint" and any(_folder(t) == "entrypoint" for t in imports)]
    assert outside == ["flytelite.__main__"]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                return path[path.index(target) :] + [target] if target in path else [module, target]
            if target not in state:
                found = walk(target, path + [target])
                if found:
                    return found
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            found = walk(module, [module])
            if found:
                return found
    return None


def test_no_module_imports_itself_back() -> None:
    graph = _graph()
    # A package's __init__ re-exporting its own modules is not a cycle of dependencies: leave those edges out.
    edges = {m: {t for t in imports if t != m and not (m == t.rpartition(".")[0] and SRC.joinpath(*m.split(".")[1:], "__init__.py").exists())} for m, imports in graph.items()}
    assert _cycle(edges) is None, " -> ".join(_cycle(edges) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_reader_sees_late_imports_and_skips_annotations() -> None:
    graph = _graph()
    assert "flytelite.types._structured" in graph["flytelite.types._registry"]  # imported inside a function
    assert "flytelite.torch_launcher.config" not in graph["flytelite.torch_launcher.launcher"]  # under TYPE_CHECKING
