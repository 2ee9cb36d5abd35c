"""The line editor of the interactive commands (`sdx chat`, `sdx interview`): prompt-toolkit, drawn on stderr.

Enter sends; Esc-Enter (Alt-Enter in most terminals) inserts a new line, and a bracketed paste is inserted whole,
newlines included. The first prompt shows the keys as a grey placeholder. Input history is kept in memory, or
in a private file (0600 in a 0700 directory) when one is given. Input and output take turns: the editor owns the
terminal only while it reads a line, so answers are printed by Rich between two `read` calls (no
`patch_stdout`, which would strip the answer's escape sequences).

SIGTERM and SIGHUP (a closed terminal window) end a prompt through prompt-toolkit's own event loop: the prompt
raises `Terminated` once the terminal is restored. Raised from the signal handler itself, as elsewhere in sdx,
the exception could land inside one of the loop's callbacks (handling a burst of keys, say), where asyncio
reports it ("Unhandled exception in event loop … Press ENTER to continue") and carries on.

prompt-toolkit costs about 100 ms to import, so it is imported when the first editor is made.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from sdx.environment import current
from sdx.errors import Terminated
from sdx.terminal.render import say

ENDING_SIGNALS = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]

KEYS_HINT = "Enter sends · Esc-Enter new line · Ctrl-C stops an answer · Ctrl-D or /exit leaves · /help"


class LineEditor:
    """Reads one message at a time from the terminal.

    `read` raises `EOFError` on Ctrl-D (on an empty line) and `KeyboardInterrupt` on Ctrl-C (the line is
    dropped). `toolbar`, when given, is a bottom line redrawn every second (an interview's clock, say).
    """

    def __init__(
        self, history_file: Path | None = None, toolbar: Callable[[], str] | None = None, hint: str = KEYS_HINT
    ) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        history_file = _private_file(history_file) if history_file else None
        self._hint = hint
        self._reads = 0
        self._session: Any = PromptSession(
            history=FileHistory(str(history_file)) if history_file else InMemoryHistory(),
            key_bindings=_key_bindings(),
            bottom_toolbar=toolbar,
            refresh_interval=1.0 if toolbar else 0,
            prompt_continuation=lambda width, _line, _wrap: "…".rjust(width - 1) + " ",
            output=_terminal_output(),
        )

    def read(self, prompt: str, within: float | None = None) -> str:
        """The next message as typed (possibly several lines); the keys' hint shows in the first prompt.

        With `within` (seconds), a message not sent by then is dropped and `TimeUp` raised (an interview's clock).
        """
        from prompt_toolkit.formatted_text import FormattedText

        from sdx.terminal.fit import SEPARATOR, fit_parts

        first = self._reads == 0 and self._hint
        self._reads += 1
        hint = fit_parts(self._hint.split(SEPARATOR), current().terminal_size()[0] - len(prompt) - 1)
        # prompt() keeps what it is given for the next calls: the later prompts need an explicit empty placeholder
        placeholder = FormattedText([("fg:ansibrightblack", hint)] if first else [])
        deadline = _deadline(within)

        def read_line(signals: Callable[[], None]) -> str:
            def pre_run() -> None:
                signals()
                if deadline is not None:
                    deadline()

            return self._session.prompt(prompt, placeholder=placeholder, pre_run=pre_run)

        return _ended_by_signals(read_line)

    def ask(self, question: str) -> str:
        """A one-off answer (`[y/N]`): read like a message, but never kept in the input history."""
        from prompt_toolkit import PromptSession

        session = PromptSession(output=self._session.output)
        return _ended_by_signals(lambda signals: session.prompt(question, pre_run=signals))


def _ended_by_signals(prompt: Callable[[Callable[[], None]], str]) -> str:
    """Run `prompt` (given the `pre_run` hook to pass on) with SIGTERM and SIGHUP ending it as `Terminated`.

    While it runs, a signal only asks the running prompt's event loop to exit with `Terminated` (or, when no
    prompt is running yet, the hook does so as soon as one is); a signal after the prompt ended is raised after.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return prompt(lambda: None)
    from prompt_toolkit.application import get_app

    caught: list[int] = []
    running: list[Any] = []  # the prompt's application, once its loop runs

    def end(app: Any) -> None:
        if app.is_running and app.future is not None and not app.future.done():
            app.exit(exception=Terminated(caught[0]))

    def on_signal(signum: int, _frame: object) -> None:
        caught.append(signum)
        if running and running[0].loop is not None:
            with suppress(RuntimeError):  # the loop closed meanwhile: raised below, once the prompt returns
                running[0].loop.call_soon_threadsafe(end, running[0])

    def started() -> None:
        running.append(get_app())
        if caught:
            end(running[0])

    previous = {signum: signal.signal(signum, on_signal) for signum in ENDING_SIGNALS}
    try:
        line = prompt(started)
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
    if caught:
        raise Terminated(caught[0])
    return line


class TimeUp(Exception):
    """The time given to `LineEditor.read` ran out before the message was sent."""


def _deadline(within: float | None) -> Callable[[], None] | None:
    """A `pre_run` that ends the prompt with `TimeUp` after `within` seconds (on the prompt's own event loop)."""
    if within is None:
        return None

    def schedule() -> None:
        from prompt_toolkit.application import get_app

        app = get_app()
        if app.loop is not None:
            app.loop.call_later(max(within, 0.0), lambda: app.is_running and app.exit(exception=TimeUp()))

    return schedule


def _key_bindings() -> Any:
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


def _terminal_output() -> Any:
    """Draw on stderr when it is the terminal (stdout is the answers'), else on stdout."""
    from prompt_toolkit.output import create_output

    env = current()
    return create_output(stdout=env.stderr if env.stderr_isatty or not env.stdout_isatty else env.stdout)


def _private_file(path: Path) -> Path | None:
    """Create the history file readable by its owner only; None (history in memory) when that fails."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        return path
    except OSError as exc:
        say(f"sdx: warning: input history is not kept ({path}: {exc.strerror or exc})")
        return None
