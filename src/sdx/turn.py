"""One turn of a conversation, the single path from a question to a stored answer.

`run_turn` builds the messages from the conversation so far and the new question, streams the answer into its
sinks (the screen or stdout, and the `-o` copy), and stores the turn, complete or not: an answer interrupted by
Ctrl-C, a signal or a broken stream is stored with whatever text arrived. `ask` is a conversation of one turn;
`chat`, `interview` and `batch` call the same function.
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdx.domain import prompts
from sdx.domain.conversation import COMPLETE, ERROR, INTERRUPTED, TRUNCATED, UNANSWERED, Conversation, Turn
from sdx.domain.repetition import Repetition, RepetitionDetector
from sdx.environment import current, interrupts_held
from sdx.errors import ExitStatus, SdxError, Terminated
from sdx.model import pricing
from sdx.model.registry import Target
from sdx.terminal.render import FileCopy, Sink, Spinner, choose_renderer, say

if TYPE_CHECKING:
    from sdx.model.client import StreamStats
    from sdx.store.history import History

CHARS_PER_TOKEN = 4  # the usual estimate when the server tells us nothing better
LOCAL_CONTEXT_TOKENS = 8_000  # what a small local model (Ollama's default context, llama.cpp) can take
REMOTE_CONTEXT_TOKENS = 100_000


class Interrupted(SdxError):
    """Ctrl-C (or SIGTERM/SIGHUP): not an error, but it ends the command with 130 (143, 129) and a word on stderr."""

    def __init__(self, tokens: int, signal_name: str = "", status: ExitStatus | int = ExitStatus.INTERRUPTED) -> None:
        kept = f" after {tokens} tokens; the partial answer was kept" if tokens else ""
        super().__init__(f"{signal_name or 'interrupted'}{kept}", status=status)  # type: ignore[arg-type]

    def line(self) -> str:
        return f"sdx: {self.what}"


class Looping(Exception):
    """The answer degenerated into repeating itself: sdx stopped the stream (what arrived is kept)."""

    def __init__(self, repetition: Repetition) -> None:
        super().__init__(repetition.sentence())
        self.reason = f"stopped by sdx: {repetition.sentence()}"


@dataclass(frozen=True)
class TurnOptions:
    raw: bool = False  # raw Markdown even on a terminal
    stream: bool = True
    timeout: float = 60.0
    max_tokens: int | None = None
    output: Path | None = None  # the `-o` copy
    replace_output: bool = False  # --force: the `-o` file may exist already
    context_tokens: int | None = None  # the budget for the messages sent; None: by provider
    spinner: bool = True  # "Asking …" on a terminal's stderr while waiting for the first token
    on_wait: Callable[[str, float], None] | None = None  # told of each retry wait (default: a line on stderr)


def context_budget(target: Target, options: TurnOptions) -> int:
    if options.context_tokens:
        return options.context_tokens
    return REMOTE_CONTEXT_TOKENS if target.provider.needs_key else LOCAL_CONTEXT_TOKENS


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    return sum(len(message["content"]) for message in messages) // CHARS_PER_TOKEN + 4 * len(messages)


def turn_messages(turn: Turn) -> list[dict[str, str]]:
    """A stored turn as it is sent again: the question with its context, then the answer as it was kept.

    A failed turn that got no text is left out: it would be a question with no reply.
    """
    if turn.status == ERROR and not turn.answer:
        return []
    messages = [{"role": "user", "content": prompts.user_message(turn.question, turn.context)}]
    if turn.answer:
        messages.append({"role": "assistant", "content": turn.answer})
    return messages


def conversation_messages(
    conversation: Conversation, question: str, context: str, budget: int
) -> tuple[list[dict[str, str]], int]:
    """The messages for a new question, and how many earlier turns were left out to stay within `budget` tokens.

    The first turn frames the discussion and is always kept; the oldest turns after it go first.
    """
    system = [{"role": "system", "content": conversation.system_prompt}]
    new = [{"role": "user", "content": prompts.user_message(question, context)}]
    earlier = [messages for messages in map(turn_messages, conversation.turns) if messages]
    first, rest = earlier[:1], earlier[1:]
    dropped = 0
    while rest and estimate_tokens(system + _flat(first + rest) + new) > budget:
        rest.pop(0)
        dropped += 1
    return system + _flat(first + rest) + new, dropped


def _flat(groups: list[list[dict[str, str]]]) -> list[dict[str, str]]:
    return [message for group in groups for message in group]


def run_turn(
    conversation: Conversation,
    turn: Turn,
    target: Target,
    options: TurnOptions,
    history: History | None = None,
    renderer: Callable[[], AbstractContextManager[Sink]] | None = None,
) -> Turn:
    """Ask `turn.question` in `conversation`, stream the answer, store the turn (whatever happens), return it.

    An answer that degenerates into repeating itself is stopped there, with a warning, and returned as INTERRUPTED
    (its `error` says why). Raises `Interrupted` on Ctrl-C or SIGTERM/SIGHUP and the client's `SdxError` on
    failures, after storing.
    """
    from sdx.model.client import ChatRequest, Delivery, StreamStats, watching

    env = current()
    messages, dropped = conversation_messages(
        conversation, turn.question, turn.context, context_budget(target, options)
    )
    if dropped:
        say(f"sdx: note: left out the {dropped} oldest follow-up turn{'s' if dropped > 1 else ''} to fit the context")
    request = ChatRequest(
        target=target, messages=messages, stream=options.stream, timeout=options.timeout, max_tokens=options.max_tokens
    )
    stats, delivery = StreamStats(), Delivery()
    received: list[str] = []
    turn.created_at = env.wall_clock()
    turn.prompt_version = conversation.prompt_version
    failure: BaseException | None = None
    try:
        with watching(delivery):
            streamed = _stream_into_sinks(request, stats, received, options, renderer or choose_renderer(options.raw))
        if not streamed:
            failure = BrokenPipeError()  # the answer is whole (in the -o copy); the reader of stdout left
        turn.status = TRUNCATED if stats.finish_reason == "length" else COMPLETE
        if turn.status == TRUNCATED:
            say(f"sdx: warning: {cut_off_sentence(stats.tokens, options.max_tokens)}; it is stored as cut off")
    except Looping as loop:  # not a failure of the request: the turn ends here, marked as not whole
        turn.status, turn.error = INTERRUPTED, loop.reason
        say(f"sdx: warning: {loop.reason}; what arrived is kept")
    except (KeyboardInterrupt, Terminated) as exc:
        turn.status, failure = INTERRUPTED, exc
    except BrokenPipeError as exc:  # `sdx … | head`: what was read is kept, and the command ends quietly
        turn.status, turn.error, failure = INTERRUPTED, "the reader of the output went away", exc
    except SdxError as exc:
        turn.status = INTERRUPTED if received else ERROR
        turn.error, failure = exc.what, exc
    finally:
        turn.delivery = delivery.outcome
        _fill_turn(turn, stats, received, request, target)
        pricing.price_turn(turn, target, fetch=False)  # reported, [prices], a fresh cached list, $0 local
        conversation.turns.append(turn)
        store_turn(conversation, turn, history)
    if failure is None and turn.cost is None:
        price_after_answer(turn, target, history)
    if isinstance(failure, KeyboardInterrupt):
        raise Interrupted(stats.tokens) from None
    if isinstance(failure, Terminated):
        said = "terminated" if failure.signum == signal.SIGTERM else "hung up"
        raise Interrupted(stats.tokens, said, 128 + failure.signum)
    if failure is not None:
        raise failure
    return turn


def cut_off_sentence(tokens: int, max_tokens: int | None) -> str:
    """What a TRUNCATED turn is, in words: whose limit it was (ours, which the user can raise, or the model's)."""
    if max_tokens is None:
        return f"the answer was cut off at the model's token limit (after {tokens} tokens)"
    return f"the answer was cut off at the token limit (--max-tokens or max_tokens = {max_tokens})"


def _stream_into_sinks(
    request: Any,
    stats: StreamStats,
    received: list[str],
    options: TurnOptions,
    renderer: Callable[[], AbstractContextManager[Sink]],
) -> bool:
    """Stream the answer into the sink and the `-o` copy; False when the sink's reader went away but the copy
    still received the whole answer (without a copy, that BrokenPipeError ends the turn)."""
    from sdx.model.client import answer_deltas

    copy = FileCopy(options.output, force=options.replace_output) if options.output else None
    reader_present = True
    loops = RepetitionDetector()
    deltas = answer_deltas(request, stats, on_wait=options.on_wait or (lambda message, _s: say(f"sdx: {message}")))
    try:
        with closing(deltas):
            with Spinner(f"Asking {request.target.name}…") if options.spinner else nullcontext():
                first = next(deltas, "")  # the spinner is gone before the answer's own live display starts
            with renderer() as sink:
                if not gc.isenabled():  # start-up is over (see cli.main): its objects out of every collection
                    gc.freeze()
                    gc.enable()
                for text in chain((first,), deltas):
                    received.append(text)
                    if copy:  # the file first: whatever the screen shows is already saved when Ctrl-C lands
                        copy.write(text)
                    if reader_present:
                        reader_present = _write_unless_reader_gone(sink, text, keep_going=copy is not None)
                    if (repetition := loops.feed(text)) is not None:
                        raise Looping(repetition)
    finally:
        if copy:
            copy.close()
    return reader_present


def _write_unless_reader_gone(sink: Sink, text: str, keep_going: bool) -> bool:
    try:
        sink.write(text)
        return True
    except BrokenPipeError:
        if not keep_going:
            raise
        return False


def _fill_turn(turn: Turn, stats: StreamStats, received: list[str], request: Any, target: Target) -> None:
    env = current()
    turn.answer = "".join(received)
    turn.model_id = stats.model or target.model_id
    turn.model = target.name
    turn.cost = stats.cost
    turn.completion_tokens = stats.usage_completion_tokens
    turn.prompt_tokens = stats.usage_prompt_tokens
    if turn.completion_tokens is None or turn.prompt_tokens is None:
        turn.tokens_estimated = True
        # a streamed chunk is about a token, a whole answer one chunk; of a request the server never answered,
        # nothing of which arrived, what it generated is unknown (None, never 0)
        if turn.completion_tokens is None and (received or turn.delivery != UNANSWERED):
            turn.completion_tokens = stats.chunks if request.stream else len(turn.answer) // CHARS_PER_TOKEN
        if turn.prompt_tokens is None:
            turn.prompt_tokens = estimate_tokens(request.messages)
    if stats.first_token_at is not None:
        turn.time_to_first_token = stats.first_token_at - stats.started
    turn.duration = env.monotonic() - stats.started


def price_after_answer(turn: Turn, target: Target, history: History | None) -> None:
    """An OpenRouter answer that came without its cost: priced from the price list (fetched now if need be, within
    its time limit), and the stored turn updated. The answer is already shown and stored."""
    problem = pricing.price_turn(turn, target, fetch=True)
    if problem:
        unknown = "; this answer's cost is unknown" if turn.cost is None else ""
        say(f"sdx: warning: {problem}{unknown}")  # in a batch worker, shown above the bar (render.said_through)
    if turn.cost is not None and history is not None and turn.id is not None:
        try:
            with interrupts_held():
                history.set_cost(turn)
        except SdxError as exc:
            say(f"sdx: warning: this answer's cost was not stored in history: {exc.sentence()}")


def store_turn(conversation: Conversation, turn: Turn, history: History | None, what: str = "this answer") -> None:
    """Keep the turn; a history that cannot be written costs a warning, never the answer."""
    if history is None:
        return
    try:
        with interrupts_held():
            history.add_turn(conversation, turn)  # creates the conversation first when it is new
    except SdxError as exc:
        say(f"sdx: warning: {what} was not stored in history: {exc.sentence()}")
