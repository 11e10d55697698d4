"""Every ```python block of README.md and docs/*.md runs as written, with the repository root as
working directory and the demo data and motion capture of scripts/test.sh, so a renamed
function or argument in the core breaks the suite instead of the reader's copy.

A block may be preceded, on the line right before its fence, by one HTML comment (invisible
where the markdown is rendered) that this test reads:

  <!-- not run: REASON -->           the block needs what a test cannot have (a data set the
                                     user copies in, a long run); only its imports are run;
  <!-- test inputs: CODE -->         CODE (one or more lines) first defines, in the block's
                                     namespace, the inputs the text leaves to the reader
                                     (their images, their rig, ...);
  <!-- continues the block above --> the block runs in the namespace the previous block of
                                     the same file left.

Any other comment there fails the test, and so does a block that neither runs nor is marked.

The same documents' command lines of the tools (`python -m pose3d_ros.tools.<tool> --option`,
in code blocks and inline) name only options that the tool's --help lists.
"""
from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\s*$")
MARKER = re.compile(r"^<!--\s*(not run:|test inputs:|continues the block above)(.*?)-->\s*$",
                    re.S)


@dataclass(frozen=True)
class Block:
    document: Path
    line: int           # the first line of the code, 1-based
    code: str
    marker: str         # "", "not run:", "test inputs:" or "continues the block above"
    argument: str       # the reason, or the inputs' code
    previous: Block | None  # the block before it in the same document

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(REPO)}:{self.line}"


def _comment_before(lines: list[str], fence: int) -> str:
    """The HTML comment that ends on the line right before lines[fence], or ''."""
    end = fence - 1
    if end < 0 or not lines[end].rstrip().endswith("-->"):
        return ""
    start = end
    while start >= 0 and "<!--" not in lines[start]:
        start -= 1
    return "\n".join(lines[start:end + 1]).strip() if start >= 0 else ""


def _blocks(document: Path) -> list[Block]:
    lines = document.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        if not FENCE.match(lines[i]):
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        comment = _comment_before(lines, i)
        marker, argument = "", ""
        if comment:
            match = MARKER.match(comment)
            marker, argument = (match.group(1), match.group(2).strip()) if match else (
                f"unknown marker {comment!r}", "")
        found.append(Block(document, i + 2, "\n".join(lines[i + 1:end]) + "\n", marker,
                           argument, found[-1] if found else None))
        i = end + 1
    return found


BLOCKS = [block for document in DOCUMENTS for block in _blocks(document)]


def _run(code: str, filename: str, first_line: int, namespace: dict) -> None:
    """exec `code` so that a traceback names the markdown file and its line."""
    exec(compile("\n" * (first_line - 1) + code, filename, "exec"), namespace)


def _namespace_after(block: Block) -> dict:
    """The namespace the block leaves, run after its inputs or the block it continues."""
    if block.marker == "continues the block above":
        assert block.previous is not None, f"{block.name}: no block above to continue"
        namespace = _namespace_after(block.previous)
    else:
        namespace = {"__name__": "__docs_example__"}
    if block.marker == "test inputs:":
        _run(block.argument + "\n", f"{block.name} (test inputs)", 1, namespace)
    _run(block.code, str(block.document.relative_to(REPO)), block.line, namespace)
    return namespace


def test_the_documents_have_their_examples():
    """The parser finds the blocks (a changed fence would otherwise test nothing), and every
    marker is one this test knows."""
    assert len(BLOCKS) >= 11, [b.name for b in BLOCKS]
    unknown = [f"{b.name}: {b.marker}" for b in BLOCKS if b.marker.startswith("unknown")]
    assert not unknown, unknown
    unreasoned = [b.name for b in BLOCKS if b.marker == "not run:" and not b.argument]
    assert not unreasoned, f"'not run:' needs a reason: {unreasoned}"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_example_runs(block: Block, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(REPO)
    if block.marker == "not run:":
        # what can still be checked: the names it imports exist
        tree = ast.parse(block.code)
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert imports, f"{block.name}: a block that is not run should at least import"
        _run(ast.unparse(ast.Module(body=imports, type_ignores=[])), block.name, 1,
             {"__name__": "__docs_example__"})
        return
    _namespace_after(block)


TOOLS = sorted(p.stem for p in (REPO / "pose3d_ros" / "tools").glob("*.py")
               if "def main(" in p.read_text())
OPTION = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def _tool_commands() -> list[tuple[str, str, str]]:
    """(document, tool, its arguments) of every tool command line in the documents."""
    found = []
    for document in DOCUMENTS:
        text = re.sub(r"\\\n\s*", " ", document.read_text())  # shell line continuations
        name = str(document.relative_to(REPO))
        for match in re.finditer(r"python -m pose3d_ros\.tools\.(\w+)([^`\n]*)", text):
            found.append((name, match.group(1), match.group(2).split("#")[0]))
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for span in re.findall(r"`([^`]+)`", prose):  # inline: `train_lifter --bag B ...`
            match = re.match(r"(?:python -m pose3d_ros\.tools\.)?(\w+)\s+(--.*)",
                             " ".join(span.split()))
            if match and match.group(1) in TOOLS:
                found.append((name, match.group(1), match.group(2)))
    return found


def test_documented_tool_options_exist(capsys: pytest.CaptureFixture[str]):
    commands = _tool_commands()
    assert len(commands) >= 40, commands
    unknown_tools = sorted({f"{d}: {t}" for d, t, _ in commands if t not in TOOLS})
    assert not unknown_tools, unknown_tools
    helps = {}
    for tool in sorted({t for _, t, _ in commands}):
        with pytest.raises(SystemExit):
            importlib.import_module(f"pose3d_ros.tools.{tool}").main(["--help"])
        helps[tool] = capsys.readouterr().out
    unknown = [f"{document}: {tool} {option}" for document, tool, arguments in commands
               for option in OPTION.findall(arguments)
               if not re.search(re.escape(option) + r"(?![\w-])", helps[tool])]
    assert not unknown, f"options that --help does not list: {unknown}"
