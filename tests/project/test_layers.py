"""Imports point one way: command line (bot.cli) -> service -> wiring -> settings -> components.

A walk over the source (``ast``, nothing imported) collects every import of a desk module, at
the top of a module or inside a function alike; imports under ``if TYPE_CHECKING:`` are left
out, since they never run. The tests fail with the offending edges listed, one per line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("mail", "handlers", "storage", "templates")
DESK = ("bot", *COMPONENTS)

Edge = tuple[str, str, int]  # importer, imported, line


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for top in DESK
        for path in sorted((ROOT / top).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run (the body of ``if TYPE_CHECKING:`` cannot)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _edges() -> list[Edge]:
    modules = _modules()
    edges: set[Edge] = set()
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from bot import wiring` imports the module bot.wiring; `from bot.cli import
                # main` imports the package bot.cli.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a module a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add((name, target, node.lineno))
    return sorted(edges)


EDGES = _edges()


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _listed(edges: list[Edge]) -> str:
    return "\n".join(f"  {a} -> {b} (line {line})" for a, b, line in edges)


def _offending(importer: tuple[str, ...], imported: tuple[str, ...]) -> list[Edge]:
    return [
        (a, b, line)
        for a, b, line in EDGES
        if any(_within(a, p) for p in importer) and any(_within(b, p) for p in imported)
    ]


def test_the_walk_sees_the_known_imports() -> None:
    """The walk itself works: edges the desk is known to have are found."""
    pairs = {(a, b) for a, b, _ in EDGES}
    assert ("bot.service", "bot.wiring") in pairs  # inside a function
    assert ("bot.wiring", "bot.errors") in pairs  # at the top
    assert ("bot.cli", "bot.cli.mail") in pairs  # `from bot.cli import ..., mail, ...`


def test_components_never_import_bot() -> None:
    bad = _offending(COMPONENTS, ("bot",))
    assert not bad, "mail/, handlers/, storage/, templates/ import bot:\n" + _listed(bad)


# What settings may use of bot/: its errors, and the Slack-ID check it validates IDs with (a
# leaf of the Slack adapter, checked below to import nothing of the desk).
SETTINGS_MAY_USE = ("bot", "bot.errors", "bot.slack", "bot.slack.ids")


def test_settings_import_no_other_bot_module_but_errors() -> None:
    bad = [
        (a, b, line)
        for a, b, line in _offending(("bot.settings",), ("bot",))
        if b not in SETTINGS_MAY_USE
    ]
    assert not bad, "bot.settings imports the desk's parts:\n" + _listed(bad)


def test_what_settings_use_of_bot_imports_nothing_of_the_desk() -> None:
    used = ("bot.errors", "bot.slack.ids")  # the package modules bot and bot.slack hold no code
    bad = [(a, b, line) for a, b, line in EDGES if a in used and any(_within(b, p) for p in DESK)]
    assert not bad, "a module bot.settings uses imports the desk:\n" + _listed(bad)


def test_wiring_imports_neither_service_nor_command_line() -> None:
    bad = _offending(("bot.wiring",), ("bot.service", "bot.cli"))
    assert not bad, "bot.wiring imports a higher layer:\n" + _listed(bad)


def test_service_never_imports_the_command_line() -> None:
    bad = _offending(("bot.service",), ("bot.cli",))
    assert not bad, "bot.service imports the command line:\n" + _listed(bad)


def test_only_the_command_line_imports_the_command_line() -> None:
    # bot.entry is the console script: it imports the command line inside its Ctrl-C guard
    bad = [
        (a, b, line)
        for a, b, line in _offending(DESK, ("bot.cli",))
        if not _within(a, "bot.cli") and a != "bot.entry"
    ]
    assert not bad, "modules outside bot/cli import it:\n" + _listed(bad)


def _cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for a, b, _ in EDGES:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _one_cycle(members: list[str]) -> list[Edge]:
    """A shortest way round from the first member back to it, inside its component."""
    inside = {m: [(b, line) for a, b, line in EDGES if a == m and b in members] for m in members}
    start = members[0]
    came: dict[str, Edge] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt, line in inside[node]:
            if nxt == start:
                path = [(node, nxt, line)]
                while node != start:
                    path.insert(0, came[node])
                    node = came[node][0]
                return path
            if nxt not in came:
                came[nxt] = (node, nxt, line)
                queue.append(nxt)
    raise AssertionError(f"no way round {members}")  # pragma: no cover - Tarjan found one


def test_no_import_cycles() -> None:
    cycles = _cycles()
    said = [
        f"cycle among {', '.join(members)}, e.g.:\n{_listed(_one_cycle(members))}"
        for members in cycles
    ]
    assert not cycles, "\n".join(said)
