"""Lines that fit the terminal's width: wrapped or shortened at word and ` · ` boundaries, never mid-word."""

from __future__ import annotations

import textwrap

SEPARATOR = " · "


def fit_parts(parts: list[str], width: int) -> str:
    """As many of `parts` (most important first) as fit in `width` columns, joined by ` · `; the first one alone is
    cut at a word, with `…`, when even it does not fit."""
    line = ""
    for part in parts:
        candidate = f"{line}{SEPARATOR}{part}" if line else part
        if len(candidate) > width:
            break
        line = candidate
    return line or shorten(parts[0] if parts else "", width)


def shorten(text: str, width: int) -> str:
    """`text` cut at the last whole word that fits in `width` columns, with `…`."""
    if len(text) <= width:
        return text
    cut = text[: max(width - 1, 0)]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def wrap_parts(parts: list[str], width: int, prefix: str = "", indent: str = "") -> list[str]:
    """`parts` joined by ` · ` on as few lines of `width` columns as they take, each line broken only between
    parts (or, for a part longer than a line, between its words); the first line starts with `prefix`, the
    others with `indent`."""
    lines: list[str] = []
    line = prefix
    for part in parts:
        joined = f"{line}{SEPARATOR}{part}" if line not in (prefix, indent) else f"{line}{part}"
        if len(joined) <= width:
            line = joined
            continue
        if line not in (prefix, indent):
            lines.append(line)
        pieces = wrap(part, width, indent if lines else prefix, indent)
        lines.extend(pieces[:-1])
        line = pieces[-1]
    lines.append(line)
    return lines


def wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """`text` wrapped to `width` at spaces only: a word longer than a line stays whole on its own line."""
    return textwrap.wrap(
        text,
        width=max(width, len(first) + 1),
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first]
