"""`/help`, the interview banner and its status bar fit the terminal: no word broken at 100 columns, shortened
sensibly at 40."""

from __future__ import annotations

import io

import pytest

from sdx.commands.chat import help_lines
from sdx.commands.interview import COMMANDS, Interview
from sdx.domain.conversation import Conversation
from sdx.environment import Environment, installed
from sdx.terminal.fit import fit_parts, wrap_parts


def words_kept(shown: list[str], whole: str) -> bool:
    """Every word of `whole`, in order, whole (the ` · ` between parts may go where a line breaks)."""
    return [word for word in " ".join(shown).split() if word != "·"] == [w for w in whole.split() if w != "·"]


@pytest.mark.parametrize("columns", [100, 40])
def test_chat_help_fits_the_terminal_without_breaking_a_word(sdx, fake, columns):
    result = sdx.call("chat", input="/help\n", tty=True, columns=columns)
    assert result.code == 0, result.stderr
    lines = result.stderr.splitlines()
    shown = lines[lines.index("Commands:") :]
    assert all(len(line) < columns for line in shown), shown
    assert words_kept(shown, "\n".join(help_lines(10_000)))
    assert any(line.strip() == "/model NAME" for line in shown) == (columns < 60)  # narrow: description below


@pytest.mark.parametrize("columns", [100, 40])
def test_the_interview_banner_fits_the_terminal(sdx, fake, columns):
    result = sdx.call("interview", "Design a cache", input="/done\n", tty=True, columns=columns)
    lines = result.stderr.splitlines()
    banner = lines[: next(n for n, line in enumerate(lines) if "/done" in line) + 1]
    assert banner[0].startswith("sdx: mock interview · senior") and all(len(line) < columns for line in banner)
    assert words_kept(
        banner, f"sdx: mock interview · senior · 45 minutes · gpt-4o-mini · commands: {' '.join(COMMANDS)}"
    )


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (100, f"phase 1/6: requirements · 45:00 left · {' '.join(COMMANDS)}"),
        (40, "phase 1/6: requirements · 45:00 left"),
        (24, "phase 1/6: requirements"),
        (15, "phase 1/6:…"),
    ],
)
def test_the_interview_status_bar_keeps_what_fits(columns, expected):
    env = Environment(
        stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), columns=columns, lines=24, monotonic=lambda: 100.0
    )
    conversation = Conversation(kind="interview", model="m", system_prompt="", prompt_version="", meta={"minutes": 45})
    with installed(env):
        interview = Interview(conversation, None, None, None, started=100.0)  # type: ignore[arg-type]
        assert interview.toolbar() == expected


def test_wrapping_breaks_only_between_parts_or_words():
    parts = ["mock interview", "senior", "45 minutes", "a-very-long-model-name-that-fills-a-line"]
    assert wrap_parts(parts, 30, "sdx: ", "  ") == [
        "sdx: mock interview · senior",
        "  45 minutes",
        "  a-very-long-model-name-that-fills-a-line",
    ]
    assert fit_parts(["Enter sends", "Esc-Enter new line", "Ctrl-C stops"], 35) == "Enter sends · Esc-Enter new line"
