"""What `ask`, `chat`, `batch` and `interview` share about history: opening it, and finding the conversation to
continue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdx.config import Config
from sdx.domain import prompts
from sdx.domain.conversation import GRADED_KINDS, Conversation
from sdx.errors import SdxError, UsageError
from sdx.model.registry import Target, chosen_model_name, resolve
from sdx.terminal.render import say

if TYPE_CHECKING:
    from sdx.store.history import History


def open_history(*, continuing: bool, logging: bool, what: str) -> History | None:
    """The history to read a continued conversation from and to store `what` in; None when neither is needed.

    A history that cannot be opened is fatal when a conversation must be read from it, and otherwise a warning
    (with its fix): the command still answers, it only does not store.
    """
    if not continuing and not logging:
        return None
    from sdx.store.history import History

    try:
        return History.open()
    except SdxError as exc:
        if continuing:
            raise
        say(f"sdx: warning: history is unavailable, {what} will not be stored: {exc.sentence()}")
        return None


def earlier_conversation(
    history: History | None, *, continue_last: bool, conversation_id: str | None, start_hint: str
) -> Conversation | None:
    """The conversation `-C` (the most recent one that is not an interview or a review) or `--cid PREFIX` names;
    None when neither was asked for. An interview is never continued with ordinary answers: its transcript is graded
    (`sdx chat --cid` on one opens a debrief instead: commands/debrief.py)."""
    if continue_last and conversation_id is not None:
        raise UsageError("give -C or --cid, not both", "-C resumes the most recent conversation, --cid ID a given one")
    if conversation_id is not None and not conversation_id.strip():
        raise UsageError("--cid needs a conversation id", "see `sdx history` for the ids")
    if history is None or not (continue_last or conversation_id):
        return None
    if conversation_id:
        conversation = history.load(history.resolve(conversation_id))
        if conversation.kind == "interview":
            raise UsageError(
                f"{conversation.id} is a mock interview, which follow-ups would add to the graded transcript",
                f"see it with `sdx show {conversation.id[:8]}`, or talk it over: sdx chat --cid {conversation.id[:8]}",
            )
        return conversation
    latest = history.latest(exclude=GRADED_KINDS)  # a review is not a chat either
    if latest is None:
        raise UsageError("there is no earlier conversation to continue", f"start one: {start_hint}")
    return history.load(latest)


def wrong_kind(conversation: Conversation, wanted: str, fix: str = "") -> UsageError:
    """`01JD… is an ask conversation, not an interview`, for a command that only acts on conversations of `wanted`."""
    return UsageError(
        f"{conversation.id} is {_article(conversation.kind)} {conversation.kind} conversation, not {_article(wanted)}"
        f" {wanted}",
        fix or f"see `sdx history --kind {wanted}`",
    )


def regrade_elsewhere(conversation: Conversation, wanted: str) -> UsageError:
    """`--regrade` of a conversation of the other graded kind says which command grades it again."""
    if conversation.kind in GRADED_KINDS:
        command = f"sdx {conversation.kind} --regrade {conversation.id}"
        return wrong_kind(conversation, wanted, f"grade it again with `{command}`")
    return wrong_kind(conversation, wanted)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def new_conversation(kind: str, model_name: str) -> Conversation:
    """A new conversation on today's answering system prompt (titled by the store from its first question)."""
    return Conversation(
        kind=kind, model=model_name, system_prompt=prompts.SYSTEM_PROMPT, prompt_version=prompts.SYSTEM_PROMPT_VERSION
    )


def conversation_and_target(
    earlier: Conversation | None, model: str | None, config: Config, kind: str
) -> tuple[Conversation, Target]:
    """The conversation to answer in, and the model: `--model`, else the earlier conversation's, else the default.

    An earlier conversation goes on with today's system prompt (each stored turn keeps the version it had).
    """
    model_name = model or (earlier.model if earlier else chosen_model_name(None, config))
    target = resolve(model_name, config)
    if earlier is None:
        return new_conversation(kind, model_name), target
    earlier.system_prompt = prompts.SYSTEM_PROMPT
    earlier.prompt_version = prompts.SYSTEM_PROMPT_VERSION
    earlier.model = model_name  # `-C -m other`: the conversation shows the model that answered last
    return earlier, target
