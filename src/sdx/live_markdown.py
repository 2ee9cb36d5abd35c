"""Markdown rendered live on a terminal while the answer streams in.

This first version redraws the whole answer in a throttled Rich `Live`; it is replaced by a block-by-block
renderer whose cost stays linear in the answer's length.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown


class LiveMarkdown:
    """Feed text with `feed`; leaving the `with` block (normally or by an exception) draws the final state."""

    def __init__(self, console: Console, refresh_per_second: float = 10.0) -> None:
        self.console = console
        self.text = ""
        self._live = Live(console=console, refresh_per_second=refresh_per_second, vertical_overflow="visible")

    def __enter__(self) -> LiveMarkdown:
        self._live.__enter__()
        return self

    def feed(self, text: str) -> None:
        self.text += text
        self._live.update(Markdown(self.text))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.update(Markdown(self.text), refresh=True)
        self._live.__exit__(exc_type, exc, tb)
