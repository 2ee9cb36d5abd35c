"""`sdx history` (list, search, rm, path), `sdx show` and `sdx export`: reading back what was stored.

A conversation is shown and exported as one Markdown document (`conversation_markdown`): `show` renders it on a
terminal like an answer and prints it raw anywhere else; `export` writes it to a file (or stdout) as it is.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from pathlib import Path

from sdx.domain.conversation import (
    ERROR,
    GRADED_KINDS,
    INTERRUPTED,
    STATUS_WORDS,
    TRUNCATED,
    Conversation,
    Turn,
    counts_as_answer,
    title_from,
)
from sdx.domain.fences import closed_fences
from sdx.environment import current
from sdx.errors import UsageError
from sdx.model.pricing import PRICE_LIST, REPORTED, cost_text, total_cost
from sdx.store.history import ConversationSummary, History, snippet_parts
from sdx.terminal.render import choose_renderer, json_text, sanitize_for_terminal, say

MIN_ID_LENGTH = 8  # shown ids are at least this long (ids made in the same second share their first 8)


# sdx history


def print_history(query: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """The recent conversations (or the best matches of `query`) as a table, or as JSON for scripts."""
    with History.open() as history:
        summaries = history.list(query=query, kind=kind, limit=limit)
        ids = history.all_ids() if summaries and not as_json else []
    out = current().stdout
    if as_json:
        out.write(json_text([summary_json(summary) for summary in summaries], current().stdout_isatty))
        return
    if not summaries:
        what = f"{kind} conversations" if kind else "conversations"
        say(f"sdx: no {what.removesuffix('s')} matches {query!r}" if query else f"sdx: no {what} yet")
        return
    out.write("".join(line + "\n" for line in history_table(summaries, short_ids(ids), graded=kind in GRADED_KINDS)))


def summary_json(summary: ConversationSummary) -> dict[str, object]:
    data = asdict(summary)
    data["created_at"], data["updated_at"] = iso_time(summary.created_at), iso_time(summary.updated_at)
    data["snippet"] = None if summary.snippet is None else "".join(text for text, _ in snippet_parts(summary.snippet))
    return data


def history_table(summaries: list[ConversationSummary], shown_ids: dict[str, str], graded: bool) -> list[str]:
    """Aligned columns; on a terminal the title is cut to the width and search matches are bold."""
    env = current()
    header = ["ID", "WHEN", "KIND", "MODEL", "TURNS", "COST", *(["GRADE"] if graded else []), "TITLE"]
    rows = [
        [
            shown_ids.get(summary.id, summary.id),
            local_time(summary.updated_at),
            summary.kind,
            summary.model,
            turns_cell(summary),
            total_cost_text(summary.cost, summary.cost_estimated, summary.unknown_cost),
            *([overall_grade(summary.meta)] if graded else []),
            summary.title,
        ]
        for summary in summaries
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header) - 1)]
    lines = []
    for row, summary in zip([header, *rows], [None, *summaries], strict=True):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        if env.stdout_isatty:
            line = _fit(sanitize_for_terminal(line), env.terminal_size()[0])
        lines.append(line.rstrip())
        if summary is not None and summary.snippet:
            lines.append("    " + snippet_line(summary.snippet))
    return lines


def turns_cell(summary: ConversationSummary) -> str:
    """The number of turns, and the last one's status when its answer is not whole: `3 (last cut off)`."""
    if summary.last_status in ("", "complete"):
        return str(summary.turns)
    words = STATUS_WORDS.get(summary.last_status, summary.last_status)
    return f"{summary.turns} ({words})" if summary.turns == 1 else f"{summary.turns} (last {words})"


def total_cost_text(cost: float | None, estimated: bool, unknown: int) -> str:
    """`$0.0123`, `~$0.0123` when part of it is an estimate, `+?` when some answers' cost is unknown, `?` when
    none is known; "" for a conversation without answers."""
    known = cost_text(cost, PRICE_LIST if estimated else REPORTED)
    if not unknown:
        return known
    return f"{known}+?" if known else "?"


def snippet_line(snippet: str) -> str:
    """The snippet on one line; on a colour terminal the matched words are bold."""
    env = current()
    styled = env.stdout_isatty and not env.no_color
    pieces = []
    for text, matched in snippet_parts(snippet):
        text = re.sub(r"\s+", " ", text)
        if env.stdout_isatty:
            text = sanitize_for_terminal(text)
        pieces.append(f"\x1b[1m{text}\x1b[22m" if matched and styled else text)
    return "".join(pieces).strip()


def short_ids(all_ids: list[str]) -> dict[str, str]:
    """Each id's shortest unique prefix (at least MIN_ID_LENGTH characters), from the sorted list of all ids."""
    shown = {}
    for index, conversation_id in enumerate(all_ids):
        neighbours = all_ids[max(index - 1, 0) : index] + all_ids[index + 1 : index + 2]
        shared = max((_common_prefix(conversation_id, other) for other in neighbours), default=0)
        shown[conversation_id] = conversation_id[: max(MIN_ID_LENGTH, shared + 1)]
    return shown


def _common_prefix(a: str, b: str) -> int:
    length = 0
    while length < min(len(a), len(b)) and a[length] == b[length]:
        length += 1
    return length


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def overall_grade(meta: dict[str, object]) -> str:
    """An interview's overall grade from its meta (`grade.recommendation`, as `sdx interview` stores it, or a plain
    `grade`), else its grade status."""
    grade = meta.get("grade")
    if isinstance(grade, dict):
        for key in ("recommendation", "overall", "verdict", "score"):
            if grade.get(key) is not None:
                return str(grade[key])
    elif isinstance(grade, str | int | float) and not isinstance(grade, bool):
        return str(grade)
    status = meta.get("grade_status")
    return str(status) if status else ""


# sdx history rm, sdx history path


def remove_conversation(prefix: str, yes: bool) -> None:
    """Delete one conversation: on a terminal after asking, elsewhere only with --yes."""
    env = current()
    with History.open() as history:
        conversation_id = history.resolve(prefix)
        conversation = history.load(conversation_id)
        if not yes:
            if not env.stdin_isatty:
                raise UsageError(
                    "not deleting without confirmation (stdin is not a terminal)",
                    f"add --yes: sdx history rm {conversation_id} --yes",
                )
            if not _confirmed(f'Delete "{conversation.title}" ({conversation_id}, {_turns(conversation)})? [y/N] '):
                say("sdx: nothing deleted")
                return
        history.delete(conversation_id)
    say(f"sdx: deleted {conversation_id} ({conversation.title})")


def _confirmed(question: str) -> bool:
    env = current()
    env.stderr.write(sanitize_for_terminal(question) if env.stderr_isatty else question)
    env.stderr.flush()
    answer = env.stdin.readline() if env.stdin is not None else b""
    return answer.decode("utf-8", "replace").strip().lower() in ("y", "yes")


def _turns(conversation: Conversation) -> str:
    count = len(conversation.turns)
    return f"{count} turn" if count == 1 else f"{count} turns"


# sdx show, sdx export


def load_chosen(prefix: str | None) -> Conversation:
    """The conversation an id prefix names; with none, the most recently updated one (of any kind)."""
    with History.open() as history:
        if prefix is not None:
            return history.load(history.resolve(prefix))
        latest = history.latest()
        if latest is None:
            raise UsageError("there are no conversations yet", 'start one: sdx ask "Design a URL shortener"')
        return history.load(latest)


def show_conversation(prefix: str | None, raw: bool, pager: bool = True, as_json: bool = False) -> None:
    """Re-render a stored conversation: as Markdown on a terminal (through the pager when it is longer than the
    screen), the Markdown itself with --raw or piped; with `as_json` everything stored, as data."""
    conversation = load_chosen(prefix)
    if as_json:
        current().stdout.write(json_text(conversation_json(conversation), current().stdout_isatty))
        return
    text = conversation_markdown(conversation)
    if pager and not raw and current().stdout_isatty:
        from sdx.terminal.pager import page_markdown

        if page_markdown(text):
            return
    with choose_renderer(raw)() as sink:
        sink.write(text)


def conversation_json(conversation: Conversation) -> dict[str, object]:
    """Everything stored of a conversation: its turns (complete or not, with tokens and cost), its meta (an
    interview's grade) and its grading requests; times in UTC ISO 8601."""
    data = asdict(conversation)
    data["created_at"], data["updated_at"] = iso_time(conversation.created_at), iso_time(conversation.updated_at)
    for item in [*data["turns"], *data["gradings"]]:
        item["created_at"] = iso_time(item["created_at"])
    return data


def export_conversation(prefix: str | None, output: Path | None, force: bool, html: bool = False) -> None:
    """Write the conversation as one Markdown file (or, with `html`, one HTML page); `-` or no file: to stdout. An
    existing file needs --force (the rule of `sdx.terminal.named_files`)."""
    conversation = load_chosen(prefix)
    text = conversation_markdown(conversation)
    if html:
        text = conversation_page(conversation, text)
    env = current()
    if output is None or str(output) == "-":
        if env.stdout_isatty:  # the model's escape sequences must not drive the terminal; a pipe gets the bytes
            text = sanitize_for_terminal(text)
        env.stdout.flush()
        env.stdout.buffer.write(text.encode("utf-8"))
        env.stdout.buffer.flush()
        return
    from sdx.terminal.named_files import write_named_file

    path = output if output.is_absolute() else env.cwd / output
    write_named_file(path, text, f"-o {output}", force=force)
    say(f"sdx: wrote {output} ({_turns(conversation)})")


def conversation_page(conversation: Conversation, markdown: str) -> str:
    """The conversation's Markdown as a self-contained HTML page; one line on stderr when a diagram is not drawn."""
    from sdx.domain.diagram import mermaid_blocks
    from sdx.terminal.html_page import markdown_page, undrawn_note

    cut_off = [block.source for turn in conversation.turns for block in mermaid_blocks(turn.answer) if not block.closed]
    page = markdown_page(conversation.title or "Untitled conversation", markdown, cut_off)
    if page.undrawn:
        say(f"sdx: note: {undrawn_note(page.undrawn)}")
    return page.html


def conversation_markdown(conversation: Conversation) -> str:
    """The whole conversation as one Markdown document: a title line, then each question and its answer."""
    facts = [conversation.kind, conversation.model, local_time(conversation.created_at, zone=True)]
    if conversation.id:
        facts.append(f"id {conversation.id}")
    if cost := conversation_cost(conversation):
        facts.append(f"cost {cost}")
    parts = [f"# {conversation.title or 'Untitled conversation'}", f"*{' · '.join(facts)}*"]
    shown = _as_the_candidate_said if conversation.kind == "interview" else _as_asked
    for number, turn in enumerate(conversation.turns, start=1):
        parts.extend(_turn_markdown(number, turn, *shown(turn)))
    grade = _grade_markdown(conversation.meta)
    if grade:
        parts.append(grade)
    return "\n\n".join(parts) + "\n"


def _as_asked(turn: Turn) -> tuple[str, str]:
    return turn.question, f"**Context:**\n\n{turn.context}" if turn.context.strip() else ""


def _as_the_candidate_said(turn: Turn) -> tuple[str, str]:
    """An interview turn as the grader reads it: `/hint` as `[asks for a hint]`, the figures the candidate pasted
    from `/estimate`, and never sdx's hidden notes to the interviewer (the clock, the phase, what to do)."""
    from sdx.domain.rubric import candidate_words, split_note

    pasted, _note = split_note(turn.context)
    return candidate_words(turn.question), f"**Figures from /estimate:**\n\n{pasted}" if pasted else ""


def conversation_cost(conversation: Conversation) -> str:
    """The total of the answers' and grading requests' known costs (`~` when part is an estimate), what grading
    cost said apart (`$0.0031 (grading $0.0012)`), and how many costs are unknown; "" when no cost is known."""
    answers = [turn for turn in conversation.turns if counts_as_answer(turn)]
    gradings = conversation.gradings
    total, estimated, _ = total_cost([*answers, *gradings])
    if total is None:  # nothing to total (a cost column elsewhere says "?")
        return ""
    text = _cost(total, estimated)
    grading, grading_estimated, grading_unknown = total_cost(gradings)
    if grading is not None:
        text += f" (grading {_cost(grading, grading_estimated)})"
    unknown_answers = sum(1 for turn in answers if turn.cost is None)
    unknown = [
        *([f"{unknown_answers} answer{'s' if unknown_answers > 1 else ''}"] if unknown_answers else []),
        *([f"{grading_unknown} grading request{'s' if grading_unknown > 1 else ''}"] if grading_unknown else []),
    ]
    return f"{text} + {' and '.join(unknown)} of unknown cost" if unknown else text


def _cost(total: float, estimated: bool) -> str:
    return cost_text(total, PRICE_LIST if estimated else REPORTED)


def _turn_markdown(number: int, turn: Turn, question: str, context: str) -> list[str]:
    title = title_from(question)
    parts = ["---", f"## {number}. {title}"]
    if title != question.strip():  # long or several lines: the heading is shortened, quote it whole
        parts.append(_quote(question))
    if context:
        parts.append(_quote(context))
    if turn.answer.strip():
        parts.append(closed_fences(turn.answer.strip("\n")))
    if turn.status == TRUNCATED:
        tokens = f" ({turn.completion_tokens} tokens)" if turn.completion_tokens else ""
        parts.append(f"> **Cut off:** the answer stopped here, at the token limit{tokens}.")
    elif turn.status == INTERRUPTED:
        parts.append(f"> **Interrupted:** the answer stopped here{f' ({turn.error})' if turn.error else ''}.")
    elif turn.status == ERROR:
        parts.append(f"> **Failed:** {turn.error or 'the request failed'}")
    facts = _turn_facts(turn)
    if facts:
        parts.append(f"*{facts}*")
    return parts


def _turn_facts(turn: Turn) -> str:
    shown = turn.model or turn.model_id  # as the user named it (turns stored before sdx 0.2 have only the id)
    facts = [shown] if shown else []
    if turn.prompt_tokens is not None or turn.completion_tokens is not None:
        generated = "?" if turn.completion_tokens is None else turn.completion_tokens  # never answered: unknown
        counts = f"{turn.prompt_tokens or 0} → {generated} tokens"
        facts.append(counts + (" (estimated)" if turn.tokens_estimated else ""))
    if turn.duration is not None:
        facts.append(f"{turn.duration:.1f} s")
    if turn.cost is not None:
        facts.append(cost_text(turn.cost, turn.cost_source))
    return " · ".join(facts)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip("\n").splitlines())


def _grade_markdown(meta: dict[str, object]) -> str:
    """An interview's grade as the rubric renders it (`meta["grade"]`); a plain rendering of anything else, or the
    grade status when there is no grade."""
    grade = meta.get("grade")
    if isinstance(grade, dict):  # only then is the rubric (and pydantic, ~80 ms) worth importing
        from sdx.domain.grades import grade_markdown

        if rendered := grade_markdown(meta):
            return f"---\n\n{rendered}"
    if grade is None:
        status = meta.get("grade_status")
        return f"---\n\n## Grade\n\n{status}{_grader_text(meta.get('grade_raw'))}" if status else ""
    if isinstance(grade, dict):
        lines = [f"- **{key}**: {_plain(value)}" for key, value in grade.items()]
        return "---\n\n## Grade\n\n" + "\n".join(lines)
    return f"---\n\n## Grade\n\n{_plain(grade)}"


def _grader_text(raw: object) -> str:
    """What the grader answered when it was not a valid grade, kept as it came (fenced: it is not sdx's Markdown)."""
    if not isinstance(raw, str) or not raw.strip():
        return ""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", raw)), default=0))
    return f"\n\nThe grader's answer, which was not a valid grade:\n\n{fence}text\n{raw.strip(chr(10))}\n{fence}"


def _plain(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def local_time(timestamp: float, zone: bool = False) -> str:
    return time.strftime("%Y-%m-%d %H:%M" + (" %Z" if zone else ""), time.localtime(timestamp))


def iso_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
