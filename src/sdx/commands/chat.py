"""`sdx chat`: a multi-turn conversation, interactive on a terminal and line by line from a pipe.

On a terminal, input and output take turns: the line editor reads a message, `run_turn` streams the answer
through the same live Markdown renderer as `sdx ask`, a footer on stderr sums it up, and the editor reads again.
Ctrl-C stops the answer (what arrived is kept and stored) and returns to the prompt; a failed turn costs its one
error line, never the conversation. With stdin not a terminal, each line is one message, answered in turn, and
the exit code is the worst failure (0 when all succeeded). When stdout is not a terminal, each raw answer is
followed by a marker line (`END_MARKER`, an HTML comment: invisible once the Markdown is rendered) so a reader
can tell the answers apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sdx.commands.conversations import (
    conversation_and_target,
    earlier_conversation,
    new_conversation,
    open_history,
)
from sdx.commands.debrief import DEBRIEF_QUESTION, debrief_of
from sdx.config import Config
from sdx.domain.conversation import COMPLETE, Conversation, Turn, title_from
from sdx.environment import current
from sdx.errors import ExitStatus, SdxError, UsageError
from sdx.model.pricing import cost_text
from sdx.model.registry import Target, resolve
from sdx.terminal.render import sanitize_for_terminal, say, stdout_is_terminal
from sdx.turn import Interrupted, TurnOptions, run_turn

if TYPE_CHECKING:
    from sdx.store.history import History
    from sdx.terminal.prompt_input import LineEditor

PROMPT = "› "
END_MARKER = "<!-- sdx: end of answer {number} -->"  # after each answer written to a pipe or a file
INPUT_HISTORY_NAME = "chat_input_history"  # beside the history database
HISTORY_ROWS = 10

HELP_COMMANDS = (
    ("/help", "this help"),
    ("/model NAME", "answer with another model from now on (an alias or provider:model; /model shows the current one)"),
    ("/context TEXT", "add TEXT to the following questions (/context alone clears it)"),
    ("/new", "start a fresh conversation (same model, no context)"),
    ("/save FILE", "write this conversation to FILE as Markdown (--force: replace FILE)"),
    ("/history", "recent conversations (continue one with: sdx chat --cid ID)"),
    ("/exit", "leave (also /quit, or Ctrl-D)"),
)
HELP_KEYS = (
    "Enter sends",
    "Esc-Enter inserts a new line (pasting keeps newlines)",
    "Ctrl-C stops an answer or clears the line",
)
NARROW = 60  # columns below which each command's description goes on the lines under it


def help_lines(width: int) -> list[str]:
    """/help's text for a terminal `width` columns wide: wrapped between words, never inside one."""
    from sdx.terminal.fit import wrap, wrap_parts

    lines = ["Commands:"]
    for command, meaning in HELP_COMMANDS:
        if width >= NARROW:
            lines += wrap(meaning, width, f"  {command:<17}", " " * 19)
        else:
            lines += [f"  {command}", *wrap(meaning, width, " " * 6, " " * 6)]
    return lines + wrap_parts(list(HELP_KEYS), width, "Keys: ", "  ")


@dataclass(frozen=True)
class ChatOptions:
    question: str | None = None  # asked first
    model: str | None = None
    context: str | None = None
    continue_last: bool = False  # -C: the most recent conversation that is not an interview
    conversation_id: str | None = None  # --cid: a given one (a unique prefix is enough)
    log: bool = True  # --no-log: store nothing
    raw: bool = False
    timeout: float | None = None
    max_tokens: int | None = None
    estimate: bool = True  # --no-estimate: no computed capacity figures


@dataclass
class ChatSession:
    """What a chat carries from one message to the next."""

    config: Config
    conversation: Conversation
    target: Target
    context: str
    turn_options: TurnOptions
    store: History | None  # where turns are stored; None when logging is off or the history is unavailable
    editor: LineEditor | None = None  # None when reading from a pipe
    answers: int = 0
    estimate: bool = True  # --no-estimate: no computed capacity figures
    seed: str = ""  # the first message's context, for a debrief of an interview (commands/debrief.py)


def run_chat(options: ChatOptions, config: Config) -> int:
    """Chat until Ctrl-D, `/exit` or the end of piped input; the exit code."""
    logging = options.log and config.log
    continuing = options.continue_last or options.conversation_id is not None
    history = open_history(continuing=continuing, logging=logging, what="this chat")
    try:
        session = start_session(options, config, history, history if logging else None)
        first = options.question or (DEBRIEF_QUESTION if session.seed else None)
        env = current()
        if env.stdin_isatty or env.stdin is None:
            return interactive(session, first)
        return from_pipe(session, first, env.stdin)
    finally:
        if history is not None:
            history.close()


def start_session(options: ChatOptions, config: Config, history: History | None, store: History | None) -> ChatSession:
    debrief = None if options.continue_last else debrief_of(history, options.conversation_id, options.model, config)
    conversation = earlier_conversation(
        history,
        continue_last=options.continue_last,
        conversation_id=None if debrief else options.conversation_id,
        start_hint="sdx chat",
    )
    continuing = conversation is not None
    if debrief is not None:
        conversation, target = debrief.conversation, debrief.target
        say(f"sdx: debrief of the interview “{debrief.interview.title}” ({debrief.interview.id}) with {target.name}")
    else:
        conversation, target = conversation_and_target(conversation, options.model, config, "chat")
    if continuing:
        say(f"sdx: continuing “{conversation.title}” ({_count(len(conversation.turns), 'turn')}, {target.name})")
    turn_options = TurnOptions(
        raw=options.raw,
        timeout=options.timeout or config.timeout,
        max_tokens=options.max_tokens or config.max_tokens,
        context_tokens=config.context_tokens,
    )
    context = (options.context or "").strip()
    seed = debrief.seed if debrief else ""
    return ChatSession(config, conversation, target, context, turn_options, store, estimate=options.estimate, seed=seed)


# the two ways of reading messages


def interactive(session: ChatSession, first: str | None) -> int:
    """The REPL: read, answer, repeat; Ctrl-C at the prompt drops the line, Ctrl-D leaves."""
    from sdx.store.history import history_path
    from sdx.terminal.prompt_input import LineEditor

    logging = session.store is not None
    session.editor = LineEditor(history_path().parent / INPUT_HISTORY_NAME if logging else None)
    message = first or ""
    while not is_exit(message):
        try:
            handle(session, message)
        except KeyboardInterrupt:  # outside an answer (a slash command, the footer): back to the prompt
            say("sdx: interrupted")
        try:
            message = session.editor.read(PROMPT)
        except KeyboardInterrupt:  # at the prompt: the line is dropped
            message = ""
        except EOFError:
            break
    return ExitStatus.OK


def from_pipe(session: ChatSession, first: str | None, stdin: BinaryIO) -> int:
    """One message per line of stdin (blank lines skipped), each answered in turn; the worst failure's status."""
    worst = ExitStatus.OK
    for message in chain([first] if first and first.strip() else [], piped_lines(stdin)):
        if is_exit(message):
            break
        worst = max(worst, handle(session, message))
    return worst


def piped_lines(stdin: BinaryIO) -> Iterator[str]:
    """Lines as they arrive (a slow writer is answered line by line), undecodable bytes replaced."""
    for line in stdin:
        text = line.decode("utf-8", errors="replace").strip()
        if text:
            yield text


def is_exit(message: str) -> bool:
    return message.strip() in ("/exit", "/quit")


def handle(session: ChatSession, message: str) -> int:
    """A slash command, or a question to answer; its status (0 when it went well)."""
    message = message.strip()
    if not message:
        return ExitStatus.OK
    try:
        if message.startswith("/"):
            slash_command(session, message)
        else:
            answer(session, message)
        return ExitStatus.OK
    except Interrupted as exc:
        if session.editor is None or exc.status != ExitStatus.INTERRUPTED:
            raise  # a pipe's Ctrl-C ends the run; SIGTERM/SIGHUP end any chat
        say(exc.line())
        return exc.status
    except SdxError as exc:
        say(exc.line())
        return exc.status


# answering


def answer(session: ChatSession, question: str) -> None:
    """Ask `question` in the conversation (stored whatever happens); an interruption or failure propagates."""
    env = current()
    marked = not stdout_is_terminal()
    if session.editor is None and env.stderr_isatty:
        say(f"{PROMPT}{sanitize_for_terminal(question)}")
    conversation = session.conversation  # titled and dated here too: with --no-log no store does it (/save)
    conversation.title = conversation.title or title_from(question)
    conversation.created_at = conversation.created_at or env.wall_clock()
    turn = Turn(question, with_figures(question, session))
    if session.seed and not conversation.turns:  # a debrief's first message carries the interview and its grade
        turn.context = "\n\n".join(part for part in (session.seed, turn.context) if part)
    session.answers += 1
    try:
        check_size(question, session)
        run_turn(conversation, turn, session.target, session.turn_options, session.store)
    finally:
        if marked:
            end_marker(turn, session.answers)
        if turn.answer or turn.status == COMPLETE:
            footer(turn, session.target)
        if session.editor is not None:
            say("")  # a blank line between the answer and the next prompt


def with_figures(question: str, session: ChatSession) -> str:
    """The context for this question, with sdx's computed capacity figures when the question states a scale (or,
    for the first question, the context does); follow-ups that state none add nothing."""
    from sdx.commands.ask import capacity_facts, with_facts

    first = not session.conversation.turns
    if not session.estimate:
        return session.context
    return with_facts(session.context, capacity_facts(f"{question}\n{session.context}" if first else question))


def check_size(question: str, session: ChatSession) -> None:
    limit = session.config.max_input_kb
    if len(question.encode()) + len(session.context.encode()) > limit * 1024:
        raise UsageError(
            f"the message and context are larger than {limit} KB", "send less, or raise max_input_kb in the config file"
        )


def end_marker(turn: Turn, number: int) -> None:
    """Close an answer on a pipe or file: a newline if it lacks one, then the marker line (also after a failure)."""
    stdout = current().stdout
    ending = "" if not turn.answer or turn.answer.endswith("\n") else "\n"
    stdout.flush()
    stdout.buffer.write(f"{ending}{END_MARKER.format(number=number)}\n".encode())
    stdout.buffer.flush()


def footer(turn: Turn, target: Target) -> None:
    """On a terminal's stderr: model · tokens in/out · time to first token · tokens/s · cost (when known)."""
    env = current()
    if not env.stderr_isatty:
        return
    say(sanitize_for_terminal(footer_text(turn, target)), dim=True)


def footer_text(turn: Turn, target: Target) -> str:
    approx = "~" if turn.tokens_estimated else ""
    parts = [target.name]  # as `sdx ask`'s summary: the model as the user named it
    parts.append(f"{approx}{turn.prompt_tokens or 0:,} in / {approx}{turn.completion_tokens or 0:,} out")
    if turn.time_to_first_token is not None:
        parts.append(f"first token {turn.time_to_first_token:.1f}s")
        streaming = (turn.duration or 0) - turn.time_to_first_token
        if turn.completion_tokens and streaming > 0:
            parts.append(f"{turn.completion_tokens / streaming:.0f} tokens/s")
    if turn.cost is not None:  # reported, or priced (~)
        parts.append(cost_text(turn.cost, turn.cost_source))
    return " · ".join(parts)


# slash commands


def slash_command(session: ChatSession, line: str) -> None:
    name, _, argument = line.partition(" ")
    command = COMMANDS.get(name.lower())
    if command is None:
        raise UsageError(f"unknown command {name}", "/help lists the commands")
    command(session, argument.strip())


def show_help(_session: ChatSession, _argument: str) -> None:
    env = current()
    say("\n".join(help_lines(env.terminal_size()[0] - 1 if env.stderr_isatty else 120)))


def switch_model(session: ChatSession, name: str) -> None:
    if not name:
        say(f"sdx: model: {session.target.name} ({session.target.provider.name}:{session.target.model_id})")
        return
    session.target = resolve(name, session.config)  # an unknown model raises: the chat keeps the old one
    session.conversation.model = name  # so that `sdx chat -C` resumes with it
    if session.store is not None and session.conversation.id is not None:
        session.store.update_meta(session.conversation)
    say(f"sdx: now answering with {name} ({session.target.provider.name}:{session.target.model_id})")


def set_context(session: ChatSession, text: str) -> None:
    session.context = text
    say(f"sdx: context for the following questions: {text}" if text else "sdx: context cleared")


def fresh_conversation(session: ChatSession, _argument: str) -> None:
    session.conversation = new_conversation("chat", session.target.name)
    cleared = " (context cleared)" if session.context else ""
    session.context = ""
    say(f"sdx: new conversation with {session.target.name}{cleared}")


def save_conversation(session: ChatSession, argument: str) -> None:
    """The conversation as Markdown (as `sdx export` writes it), by the rule for files the user names: an existing
    file is replaced with `/save --force FILE`, or on a terminal when the user confirms."""
    from sdx.commands.history import conversation_markdown
    from sdx.terminal.named_files import FILE, kind_of, write_named_file

    words = argument.split(maxsplit=1)
    force = bool(words) and words[0] in ("--force", "-f")
    file = (words[1] if len(words) > 1 else "") if force else argument
    if not file:
        raise UsageError("/save needs a file name", "e.g. /save notes.md")
    if not session.conversation.turns:
        raise UsageError("there is nothing to save yet", "ask a question first")
    path = Path(file).expanduser()
    path = path if path.is_absolute() else current().cwd / path
    if not force and session.editor is not None and kind_of(path, file, example="notes.md") == FILE:
        if not confirmed(session, f"{file} exists; replace it? [y/N] "):
            raise UsageError(f"{file} already exists and was left as it is", "choose another file name")
        force = True
    write_named_file(
        path, conversation_markdown(session.conversation), file, force=force, force_hint=f"/save --force {file}"
    )
    say(f"sdx: saved {_count(len(session.conversation.turns), 'turn')} to {file}")


def confirmed(session: ChatSession, question: str) -> bool:
    if session.editor is None:
        return False
    try:
        return session.editor.ask(question).strip().lower() in ("y", "yes")
    except (KeyboardInterrupt, EOFError):
        return False


def recent_conversations(_session: ChatSession, _argument: str) -> None:
    from sdx.commands.history import history_table, short_ids
    from sdx.store.history import History, history_path

    if not history_path().exists():  # opening would create it, even with --no-log
        say("sdx: no conversations yet")
        return
    with History.open() as history:
        summaries = history.list(limit=HISTORY_ROWS)
        ids = history.all_ids() if summaries else []
    if not summaries:
        say("sdx: no conversations yet")
        return
    env = current()
    for line in history_table(summaries, short_ids(ids), graded=False):
        say(sanitize_for_terminal(line) if env.stderr_isatty else line)


COMMANDS: dict[str, Callable[[ChatSession, str], None]] = {
    "/help": show_help,
    "/model": switch_model,
    "/context": set_context,
    "/new": fresh_conversation,
    "/save": save_conversation,
    "/history": recent_conversations,
}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
