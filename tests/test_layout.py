"""The package's layout holds: wings import only downward, no cycles, one home for GenAI names,
the write and read sides on the standard library alone, modules and functions of a readable
size (CONTRIBUTING.md, "Where things live")."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "otel_jsonl"

#: Layer of each wing (or top-level module): a module may import from its own wing and from
#: lower layers only; otel and analyze are siblings and may not import each other.
LAYERS = {
    "_version": 0,
    "_lazy": 0,
    "exceptions": 0,
    "schema": 0,
    "record": 1,
    "genai": 2,
    "read": 3,
    "otel": 4,
    "analyze": 4,
    "demo": 5,
    "testing": 5,
    "cli": 6,
    "__init__": 7,
    "__main__": 8,
}
STDLIB_ONLY = ("record", "read", "genai", "analyze", "schema", "exceptions", "demo", "testing")
MAX_MODULE_LINES = 520
MAX_FUNCTION_LINES = 70  # docstring included: about 60 lines of code
#: Functions allowed past MAX_FUNCTION_LINES, and why.
LONG_FUNCTIONS = {
    # argparse declarations: one add_argument per option, nothing to factor out.
    "otel_jsonl/cli/convert.py:register",
    "otel_jsonl/cli/replay.py:register",
    "otel_jsonl/cli/serve.py:register",
    "otel_jsonl/cli/ship.py:register",
}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        yield (name.removesuffix(".__init__") if name.endswith(".__init__") else name), path


def _imports(name: str, path: Path, *, top_level_only: bool = False) -> Iterator[str]:
    """Absolute names of the otel_jsonl modules (and other packages) ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - node.level + 1]
                mod = ".".join(parent + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            yield mod
            for alias in node.names:
                yield f"{mod}.{alias.name}"


def _wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _known(modules: set[str], name: str) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def test_wings_import_only_downward() -> None:
    """No module imports from a higher layer or a sibling wing (TYPE_CHECKING imports too)."""
    modules = {name for name, _ in _modules()}
    bad = []
    for name, path in _modules():
        wing = _wing(name)
        for imported in _imports(name, path):
            target = _known(modules, imported)
            if target is None or target == "otel_jsonl":
                continue
            other = _wing(target)
            if other != wing and LAYERS[other] >= LAYERS[wing]:
                bad.append(f"{name} imports {target}")
    assert not bad, "\n".join(sorted(set(bad)))


def test_no_import_cycles() -> None:
    """The graph of module-level imports between the package's modules has no cycle."""
    modules = {name for name, _ in _modules()}
    graph: dict[str, set[str]] = {}
    for name, path in _modules():
        targets = {_known(modules, i) for i in _imports(name, path, top_level_only=True)}
        graph[name] = {t for t in targets if t is not None and t != name}
    # A package's __init__ re-exports its modules: an edge into it stands for those.
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own modules
            if state.get(nxt) == 1:
                cycle.extend([*stack, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*stack, node]):
                return True
        state[node] = 2
        return False

    for name in sorted(graph):
        if state.get(name) is None and visit(name, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_diff_does_not_import_replay() -> None:
    """Diffing runs needs the run reader, not replay: nothing diff imports reaches replay."""
    modules = dict(_modules())
    seen: set[str] = set()
    todo = ["otel_jsonl.analyze.diff"]
    while todo:
        name = todo.pop()
        if name in seen or name not in modules:
            continue
        seen.add(name)
        for imported in _imports(name, modules[name]):
            target = _known(set(modules), imported)
            if target is not None and not name.startswith(target + "."):
                todo.append(target)
    assert "otel_jsonl.analyze.replay" not in seen
    assert "otel_jsonl.read.runs" in seen


def _string_constants(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docstrings.add(id(first.value))
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings:
            yield node.lineno, node.value


def test_gen_ai_names_live_only_in_the_genai_wing() -> None:
    """No string in the package outside otel_jsonl/genai/ spells a gen_ai. name."""
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{lineno}: {text!r}"
        for name, path in _modules()
        if _wing(name) != "genai"
        for lineno, text in _string_constants(path)
        if "gen_ai." in text
    ]
    assert not found, "\n".join(found)


def test_stdlib_wings_import_only_the_standard_library() -> None:
    """record, read, genai and analyze (and schema, demo, testing) import nothing outside the
    standard library and the package (orjson only where the codec guards it, Hyperscan only in
    the secret screen's optional prefilter)."""
    allowed = set(sys.stdlib_module_names) | {"otel_jsonl", "typing_extensions"}
    bad = []
    for name, path in _modules():
        if _wing(name) not in STDLIB_ONLY:
            continue
        for imported in _imports(name, path):
            top = imported.split(".")[0]
            guarded = (name.endswith("codec") and top == "orjson") or (
                name.endswith("secret_accel") and top == "hyperscan"
            )
            if top and top not in allowed and not guarded:
                bad.append(f"{name} imports {imported}")
    assert not bad, "\n".join(sorted(set(bad)))


@pytest.mark.parametrize(("name", "path"), list(_modules()), ids=lambda v: str(v))
def test_module_and_function_sizes(name: str, path: Path) -> None:
    """Modules stay under about 500 lines and functions under about 60 (or say why)."""
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES, f"{name}: {text.count(chr(10))} lines"
    rel = path.relative_to(PACKAGE.parent).as_posix()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if f"{rel}:{node.name}" not in LONG_FUNCTIONS:
                assert length <= MAX_FUNCTION_LINES, f"{rel}:{node.name} is {length} lines"


def test_every_module_opens_with_a_docstring() -> None:
    """Each module says in its first line what it is for."""
    missing = [
        name
        for name, path in _modules()
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        and name != "otel_jsonl._version"
    ]
    assert not missing
