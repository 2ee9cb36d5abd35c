"""An answer the model stopped at the token limit (finish_reason "length") has its own status, end to end: stored
as `truncated`, marked by show, export, /save and `sdx history`, and in a batch kept under a name of its own
(never the final one, which holds only whole answers) and asked again by the next run."""

from __future__ import annotations

import json
import re

from tests.fake_server import ANSWER
from tests.runner import stored_conversations

CUT = "> **Cut off:** the answer stopped here, at the token limit (60 tokens)."


def test_ask_warns_stores_it_as_truncated_and_show_export_and_history_mark_it(sdx, fake):
    fake.scenario.finish_reason = "length"
    fake.scenario.usage_completion_tokens = 60
    result = sdx.call("ask", "--max-tokens", "60", "Design a URL shortener")
    assert result.code == 0
    assert result.out == ANSWER
    assert result.stderr == (
        "sdx: warning: the answer was cut off at the token limit (--max-tokens or max_tokens = 60);"
        " it is stored as cut off\n"
    )
    [conversation] = stored_conversations(sdx)
    assert [turn.status for turn in conversation.turns] == ["truncated"]
    shown = sdx.call("show", conversation.id).out
    assert f"{ANSWER.strip()}\n\n{CUT}\n" in shown
    assert sdx.call("export", conversation.id).out == shown
    listed = sdx.call("history").out.splitlines()
    assert re.split(r" {2,}", listed[1])[4:7] == ["1 (cut off)", "?", "Design a URL shortener"]  # ?: cost unknown
    assert json.loads(sdx.call("history", "--json").out)[0]["last_status"] == "truncated"


def test_without_a_limit_of_ours_the_warning_names_the_models(sdx, fake):
    fake.scenario.finish_reason = "length"
    result = sdx.call("ask", "Design a URL shortener")
    assert "sdx: warning: the answer was cut off at the model's token limit (after " in result.stderr


def test_chat_save_marks_a_cut_off_answer(sdx, fake):
    fake.scenario.finish_reason = "length"
    fake.scenario.usage_completion_tokens = 60
    result = sdx.call("chat", "--max-tokens", "60", input="Design a URL shortener\n/save notes.md\n")
    assert result.code == 0, result.stderr
    assert CUT in (sdx.home / "notes.md").read_text(encoding="utf-8")


def test_a_batch_keeps_a_cut_off_answer_under_its_own_name_and_a_rerun_asks_it_again(sdx, fake):
    (sdx.home / "questions.txt").write_text("Design a URL shortener\nDesign a rate limiter\n", encoding="utf-8")
    fake.scenario.finish_reason = "length"
    fake.scenario.usage_completion_tokens = 60
    result = sdx.call("batch", "questions.txt", "-o", "guide", "--max-tokens", "60")
    assert result.code == 4
    guide = sdx.home / "guide"
    names = ["01-design-a-url-shortener", "02-design-a-rate-limiter"]
    assert sorted(path.name for path in guide.iterdir()) == sorted([f"{n}.cut-off.md" for n in names] + ["index.md"])
    kept = (guide / f"{names[0]}.cut-off.md").read_text(encoding="utf-8")
    assert kept.startswith("> **Question:** Design a URL shortener\n\n" + ANSWER)
    assert "> **Cut off** at the token limit (60 tokens): this is not a whole answer." in kept
    index = (guide / "index.md").read_text(encoding="utf-8")
    assert "0 of 2 questions answered" in index
    assert f"| 1 | [Design a URL shortener]({names[0]}.cut-off.md) | cut off at the token limit (asked again" in index
    assert f"sdx:   ✗ {names[0]}.md: cut off at the token limit (60 tokens); kept as {names[0]}.cut-off.md" in (
        result.stderr
    )
    assert "raise --max-tokens (or max_tokens in the config file) and run the same command again" in result.stderr
    assert [turn.status for c in stored_conversations(sdx) for turn in c.turns] == ["truncated", "truncated"]

    fake.scenario.finish_reason = "stop"
    fake.scenario.usage_completion_tokens = None
    rerun = sdx.call("batch", "questions.txt", "-o", "guide")
    assert rerun.code == 0, rerun.stderr
    assert len(fake.chat_requests()) == 4  # both asked again
    assert sorted(path.name for path in guide.iterdir()) == sorted([f"{n}.md" for n in names] + ["index.md"])
    assert "2 of 2 questions answered" in (guide / "index.md").read_text(encoding="utf-8")
    assert sdx.call("batch", "questions.txt", "-o", "guide").code == 0
    assert len(fake.chat_requests()) == 4  # whole answers are not asked again


def test_an_answer_cut_off_inside_a_code_block_has_it_closed_before_the_note(sdx, fake):
    """The note and the trailer must not land inside the block the model left open (they would render as code)."""
    (sdx.home / "questions.txt").write_text("Design a URL shortener\n", encoding="utf-8")
    fake.scenario.answer = "# URL shortener\n\n```mermaid\nflowchart LR\n  a --> b\n  b --> c"
    fake.scenario.finish_reason = "length"
    assert sdx.call("batch", "questions.txt", "-o", "guide").code == 4
    kept = (sdx.home / "guide" / "01-design-a-url-shortener.cut-off.md").read_text(encoding="utf-8")
    assert "  b --> c\n```\n\n> **Cut off** at the token limit" in kept
    assert kept.count("```") == 2
    show = sdx.call("show").out
    assert "  b --> c\n```\n\n> **Cut off:** the answer stopped here" in show
