"""No import circle inside an app (docs/architecture.md): import-linter's layers contract checks
the arrows between apps; this walks every module of every app with ``ast`` — imports at the top
and inside functions alike — and fails on a circle between two modules of one app (a task module
importing the service module that imports it, say)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["core", "accounts", "consignment", "inventory", "events", "commissions", "billing",
        "reporting", "demo", "config"]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(root: Path, name: str, path: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports anywhere in its body (``from pkg import mod``
    counts as importing ``pkg.mod`` when that is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m in modules and m != name}


def import_graph(root: Path, apps: list[str]) -> dict[str, set[str]]:
    paths = {
        module_name(root, path): path
        for app in apps for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts
    }
    modules = set(paths)
    return {name: imported_modules(root, name, path, modules) for name, path in paths.items()}


def cycles_within_apps(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected set of more than one module of the same app (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        same_app = [m for m in graph[node] if m.split(".")[0] == node.split(".")[0]]
        for nxt in same_app:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_app_has_an_import_circle():
    assert cycles_within_apps(import_graph(ROOT, APPS)) == []


def test_selectors_never_import_services():
    """Reads are below writes: a selector module imports no service module (of any app)."""
    graph = import_graph(ROOT, APPS)
    assert {
        name: sorted(m for m in imports if m.rpartition(".")[2] == "services")
        for name, imports in graph.items() if name.rpartition(".")[2] == "selectors"
    } == {name: [] for name in graph if name.rpartition(".")[2] == "selectors"}


def test_a_circle_through_a_function_level_import_is_found(tmp_path):
    """The check itself works: tasks importing services at the top, services importing tasks
    inside a function (the circle billing had) is a circle; a one-way pair is not."""
    app = tmp_path / "shop"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "tasks.py").write_text("from shop.services import store\n")
    (app / "services.py").write_text(
        "def store():\n    from .tasks import render  # noqa\n    return render\n"
    )
    (app / "selectors.py").write_text("from shop import services\n")
    assert cycles_within_apps(import_graph(tmp_path, ["shop"])) == [
        ["shop.services", "shop.tasks"]
    ]
