"""A Mermaid diagram drawn for a terminal, or, when it cannot be drawn right, the source and a list of its edges.

The diagram is parsed (`sdx.domain.diagram`), turned into D2 by sdx, and drawn by d2's text renderer: Unicode
box drawing, or plain ASCII for a terminal whose encoding lacks it. d2's text output is young and sometimes
overprints a border or merges two boxes, so every drawing is checked before it is shown: each node's label inside
an intact box with nothing else in it (a label of several lines, from `<br>`, line by line in order), every
container's and edge's label present, one arrowhead per arrow, and every arrow and line joining the boxes of its
edge (`sdx.terminal.traced_edges` follows each back along its line). A drawing wider than the terminal is tried in the
other direction (top-down for left-right, and back). d2 garbles subgraphs often (an edge or its label over the
group's title, a group's border broken): when both directions fail and no edge starts or ends at a subgraph, the
nodes are drawn ungrouped, checked the same way, and the groups listed under the drawing (`Storage: Cache, URL
DB`). What fails all of this is not drawn: a wrong drawing is worse than none. Labels a terminal may not lay out
cell for cell (wide characters, combining marks, right-to-left text, or characters the encoding lacks) are not
drawn either.

`start_drawing` returns at once; `PendingDrawing.done()` says, without waiting, whether the result is ready, and
`result()` waits for it (each d2 run is bounded by its time limit).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from sdx.domain.diagram import (
    Graph,
    edge_list,
    group_lines,
    parse_mermaid,
    styled_edge_lines,
    to_d2,
    without_containers,
)
from sdx.terminal import d2
from sdx.terminal.traced_edges import LABEL, Box, traced_problem

MAX_NODES = 80  # more than fits a terminal in either direction: not worth d2's time
GROUPS = "Groups (drawn without their boxes):"  # above the list of subgraphs, under a drawing made without them
NOT_DRAWN = "diagram not drawn: "  # how a Drawing's reason begins
STYLED = "Drawn as plain lines:"  # above the list of dotted and thick edges (d2's text renderer draws no styles)
_OTHER_DIRECTION = {"TD": "LR", "BT": "LR", "LR": "TD", "RL": "TD"}


@dataclass(frozen=True)
class _Glyphs:
    corners: str  # top-left, top-right, bottom-left, bottom-right
    horizontal: str
    vertical: str
    arrowheads: str


_EXTENDED = _Glyphs("┌┐└┘", "─", "│", "▼▲◀▶")
_STANDARD = _Glyphs("++++", "-", "|", "v^<>")


@dataclass(frozen=True)
class Drawing:
    """The outcome for one diagram: `text` is the drawing, or None; then `reason` says why (one line) and `edges`
    lists the edges (empty when the diagram did not parse)."""

    source: str
    text: str | None
    edges: list[str] = field(default_factory=list)
    reason: str = ""
    repairs: list[str] = field(default_factory=list)


class PendingDrawing:
    """A drawing under way: d2 runs while the caller goes on."""

    def __init__(self, source: str, columns: int | None, ascii_mode: str, encoding: str, timeout: float) -> None:
        self.source = source
        self._columns = columns
        self._ascii_mode = ascii_mode
        self._timeout = timeout
        self._outcome: Drawing | None = None
        self._job: d2.D2Job | None = None
        self._attempts: list[tuple[Graph, str]] = []  # the graph to draw (with its subgraphs, or without) and how
        self._drawn: Graph | None = None  # the graph of the attempt under way
        self._graph: Graph | None = None
        self._repairs: list[str] = []
        self._first_reason = ""
        self._begin(encoding)

    def done(self) -> bool:
        while self._outcome is None:
            assert self._job is not None
            if not self._job.done():
                return False
            self._collect()
        return True

    def result(self) -> Drawing:
        while self._outcome is None:
            self._collect()
        return self._outcome

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _begin(self, encoding: str) -> None:
        parsed = parse_mermaid(self.source)
        self._repairs = parsed.repairs
        if parsed.graph is None:
            more = f" (and {len(parsed.errors) - 1} more)" if len(parsed.errors) > 1 else ""
            self._outcome = Drawing(self.source, None, [], f"{NOT_DRAWN}{parsed.errors[0]}{more}")
            return
        self._graph = parsed.graph
        problem = _undrawable(parsed.graph, self._ascii_mode, encoding)
        if problem:
            self._fall_back(problem)
            return
        directions = [parsed.graph.direction, _OTHER_DIRECTION[parsed.graph.direction]]
        self._attempts = [(parsed.graph, direction) for direction in directions]
        flat = without_containers(parsed.graph)
        if flat is not None:  # d2 often garbles subgraphs: then the nodes ungrouped, the groups listed below
            self._attempts += [(flat, direction) for direction in directions]
        self._start_next()

    def _start_next(self) -> None:
        self._drawn, direction = self._attempts.pop(0)
        try:
            self._job = d2.start(
                to_d2(self._drawn, direction, for_text=True), "txt", ascii_mode=self._ascii_mode, timeout=self._timeout
            )
        except d2.D2Failure as failure:
            self._fall_back(str(failure))

    def _collect(self) -> None:
        assert self._job is not None and self._graph is not None
        try:
            text = d2.decode_text(self._job.result())
        except d2.D2Failure as failure:
            self._fall_back(str(failure))
            return
        assert self._drawn is not None
        glyphs = _STANDARD if self._ascii_mode == "standard" else _EXTENDED
        problem = check_drawing(text, self._drawn, glyphs)
        if not problem and self._drawn is not self._graph:
            text += _listed(GROUPS, group_lines(self._graph))
        if not problem and (styled := styled_edge_lines(self._graph)):
            text += _listed(STYLED, styled)
        width = max((len(line) for line in text.splitlines()), default=0)
        if not problem and self._columns is not None and width > self._columns:
            problem = f"too wide for {self._columns} columns"
        if not problem:
            self._outcome = Drawing(self.source, text, edge_list(self._graph), "", self._repairs)
            return
        self._first_reason = self._first_reason or problem
        if self._attempts:
            self._start_next()
        else:
            self._fall_back(self._first_reason)

    def _fall_back(self, reason: str) -> None:
        assert self._graph is not None
        self._outcome = Drawing(self.source, None, edge_list(self._graph), f"{NOT_DRAWN}{reason}", self._repairs)


def _listed(title: str, lines: list[str]) -> str:
    """A list under the drawing: a blank line, its title, its lines indented."""
    return "".join(f"\n{line}" for line in [title, *(f"  {line}" for line in lines)]) + "\n"


def start_drawing(
    source: str,
    *,
    columns: int | None,
    ascii_mode: str = "extended",
    encoding: str = "utf-8",
    timeout: float = d2.DEFAULT_TIMEOUT,
) -> PendingDrawing:
    """Starts drawing the Mermaid `source` to fit `columns` (None: any width)."""
    return PendingDrawing(source, columns, ascii_mode, encoding, timeout)


def draw(
    source: str,
    *,
    columns: int | None,
    ascii_mode: str = "extended",
    encoding: str = "utf-8",
    timeout: float = d2.DEFAULT_TIMEOUT,
) -> Drawing:
    return start_drawing(source, columns=columns, ascii_mode=ascii_mode, encoding=encoding, timeout=timeout).result()


def ascii_mode_for(encoding: str | None) -> str:
    """Unicode box drawing for a UTF terminal, plain ASCII for any other."""
    return "extended" if (encoding or "").lower().replace("-", "").startswith("utf") else "standard"


def _undrawable(graph: Graph, ascii_mode: str, encoding: str) -> str:
    """Why the graph cannot be drawn right on a terminal, or ""."""
    if len(graph.nodes) > MAX_NODES:
        return f"too big for a terminal ({len(graph.nodes)} nodes)"
    labels = [node.label for node in graph.nodes.values()]
    labels += [container.label for container in graph.containers.values()]
    labels += [edge.label for edge in graph.edges]
    for label in labels:
        for char in label:
            if unicodedata.bidirectional(char) in ("R", "AL"):
                return "a label has right-to-left text"
            if unicodedata.east_asian_width(char) in "WF" or unicodedata.category(char) in ("Mn", "Me", "Cf"):
                return "a label has characters that are not one column wide"
        if ascii_mode == "standard":
            try:
                label.encode(encoding)
            except (UnicodeEncodeError, LookupError):
                return "a label has characters this terminal cannot show"
    return ""


def check_drawing(text: str, graph: Graph, glyphs: _Glyphs = _EXTENDED) -> str:
    """What is wrong with d2's drawing of `graph`, or "": a node's label not inside an intact box, a container's
    or edge's label missing, the arrowheads not one per arrow, or an arrow or line that does not join the boxes of
    its edge (`traced_edges`)."""
    rows = text.splitlines()
    width = max((len(row) for row in rows), default=0)
    rows = [row.ljust(width) for row in rows]
    wanted: dict[str, int] = {}
    for node in graph.nodes.values():
        wanted[node.label] = wanted.get(node.label, 0) + 1
    nodes: list[Box] = []
    for label, count in wanted.items():
        boxes = _boxes_around(rows, label, glyphs)
        if len(boxes) < count:
            return f"d2 did not draw the box of {label!r} intact"
        nodes += boxes
    groups: list[Box] = []
    for container in graph.containers.values():
        boxes = _boxes_around(rows, container.label, glyphs, whole=False)
        if not boxes:
            return f"d2 did not draw the group {container.label!r} intact"
        groups += boxes
    for label in [edge.label for edge in graph.edges]:
        if label and not _find_label(rows, label):
            return f"d2 did not draw the label {label!r}"
    expected = sum({"forward": 1, "both": 2, "none": 0}[edge.arrow] for edge in graph.edges)
    masked = _masked(rows, graph, nodes + groups)
    found = sum(row.count(head) for row in masked for head in glyphs.arrowheads)
    if found != expected:
        return f"d2 drew {found} arrowheads for {expected} arrows"
    arrows, lines = _joined(graph)
    return traced_problem(masked, nodes, groups, arrows, lines)


def _joined(graph: Graph) -> tuple[Counter[tuple[str, str]], Counter[frozenset[str]]]:
    """The (source, target) labels each arrowhead of the graph joins, and the label pairs of its headless lines."""
    labels = {node.id: node.label for node in graph.nodes.values()}
    labels |= {container.id: container.label for container in graph.containers.values()}
    arrows: Counter[tuple[str, str]] = Counter()
    lines: Counter[frozenset[str]] = Counter()
    for edge in graph.edges:
        source, target = labels[edge.source], labels[edge.target]
        if edge.arrow == "none":
            lines[frozenset((source, target))] += 1
            continue
        arrows[(source, target)] += 1
        if edge.arrow == "both":
            arrows[(target, source)] += 1
    return arrows, lines


def _boxes_around(rows: list[str], label: str, glyphs: _Glyphs, whole: bool = True) -> list[Box]:
    """The boxes holding an occurrence of `label` whose corners and sides are intact, each of its lines on a row
    of its own inside the box, one below the other. With `whole` (a node) the box's top and bottom borders are
    intact too and nothing but the label is inside it; without (a group) edges may cross its borders and the
    group's nodes sit inside it."""
    first, *rest = label.split("\n")
    found = []
    pattern = re.compile(re.escape(first))
    for y, row in enumerate(rows):
        if first not in row:
            continue
        for match in pattern.finditer(row):
            box = _intact_box(rows, y, match.start(), match.end(), glyphs, whole)
            if box is not None and _lines_inside(rows, box, y, rest, whole):
                left, right, top, bottom = box
                found.append(Box(label, top, left, bottom, right, range(y, y + 1 + len(rest))))
    return found


def _intact_box(
    rows: list[str], y: int, start: int, end: int, glyphs: _Glyphs, whole: bool
) -> tuple[int, int, int, int] | None:
    """The box (left, right, top, bottom) around the text at `start:end` of row `y`, alone on its row inside it,
    when its corners, its sides and (with `whole`) its top and bottom borders are intact."""
    row = rows[y]
    left = start - 1
    while left >= 0 and row[left] == " ":
        left -= 1
    right = end
    while right < len(row) and row[right] == " ":
        right += 1
    if left < 0 or right >= len(row) or row[left] != glyphs.vertical or row[right] != glyphs.vertical:
        return None
    top, bottom = y - 1, y + 1
    while top >= 0 and rows[top][left] == glyphs.vertical == rows[top][right]:
        top -= 1
    while bottom < len(rows) and rows[bottom][left] == glyphs.vertical == rows[bottom][right]:
        bottom += 1
    if top < 0 or bottom >= len(rows):
        return None
    top_left, top_right, bottom_left, bottom_right = glyphs.corners
    border = glyphs.horizontal * (right - left - 1)
    corners = (rows[top][left], rows[top][right], rows[bottom][left], rows[bottom][right])
    borders = not whole or rows[top][left + 1 : right] == border == rows[bottom][left + 1 : right]
    return (
        (left, right, top, bottom) if corners == (top_left, top_right, bottom_left, bottom_right) and borders else None
    )


def _lines_inside(rows: list[str], box: tuple[int, int, int, int], y: int, rest: list[str], whole: bool) -> bool:
    """Whether the label's other lines are alone on the rows below its first inside the box, and (with `whole`)
    every other row inside the box is empty."""
    left, right, top, bottom = box
    if y + len(rest) >= bottom:
        return False
    if any(rows[y + 1 + index][left + 1 : right].strip() != line for index, line in enumerate(rest)):
        return False
    label_rows = range(y, y + 1 + len(rest))
    return not whole or all(
        not rows[other][left + 1 : right].strip() for other in range(top + 1, bottom) if other not in label_rows
    )


def _label_pattern(label: str) -> re.Pattern[str]:
    """A label as d2 may write it along an edge, its spaces drawn as line."""
    return re.compile(r"[ ─-]".join(re.escape(word) for word in label.split(" ")))


def _find_label(rows: list[str], label: str) -> bool:
    """Whether the label is drawn: its first line somewhere, and each other line below it, starting in the same
    column (d2 writes an edge's label left-aligned)."""
    first, *rest = [_label_pattern(line) for line in label.split("\n")]
    for y, row in enumerate(rows):
        for match in first.finditer(row):
            x = match.start()
            if all(
                y + 1 + index < len(rows) and pattern.match(rows[y + 1 + index], x)
                for index, pattern in enumerate(rest)
            ):
                return True
    return False


def _masked(rows: list[str], graph: Graph, boxes: list[Box]) -> list[str]:
    """The rows with the labels of nodes and groups blanked out and every edge label's cells marked LABEL, so
    that a `v` or `>` in a label is not taken for an arrowhead, and a line is followed across an edge's label."""
    cells = [list(row) for row in rows]
    for box in boxes:
        for y in box.label_rows:
            cells[y][box.left + 1 : box.right] = " " * (box.right - box.left - 1)
    edge_lines = {line for edge in graph.edges if edge.label for line in edge.label.split("\n")}
    patterns = [_label_pattern(line) for line in sorted(edge_lines, key=len, reverse=True)]
    masked = []
    for row in ["".join(row) for row in cells]:
        for pattern in patterns:
            row = pattern.sub(lambda match: LABEL * len(match.group()), row)
        masked.append(row)
    return masked
