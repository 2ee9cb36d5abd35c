"""Diagrams drawn for a terminal with the real d2 binary: boxes and arrows in place, the other direction when too
wide, ASCII for a non-UTF-8 terminal, and the source plus edge list whenever the drawing could be wrong."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdx.domain.diagram import parse_mermaid
from sdx.environment import Environment, installed
from sdx.terminal.drawing import _EXTENDED, _STANDARD, MAX_NODES, ascii_mode_for, check_drawing, draw, start_drawing

# what gpt-4o-mini wrote for "Design a URL shortener" when asked for the subset
ARCHITECTURE = """\
flowchart TD
    client["Client"] --> lb["Load Balancer"]
    lb --> api1["API 1"]
    lb --> api2["API 2"]
    lb --> api3["API 3"]
    api1 --> cache(("Redis Cache"))
    api2 --> cache
    api3 --> cache
    cache -->|miss| db[("URL Database")]
"""

WIDE = """\
flowchart LR
    User[User] -->|HTTP Request| API[API Gateway]
    API --> RateLimiter[Rate Limiter]
    RateLimiter -->|Allowed| Service[Backend Service]
    RateLimiter -->|Rejected| Error[429 Too Many Requests]
    RateLimiter <--> Redis[(Redis Cache)]
"""


@pytest.fixture
def environ() -> Iterator[dict[str, str]]:
    variables: dict[str, str] = {}
    with installed(Environment(stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), environ=variables)):
        yield variables


def rows_with(text: str, label: str) -> list[str]:
    return [row for row in text.splitlines() if label in row]


def test_a_fixed_architecture_is_drawn_with_its_boxes_labels_and_arrowheads(environ: dict[str, str]) -> None:
    drawing = draw(ARCHITECTURE, columns=80)

    assert drawing.reason == ""
    text = drawing.text
    assert text is not None
    rows = text.splitlines()
    for label in ("Client", "Load Balancer", "API 1", "API 2", "API 3", "Redis Cache", "URL Database"):
        (row,) = rows_with(text, label)
        y = rows.index(row)
        x = row.index(label)
        left, right = row.rindex("│", 0, x), row.index("│", x + len(label))
        above = next(r for r in reversed(rows[:y]) if r[left] != "│")
        below = next(r for r in rows[y + 1 :] if r[left] != "│")
        assert (above[left], above[right], below[left], below[right]) == ("┌", "┐", "└", "┘"), label
    assert "miss" in text
    assert sum(text.count(head) for head in "▼▲◀▶") == 8  # one per edge: each ends in an arrowhead
    # top-down as the model asked: every box below the one it comes from
    order = [rows.index(rows_with(text, label)[0]) for label in ("Client", "Load Balancer", "API 2", "Redis Cache")]
    assert order == sorted(order)
    assert drawing.edges[1] == "Load Balancer → API 1, API 2, API 3"


def test_too_wide_goes_top_down_then_falls_back_to_the_source_and_edges(environ: dict[str, str]) -> None:
    wide = draw(WIDE, columns=200)
    assert wide.text is not None
    left_right_width = max(len(row) for row in wide.text.splitlines())
    assert rows_with(wide.text, "User")[0].index("User") < rows_with(wide.text, "API Gateway")[0].index("API")

    narrower = draw(WIDE, columns=left_right_width - 1)
    assert narrower.text is not None
    width = max(len(row) for row in narrower.text.splitlines())
    assert width < left_right_width
    rows = narrower.text.splitlines()
    assert rows.index(rows_with(narrower.text, "User")[0]) < rows.index(rows_with(narrower.text, "API Gateway")[0])

    fallback = draw(WIDE, columns=width - 1)
    assert fallback.text is None
    assert fallback.reason == f"diagram not drawn: too wide for {width - 1} columns"
    assert fallback.edges == [
        "User → API Gateway [HTTP Request]",
        "API Gateway → Rate Limiter",
        "Rate Limiter → Backend Service [Allowed], 429 Too Many Requests [Rejected]",
        "Rate Limiter ↔ Redis Cache",
    ]


def test_ascii_on_a_terminal_that_is_not_utf8(environ: dict[str, str]) -> None:
    assert ascii_mode_for("ISO-8859-1") == "standard"
    assert ascii_mode_for("utf-8") == "extended"

    drawing = draw(ARCHITECTURE, columns=80, ascii_mode="standard", encoding="latin-1")

    assert drawing.text is not None
    assert drawing.text.isascii()
    assert "+-----" in drawing.text and "|Client" in drawing.text.replace(" ", "")
    assert sum(drawing.text.count(head) for head in "v^<>") == 8


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("خادم", "a label has right-to-left text"),
        ("שרת API", "a label has right-to-left text"),
        ("服务器", "a label has characters that are not one column wide"),
        ("cafe\u0301", "a label has characters that are not one column wide"),
    ],
)
def test_labels_a_terminal_may_not_align_are_not_drawn(environ: dict[str, str], label: str, reason: str) -> None:
    drawing = draw(f'flowchart TD\n  a["{label}"] --> b["DB"]\n', columns=80)

    assert drawing.text is None
    assert drawing.reason == f"diagram not drawn: {reason}"
    assert drawing.edges == [f"{label} → DB"]


def test_characters_the_ascii_terminal_lacks_are_not_drawn(environ: dict[str, str]) -> None:
    drawing = draw(
        'flowchart TD\n  a["Café → DB"] --> b["DB"]\n', columns=80, ascii_mode="standard", encoding="latin-1"
    )

    assert drawing.reason == "diagram not drawn: a label has characters this terminal cannot show"


def test_escape_sequences_in_labels_are_drawn_as_pictures(environ: dict[str, str]) -> None:
    drawing = draw('flowchart TD\n  a["\x1b]52;c;cHduZWQ=\x07 API"] --> b["\x1b[2J DB"]\n', columns=80)

    assert drawing.text is not None
    assert "\x1b" not in drawing.text and "\x07" not in drawing.text
    assert "^[]52;c;cHduZWQ=^G API" in drawing.text and "^[[2J DB" in drawing.text


def test_a_huge_graph_falls_back_without_running_d2(environ: dict[str, str], tmp_path: Path) -> None:
    environ["SDX_D2"] = str(tmp_path / "never-run")
    source = "flowchart TD\n" + "".join(f'  n{i}["Service {i}"] --> n{i + 1}\n' for i in range(500))

    drawing = draw(source, columns=80)

    assert drawing.reason == "diagram not drawn: too big for a terminal (501 nodes)"
    assert len(drawing.edges) == 500
    assert MAX_NODES < 501


def test_a_diagram_that_does_not_parse_has_its_error_as_the_reason(environ: dict[str, str]) -> None:
    drawing = draw("flowchart TD\n  Load Balancer --> API\n  x --> \n", columns=80)

    assert drawing.text is None
    assert drawing.edges == []
    assert drawing.reason == (
        "diagram not drawn: line 2: expected an edge such as `-->`, found 'Balancer --> API' (and 1 more)"
    )


def fake_d2(tmp_path: Path, script: str) -> str:
    path = tmp_path / "d2"
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (None, "d2 is missing"),
        ("kill -SEGV $$", "d2 crashed (signal 11)"),
        ("exec sleep 30", "d2 took too long and was stopped"),
        ("echo 'err: bad' >&2; exit 1", "d2 failed (exit status 1: err: bad)"),
        ("cat >/dev/null; echo 'graph TD'", "d2 did not draw the box of 'Client' intact"),
    ],
)
def test_every_d2_failure_falls_back_to_the_edges(
    environ: dict[str, str], tmp_path: Path, script: str | None, reason: str
) -> None:
    environ["SDX_D2"] = fake_d2(tmp_path, script) if script else str(tmp_path / "missing-d2")
    started = time.monotonic()

    drawing = draw(ARCHITECTURE, columns=80, timeout=0.5)

    assert drawing.text is None
    assert drawing.reason.startswith(f"diagram not drawn: {reason}")
    assert drawing.edges[0] == "Client → Load Balancer"
    assert time.monotonic() - started < 5


def test_a_drawing_with_an_overprinted_corner_or_a_lost_arrowhead_is_refused(environ: dict[str, str]) -> None:
    graph = parse_mermaid(ARCHITECTURE).graph
    assert graph is not None
    text = draw(ARCHITECTURE, columns=80).text
    assert text is not None
    assert check_drawing(text, graph) == ""

    corner = text.index("┐")
    assert check_drawing(text[:corner] + "─" + text[corner + 1 :], graph).startswith("d2 did not draw the box of")
    head = text.index("▼")
    assert check_drawing(text[:head] + "│" + text[head + 1 :], graph) == "d2 drew 7 arrowheads for 8 arrows"


def test_a_drawing_starts_at_once_and_is_collected_later(environ: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "go"
    environ["SDX_D2"] = fake_d2(tmp_path, f"cat >/dev/null; while [ ! -e {marker} ]; do sleep 0.01; done; exit 3")

    pending = start_drawing(ARCHITECTURE, columns=80, timeout=10)
    assert not pending.done()
    marker.touch()
    assert pending.result().reason == "diagram not drawn: d2 failed (exit status 3)"
    assert pending.done()


def test_the_prompt_s_own_example_is_drawn_on_an_80_column_terminal(environ: dict[str, str]) -> None:
    from sdx.domain.diagram import mermaid_blocks
    from sdx.domain.prompts import DIAGRAM_GUIDE

    (example,) = mermaid_blocks(DIAGRAM_GUIDE)

    assert draw(example.source, columns=80).reason == ""


@pytest.mark.parametrize(("ascii_mode", "corner", "corners"), [("extended", "┌", 7), ("standard", "+", 4 * 7)])
def test_escaped_and_hostile_labels_are_drawn_as_written_and_nothing_more(
    environ: dict[str, str], ascii_mode: str, corner: str, corners: int
) -> None:
    from tests.test_diagram import ESCAPED

    drawing = draw(ESCAPED, columns=80, ascii_mode=ascii_mode)

    assert drawing.reason == ""
    text = drawing.text
    assert text is not None
    for label in ('"a" -> b', "@import x.d2", "...@x", "C:\\\\temp\\\\ \\x", "x | y", "$var ${x}"):
        assert len(rows_with(text, label)) == 1, label
    rows = text.splitlines()
    (first,) = rows_with(text, "two")
    assert rows[rows.index(first) + 1].strip(" │|") == "lines # not a comment"  # <br>: a line break, in its box
    assert text.count(corner) == corners  # seven boxes: no label became a node, an import or a container


def test_a_drawing_whose_labels_do_not_match_the_graph_is_refused(environ: dict[str, str]) -> None:
    source = 'flowchart TD\n  a["API<br>servers"] -->|"two<br>lines"| b["DB"]\n'
    graph = parse_mermaid(source).graph
    assert graph is not None
    text = draw(source, columns=80).text
    assert text is not None
    assert check_drawing(text, graph) == ""

    swapped = text.replace("API    ", "XXX    ", 1).replace("servers", "API    ", 1).replace("XXX    ", "servers", 1)
    assert check_drawing(swapped, graph) == "d2 did not draw the box of 'API\\nservers' intact"
    one_line = parse_mermaid('flowchart TD\n  a["API servers"] -->|"two<br>lines"| b["DB"]\n').graph
    assert one_line is not None
    assert check_drawing(text, one_line) == "d2 did not draw the box of 'API servers' intact"
    moved = text.replace("lines", " lines", 1)
    assert check_drawing(moved, graph) == "d2 did not draw the label 'two\\nlines'"
    rows = text.splitlines()
    (db,) = rows_with(text, "DB")
    y = rows.index(db) + 1  # the empty row under the label, inside the box
    right = rows[y].rindex("│")
    rows[y] = rows[y][: right - 1] + "x" + rows[y][right:]
    assert check_drawing("\n".join(rows), graph) == "d2 did not draw the box of 'DB' intact"


# gpt-4o-mini's cache in front of a database, grouped: d2 writes the edge label "write" over the group's title
GROUPED = """\
flowchart TD
    client["Client"] --> api["Shortener API"]
    subgraph storage["Storage"]
        db[("URL DB")]
        cache(("Cache"))
    end
    api -->|read| cache
    cache -->|miss| db
    api -->|write| db
"""


@pytest.mark.parametrize("ascii_mode", ["extended", "standard"])
def test_a_subgraph_d2_garbles_is_drawn_ungrouped_with_its_groups_listed(environ: dict[str, str], ascii_mode) -> None:
    from sdx.domain.diagram import to_d2, without_containers
    from sdx.terminal import d2

    graph = parse_mermaid(GROUPED).graph
    assert graph is not None
    glyphs = _STANDARD if ascii_mode == "standard" else _EXTENDED
    boxed = d2.render_text(to_d2(graph, for_text=True), ascii_mode=ascii_mode)
    assert check_drawing(boxed, graph, glyphs) == "d2 did not draw the group 'Storage' intact"

    drawing = draw(GROUPED, columns=80, ascii_mode=ascii_mode)

    assert drawing.reason == ""
    assert drawing.text is not None
    picture, groups = drawing.text.split("\n\nGroups (drawn without their boxes):\n")
    assert groups == "  Storage: URL DB, Cache\n"
    flat = without_containers(graph)
    assert flat is not None and not flat.containers and len(flat.nodes) == 4
    assert check_drawing(picture, flat, glyphs) == ""
    assert "Storage" not in picture
    assert drawing.edges == [
        "Client → Shortener API",
        "Shortener API → Cache [read], URL DB [write]",
        "Cache → URL DB [miss]",
    ]


def test_a_subgraph_that_an_edge_ends_at_is_never_drawn_ungrouped(environ: dict[str, str]) -> None:
    from tests.test_diagram import QWEN_URL_SHORTENER

    drawing = draw(QWEN_URL_SHORTENER, columns=200)

    assert drawing.text is None  # `lb -> services` means something only with the group drawn: not drawn at all
    assert drawing.reason == (
        "diagram not drawn: d2 drew one line from 'API Server 2' and 'Kafka: clicks' into 'Redis': which box it comes"
        " from is unclear"
    )
    assert drawing.edges[2] == "Load Balancer → Application Layer"


def test_an_arrow_drawn_into_the_wrong_box_is_refused(environ: dict[str, str]) -> None:
    graph = parse_mermaid(ARCHITECTURE).graph
    text = draw(ARCHITECTURE, columns=80).text
    assert graph is not None and text is not None
    assert check_drawing(text, graph) == ""
    rerouted = parse_mermaid(ARCHITECTURE.replace("api3 --> cache", "api3 --> db")).graph
    assert rerouted is not None

    assert check_drawing(text, rerouted) == "d2 drew an arrow from 'API 3' to 'Redis Cache' that is not in the diagram"


def test_an_arrow_whose_line_is_broken_or_missing_is_refused(environ: dict[str, str]) -> None:
    graph = parse_mermaid(ARCHITECTURE).graph
    text = draw(ARCHITECTURE, columns=80).text
    assert graph is not None and text is not None
    rows = text.splitlines()
    y = next(y for y, row in enumerate(rows) if row.strip() == "miss")
    x = rows[y - 1].index("│")
    broken = rows[:]  # the line from Redis Cache to URL Database, cut above its label
    broken[y - 1] = broken[y - 1][:x] + " " + broken[y - 1][x + 1 :]
    assert check_drawing("\n".join(broken), graph) == (
        f"d2 drew a line into 'URL Database' that starts nowhere (row {y + 1})"  # the label's row, 1-based
    )

    headless = rows[:]  # the line into Load Balancer, its arrowhead kept
    headless[4] = headless[4].replace("│", " ")
    assert check_drawing("\n".join(headless), graph) == (
        "d2 drew an arrowhead into 'Load Balancer' with no line behind it (row 6)"
    )


# a cache in front of a database, written for this test: in plain ASCII d2 runs two lines into one column, and a
# corner drawn `+` cannot say which of them turns where
MERGING = """\
flowchart LR
  blob["Blob Store"] --> db["DB"]
  db --> cache["Cache"]
  db --> cdn["CDN"]
  cache --- blob
  queue["Queue"] --> metrics["Metrics"]
  cache --- client["Client"]
  metrics -->|"events"| cdn
"""


def test_lines_d2_merges_into_one_are_refused(environ: dict[str, str]) -> None:
    from sdx.domain.diagram import to_d2
    from sdx.terminal import d2

    graph = parse_mermaid(MERGING).graph
    assert graph is not None
    unicode = d2.render_text(to_d2(graph, for_text=True))
    assert check_drawing(unicode, graph) == ""  # the same layout: its corners say which line goes where
    ascii_text = d2.render_text(to_d2(graph, for_text=True), ascii_mode="standard")

    assert check_drawing(ascii_text, graph, _STANDARD) == (
        "d2 drew one line from 'CDN' and 'DB' into 'Cache': which box it comes from is unclear"
    )


def test_lines_without_arrowheads_are_checked_between_their_boxes(environ: dict[str, str]) -> None:
    source = 'flowchart LR\n  api["API"] --- db["DB"]\n  api --> cache["Cache"]\n'
    graph = parse_mermaid(source).graph
    text = draw(source, columns=80).text
    assert graph is not None and text is not None
    assert check_drawing(text, graph) == ""
    swapped = parse_mermaid('flowchart LR\n  api["API"] --> db["DB"]\n  api --- cache["Cache"]\n').graph
    assert swapped is not None

    assert check_drawing(text, swapped) == "d2 drew an arrow from 'API' to 'Cache' that is not in the diagram"
    unjoined = parse_mermaid('flowchart LR\n  api["API"] --> cache["Cache"]\n  db["DB"]\n').graph
    assert unjoined is not None
    assert check_drawing(text, unjoined) == "d2 did not draw the lines without arrowheads between their boxes"


def test_an_arrow_into_a_subgraph_is_traced_to_the_group(environ: dict[str, str]) -> None:
    from sdx.domain.diagram import mermaid_blocks, to_d2
    from sdx.domain.prompts import DIAGRAM_GUIDE
    from sdx.terminal import d2

    (example,) = mermaid_blocks(DIAGRAM_GUIDE)  # `lb --> app`, app a subgraph; edges crossing its border
    graph = parse_mermaid(example.source).graph
    assert graph is not None
    text = d2.render_text(to_d2(graph, "TD", for_text=True))
    assert check_drawing(text, graph) == ""
    elsewhere = parse_mermaid(example.source.replace("lb --> app", "lb --> api1")).graph
    assert elsewhere is not None

    assert check_drawing(text, elsewhere) == (
        "d2 drew an arrow from 'Load balancer' to 'API tier' that is not in the diagram"
    )


# the System Design Primer's Mint architecture (solutions/system_design/mint), its boxes and arrows as Mermaid
MINT = """\
flowchart TB
  client["Client"] --> web["Web Server"] --> accounts["Accounts API"]
  accounts --> extraction["Transaction Extraction Service"]
  extraction --> category["Category Service"] & budget["Budget Service"] & notify["Notification Service"]
  accounts --> sql[("SQL")]
  extraction --> sql
  extraction --> objects[("Object Store")]
"""


def test_labels_set_larger_keep_d2_s_boxes_apart(environ: dict[str, str]) -> None:
    from sdx.domain.diagram import TEXT_FONT_SIZE, to_d2
    from sdx.terminal import d2

    graph = parse_mermaid(MINT).graph
    assert graph is not None
    default_size = to_d2(graph, for_text=True).replace(f" {{style.font-size: {TEXT_FONT_SIZE}}}", "")
    assert (
        check_drawing(d2.render_text(default_size), graph) == "d2 did not draw the box of 'Notification Service' intact"
    )

    drawing = draw(MINT, columns=100)

    assert drawing.reason == ""
    assert drawing.text is not None
    assert len(rows_with(drawing.text, "│Notification Service │")) == 1


def test_dotted_and_thick_edges_are_listed_under_the_drawing_that_draws_them_plain(environ: dict[str, str]) -> None:
    source = (
        "flowchart LR\n"
        '  api["API"] --> db[("Orders DB")]\n'
        '  db -.->|"async replication"| replica[("Read replica")]\n'
        '  api ==> cache(("Cache"))\n'
    )

    drawing = draw(source, columns=100)

    assert drawing.reason == ""
    assert drawing.text is not None
    picture, styled = drawing.text.split("\n\nDrawn as plain lines:\n")
    assert styled == "  Orders DB → Read replica [async replication] (dotted)\n  API → Cache (thick)\n"
    assert "async replication" in picture
    assert "Drawn as plain lines" not in draw(ARCHITECTURE, columns=80).text  # all solid: nothing listed
