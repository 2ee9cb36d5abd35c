"""`sdx diagram FILE|-`: the mermaid blocks of a Markdown file or a bare diagram, drawn with the real d2, or the
source and edges with one line on stderr; SVG and PNG for files. And `sdx show` drawing a stored diagram."""

from __future__ import annotations

import json
import sys

from sdx.terminal.drawing import draw
from tests.terminal_session import TerminalSession
from tests.test_live_diagram import ANSWER, DIAGRAM, occurrences, screen_of
from tests.test_startup import main_in_a_process

WIDE = """\
flowchart LR
    User[User] -->|HTTP Request| API[API Gateway]
    API --> RateLimiter[Rate Limiter]
    RateLimiter -->|Allowed| Service[Backend Service]
    RateLimiter -->|Rejected| Error[429 Too Many Requests]
"""

NOTES = f"# Notes\n\n```mermaid\n{DIAGRAM}```\n\nBetween.\n\n```mermaid\n{WIDE}```\n"


def drawn(source: str, columns: int | None) -> str:
    text = draw(source, columns=columns).text
    assert text is not None
    return text


def test_every_diagram_of_a_markdown_file_is_drawn(sdx) -> None:  # type: ignore[no-untyped-def]
    (sdx.home / "notes.md").write_text(NOTES, encoding="utf-8")

    result = sdx.call("diagram", "notes.md")

    assert (result.code, result.stderr) == (0, "")
    assert result.out == drawn(DIAGRAM, None) + "\n" + drawn(WIDE, None)


def test_on_a_narrow_terminal_a_diagram_too_wide_is_its_source_and_edges(sdx) -> None:  # type: ignore[no-untyped-def]
    (sdx.home / "notes.md").write_text(NOTES, encoding="utf-8")

    result = sdx.call("diagram", "notes.md", tty=True, columns=40)

    assert result.code == 0
    assert result.stderr == "sdx: diagram 2 not drawn: too wide for 40 columns\n"
    assert result.out == drawn(DIAGRAM, 40) + "\n" + (
        f"```mermaid\n{WIDE}```\n"
        "User → API Gateway [HTTP Request]\n"
        "API Gateway → Rate Limiter\n"
        "Rate Limiter → Backend Service [Allowed], 429 Too Many Requests [Rejected]\n"
    )


def test_a_bare_diagram_on_stdin(sdx) -> None:  # type: ignore[no-untyped-def]
    result = sdx.call("diagram", "-", input=DIAGRAM)

    assert result.code == 0
    assert result.out == drawn(DIAGRAM, None)


def test_a_diagram_that_does_not_parse(sdx) -> None:  # type: ignore[no-untyped-def]
    source = "graph TD\n  A[Client] --> B[Server\n"

    result = sdx.call("diagram", "-", input=source)

    assert result.code == 2
    assert result.out == source
    assert (
        result.stderr == "sdx: diagram not drawn: line 2: the label of 'B' is not closed: expected `]` to match `[`\n"
    )


def test_json_describes_each_diagram_drawn_or_not(sdx) -> None:  # type: ignore[no-untyped-def]
    broken = "flowchart TD\n  A[Client] --> B[Server\n"
    (sdx.home / "notes.md").write_text(f"{NOTES}\n```mermaid\n{broken}```\n", encoding="utf-8")

    result = sdx.call("diagram", "notes.md", "--json", tty=True)  # on a terminal too: data, not a drawing

    assert (result.code, result.stderr) == (2, "")  # one did not parse, as without --json
    first, second, third = json.loads(result.out)["diagrams"]
    assert first["source"] == DIAGRAM and first["drawn"] and first["drawing"] == drawn(DIAGRAM, None)
    assert (first["reason"], first["errors"]) == ("", [])
    assert second["edges"] == draw(WIDE, columns=None).edges
    wide = second["graph"]
    assert wide["direction"] == "LR"
    assert wide["nodes"][0] == {"id": "User", "label": "User", "shape": "service", "group": None}
    assert wide["edges"][0] == {
        "source": "User",
        "target": "API",
        "label": "HTTP Request",
        "arrow": "forward",
        "line": "solid",
    }
    assert third == {
        "source": broken,
        "drawn": False,
        "drawing": None,
        "reason": "line 2: the label of 'B' is not closed: expected `]` to match `[`",
        "edges": [],
        "repairs": [],
        "errors": ["line 2: the label of 'B' is not closed: expected `]` to match `[`"],
        "graph": None,
    }
    refused = sdx.call("diagram", "notes.md", "--json", "--format", "svg")
    assert (refused.code, refused.stderr) == (
        2,
        "sdx: error: --json describes the text drawing, not an image — drop --json to write the SVG\n",
    )


def test_escape_sequences_never_reach_the_terminal(sdx) -> None:  # type: ignore[no-untyped-def]
    source = 'flowchart TD\n  a["\x1b[2J\x1b]0;owned\x07"] --> b["\x1b[31mDB"]\n  b --> \n'

    result = sdx.call("diagram", "-", input=source, tty=True)

    assert "\x1b" not in result.out and "\x07" not in result.out
    assert "␛[2J" in result.out


def test_svg_and_png_files(sdx) -> None:  # type: ignore[no-untyped-def]
    svg = sdx.call("diagram", "-", "--format", "svg", "-o", "design.svg", input=DIAGRAM)
    png = sdx.call("diagram", "-", "--format", "png", "-o", "design.png", input=DIAGRAM)
    again = sdx.call("diagram", "-", "--format", "svg", "-o", "design.svg", input=DIAGRAM)
    forced = sdx.call("diagram", "-", "--format", "svg", "-o", "design.svg", "--force", input=WIDE)

    assert (svg.code, png.code) == (0, 0)
    assert (sdx.home / "design.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert again.code == 2
    assert again.stderr == (
        "sdx: error: design.svg already exists — add --force to replace it, or choose another file name\n"
    )
    assert forced.code == 0
    text = (sdx.home / "design.svg").read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "Rate Limiter" in text


def test_what_svg_and_png_refuse(sdx) -> None:  # type: ignore[no-untyped-def]
    (sdx.home / "notes.md").write_text(NOTES, encoding="utf-8")

    several = sdx.call("diagram", "notes.md", "--format", "svg")
    to_terminal = sdx.call("diagram", "-", "--format", "png", input=DIAGRAM, tty=True)
    broken = sdx.call("diagram", "-", "--format", "svg", input="flowchart TD\n  a -->\n")

    assert several.stderr == (
        "sdx: error: notes.md has 2 mermaid diagrams — --format svg draws one: keep one per file\n"
    )
    assert to_terminal.stderr == "sdx: error: a PNG is not for the terminal — add -o diagram.png\n"
    assert broken.stderr == (
        "sdx: error: the diagram does not parse: line 2: expected a node id, found the end of the line"
        " — fix that line (or see --format txt)\n"
    )
    assert {several.code, to_terminal.code, broken.code} == {2}


def test_without_d2_text_falls_back_and_svg_says_why(sdx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = {"SDX_D2": str(tmp_path / "no-d2")}

    text = sdx.call("diagram", "-", input=DIAGRAM, env=missing)
    svg = sdx.call("diagram", "-", "--format", "svg", input=DIAGRAM, env=missing)

    assert text.code == 0
    assert text.out.startswith(DIAGRAM) and "Load Balancer → API 1, API 2\n" in text.out
    assert text.stderr.count("\n") == 1 and text.stderr.startswith("sdx: diagram not drawn: d2 is missing")
    assert svg.code == 1
    assert svg.stderr.startswith("sdx: error: cannot draw the diagram: d2 is missing")


def test_inputs_it_cannot_use(sdx) -> None:  # type: ignore[no-untyped-def]
    (sdx.home / "plain.md").write_text("# No diagram here\n", encoding="utf-8")

    none = sdx.call("diagram", "plain.md")
    missing = sdx.call("diagram", "nowhere.md")
    fmt = sdx.call("diagram", "plain.md", "--format", "pdf")

    assert none.stderr.startswith("sdx: error: no mermaid diagram in plain.md — ")
    assert missing.stderr == "sdx: error: no such file: nowhere.md — check the path, or use - to read stdin\n"
    assert fmt.stderr == "sdx: error: unknown format 'pdf' — use --format txt, svg or png\n"
    assert {none.code, missing.code, fmt.code} == {2}


def test_diagram_imports_neither_openai_nor_rich_markdown(sdx) -> None:  # type: ignore[no-untyped-def]
    (sdx.home / "d.mmd").write_text(DIAGRAM, encoding="utf-8")

    out, after = main_in_a_process(sdx, "diagram", "d.mmd")

    assert out.decode() == drawn(DIAGRAM, None)
    assert after[:3] == ["0", "False", "False"]


def test_show_draws_a_stored_diagram_and_keeps_the_stored_answer(sdx, fake) -> None:  # type: ignore[no-untyped-def]
    fake.scenario.answer = ANSWER
    assert sdx.call("ask", "Design an order service").code == 0
    conversation_id = json.loads(sdx.call("history", "--json").out)[0]["id"]

    shown = sdx.run_tty("show", "--no-pager", conversation_id, columns=100)
    raw = sdx.call("show", conversation_id)

    rows = drawn(DIAGRAM, 100).rstrip("\n").splitlines()
    assert occurrences(screen_of(shown.stdout), rows) == 1
    assert ANSWER in raw.out


def latin1_terminal(tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment of a terminal whose encoding is Latin-1: a real locale, compiled here when the system has
    the sources (`localedef`), else Python told the terminal's encoding (PYTHONIOENCODING) as it would have read it."""
    import shutil
    import subprocess

    locales = tmp_path / "locales"
    localedef = shutil.which("localedef")
    if localedef is not None:
        made = subprocess.run(
            [localedef, "-i", "en_US", "-f", "ISO-8859-1", str(locales / "en_US.ISO-8859-1")], capture_output=True
        )
        if made.returncode in (0, 1) and (locales / "en_US.ISO-8859-1").is_dir():  # 1: made, with warnings
            return {"LOCPATH": str(locales), "LANG": "en_US.ISO-8859-1", "LC_ALL": "en_US.ISO-8859-1"}
    return {"LANG": "en_US.ISO-8859-1", "PYTHONIOENCODING": "latin-1"}


def on_a_latin1_terminal(sdx, tmp_path, args: list[str]) -> tuple[TerminalSession, bytes]:  # type: ignore[no-untyped-def]
    """Python with `args` on a 60x200 Latin-1 pseudo-terminal, run to its end: the session and all it showed."""
    child = TerminalSession(
        sys.executable,
        args,
        env={**sdx.env, **latin1_terminal(tmp_path), "TERM": "xterm-256color"},
        cwd=str(sdx.home),
        dimensions=(60, 200),
        timeout=20,
        encoding=None,
    )
    output = child.read()
    child.close()
    return child, output


def test_a_terminal_that_cannot_show_box_drawing_gets_plain_ascii(sdx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (sdx.home / "notes.md").write_text(NOTES, encoding="utf-8")
    program = "import sys; print(sys.stdout.encoding); from sdx.cli import main; main()"
    child, output = on_a_latin1_terminal(sdx, tmp_path, ["-c", program, "diagram", "notes.md"])

    assert child.exitstatus == 0, output
    encoding, _, screen = output.partition(b"\r\n")
    assert encoding.lower().replace(b"-", b"") in (b"iso88591", b"latin1")  # what sdx was told the terminal is
    assert screen.isascii()
    assert not any(glyph.encode() in screen for glyph in "┌┐└┘─│▼▲◀▶")
    text = screen.decode("ascii").replace("\r\n", "\n")
    assert "|Client" in text.replace(" ", "") and "+-----" in text and "Orders DB" in text
    ascii_drawings = [
        draw(source, columns=200, ascii_mode="standard", encoding="latin-1") for source in (DIAGRAM, WIDE)
    ]
    assert text == "\n".join(drawing.text or "" for drawing in ascii_drawings)  # both drawn, checked, in ASCII


def test_on_a_latin1_terminal_the_edge_list_of_a_diagram_not_drawn_is_in_latin1(sdx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    chain = "\n".join(f"  n{i} --> n{i + 1}" for i in range(85))
    (sdx.home / "big.md").write_text(f"# Big\n\n```mermaid\nflowchart LR\n{chain}\n```\n", encoding="utf-8")
    child, output = on_a_latin1_terminal(sdx, tmp_path, ["-m", "sdx", "diagram", "big.md"])
    assert child.exitstatus == 0, output
    assert output.isascii(), output[-300:]
    assert b"n0 -> n1\r\n" in output and b"n84 -> n85\r\n" in output
    assert "→".encode() not in output
