"""Finds the service functions of `core/` that write to the database, by reading their source
(ast), for tests/records/test_write_paths.py: a writer it finds must be exercised by that
test's table (its events checked chained) or exempted there with a reason.

A public function (or a public method of a public class) is a *writer* when its own body
(nested functions included) does one of:

- opens a write transaction: `<db>.unit_of_work()`, or `<db>.write_engine.begin()`
  (`.connect()`, `.raw_connection()`);
- records an audit event: `audit.record(...)`, `audit.record_many(...)`;
- writes through a session it was handed: `<s>.add(...)`, `<s>.add_all(...)`,
  `<s>.delete(...)` or `<s>.merge(...)` on a name like a session (`s`, `session`, `sess`),
  or `<anything>.execute(insert(...) | update(...) | delete(...))` (also `.values(...)`
  chained on them and `Table.insert()` / `.update()` / `.delete()`).

A function that only calls another writer is not one itself (its callee is). Alembic
migrations are not scanned (they are not actors), nor the audit log's own writer and chain
(`core/store/audit.py`, `core/store/audit_chain*.py`: what every row of the table checks).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
# Not scanned: migrations (not actors), and the audit log's writer and hash chain themselves —
# what every row checks, written per dialect (and not by a service).
SKIPPED = ("core/store/migrations/", "core/store/audit.py", "core/store/audit_chain")
SESSION_NAMES = frozenset({"s", "session", "sess"})
SESSION_WRITES = frozenset({"add", "add_all", "delete", "merge"})
SQL_WRITES = frozenset({"insert", "update", "delete"})


def _is_sql_write(node: ast.AST) -> bool:
    """`insert(...)`, `update(...)`, `delete(...)`, `T.insert()`…, and chains on them
    (`.values(...)`, `.where(...)`, `.on_conflict_do_nothing(...)`)."""
    while isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in SQL_WRITES or func.id.endswith("_insert")
        if not isinstance(func, ast.Attribute):
            return False
        if func.attr in SQL_WRITES and not node.args:  # Table.insert(), stmt.delete()
            return True
        if func.attr in SQL_WRITES and isinstance(func.value, ast.Name) \
                and func.value.id in ("sa", "sqlalchemy"):
            return True
        node = func.value
    return False


def _receiver(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr \
        if isinstance(node, ast.Attribute) else ""


def writes(body: ast.AST) -> list[str]:
    """What in `body` makes it a writer (empty: nothing)."""
    found: list[str] = []
    for node in ast.walk(body):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr, receiver = node.func.attr, _receiver(node.func.value)
        if receiver == "write_engine" and attr in ("begin", "connect", "raw_connection"):
            found.append("write_engine")
        elif attr == "unit_of_work":
            found.append("unit_of_work")
        elif receiver == "audit" and attr in ("record", "record_many"):
            found.append(f"audit.{attr}")
        elif attr in SESSION_WRITES and receiver in SESSION_NAMES:
            found.append(f"session.{attr}")
        elif attr == "execute" and node.args and _is_sql_write(node.args[0]):
            found.append("execute(write)")
    return found


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def scan_source(source: str, module: str) -> dict[str, list[str]]:
    """The writers defined in one module's source: qualified name -> why."""
    tree = ast.parse(source)
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and not node.name.startswith("_"):
            why = writes(node)
            if why:
                found[f"{module}.{node.name}"] = why
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and not item.name.startswith("_"):
                    why = writes(item)
                    if why:
                        found[f"{module}.{node.name}.{item.name}"] = why
    return found


def discover_writers(root: Path = CORE) -> dict[str, list[str]]:
    """Every writer in `core/` (migrations aside): qualified name -> why."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SKIPPED):
            continue
        found.update(scan_source(path.read_text(encoding="utf-8"), _module_name(path)))
    return found
