"""Which boxes the arrows of a text drawing join, read back from the drawing itself.

Boxes and labels in place are not enough: d2's text renderer can route an arrow to the wrong box, or merge two
arrows into one line so that it cannot be told which box goes where. So each arrowhead is followed back along its
line (through corners, over crossings and edge labels, across a group's border) to the box it leaves; a line that
ends in nothing, or that forks towards two boxes, is a drawing that cannot be read. Lines without arrowheads
(`---`) are read as the paths left over once every arrow is traced: each must join two boxes. What is found is
compared with the graph's edges by their boxes' labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

Cell = tuple[int, int]
Step = tuple[int, int]
UP, DOWN, LEFT, RIGHT = (-1, 0), (1, 0), (0, -1), (0, 1)
_LINKS: dict[str, frozenset[Step]] = {
    "─": frozenset({LEFT, RIGHT}),
    "│": frozenset({UP, DOWN}),
    "┌": frozenset({RIGHT, DOWN}),
    "┐": frozenset({LEFT, DOWN}),
    "└": frozenset({UP, RIGHT}),
    "┘": frozenset({UP, LEFT}),
    "├": frozenset({UP, DOWN, RIGHT}),
    "┤": frozenset({UP, DOWN, LEFT}),
    "┬": frozenset({LEFT, RIGHT, DOWN}),
    "┴": frozenset({LEFT, RIGHT, UP}),
    "┼": frozenset({UP, DOWN, LEFT, RIGHT}),
    "-": frozenset({LEFT, RIGHT}),
    "|": frozenset({UP, DOWN}),
}
HEADS: dict[str, Step] = {"▼": DOWN, "▲": UP, "◀": LEFT, "▶": RIGHT, "v": DOWN, "^": UP, "<": LEFT, ">": RIGHT}
LABEL = "\0"  # an edge label's cell in the rows given: a line passes straight over it


@dataclass(frozen=True)
class Box:
    """A drawn box (a node's, or a group's) by its border: rows top..bottom, columns left..right."""

    label: str
    top: int
    left: int
    bottom: int
    right: int
    label_rows: range  # where the label is written inside the box

    def border(self) -> list[Cell]:
        across = [(y, x) for y in (self.top, self.bottom) for x in range(self.left, self.right + 1)]
        return across + [(y, x) for y in range(self.top + 1, self.bottom) for x in (self.left, self.right)]

    def inside(self) -> list[Cell]:
        return [(y, x) for y in range(self.top + 1, self.bottom) for x in range(self.left + 1, self.right)]


class Unreadable(Exception):
    """The drawing's lines cannot be read back to the boxes they join: the message says where."""


def traced_problem(
    rows: list[str],
    nodes: list[Box],
    groups: list[Box],
    arrows: Counter[tuple[str, str]],
    lines: Counter[frozenset[str]],
) -> str:
    """What is wrong with the arrows of the drawing `rows` (labels blanked, edge labels as LABEL), or "": `arrows`
    are the (source, target) labels the graph's arrowheads should join, `lines` the pairs joined by lines without
    arrowheads."""
    drawing = _Drawing(rows, nodes, groups)
    try:
        found_arrows = Counter(drawing.trace(head) for head in drawing.heads())
        found_lines = drawing.headless_lines()
    except Unreadable as exc:
        return str(exc)
    for source, target in found_arrows - arrows:
        return f"d2 drew an arrow from {source!r} to {target!r} that is not in the diagram"
    for source, target in arrows - found_arrows:
        return f"d2 did not draw the arrow from {source!r} to {target!r}"
    if found_lines != lines:
        return "d2 did not draw the lines without arrowheads between their boxes"
    return ""


class _Drawing:
    def __init__(self, rows: list[str], nodes: list[Box], groups: list[Box]) -> None:
        self.rows = rows
        self.node_at: dict[Cell, str] = {cell: box.label for box in nodes for cell in box.border()}
        self.group_at: dict[Cell, str] = {cell: box.label for box in groups for cell in box.border()}
        self.interior = {cell for box in nodes for cell in box.inside()}
        self.visited: set[Cell] = set()

    def char(self, cell: Cell) -> str:
        y, x = cell
        return self.rows[y][x] if 0 <= y < len(self.rows) and 0 <= x < len(self.rows[y]) else " "

    def heads(self) -> list[Cell]:
        return [
            (y, x)
            for y, row in enumerate(self.rows)
            for x, char in enumerate(row)
            if char in HEADS and (y, x) not in self.interior and (y, x) not in self.node_at
        ]

    def pointed_at(self, head: Cell) -> str:
        """The box an arrowhead points into: next to it, or one blank cell away."""
        step = HEADS[self.char(head)]
        cell = _moved(head, step)
        if cell not in self.node_at and cell not in self.group_at and self.char(cell) == " ":
            cell = _moved(cell, step)
        if cell in self.node_at:
            return self.node_at[cell]
        if cell in self.group_at:
            return self.group_at[cell]
        raise Unreadable(f"d2 drew an arrowhead that points at no box (row {head[0] + 1})")

    def trace(self, head: Cell) -> tuple[str, str]:
        """(source, target) of the arrow ending in `head`: its line followed back to the one box it leaves."""
        target = self.pointed_at(head)
        self.visited.add(head)
        back = _reverse(HEADS[self.char(head)])
        sources = self._follow([(_moved(head, back), back)], target)
        if not sources:  # the line runs in a loop
            raise Unreadable(f"d2 drew a line into {target!r} that starts nowhere (row {head[0] + 1})")
        if len(sources) > 1:
            names = " and ".join(repr(source) for source in sorted(sources))
            raise Unreadable(f"d2 drew one line from {names} into {target!r}: which box it comes from is unclear")
        return sources.pop(), target

    def _follow(self, frontier: list[tuple[Cell, Step]], target: str) -> set[str]:
        """The boxes reached from `frontier` (cells entered moving in a direction), along lines; a line that ends in
        nothing is unreadable."""
        sources: set[str] = set()
        seen: set[tuple[Cell, Step]] = set()
        while frontier:
            cell, step = frontier.pop()
            if (cell, step) in seen:
                continue
            seen.add((cell, step))
            char = self.char(cell)
            if cell in self.node_at:
                sources.add(self.node_at[cell])
                continue
            self.visited.add(cell)
            if char in HEADS:  # the far end of a two-headed arrow
                sources.add(self.pointed_at(cell))
                continue
            links = self._links(cell)
            if char == LABEL or len(links) == 4 or self._crossed(cell, step):  # over a label, or a crossing
                frontier.append((_moved(cell, step), step))
                continue
            if cell in self.group_at and _reverse(step) not in links:
                frontier.append(self._across_group_border(cell, step, sources))
                continue
            if _reverse(step) not in links:
                sources.add(self._hugged(_moved(cell, _reverse(step)), target))
                continue
            frontier += [(_moved(cell, out), out) for out in links - {_reverse(step)}]
        return sources

    def _hugged(self, end: Cell, target: str) -> str:
        """The box a line ending at `end` without touching a box runs along: d2 sometimes starts a line beside its
        box's border rather than on it. Beside no box, or beside two, the line starts nowhere."""
        if self.char(end) in HEADS:  # no line at all behind the arrowhead
            raise Unreadable(f"d2 drew an arrowhead into {target!r} with no line behind it (row {end[0] + 1})")
        beside = {self.node_at[near] for step in (UP, DOWN, LEFT, RIGHT) if (near := _moved(end, step)) in self.node_at}
        if len(beside) != 1:
            raise Unreadable(f"d2 drew a line into {target!r} that starts nowhere (row {end[0] + 1})")
        return beside.pop()

    def _crossed(self, cell: Cell, step: Step) -> bool:
        """Whether a line moving by `step` crosses a line d2 drew over it: a straight glyph across its way, with
        the line going on beyond it."""
        links = self._links(cell)
        if len(links) != 2 or step in links or not _straight(links):
            return False
        return self._joins(_moved(cell, step), step)

    def _across_group_border(self, cell: Cell, step: Step, sources: set[str]) -> tuple[Cell, Step]:
        """A line meeting a group's border either crosses it or ends at the group (an edge from a subgraph)."""
        beyond = _moved(cell, step)
        if self.char(beyond) == " " and beyond not in self.node_at:
            sources.add(self.group_at[cell])
        return beyond, step

    def _links(self, cell: Cell) -> frozenset[Step]:
        """The directions a line glyph joins; an ASCII `+` joins the neighbours that are lines towards it."""
        char = self.char(cell)
        if char != "+":
            return _LINKS.get(char, frozenset())
        if cell in self.node_at or cell in self.group_at:
            return frozenset()
        return frozenset(step for step in (UP, DOWN, LEFT, RIGHT) if self._joins(_moved(cell, step), step))

    def _joins(self, cell: Cell, step: Step) -> bool:
        char = self.char(cell)
        if char in ("+", LABEL) and cell not in self.node_at:
            return True
        if char in HEADS:
            return HEADS[char] == step
        return _reverse(step) in _LINKS.get(char, frozenset())

    def headless_lines(self) -> Counter[frozenset[str]]:
        """The boxes each line left untraced joins (call after every arrow is traced)."""
        found: Counter[frozenset[str]] = Counter()
        for y, row in enumerate(self.rows):
            for x, char in enumerate(row):
                cell = (y, x)
                if cell in self.visited or cell in self.node_at or cell in self.group_at or cell in self.interior:
                    continue
                if char in _LINKS or char == "+":
                    found[frozenset(self._line_ends(cell))] += 1
        return found

    def _line_ends(self, start: Cell) -> set[str]:
        """The boxes at the ends of the line through `start`."""
        ends: set[str] = set()
        frontier = [(start, step) for step in self._links(start)]
        self.visited.add(start)
        while frontier:
            cell, step = frontier.pop()
            nxt = _moved(cell, step)
            if nxt in self.node_at:
                ends.add(self.node_at[nxt])
                continue
            if nxt in self.visited:
                continue
            links = self._links(nxt)
            if _reverse(step) not in links and self.char(nxt) != LABEL:
                raise Unreadable(f"d2 drew a line that joins no box (row {nxt[0] + 1})")
            self.visited.add(nxt)
            outs = [step] if self.char(nxt) == LABEL or len(links) == 4 else list(links - {_reverse(step)})
            frontier += [(nxt, out) for out in outs]
        return ends


def _moved(cell: Cell, step: Step) -> Cell:
    return cell[0] + step[0], cell[1] + step[1]


def _straight(links: frozenset[Step]) -> bool:
    """Whether the two directions a glyph joins are opposite (a straight line, not a corner)."""
    first, second = links
    return first == _reverse(second)


def _reverse(step: Step) -> Step:
    return -step[0], -step[1]
