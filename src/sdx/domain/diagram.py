"""Architecture diagrams as data: the Mermaid flowchart subset sdx asks models for, parsed into a graph, and the
two things made from a graph: the D2 source sdx generates itself, and a plain list of edges.

The subset (what the prompts document):

    flowchart LR                          direction: TD (= TB), LR, BT or RL; `graph` works as `flowchart`
      client["Mobile app"]                a node with a quoted label: a service (rectangle)
      db[("Orders DB")]                   a database        q[/"Kafka topic"/]     a queue
      cache(("Redis"))                    a cache
      client -->|HTTPS| lb["Load balancer"]   edges, with an optional label (`-- "HTTPS" -->` too)
      subgraph backend["Backend"]         a container, closed by `end`, usable as an edge's endpoint
        api1["API 1"]
      end

Other Mermaid shapes are read as a service, `---` and `<-->` as edges without and with two arrowheads, `-.->`
and `==>` as dotted and thick edges; `classDef`, `style`, `click` and the like are skipped (they draw nothing
sdx shows). Mistakes small models make are repaired where the intent is plain, each repair reported: an
unquoted label with parentheses or brackets (which makes Mermaid itself reject the diagram), `->` for `-->`, a
`subgraph` without its `end`. Anything else is an error, `line N: what is wrong`, and no graph.

Labels are read as Mermaid shows them: its entity codes decoded (`#quot;` is `"`, `#35;` is `#`, `#9829;` is
`♥`: `#` and a decimal number, or an HTML entity's name), and `<br>` (`<br/>`, `<br />`) or a literal `\\n` as
a line break; a label is its lines joined by newlines. Each line is visible text: control characters in caret notation
(ESC as `^[`, as `cat -v` shows them; d2 measures Unicode's control pictures as two columns), C1 controls and bidi
controls as `?`, so no label can drive a terminal or reorder what is around it. A quoted label with quotes inside
it (`["He said "hi""]`, which Mermaid rejects) is read with those quotes when where it ends is plain, and the repair
is reported.

`to_d2` never copies the model's text into D2 syntax: ids are sdx's own (`n1`, `c1`), every label is a quoted
string with `\\`, `"` and `$` escaped and its line breaks as `\\n`, so D2's imports, substitutions, icons and links
cannot be reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.entities import html5

DIRECTIONS = {"TD": "TD", "TB": "TD", "BT": "BT", "LR": "LR", "RL": "RL"}
SHAPES = ("service", "database", "queue", "cache", "decision")

# Mermaid's node shapes, the longest opener first: (opener, closer, shape)
_SHAPE_BRACKETS: tuple[tuple[str, str, str], ...] = (
    ("(((", ")))", "cache"),
    ("[(", ")]", "database"),
    ("[[", "]]", "service"),
    ("[/", "/]", "queue"),
    ("[/", "\\]", "service"),
    ("[\\", "\\]", "service"),
    ("[\\", "/]", "service"),
    ("((", "))", "cache"),
    ("([", "])", "service"),
    ("{{", "}}", "service"),
    ("[", "]", "service"),
    ("(", ")", "service"),
    ("{", "}", "decision"),
    (">", "]", "queue"),
)
_D2_SHAPES = {"database": "cylinder", "queue": "queue", "cache": "oval", "decision": "diamond"}
_D2_DIRECTIONS = {"TD": "down", "LR": "right", "BT": "up", "RL": "left"}
_ARROWS = {"forward": "→", "none": "—", "both": "↔"}

_ID = re.compile(r"\w+(?:[.-]\w+)*")
_HEADER = re.compile(r"(flowchart|graph)(?:\s+(\w+))?\s*;?\s*$", re.IGNORECASE)
_OTHER_DIAGRAMS = re.compile(
    r"(sequenceDiagram|classDiagram|stateDiagram(?:-v2)?|erDiagram|gantt|pie|journey|gitGraph|mindmap|timeline|"
    r"quadrantChart|C4Context|architecture-beta|block-beta|sankey-beta|xychart-beta|requirementDiagram)\b"
)
_SKIPPED = re.compile(r"(classDef|class|style|linkStyle|click|accTitle|accDescr)\b")
# an edge operator: its head, its body (the line style) and its tail; a text label may sit inside (`-- text -->`)
_EDGE = re.compile(r"(?P<head><)?(?P<body>-{2,}(?=>)|-{3,}|-\.+-|={2,}(?=>)|={3,})(?P<tail>>)?")
_TEXT_EDGE = re.compile(
    r"(?P<head><)?(?P<open>--|==|-\.)\s+(?P<text>\"[^\"]*\"|[^\"|]+?)\s+(?P<close>-{2,}>|-{3,}|={2,}>|={3,}|\.-+>|\.-+)"
)
_SINGLE_ARROW = re.compile(r"(?P<head><)?->")
_PIPE_LABEL = re.compile(r"\|(?P<text>\s*\"[^\"]*\"\s*|[^|]*)\|")
_CLASS_SUFFIX = re.compile(r":::[\w-]+")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAK = re.compile(r"<br\s*/?>|\\n", re.IGNORECASE)
_ENTITY = re.compile(r"#(?:(?P<number>\d+)|(?P<name>[A-Za-z][A-Za-z0-9]*));")


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    shape: str = "service"  # one of SHAPES
    container: str | None = None  # the id of the innermost subgraph holding it


@dataclass(frozen=True)
class Container:
    id: str
    label: str
    parent: str | None = None


@dataclass(frozen=True)
class Edge:
    source: str  # a node's or a container's id
    target: str
    label: str = ""
    arrow: str = "forward"  # forward, none (---) or both (<-->)
    line: str = "solid"  # solid, dotted (-.->) or thick (==>)


@dataclass
class Graph:
    direction: str = "TD"  # TD, LR, BT or RL
    nodes: dict[str, Node] = field(default_factory=dict)  # in the order they first appear
    containers: dict[str, Container] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def label(self, ident: str) -> str:
        """The label of a node or a container."""
        item = self.nodes.get(ident) or self.containers.get(ident)
        return item.label if item else ident


@dataclass
class ParsedDiagram:
    graph: Graph | None  # None when there are errors
    errors: list[str] = field(default_factory=list)  # "line N: what is wrong"
    repairs: list[str] = field(default_factory=list)  # "line N: what was repaired"


@dataclass(frozen=True)
class MermaidBlock:
    """A ```mermaid fence in Markdown: its content, and where the whole fence (opening to closing line) lies."""

    source: str
    start: int  # offset of the opening line
    end: int  # offset just after the closing line (or the end of the text, for a fence left open)
    closed: bool


class _Invalid(Exception):
    """A statement that cannot be read; its message is what is wrong."""


def parse_mermaid(source: str) -> ParsedDiagram:
    """The graph a Mermaid flowchart describes, or the errors that keep it from being read."""
    return _Parser().parse(source)


def is_mermaid_flowchart(text: str) -> bool:
    """Whether `text` starts (after blank lines and comments) with a flowchart header: a bare diagram."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("%%"):
            return bool(_HEADER.match(stripped)) or stripped.lower() in ("flowchart", "graph")
    return False


_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*mermaid(?:[ \t][^\n]*)?$", re.MULTILINE)


def mermaid_blocks(markdown: str) -> list[MermaidBlock]:
    """The ```mermaid (or ~~~mermaid) fences of a Markdown text, in order. A fence never closed runs to the end
    of the text, as CommonMark has it."""
    blocks: list[MermaidBlock] = []
    position = 0
    while match := _FENCE_OPEN.search(markdown, position):
        fence = match.group("fence")
        body_start = match.end() + 1
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        close = closing.search(markdown, body_start) if body_start <= len(markdown) else None
        if close is None:
            blocks.append(MermaidBlock(markdown[body_start:], match.start(), len(markdown), closed=False))
            break
        end = min(close.end() + 1, len(markdown))
        blocks.append(MermaidBlock(markdown[body_start : close.start()], match.start(), end, closed=True))
        position = end
    return blocks


# Reading ---------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self) -> None:
        self.graph = Graph()
        self.errors: list[str] = []
        self.repairs: list[str] = []
        self.open: list[tuple[str, int]] = []  # the subgraphs open: (id, line number)
        self.labelled: set[str] = set()  # nodes given a label explicitly
        self.line = 0

    def parse(self, source: str) -> ParsedDiagram:
        header_seen = False
        for number, text in enumerate(source.splitlines(), start=1):
            self.line = number
            stripped = text.strip()
            if not stripped or stripped.startswith("%%"):
                continue
            if not header_seen:
                header_seen = True
                self._header(stripped)
                if self.errors:
                    break
                continue
            for statement in _statements(stripped):
                try:
                    self._statement(statement)
                except _Invalid as invalid:
                    self.errors.append(f"line {number}: {invalid}")
        if not header_seen:
            self.errors.append("line 1: the diagram is empty")
        for ident, number in reversed(self.open):
            self.repairs.append(f"line {number}: closed subgraph {ident!r}, which had no `end`")
        self._resolve_endpoints()
        if not self.errors and not self.graph.nodes and not self.graph.containers:
            self.errors.append(f"line {max(self.line, 1)}: the diagram has no nodes")
        graph = None if self.errors else self.graph
        return ParsedDiagram(graph, self.errors, self.repairs)

    def _header(self, text: str) -> None:
        other = _OTHER_DIAGRAMS.match(text)
        if other:
            self.errors.append(f"line {self.line}: only flowcharts can be drawn, not a {other.group(1)}")
            return
        match = _HEADER.match(text)
        if match is None:
            self.errors.append(f"line {self.line}: a diagram starts with `flowchart TD` or `flowchart LR`")
            return
        direction = (match.group(2) or "TD").upper()
        if direction not in DIRECTIONS:
            self.errors.append(f"line {self.line}: unknown direction {match.group(2)!r} (use TD, LR, BT or RL)")
            return
        self.graph.direction = DIRECTIONS[direction]

    def _statement(self, text: str) -> None:
        keyword = text.split(None, 1)[0]
        if keyword == "subgraph":
            self._subgraph(text[len(keyword) :].strip())
        elif keyword == "end" and text == "end":
            if not self.open:
                raise _Invalid("`end` without a `subgraph` to close")
            self.open.pop()
        elif keyword == "direction":
            if not self.open or text.split(None, 1)[-1].upper() not in DIRECTIONS:
                raise _Invalid(f"unexpected {text!r}")
        elif _SKIPPED.match(text):
            return
        else:
            self._chain(text)

    def _subgraph(self, rest: str) -> None:
        if not rest:
            raise _Invalid('a subgraph needs a name, e.g. `subgraph backend["Backend"]`')
        match = _ID.match(rest)
        if rest.startswith('"'):
            label = _quoted(rest, 0)
            ident = label
        elif match and match.end() < len(rest) and rest[match.end()] == "[":
            ident = match.group()
            inner = rest[match.end() + 1 :].strip()
            if not inner.endswith("]"):
                raise _Invalid(f"expected `]` after the label of subgraph {ident!r}")
            inner = inner[:-1].strip()
            label = _quoted(inner, 0) if inner.startswith('"') else inner
        else:
            ident = label = rest
        if ident in self.graph.containers:
            raise _Invalid(f"subgraph {ident!r} is defined twice")
        parent = self.open[-1][0] if self.open else None
        self.graph.containers[ident] = Container(ident, _clean(label) or ident, parent)
        self.open.append((ident, self.line))

    def _chain(self, text: str) -> None:
        """`a & b --> c -->|label| d`: nodes, and the edges between consecutive groups."""
        position = 0
        group, position = self._group(text, position)
        while True:
            position = _skip_spaces(text, position)
            if position >= len(text):
                return
            operator, position = self._operator(text, position)
            targets, position = self._group(text, position)
            for source in group:
                for target in targets:
                    self.graph.edges.append(Edge(source, target, *operator))
            group = targets

    def _group(self, text: str, position: int) -> tuple[list[str], int]:
        members = []
        while True:
            ident, position = self._node(text, _skip_spaces(text, position))
            members.append(ident)
            after = _skip_spaces(text, position)
            if after < len(text) and text[after] == "&":
                position = after + 1
                continue
            return members, position

    def _node(self, text: str, position: int) -> tuple[str, int]:
        match = _ID.match(text, position)
        if match is None:
            found = repr(text[position : position + 20]) if position < len(text) else "the end of the line"
            raise _Invalid(f"expected a node id, found {found}")
        ident = match.group()
        position = match.end()
        shaped = self._shape(text, position, ident)
        label = None
        shape = "service"
        if shaped:
            label, shape, position = shaped
        suffix = _CLASS_SUFFIX.match(text, position)
        if suffix:
            position = suffix.end()
        self._mention(ident, label, shape)
        return ident, position

    def _shape(self, text: str, position: int, ident: str) -> tuple[str, str, int] | None:
        """The label and shape after a node's id, if it has any, and where they end: a quoted label closed where
        it should be, else one with quotes inside it (a repair), else an unquoted one."""
        candidates = [entry for entry in _SHAPE_BRACKETS if text.startswith(entry[0], position)]
        if not candidates:
            return None
        quotes_inside: tuple[str, str, int] | None = None
        for opener, closer, shape in candidates:
            inner = _skip_spaces(text, position + len(opener))
            if inner >= len(text) or text[inner] != '"':
                continue
            end_quote = text.find('"', inner + 1)
            if end_quote < 0:
                raise _Invalid(f"the label of {ident!r} has no closing quote")
            after = _skip_spaces(text, end_quote + 1)
            if text.startswith(closer, after):
                return _clean(text[inner + 1 : end_quote]), shape, after + len(closer)
            last = _closing_quote(text, end_quote + 1, closer)
            if last is not None and quotes_inside is None:
                quotes_inside = (_clean(text[inner + 1 : last]), shape, _skip_spaces(text, last + 1) + len(closer))
        if quotes_inside is not None:
            self.repairs.append(f"line {self.line}: kept the quotes inside the label of {ident!r}")
            return quotes_inside
        for opener, closer, shape in candidates:
            start = position + len(opener)
            if text.startswith('"', _skip_spaces(text, start)):
                continue
            end = _closer_position(text, start, closer)
            if end is not None:
                raw = text[start:end].strip()
                if any(char in raw for char in "()[]{}"):
                    self.repairs.append(f"line {self.line}: quoted the label of {ident!r}, which has brackets")
                return _clean(raw), shape, end + len(closer)
        opener, closer, _ = candidates[0]
        raise _Invalid(f"the label of {ident!r} is not closed: expected `{closer}` to match `{opener}`")

    def _operator(self, text: str, position: int) -> tuple[tuple[str, str, str], int]:
        """An edge's (label, arrow, line) and where its operator ends."""
        match = _EDGE.match(text, position)
        label = ""
        if match:
            body, head, tail = match.group("body"), match.group("head"), match.group("tail")
            position = match.end()
            pipe = _PIPE_LABEL.match(text, _skip_spaces(text, position))
            if pipe:
                label = _unquote(pipe.group("text").strip())
                position = pipe.end()
        elif match := _TEXT_EDGE.match(text, position):
            body, head = match.group("open"), match.group("head")
            tail = ">" if match.group("close").endswith(">") else None
            label = _unquote(match.group("text").strip())
            position = match.end()
        elif match := _SINGLE_ARROW.match(text, position):
            body, head, tail = "--", match.group("head"), ">"
            self.repairs.append(f"line {self.line}: read `->` as `-->`")
            position = match.end()
            pipe = _PIPE_LABEL.match(text, _skip_spaces(text, position))
            if pipe:
                label = _unquote(pipe.group("text").strip())
                position = pipe.end()
        else:
            found = text[position : position + 20]
            raise _Invalid(f"expected an edge such as `-->`, found {found!r}")
        if head and not tail:
            raise _Invalid(f"the edge {text[match.start() : match.end()]!r} has an arrowhead only at its start")
        arrow = "both" if head else "forward" if tail else "none"
        line = "dotted" if "." in body else "thick" if body.startswith("=") else "solid"
        return (_clean(label), arrow, line), position

    def _mention(self, ident: str, label: str | None, shape: str) -> None:
        """Records a node where it appears: its label and shape when given, its container when first inside one."""
        if ident in self.graph.containers:
            if label is not None:
                raise _Invalid(f"{ident!r} is a subgraph and cannot be given a node's label")
            return
        known = self.graph.nodes.get(ident)
        container = known.container if known else None
        if container is None and self.open:
            container = self.open[-1][0]
        if label is not None:
            self.labelled.add(ident)
            self.graph.nodes[ident] = Node(ident, label or ident, shape, container)
        elif known is None:
            self.graph.nodes[ident] = Node(ident, ident, "service", container)
        elif known.container != container:
            self.graph.nodes[ident] = Node(ident, known.label, known.shape, container)

    def _resolve_endpoints(self) -> None:
        """An id used as a node before a subgraph of that name was opened is the subgraph."""
        for ident in list(self.graph.nodes):
            if ident in self.graph.containers:
                if ident in self.labelled:
                    self.errors.append(f"line {self.line}: {ident!r} is both a node and a subgraph")
                del self.graph.nodes[ident]


def _statements(line: str) -> list[str]:
    """A line's statements: split at `;` outside quotes and entity codes (`#quot;`), without empty ones."""
    parts, start, quoted = [], 0, False
    position = 0
    while position < len(line):
        char = line[position]
        entity = _ENTITY.match(line, position) if char == "#" else None
        if entity:
            position = entity.end()
            continue
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append(line[start:position])
            start = position + 1
        position += 1
    parts.append(line[start:])
    return [part.strip() for part in parts if part.strip()]


def _skip_spaces(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t":
        position += 1
    return position


def _closer_position(text: str, start: int, closer: str) -> int | None:
    """Where an unquoted label ends: the first `closer` after which the statement can go on (an edge, `&`, a
    class, or nothing), so that `[API (Node.js)]` takes the parentheses as part of the label."""
    position = text.find(closer, start)
    while position >= 0:
        rest = text[position + len(closer) :].lstrip()
        if not rest or rest[0] in "-=&<.:|" or rest.startswith(":::"):
            return position
        position = text.find(closer, position + 1)
    return None


def _closing_quote(text: str, start: int, closer: str) -> int | None:
    """The quote that ends a quoted label holding quotes of its own (`["He said "hi""]`): the first one after
    `start` followed by `closer` after which the statement can go on, as `_closer_position` has it."""
    position = text.find('"', start)
    while position >= 0:
        after = _skip_spaces(text, position + 1)
        if text.startswith(closer, after) and _closer_position(text, after, closer) == after:
            return position
        position = text.find('"', position + 1)
    return None


def _quoted(text: str, position: int) -> str:
    end = text.find('"', position + 1)
    if end < 0:
        raise _Invalid("a label has no closing quote")
    return text[position + 1 : end]


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _clean(label: str) -> str:
    """A label as lines of visible text joined by newlines: Mermaid's line breaks (`<br>`, `\\n`) as breaks, its
    entity codes decoded, control characters in caret notation, bidi controls as `?`, runs of spaces as one."""
    lines = (_clean_line(_ENTITY.sub(_entity, line)) for line in _BREAK.split(label))
    return "\n".join(line for line in lines if line)


def _clean_line(text: str) -> str:
    text = _UNSAFE.sub(lambda match: " " if match.group() in "\t\n\r\f\v" else _caret(match), text)
    return " ".join(_BIDI_CONTROLS.sub("?", text).split())


def _entity(match: re.Match[str]) -> str:
    """What Mermaid shows for `#quot;`, `#35;`, `#9829;` (it hands them to the browser as `&quot;`, `&#35;` ...);
    a code that is no character is left as written."""
    if match.group("number"):
        code = int(match.group("number"))
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group()
    return html5.get(match.group("name") + ";", match.group())


def _caret(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)
    return "^?" if code == 0x7F else "?"


# Writing ---------------------------------------------------------------------------------------------------------


TEXT_FONT_SIZE = 20  # d2's default is 16; see to_d2


def to_d2(graph: Graph, direction: str | None = None, *, for_text: bool = False) -> str:
    """D2 source for the graph, written by sdx: generated ids, every label a quoted and escaped string.

    `direction` (TD, LR, BT, RL) overrides the graph's. `for_text` is for d2's text renderer: every node a
    rectangle (it draws other shapes badly), edges without styles, and node labels set a size larger, which lays
    the boxes out wider apart: cut into character cells, neighbouring boxes touch or overlap less often (of 67
    diagrams, 65 instead of 60 could be drawn right in one direction or the other; in plain ASCII 62 instead of 51).
    """
    ids = _d2_ids(graph)
    lines = [f"direction: {_D2_DIRECTIONS[DIRECTIONS.get(direction or graph.direction, 'TD')]}"]
    lines += _d2_members(graph, None, ids, for_text, depth=0)
    for edge in graph.edges:
        connector = {"forward": "->", "none": "--", "both": "<->"}[edge.arrow]
        line = f"{ids[edge.source]} {connector} {ids[edge.target]}"
        if edge.label:
            line += f": {d2_string(edge.label)}"
        style = {"dotted": "style.stroke-dash: 3", "thick": "style.stroke-width: 4"}.get(edge.line)
        if style and not for_text:
            line += f" {{{style}}}" if edge.label else f": {{{style}}}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def d2_string(text: str) -> str:
    """A D2 double-quoted string holding `text` literally, its lines as `\\n`: no substitution (`${x}`), no escape
    but its own (d2 reads an unknown escape such as `\\x` as `x`, so every backslash is doubled)."""
    escaped = "\n".join(_clean_line(line) for line in text.split("\n"))
    escaped = escaped.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
    return f'"{escaped}"'


def _d2_ids(graph: Graph) -> dict[str, str]:
    """Each node's and container's D2 path (`c1.n3`), from ids sdx makes up."""
    local = {ident: f"c{number}" for number, ident in enumerate(graph.containers, start=1)}
    local.update({ident: f"n{number}" for number, ident in enumerate(graph.nodes, start=1)})
    paths: dict[str, str] = {}

    def path(ident: str) -> str:
        if ident not in paths:
            parent = graph.nodes[ident].container if ident in graph.nodes else graph.containers[ident].parent
            paths[ident] = f"{path(parent)}.{local[ident]}" if parent else local[ident]
        return paths[ident]

    for ident in local:
        path(ident)
    return paths


def _d2_members(graph: Graph, parent: str | None, ids: dict[str, str], for_text: bool, depth: int) -> list[str]:
    indent = "  " * depth
    lines = []
    for container in graph.containers.values():
        if container.parent == parent:
            key = ids[container.id].rsplit(".", 1)[-1]
            lines.append(f"{indent}{key}: {d2_string(container.label)} {{")
            lines += _d2_members(graph, container.id, ids, for_text, depth + 1)
            lines.append(f"{indent}}}")
    for node in graph.nodes.values():
        if node.container == parent:
            key = ids[node.id].rsplit(".", 1)[-1]
            lines.append(f"{indent}{key}: {d2_string(node.label)}{_node_style(node, for_text)}")
    return lines


def _node_style(node: Node, for_text: bool) -> str:
    if for_text:
        return f" {{style.font-size: {TEXT_FONT_SIZE}}}"
    shape = _D2_SHAPES.get(node.shape)
    return f" {{shape: {shape}}}" if shape else ""


def without_containers(graph: Graph) -> Graph | None:
    """The graph with its subgraphs taken away (their nodes kept, ungrouped), or None when an edge starts or ends at
    a subgraph: that edge means something only with the subgraph drawn."""
    if not graph.containers or any(
        edge.source in graph.containers or edge.target in graph.containers for edge in graph.edges
    ):
        return None
    nodes = {ident: Node(node.id, node.label, node.shape) for ident, node in graph.nodes.items()}
    return Graph(graph.direction, nodes, {}, list(graph.edges))


def group_lines(graph: Graph) -> list[str]:
    """Each subgraph and the nodes in it (in subgraphs inside it too), one line each: `Storage: Cache, URL DB`; a
    subgraph inside another says so: `Region A (in Cloud): API A`."""
    lines = []
    for container in graph.containers.values():
        members = [
            one_line(node.label) for node in graph.nodes.values() if _inside(graph, node.container, container.id)
        ]
        parent = graph.containers.get(container.parent or "")
        within = f" (in {one_line(parent.label)})" if parent else ""
        lines.append(f"{one_line(container.label)}{within}: {', '.join(members) or '(empty)'}")
    return lines


def _inside(graph: Graph, ident: str | None, container: str) -> bool:
    while ident is not None:
        if ident == container:
            return True
        ident = graph.containers[ident].parent
    return False


def edge_list(graph: Graph) -> list[str]:
    """The edges as lines a reader can check, one per source and kind of arrow, targets in the order written:
    `Load Balancer → API 1, API 2, API 3`; an edge's label follows its target in brackets."""
    groups: dict[tuple[str, str], list[str]] = {}
    for edge in graph.edges:
        target = one_line(graph.label(edge.target)) + (f" [{one_line(edge.label)}]" if edge.label else "")
        groups.setdefault((edge.source, edge.arrow), []).append(target)
    return [
        f"{one_line(graph.label(source))} {_ARROWS[arrow]} {', '.join(targets)}"
        for (source, arrow), targets in groups.items()
    ]


def graph_json(graph: Graph) -> dict[str, object]:
    """The graph as data for `sdx diagram --json`: its nodes (with the subgraph holding each), subgraphs, edges."""
    return {
        "direction": graph.direction,
        "nodes": [
            {"id": node.id, "label": node.label, "shape": node.shape, "group": node.container}
            for node in graph.nodes.values()
        ],
        "groups": [
            {"id": container.id, "label": container.label, "parent": container.parent}
            for container in graph.containers.values()
        ],
        "edges": [
            {"source": edge.source, "target": edge.target, "label": edge.label, "arrow": edge.arrow, "line": edge.line}
            for edge in graph.edges
        ],
    }


def styled_edge_lines(graph: Graph) -> list[str]:
    """The dotted and thick edges, one line each with its style: `Orders DB → Read replica [async replication]
    (dotted)`. A text drawing draws every edge as a plain line, so these are listed under it."""
    return [
        f"{one_line(graph.label(edge.source))} {_ARROWS[edge.arrow]} {one_line(graph.label(edge.target))}"
        + (f" [{one_line(edge.label)}]" if edge.label else "")
        + f" ({edge.line})"
        for edge in graph.edges
        if edge.line != "solid"
    ]


def one_line(label: str) -> str:
    """A label of several lines on one, for a list."""
    return label.replace("\n", " ")
