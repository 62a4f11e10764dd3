"""The rooms of the project and which may import which (docs/architecture.md).

Read from the source with `ast`, so an import hidden inside a function counts as much as one
at the top of a module: the apps depend on each other in one direction, no business app
imports the back-office, and `core` and `notifications` import no business app.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUSINESS_APPS = ("accounts", "pupils", "activation", "notifications", "services_portal",
                 "saml_idp", "oidc_idp", "assistance", "families",
                 "franceconnect")
APPS = ("core", *BUSINESS_APPS, "backoffice")

# Which project apps each app may import (besides itself and `educonnect` settings/checks).
ALLOWED = {
    "core": set(),
    "notifications": {"core"},
    "accounts": {"core", "notifications"},
    "pupils": {"core", "accounts", "notifications"},
    "activation": {"core", "accounts", "pupils", "notifications", "franceconnect"},
    "franceconnect": {"core", "accounts"},
    "services_portal": {"core", "accounts", "pupils"},
    "saml_idp": {"core", "accounts", "pupils"},
    "oidc_idp": {"core", "accounts", "pupils"},
    "assistance": {"core", "accounts", "pupils", "notifications"},
    "families": {"core", "accounts", "pupils", "notifications", "activation"},
    "backoffice": set(APPS) - {"backoffice"},
}


def _modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        # Migrations are frozen history; AppConfig.ready() imports once the registry is
        # ready, Django's own idiom, not a way around a cycle.
        if "migrations" in path.parts or path.name == "apps.py":
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported_apps(node: ast.AST) -> set[str]:
    names = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        names = [node.module]
    return {name.split(".")[0] for name in names} & set(APPS)


def _imports(app: str) -> list[tuple[Path, int, str, bool]]:
    """(file, line, imported app, inside a function) for every import of another app."""
    found = []
    for path, tree in _modules(app):
        function_lines = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        function_lines.add(inner.lineno)
        for node in ast.walk(tree):
            for other in _imported_apps(node):
                if other != app:
                    found.append((path, node.lineno, other, node.lineno in function_lines))
    return found


@pytest.mark.parametrize("app", APPS)
def test_app_imports_only_what_it_may(app):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {other}"
        for path, line, other, _ in _imports(app)
        if other not in ALLOWED[app]
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("app", APPS)
def test_no_import_of_another_app_placed_inside_a_function(app):
    hidden = [
        f"{path.relative_to(ROOT)}:{line} imports {other} inside a function"
        for path, line, other, inside in _imports(app)
        if inside
    ]
    assert not hidden, "\n".join(hidden)


def test_the_allowed_imports_have_no_cycle():
    # Depth-first search over ALLOWED: the rule itself must be a one-way graph.
    state: dict[str, str] = {}

    def visit(app: str, path: tuple[str, ...]) -> None:
        if state.get(app) == "done":
            return
        assert state.get(app) != "visiting", f"cycle: {' -> '.join((*path, app))}"
        state[app] = "visiting"
        for other in ALLOWED[app]:
            visit(other, (*path, app))
        state[app] = "done"

    for app in APPS:
        visit(app, ())


def test_the_checker_sees_an_import_hidden_in_a_function(tmp_path):
    # The rules above are only as good as the parser: a hidden import must be seen.
    tree = ast.parse("def f():\n    from backoffice.site import x\n")
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert _imported_apps(imports[0]) == {"backoffice"}


@pytest.mark.parametrize("app", APPS)
def test_each_app_runs_the_app_config_of_its_own_apps_py(app):
    """The AppConfig Django installed for each app is the one its apps.py declares for it
    (its name, verbose name and ready(): the signal receivers). A module holding or importing
    more than one AppConfig makes Django fall back to a bare AppConfig unless one says
    `default = True` — oidc_idp's did once, and a merged account's OIDC tokens stayed valid."""
    import importlib

    from django.apps import AppConfig, apps

    installed = apps.get_app_config(app)
    module = importlib.import_module(f"{app}.apps")
    own = [value for value in vars(module).values()
           if isinstance(value, type) and issubclass(value, AppConfig)
           and value.__module__ == module.__name__ and getattr(value, "name", None) == app]
    assert [type(installed)] == own
