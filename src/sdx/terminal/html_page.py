"""A conversation's Markdown as one self-contained HTML page (`sdx export --html`, `sdx batch --html`).

The page needs nothing at view time: its CSS (and Pygments' colours for highlighted code) is inline, diagrams are
inline SVG with their fonts embedded as data URLs, and a Content-Security-Policy forbids every script and every
request but those data URLs, so even a mistake here cannot make the page fetch anything.

Model output is untrusted, so the Markdown is rendered by markdown-it with raw HTML off (HTML in an answer shows
as text), control characters show as their Unicode pictures, and a link shows where it goes after its text
whenever the two differ (each isolated, so right-to-left controls cannot reorder the address). Images are not
loaded: an image becomes its alt text and address. A ```mermaid block becomes D2's SVG of the D2 that sdx
generates from the parsed graph (never the model's text), with the mermaid source kept in a <details> below it; a
diagram that does not parse, or that d2 cannot draw, is shown as its source and the list of its edges (or what is
wrong with it).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sdx import __version__
from sdx.domain.diagram import edge_list, parse_mermaid, to_d2
from sdx.terminal import d2
from sdx.terminal.render import sanitize_for_terminal

if TYPE_CHECKING:
    from markdown_it.token import Token

CUT_OFF = "the answer stopped inside it"
AT_ONCE = 4  # d2 runs started together (each takes 20-100 ms, most of it waiting)
POLICY = "default-src 'none'; style-src 'unsafe-inline'; font-src data:"  # D2 embeds its fonts as data URLs
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>\s*")
_VIEW_BOX = re.compile(r'^<svg\b[^>]*?\bviewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"')


@dataclass
class Page:
    html: str
    undrawn: list[str] = field(default_factory=list)  # why each diagram that is not drawn is not: one line each


@dataclass
class Diagram:
    """One ```mermaid block: its source, and the SVG or why there is none."""

    source: str
    svg: str = ""
    edges: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the parser's, when the source is not a diagram sdx reads
    repairs: list[str] = field(default_factory=list)
    failure: str = ""  # why it is not drawn


def markdown_page(title: str, markdown: str, cut_off: Collection[str] = ()) -> Page:
    """The page for one conversation: `title` in its head, `markdown` (as show/export produce it) as its body.

    `cut_off` holds the sources of diagrams that were never closed (an answer that stopped inside one): they are
    shown as their source, never drawn, since what arrived may be only part of the graph."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _code_block)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    tokens = md.parse(sanitize_for_terminal(markdown))  # control characters shown as their pictures (ESC as ␛)
    fences = [token for token in tokens if token.type == "fence" and _language(token) == "mermaid"]
    diagrams = draw_diagrams(fences, {source.strip() for source in cut_off})
    body = md.renderer.render(tokens, md.options, {"diagrams": diagrams})
    undrawn = [diagram.failure for diagram in diagrams.values() if diagram.failure]
    return Page(document(title, body), undrawn)


def draw_diagrams(fences: list[Token], cut_off: set[str]) -> dict[int, Diagram]:
    """Each mermaid fence's diagram (keyed by the token's id), drawn by d2 a few at a time."""
    diagrams: dict[int, Diagram] = {}
    pending: list[tuple[Diagram, str]] = []
    for token in fences:
        diagram = diagrams[id(token)] = Diagram(token.content)
        if token.content.strip() in cut_off:
            diagram.failure = CUT_OFF
            continue
        parsed = parse_mermaid(token.content)
        if parsed.graph is None:
            diagram.errors = parsed.errors
            diagram.failure = f"a diagram sdx cannot read ({parsed.errors[0] if parsed.errors else 'no graph'})"
            continue
        diagram.edges, diagram.repairs = edge_list(parsed.graph), parsed.repairs
        pending.append((diagram, to_d2(parsed.graph)))
    for start in range(0, len(pending), AT_ONCE):
        _draw(pending[start : start + AT_ONCE])
    return diagrams


def _draw(group: list[tuple[Diagram, str]]) -> None:
    """Start d2 on each D2 source of the group, then collect the SVGs (or why there is none)."""
    jobs: list[tuple[Diagram, d2.D2Job]] = []
    for diagram, source in group:
        try:
            jobs.append((diagram, d2.start(source, "svg")))
        except d2.D2Failure as failure:
            diagram.failure = str(failure)
    for diagram, job in jobs:
        try:
            diagram.svg = inline_svg(job.result())
        except d2.D2Failure as failure:
            diagram.failure = str(failure)


def inline_svg(document: bytes) -> str:
    """D2's SVG document as an element for the page: no XML declaration, and its natural size as width and height
    (D2 gives only a viewBox, so the drawing would stretch to the page's width)."""
    try:
        svg = _XML_DECLARATION.sub("", document.decode("utf-8"))
    except UnicodeDecodeError:
        raise d2.D2Failure("d2's SVG is not UTF-8") from None
    if not svg.startswith("<svg"):
        raise d2.D2Failure("d2 did not write an SVG")
    size = _VIEW_BOX.match(svg)
    if size:
        svg = f'<svg width="{size[1]}" height="{size[2]}"' + svg[len("<svg") :]
    return svg


def undrawn_note(undrawn: list[str]) -> str:
    """What to say (in one line on stderr) about a page whose diagrams are not all drawn."""
    if len(undrawn) == 1:
        return f"a diagram is not drawn (the page shows its source instead): {undrawn[0]}"
    return f"{len(undrawn)} diagrams are not drawn (the page shows their source instead): {undrawn[0]}"


# Render rules (markdown-it's signature: self, tokens, idx, options, env) ------------------------------------------


def _language(token: Token) -> str:
    return token.info.strip().split(maxsplit=1)[0].lower() if token.info.strip() else ""


def _fence(_self: Any, tokens: list[Token], idx: int, _options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    diagram = env["diagrams"].get(id(token))
    if diagram is not None:
        return diagram_html(diagram)
    return highlighted(token.content, _language(token))


def _code_block(_self: Any, tokens: list[Token], idx: int, _options: Any, _env: Any) -> str:
    return highlighted(tokens[idx].content, "")


def _link_close(_self: Any, tokens: list[Token], idx: int, _options: Any, _env: Any) -> str:
    """After a link whose text is not its address, the address, so a link cannot hide where it goes."""
    depth, start = 0, idx
    while start > 0:
        start -= 1
        if tokens[start].type == "link_close":
            depth += 1
        elif tokens[start].type == "link_open":
            if depth == 0:
                break
            depth -= 1
    href = str(tokens[start].attrGet("href") or "")
    text = "".join(token.content for token in tokens[start + 1 : idx] if token.type in ("text", "code_inline"))
    if text.strip() in (href, href.removeprefix("mailto:")):
        return "</a>"
    return f'</a> <span class="address">({html.escape(href)})</span>'


def _image(_self: Any, tokens: list[Token], idx: int, _options: Any, _env: Any) -> str:
    """An image is not loaded (that would be a request at view time): its alt text and address instead."""
    token = tokens[idx]
    alt = "".join(child.content for child in token.children or [])
    src = str(token.attrGet("src") or "")
    return f'<span class="image">[image: {html.escape(alt)}] <span class="address">({html.escape(src)})</span></span>'


# Pieces ----------------------------------------------------------------------------------------------------------


def highlighted(code: str, language: str) -> str:
    """A code block, coloured by Pygments when it knows the language (plain when not)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language) if language else None
    except ClassNotFound:
        lexer = None
    inner = highlight(code, lexer, HtmlFormatter(nowrap=True)) if lexer else html.escape(code)
    label = f' data-language="{html.escape(language)}"' if language else ""
    return f'<pre class="code highlight"{label}><code>{inner}</code></pre>\n'


def diagram_html(diagram: Diagram) -> str:
    source = f'<pre class="code"><code>{html.escape(diagram.source)}</code></pre>'
    if diagram.svg:
        repairs = "".join(f"<li>{html.escape(repair)}</li>" for repair in diagram.repairs)
        repaired = f'<p class="note">sdx repaired:</p><ul class="repairs">{repairs}</ul>' if repairs else ""
        return (
            f'<figure class="diagram">\n<div class="drawing">{diagram.svg}</div>\n'
            f"<details><summary>Mermaid source</summary>{source}{repaired}</details>\n</figure>\n"
        )
    if diagram.failure == CUT_OFF:
        return (
            f'<figure class="diagram undrawn">\n<p class="note">This diagram is not drawn ({CUT_OFF}). '
            f"What arrived of its source:</p>\n{source}\n</figure>\n"
        )
    if diagram.errors:
        why, items, kind, what = "sdx cannot read it", diagram.errors, "errors", "What is wrong with it:"
    else:
        why, items, kind, what = diagram.failure, diagram.edges, "edges", "Its edges:" if diagram.edges else "No edges."
    listed = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    return (
        f'<figure class="diagram undrawn">\n<p class="note">This diagram is not drawn ({html.escape(why)}). '
        f"Its source as written:</p>\n{source}\n"
        f'<p class="note">{what}</p><ul class="{kind}">{listed}</ul>\n</figure>\n'
    )


def document(title: str, body: str) -> str:
    """A whole self-contained page: `body` (HTML) under `title`, with the page's CSS and its Content-Security-Policy."""
    from pygments.formatters import HtmlFormatter

    colours = HtmlFormatter().get_style_defs(".highlight")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="sdx {__version__}">\n'
        f"<title>{html.escape(sanitize_for_terminal(title))}</title>\n"
        f"<style>\n{CSS}\n{colours}\n</style>\n</head>\n"
        f"<body>\n<main>\n{body}</main>\n"
        f"<footer>Exported by sdx {__version__}</footer>\n</body>\n</html>\n"
    )


CSS = """\
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1f2328;
  font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 2rem 1.25rem 1rem; }
footer { max-width: 52rem; margin: 0 auto; padding: 0 1.25rem 2rem; color: #59636e; font-size: 0.85rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.6em 0 0.6em; }
h1 { font-size: 1.9rem; margin-top: 0; }
h2 { font-size: 1.45rem; border-bottom: 1px solid #d1d9e0; padding-bottom: 0.2em; }
hr { border: 0; border-top: 2px solid #d1d9e0; margin: 2rem 0; }
a { color: #0969da; }
a, .address { unicode-bidi: isolate; }  /* right-to-left controls in a link's text cannot reorder its address */
.address { color: #59636e; font-size: 0.85em; word-break: break-all; }
blockquote { margin: 1em 0; padding: 0 1em; color: #3d444d; border-left: 0.25em solid #d1d9e0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.9em; }
:not(pre) > code { background: #eff1f3; padding: 0.1em 0.35em; border-radius: 4px; }
pre.code { background: #f6f8fa; border: 1px solid #d1d9e0; border-radius: 6px; padding: 0.8em 1em; overflow-x: auto;
  line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid #d1d9e0; padding: 0.35em 0.75em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
figure.diagram { margin: 1.5em 0; }
figure.diagram .drawing { overflow-x: auto; }
figure.diagram svg { max-width: 100%; height: auto; }
figure.undrawn { border-left: 0.25em solid #bf8700; padding-left: 1em; }
.note { color: #59636e; font-size: 0.9em; margin: 0.4em 0; }
details summary { cursor: pointer; color: #59636e; font-size: 0.9em; }
@media print {
  body { font-size: 10.5pt; }
  main, footer { max-width: none; padding: 0; }
  a { color: inherit; }
  pre.code { white-space: pre-wrap; overflow-wrap: anywhere; }
  pre.code, figure.diagram, table, blockquote { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
  figure.diagram .drawing { overflow: visible; }
  table { display: table; }
  details { display: none; }
}"""
