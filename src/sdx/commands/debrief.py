"""`sdx chat --cid ID` on a graded mock interview: a debrief, not a continuation.

The interview's transcript is graded, so nothing is ever added to it. Instead a new chat conversation starts,
its first message carrying the transcript (as the grader read it) and the grade; that message asks "what would a
strong answer have covered?" unless the user asked something else. The seed is part of the first turn, so the
conversation keeps it when it is continued later (the first turn is never trimmed from the context).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdx.commands.conversations import new_conversation
from sdx.config import Config
from sdx.domain.conversation import Conversation, title_from
from sdx.errors import UsageError
from sdx.model.registry import Target, chosen_model_name, resolve

if TYPE_CHECKING:
    from sdx.store.history import History

DEBRIEF_QUESTION = "What would a strong answer have covered?"  # the first message, unless the user asks another


@dataclass(frozen=True)
class Debrief:
    conversation: Conversation  # the new chat conversation
    target: Target
    seed: str  # the context of its first message: transcript and grade
    interview: Conversation


def debrief_of(
    history: History | None, conversation_id: str | None, model: str | None, config: Config
) -> Debrief | None:
    """The debrief to open when `--cid` names a mock interview; None when it names anything else (or nothing).
    An interview without a grade is refused: there is nothing to debrief yet."""
    if history is None or not conversation_id or not conversation_id.strip():
        return None
    interview = history.load(history.resolve(conversation_id))
    if interview.kind != "interview":
        return None
    from sdx.domain import drills, grades, rubric

    grade = grades.grade_markdown(interview.meta) if interview.meta.get("grade_status") == "graded" else ""
    short = (interview.id or "")[:8]
    if not grade:
        raise UsageError(
            f"{interview.id} is a mock interview without a grade, so there is nothing to debrief yet",
            f"grade it first: sdx interview --regrade {short}",
        )
    question = str(interview.meta.get("question") or interview.title)
    exchanges = [(turn.question, turn.context, turn.answer) for turn in interview.turns]
    level = str(interview.meta.get("level", rubric.DEFAULT_LEVEL))
    seed = drills.debrief_context(question, level, rubric.transcript(question, exchanges), grade)
    model_name = model or interview.model or chosen_model_name(None, config)  # as a continued conversation would
    conversation = new_conversation("chat", model_name)
    conversation.title = title_from(f"Debrief: {question}")
    conversation.meta = {"debrief_of": interview.id}
    return Debrief(conversation, resolve(model_name, config), seed, interview)
