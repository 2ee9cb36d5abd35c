"""`/diagram` in `sdx interview`: the candidate's own architecture diagram, in the subset the model writes.

The candidate types or pastes a Mermaid flowchart after `/diagram` and ends it with a line `/end` (or end of
input). An empty line does not end it: a pasted diagram may hold blank lines, and a paste arrives whole anyway.
sdx reads it with the parser that reads the model's diagrams and draws it on stderr as it draws theirs
(`sdx.terminal.drawing`: checked, fitted to the terminal, else the edge list; stdout belongs to the interviewer's
replies); when it does not parse, the errors say what to fix and nothing is kept. A diagram that
parses waits for the candidate's next message and goes with it as a ```mermaid block, so it is in the stored
transcript, word for word, and the grade can quote it. A later `/diagram` replaces one not yet sent; one still
waiting when the interview ends is sent on its own, before grading.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sdx.domain.diagram import ParsedDiagram, parse_mermaid
from sdx.environment import current
from sdx.terminal.drawing import ascii_mode_for, draw
from sdx.terminal.prompt_input import TimeUp
from sdx.terminal.render import sanitize_for_terminal, say

END = "/end"
PROMPT = "diagram› "
ON_ITS_OWN = "Here is my diagram."  # the message a diagram goes with when the interview ends before another
HOW = (
    "sdx: type or paste your diagram, then a line /end: e.g. flowchart LR, then "
    'client["Client"] --> api["API"] and api --> db[("DB")]'
)
_BACKTICKS = re.compile(r"`{3,}")


def read_diagram(first: str, read: Callable[[], str]) -> str | None:
    """The diagram's source: what came after `/diagram` (a paste can bring it all), then more lines until one is
    `/end`. End of input or the clock running out ends it too; Ctrl-C (KeyboardInterrupt) drops it."""
    lines = first.splitlines()
    if not any(line.strip() for line in lines):
        say(HOW)
    while True:
        for index, line in enumerate(lines):
            if line.strip() == END:
                return _source(lines[:index])
        try:
            lines.extend(read().splitlines() or [""])
        except (EOFError, TimeUp):
            return _source(lines)


def _source(lines: list[str]) -> str | None:
    text = "\n".join(lines).strip("\n")
    return text if text.strip() else None


def take(source: str) -> ParsedDiagram:
    """Read the candidate's diagram and show it: the drawing, or its edges, or what keeps it from being read."""
    parsed = parse_mermaid(source)
    if parsed.graph is None:
        for error in parsed.errors:
            say(f"sdx: {sanitize_for_terminal(error)}")
        say("sdx: the diagram was not kept: fix it and send /diagram again")
        return parsed
    for repair in parsed.repairs:
        say(f"sdx: read as you meant it: {sanitize_for_terminal(repair)}")
    env = current()
    encoding = getattr(env.stderr, "encoding", None) or "utf-8"
    columns = env.terminal_size()[0] if env.stderr_isatty else None
    drawn = draw(source, columns=columns, ascii_mode=ascii_mode_for(encoding), encoding=encoding)
    if drawn.text is not None:
        say(sanitize_for_terminal(drawn.text.rstrip("\n")))
    else:
        say(f"sdx: {sanitize_for_terminal(drawn.reason)}; its edges as sdx reads them:")
        for line in drawn.edges or ["(no edges)"]:
            say(f"  {sanitize_for_terminal(line)}")
    say("sdx: the diagram goes to the interviewer with your next message")
    return parsed


def with_diagram(message: str, source: str) -> str:
    """The candidate's message with their diagram after it, as a Markdown mermaid block (a fence longer than any
    run of backticks inside, so the block cannot end early)."""
    longest = max((len(run) for run in _BACKTICKS.findall(source)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{message}\n\n{fence}mermaid\n{source}\n{fence}"
