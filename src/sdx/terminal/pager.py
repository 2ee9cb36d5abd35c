"""Long output on a terminal goes through a pager, as git does: `$PAGER` (run by the shell), else `less` with
`LESS=FRX` (quit if it fits on one screen, keep colours, leave the text on the screen) unless `LESS` says
otherwise. `PAGER=` (empty) or `PAGER=cat` means no pager; nothing is paged when stdout is not a terminal, and
output that fits on the screen is printed as it is.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

from sdx.environment import current
from sdx.terminal.render import rendered_markdown

NOT_FOUND = 127  # the shell's status for a command it cannot find


def pager_command(environ: Mapping[str, str]) -> str | None:
    """The pager to run, or None for none."""
    command = environ.get("PAGER")
    if command is None:
        return "less" if shutil.which("less", path=environ.get("PATH")) else None
    command = command.strip()
    return None if command in ("", "cat") else command


def page_markdown(text: str) -> bool:
    """Show `text` rendered as Markdown, through the pager when it is taller than the screen. False when no pager
    is set (the caller prints it as usual); True when it was shown."""
    env = current()
    command = pager_command(env.environ)
    if command is None:
        return False
    rendered = rendered_markdown(text)
    if rendered.count("\n") < env.terminal_size()[1] or not run_pager(command, rendered):
        env.stdout.write(rendered)
        env.stdout.flush()
    return True


def run_pager(command: str, text: str) -> bool:
    """Send `text` to the pager and wait for the user to leave it; False when the pager could not be started."""
    env = current()
    variables = {"LESS": "FRX", "LV": "-c", **env.environ}
    try:
        output = env.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no file descriptor (in-process tests): the pager's own stdout
        output = None
    env.stdout.flush()
    encoding = getattr(env.stdout, "encoding", None) or "utf-8"
    try:
        pager = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=output, env=variables, cwd=env.cwd)
    except OSError:
        return False
    with _interrupts_left_to_the_pager():
        with suppress(BrokenPipeError):  # the user left the pager before reading everything
            assert pager.stdin is not None
            pager.stdin.write(text.encode(encoding, "replace"))
        with suppress(BrokenPipeError):
            pager.stdin.close()
        status = pager.wait()
    return status != NOT_FOUND


@contextmanager
def _interrupts_left_to_the_pager() -> Iterator[None]:
    """Ctrl-C inside `less` is for `less` (it stops a search); sdx waits for the pager to end, as git does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
