"""`sdx show` and `sdx export` with no id mean the latest conversation; long `show` output on a terminal goes
through the pager as git's does (`$PAGER`, else `less` with LESS=FRX; `--no-pager`; never when piped)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from sdx.domain.conversation import Conversation, Turn
from sdx.environment import Environment, installed
from sdx.store.history import History
from tests.runner import Sdx

LONG_ANSWER = "\n\n".join(f"Paragraph {n} about caching." for n in range(60))


@pytest.fixture
def user(tmp_path: Path) -> Sdx:
    return Sdx(tmp_path / "home")


def store(user: Sdx, question: str, answer: str, when: float) -> Conversation:
    env = Environment(stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), wall_clock=lambda: when)
    talk = Conversation(kind="ask", model="gpt-4o-mini", system_prompt="sys", prompt_version="v3")
    with installed(env), History.open(user.home / "history.db") as history:
        history.add_turn(talk, Turn(question, answer=answer))
    return talk


def test_show_and_export_without_an_id_mean_the_latest_conversation(user):
    assert (
        user.call("show").stderr
        == 'sdx: error: there are no conversations yet — start one: sdx ask "Design a URL shortener"\n'
    )
    store(user, "Design a feed", "Fan-out on write.", 1_750_000_000)
    latest = store(user, "Design a cache", "Use LRU.", 1_750_000_100)
    shown = user.call("show")
    assert shown.code == 0 and shown.out.startswith("# Design a cache\n")
    assert shown.out == user.call("show", latest.id).out
    exported = user.call("export")
    assert exported.code == 0 and exported.out == shown.out


def fake_less(user: Sdx) -> Path:
    """A `less` on PATH that records its input and the LESS variable it was given."""
    folder = user.home / "bin"
    folder.mkdir()
    script = folder / "less"
    script.write_text('#!/bin/sh\necho "LESS=$LESS" > less.env\ncat > less.out\n')
    script.chmod(0o755)
    return folder


def test_long_show_output_on_a_terminal_goes_through_less_FRX_by_default(user):
    store(user, "Design a cache", LONG_ANSWER, 1_750_000_000)
    path = f"{fake_less(user)}:{os.environ['PATH']}"
    result = user.call("show", tty=True, lines=20, env={"PATH": path, "PAGER": None})
    assert result.code == 0, result.stderr
    assert result.out == ""  # all of it went to the pager
    paged = (user.home / "less.out").read_text()
    assert "Paragraph 59 about caching." in paged and "\x1b[" in paged and "# Design" not in paged  # rendered
    assert (user.home / "less.env").read_text() == "LESS=FRX\n"


def test_pager_is_the_users_and_never_used_when_it_fits_piped_or_refused(user):
    store(user, "Design a cache", LONG_ANSWER, 1_750_000_000)
    pager = {"PAGER": "cat > paged.out"}
    assert user.call("show", tty=True, lines=20, env=pager).out == ""
    assert "Paragraph 59" in (user.home / "paged.out").read_text()
    (user.home / "paged.out").unlink()
    for args, tty, lines in ((["--no-pager"], True, 20), ([], False, 20), ([], True, 500), (["--raw"], True, 20)):
        result = user.call("show", *args, tty=tty, lines=lines, env=pager)
        assert result.code == 0 and "Paragraph 59 about caching." in result.out, (args, tty, lines)
        assert not (user.home / "paged.out").exists(), (args, tty, lines)
    assert "Paragraph 59" in user.call("show", tty=True, lines=20, env={"PAGER": ""}).out
