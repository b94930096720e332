"""The docs keep up with the code: every command, option and environment variable is documented,
and every relative link in the README and docs/ resolves."""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_jsonl.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
README = REPO / "README.md"
PACKAGE = REPO / "otel_jsonl"

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every sub-command of ``otel-jsonl`` and its parser, from the real parser."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("otel-jsonl has no sub-commands")


def options(parser: argparse.ArgumentParser) -> list[str]:
    """The option strings of a sub-command (``-o``, ``--output``, ...), not ``--help``."""
    return [
        opt
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        for opt in action.option_strings
    ]


def _module_constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _is_environ(node: ast.expr) -> bool:
    """``os.environ`` or ``environ``."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _name_of(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def env_vars_read(root: Path = PACKAGE) -> dict[str, str]:
    """Environment variable name -> the file that reads it, found in the package's source:
    ``os.environ.get(X)``, ``os.environ[X]``, ``os.getenv(X)``, ``X in os.environ``, where X is a
    string or a module-level constant."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_constants(tree)

        for node in ast.walk(tree):
            args: list[ast.expr] = []
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                func = node.func
                reads = func.attr in ("get", "pop", "setdefault") and _is_environ(func.value)
                if reads or func.attr == "getenv":
                    args = node.args[:1]
            elif isinstance(node, ast.Subscript) and _is_environ(node.value):
                args = [node.slice]
            elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
                args = [node.left]
            for arg in args:
                name = _name_of(arg, constants)
                if name:
                    found.setdefault(name, str(path.relative_to(REPO)))
    return found


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code (links there are not links)."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)}


def relative_links() -> Iterator[tuple[Path, str]]:
    for md in markdown_files():
        for m in _LINK.finditer(_prose(md.read_text(encoding="utf-8"))):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            yield md, target


# --- the command line ---------------------------------------------------------------------


def test_every_command_has_a_section_in_cli_md() -> None:
    """Each sub-command of otel-jsonl has its own ``## name`` section in docs/cli.md."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^## (\S+)\s*$", text, re.M))
    missing = sorted(set(subcommands()) - headings)
    assert not missing, f"commands not documented in docs/cli.md: {missing}"


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_every_option_is_documented_in_its_section(command: str) -> None:
    """Every option of every sub-command appears, in backticks, in that command's section."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(command)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, f"no section for {command}"
    section = match.group(1)
    missing = [
        opt
        for opt in options(subcommands()[command])
        if not re.search(rf"`{re.escape(opt)}(?![\w-])", section)
    ]
    assert not missing, f"options of {command} not in docs/cli.md: {missing}"


def test_option_finder_sees_every_command_and_option() -> None:
    """The parser walk above finds the commands and options it checks (it cannot pass empty)."""
    commands = subcommands()
    assert {"validate", "demo", "convert", "replay", "diff"} <= set(commands)
    assert "--endpoint" in options(commands["convert"])
    assert "-o" in options(commands["demo"])


# --- environment variables ----------------------------------------------------------------


def test_env_var_finder_reads_the_source() -> None:
    """The source scan finds variables read directly and through constants."""
    found = env_vars_read()
    assert "OTEL_EXPORTER_JSONL_PATH" in found  # through ENV_PATH
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in found  # a literal in os.environ.get
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in found), found


def test_every_environment_variable_is_in_configuration_md() -> None:
    """Every environment variable the package reads appears in docs/configuration.md."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = {name: where for name, where in env_vars_read().items() if f"`{name}`" not in text}
    assert not missing, f"read by the package but not in docs/configuration.md: {missing}"


# --- README and links ---------------------------------------------------------------------


def test_readme_shows_the_two_fresh_machine_commands() -> None:
    """README.md shows ``make demo`` and ``make test`` in a code block."""
    blocks = "".join(m.group(0) for m in _FENCE.finditer(README.read_text(encoding="utf-8")))
    assert "make demo" in blocks
    assert "make test" in blocks


def test_every_doc_page_and_example_is_linked() -> None:
    """docs/index.md links every page of docs/, and the README links docs/index.md and every
    example."""
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "index.md":
            assert f"]({page.name}" in index, f"docs/index.md does not link {page.name}"
    readme = README.read_text(encoding="utf-8")
    assert "](docs/index.md)" in readme
    for example in sorted((REPO / "examples").glob("*.py")):
        assert f"](examples/{example.name})" in readme, f"README does not link {example.name}"


def test_every_relative_link_resolves() -> None:
    """Every relative link in README.md and docs/ points at a file that exists, and an anchor
    into a Markdown file at one of its headings."""
    broken = []
    links = list(relative_links())
    assert len(links) > 20  # the walk found the links (it cannot pass empty)
    for md, target in links:
        path_part, _, anchor = target.partition("#")
        dest = (md.parent / path_part).resolve() if path_part else md
        if not dest.exists():
            broken.append(f"{md.relative_to(REPO)}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{md.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_tests_named_in_the_docs_exist() -> None:
    """Every test the README and docs/ cite as proof (`test_...`) is defined in tests/."""
    defined = set()
    for path in (REPO / "tests").glob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
    cited = {
        name
        for md in markdown_files()
        for name in re.findall(r"`(test_\w+)`", md.read_text(encoding="utf-8"))
    }
    assert len(cited) > 10
    assert not cited - defined, f"cited but not defined: {sorted(cited - defined)}"


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Durability and its cost", "durability-and-its-cost"),
        ("Never raising, and `strict`", "never-raising-and-strict"),
        ("Shipping (OTLP)", "shipping-otlp"),
    ],
)
def test_slug_matches_github(heading: str, slug: str) -> None:
    """Anchors are computed the way GitHub computes them."""
    assert _slug(heading) == slug


def test_convert_md_python_example_runs(tmp_path: Path) -> None:
    """The "From Python" example of docs/convert.md runs as written, shipping to a loopback
    receiver in place of its endpoint."""
    import subprocess
    import sys

    from support.otlp_receiver import OtlpReceiver

    text = (DOCS / "convert.md").read_text(encoding="utf-8")
    block = text.split("## From Python\n\n```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "traces").mkdir()
    from otel_jsonl.demo import run_demo

    run_demo(str(tmp_path / "traces" / "run.jsonl"), run_id="docs0001")
    with OtlpReceiver() as receiver:
        base = receiver.endpoint.removesuffix("/v1/traces")
        proc = subprocess.run(
            [sys.executable, "-c", block.replace("http://127.0.0.1:4318", base)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "0 failed" in proc.stdout and receiver.span_ids()
    assert (tmp_path / "run.otlp.jsonl").stat().st_size > 0
    assert (tmp_path / "traces" / "imported.jsonl").stat().st_size > 0
