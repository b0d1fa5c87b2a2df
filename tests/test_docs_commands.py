"""Every command the README and docs/ show runs as written from the repository's root.

Each shell block's commands are read as a newcomer types them (continuation lines joined):
the venv's tools are called by their path (`.venv/bin/tandem`, never a bare `tandem`,
which is not on PATH after `make run`); each `make` line is one make itself accepts (its
own dry run: targets, variables, options); each `.venv/bin/tandem` line is one the CLI's
parser accepts; each `.venv/bin/python -m` module exists; each test file named exists.
Inline `make …` spans in the prose are held to make's dry run too.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tandem.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.S | re.M)
INLINE_MAKE = re.compile(r"`(make(?: [^`]*)?)`")
# The venv's tools: typed bare, they are not found (or are another install's).
VENV_ONLY = {"tandem", "pytest", "ruff", "mypy", "lint-imports", "alembic", "uvicorn", "python"}
VENV_BIN = Path(sys.executable).parent


def commands(text: str) -> list[str]:
    """The commands of every shell block: comments dropped, `\\` continuations joined."""
    found = []
    for block in SHELL_BLOCK.findall(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


def words(command: str) -> list[str]:
    """The command's words, up to a comment, a pipe or a `;` (shlex keeps `$VARS` as text)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";|&")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    taken = []
    for word in lexer:
        if word in {";", "|", "||", "&&", "&"}:
            break
        taken.append(word)
    return taken


def every_command() -> list[tuple[str, str]]:
    return [
        (document.relative_to(ROOT).as_posix(), command)
        for document in DOCUMENTS
        for command in commands(document.read_text())
    ]


def make_accepts(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    return subprocess.run(  # make's own dry run: prints the commands, runs none
        [make, "--dry-run", "--always-make", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_documents_have_commands_to_check():
    assert len(every_command()) >= 10


@pytest.mark.parametrize(("document", "command"), every_command())
def test_each_command_runs_as_written_from_the_root(document: str, command: str) -> None:
    typed = words(command)
    while typed and re.fullmatch(r"[A-Z_]+=.*", typed[0]):  # VAR=value before the command
        typed = typed[1:]
    if not typed:
        return
    program, arguments = typed[0], typed[1:]
    assert program not in VENV_ONLY, (
        f"{document}: `{command}` calls {program} bare; write .venv/bin/{program}"
    )
    if program == "make":
        dry = make_accepts(arguments)
        assert dry.returncode == 0, f"{document}: `{command}`: {dry.stderr.strip()}"
    elif program.startswith(".venv/bin/"):
        tool = program.removeprefix(".venv/bin/")
        assert (VENV_BIN / tool).exists(), f"{document}: `{command}`: no {program}"
        if tool == "tandem":
            try:
                build_parser().parse_args(arguments)
            except SystemExit as refused:
                pytest.fail(f"{document}: `{command}` is refused by tandem ({refused})")
        elif tool == "python" and arguments[:1] == ["-m"]:
            module = arguments[1]
            assert importlib.util.find_spec(module), f"{document}: `{command}`: no {module}"
        for argument in arguments:
            if argument.startswith("tests/"):
                path = argument.split("::")[0]
                assert (ROOT / path).exists(), f"{document}: `{command}`: no {path}"


@pytest.mark.parametrize("document", [d.relative_to(ROOT).as_posix() for d in DOCUMENTS])
def test_make_lines_in_the_prose_are_ones_make_accepts(document: str) -> None:
    text = SHELL_BLOCK.sub("", (ROOT / document).read_text())
    for span in set(INLINE_MAKE.findall(text)):
        dry = make_accepts(shlex.split(span)[1:])
        assert dry.returncode == 0, f"{document}: `{span}`: {dry.stderr.strip()}"
