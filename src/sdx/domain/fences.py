"""Markdown code fences (```` ``` ```` or `~~~`, CommonMark's rules): whether a text ends inside one.

An answer cut off at the token limit, or interrupted, often stops inside a code block; whatever sdx writes after
it (a note, a trailer) would then be swallowed by the block when the Markdown is rendered.
"""

from __future__ import annotations

import re

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def open_fence(text: str) -> str:
    """The fence marker that `text` leaves open (to write on a line of its own after it), or "" when none is."""
    open_marker = ""
    for line in text.splitlines():
        match = FENCE.match(line)
        if match is None:
            continue
        marker = match.group(1)
        if not open_marker:
            open_marker = marker
        elif marker[0] == open_marker[0] and len(marker) >= len(open_marker) and not line.strip()[len(marker) :]:
            open_marker = ""
    return open_marker


def closed_fences(text: str) -> str:
    """`text`, with the fence it leaves open closed."""
    marker = open_fence(text)
    return f"{text}\n{marker}" if marker else text
