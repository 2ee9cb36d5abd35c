"""The one rule for files the user names, in every command that writes one (`ask -o`, `export -o`, chat's `/save`):
an existing file is never replaced silently (one line naming --force; with it, replaced whole), and a directory
given as a file is its own error. Adding a command is one row."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fake_server import ANSWER
from tests.runner import Result, Sdx, stored_conversations

MINE = "my own notes\n"


def ask(sdx: Sdx, path: str, force: bool) -> Result:
    return sdx.call("ask", *(["--force"] if force else []), "-o", path, "Design a cache")


def export(sdx: Sdx, path: str, force: bool) -> Result:
    assert sdx.call("ask", "--no-stdin", "Design a cache").code == 0
    conversation_id = stored_conversations(sdx)[-1].id
    return sdx.call("export", conversation_id, "-o", path, *(["--force"] if force else []))


def save(sdx: Sdx, path: str, force: bool) -> Result:
    return sdx.call("chat", input=f"Design a cache\n/save {'--force ' if force else ''}{path}\n")


WRITERS: dict[str, tuple[Callable[[Sdx, str, bool], Result], str]] = {
    # name: (how to write FILE, what the refusal names as the way to replace it)
    "ask -o": (ask, "add --force"),
    "export -o": (export, "add --force"),
    "/save": (save, "/save --force notes.md"),
}


def entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("writer", WRITERS)
def test_an_existing_file_is_never_replaced_without_force(sdx, fake, writer):
    write, how = WRITERS[writer]
    notes = sdx.home / "notes.md"
    notes.write_text(MINE)
    before = entries(sdx.home)
    refused = write(sdx, "notes.md", False)
    assert refused.code == 2
    errors = [line for line in refused.stderr.splitlines() if line.startswith("sdx: error:")]
    assert errors == [
        f"sdx: error: {'-o ' if '-o' in writer else ''}notes.md already exists — {how} to replace it,"
        " or choose another file name"
    ]
    assert notes.read_text() == MINE and entries(sdx.home) == before
    if writer == "ask -o":
        assert fake.chat_requests() == []  # refused before any request: no money spent


@pytest.mark.parametrize("writer", WRITERS)
def test_force_replaces_the_file_whole(sdx, fake, writer):
    write, _ = WRITERS[writer]
    notes = sdx.home / "notes.md"
    notes.write_text(MINE)
    notes.chmod(0o640)
    result = write(sdx, "notes.md", True)
    assert result.code == 0, result.stderr
    assert ANSWER.strip() in notes.read_text()
    assert oct(notes.stat().st_mode & 0o777) == oct(0o640)
    assert not [name for name in entries(sdx.home) if "sdx-partial" in name]


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("force", [False, True])
def test_a_directory_given_as_a_file_is_its_own_error(sdx, fake, writer, force):
    write, _ = WRITERS[writer]
    (sdx.home / "notes").mkdir()
    result = write(sdx, "notes", force)
    assert result.code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("sdx: error:")]
    assert len(errors) == 1 and "notes is a directory — give a file name, e.g. " in errors[0], result.stderr
    assert "already exists" not in errors[0] and "--force" not in errors[0]
    assert (sdx.home / "notes").is_dir() and entries(sdx.home / "notes") == []
