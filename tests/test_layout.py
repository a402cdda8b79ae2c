"""The tree keeps its shape: the import contracts hold, no file grows past 500 lines, package
`__init__` files only re-export, no late imports in core, underscore names stay home, and no
file points outside the repository. See docs/ARCHITECTURE.md."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("core", "ui", "api", "pages")
MAX_LINES = 500
MAX_INIT_LINES = 40
# Where a `from core...` inside a function is allowed, and why.
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
LATE_IMPORTS_ALLOWED = {
    "core/cli": "start-up speed: `python -m core --help` must not import every package",
}


def _python_files(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*.py")
                  if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def test_import_contracts_hold():
    """`lint-imports` checks the layers of .importlinter on the real import graph."""
    import importlinter  # noqa: F401  fails the test, not skips it, when missing
    run = subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize("path", _python_files(*CODE_DIRS), ids=_rel)
def test_no_file_over_500_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{_rel(path)} has {lines} lines: split it by sub-topic"


@pytest.mark.parametrize("path", [p for p in _python_files(*CODE_DIRS) if p.name == "__init__.py"],
                         ids=_rel)
def test_package_init_only_reexports(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_INIT_LINES
    body = ast.parse(text).body
    for node in body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_import = isinstance(node, (ast.Import, ast.ImportFrom))
        is_all = (isinstance(node, ast.Assign)
                  and [getattr(t, "id", None) for t in node.targets] == ["__all__"])
        assert is_docstring or is_import or is_all, (
            f"{_rel(path)}:{node.lineno}: a package __init__ only re-exports; move the code "
            "into a module of the package")


def test_no_late_core_imports_in_core():
    late = []
    for path in _python_files("core"):
        if any(_rel(path).startswith(prefix) for prefix in LATE_IMPORTS_ALLOWED):
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                         [a.name for a in node.names] if isinstance(node, ast.Import) else [])
                if any(n == "core" or n.startswith("core.") for n in names):
                    late.append(f"{_rel(path)}:{node.lineno}")
    assert late == [], "import at module top (a circle means a name belongs lower down)"


def _underscore_uses(path: Path) -> list[str]:
    """`from core.x.y import _name`, `y._name` and `setattr(y, "_name")` from outside the
    package that defines `_name`."""
    me = _module_name(path)
    tree = ast.parse(path.read_text())
    bound: dict[str, str] = {}
    found = []

    def outside(module: str) -> bool:
        """Whether `me` is outside the package that holds `module`."""
        package = module.rsplit(".", 1)[0]
        return not me.startswith(package + ".")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core"):
            for a in node.names:
                bound[a.asname or a.name] = f"{node.module}.{a.name}"
                if a.name.startswith("_") and outside(node.module):
                    found.append(f"{_rel(path)}:{node.lineno} imports {node.module}.{a.name}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("core"):
                    bound[a.asname or a.name] = a.name
    for node in ast.walk(tree):
        attr = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base, attr = node.value.id, node.attr
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "setattr"
              and len(node.args) >= 2 and isinstance(node.args[0], ast.Name)
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            base, attr = node.args[0].id, node.args[1].value
        if (attr and attr.startswith("_") and not attr.startswith("__") and base in bound
                and outside(bound[base])):
            found.append(f"{_rel(path)}:{node.lineno} uses {bound[base]}.{attr}")
    return found


def test_underscore_names_never_leave_their_package():
    files = _python_files("core", "ui", "api", "pages", "tests", "benchmarks")
    files += [ROOT / "streamlit_app.py", ROOT / "dashboard.py"]
    found = [use for path in files for use in _underscore_uses(path)]
    assert found == [], "make the name public (and documented) or keep the use inside"


def test_no_file_points_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.fail("git ls-files failed: " + tracked.stderr)
    pointers = ("../shared", "/work/")
    hits = []
    for name in tracked.stdout.splitlines():
        path = ROOT / name
        if path.suffix in {".gz", ".png", ".pdf", ".jpg"} or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        hits += [f"{name}: {p}" for p in pointers if p in text and name != _rel(Path(__file__))]
    assert hits == []

