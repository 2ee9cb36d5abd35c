"""`sdx batch`: answer a list of questions into a directory of Markdown files, concurrently and resumably.

Workers are daemon threads, each running `run_turn` for one question at a time; everything the user sees
(progress, ✓/✗ lines, notices), every rename and every history write happens on the main thread, which
collects the workers' outcomes from a queue.

Files: an answer streams into `.NN-slug.md.part` and is renamed to `NN-slug.md` only when it is complete, so a
final name always holds a whole answer: that is what makes a rerun skip it. `index.md` is rewritten (temp file
and rename) after each answer, and with --html `index.html` and a page `NN-slug.html` beside each answer.

What sdx owns in the directory, and may rename or remove on a rerun, is what it wrote for a question and can tell
it wrote: an answer (`NN-slug.md`, starting with the question block), a cut-off answer (`NN-slug.cut-off.md`: the
question block, the cut-off note, sdx's trailer), a page carrying sdx's batch mark with its question's key, the
index files with their marks, its temporaries. These follow their question when it moves in the list; a cut-off
answer is removed once its question has a whole answer (its note says a rerun replaces it), a page once its answer
is gone. Everything else is the user's and is never renamed, replaced or removed: their own files, a page they
exported into the directory (`sdx export --html` writes no batch mark), a file whose mark they deleted, and the
files of questions no longer in the list (kept as they are, and said).

A rate-limit (429) or server-error wait announced by any request pauses every worker before its next request (one
shared budget). Ctrl-C removes the in-flight temporary files, writes the
index and ends at once, leaving the abandoned requests to die with the process.
"""

from __future__ import annotations

import hashlib
import html
import os
import queue
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from sdx.commands.conversations import new_conversation, open_history
from sdx.config import Config, decode_text
from sdx.domain import prompts, question_bank
from sdx.domain.batch_input import (
    CUT_OFF_SUFFIX,
    INDEX_NAME,
    INDEX_PAGE_NAME,
    Question,
    cut_off_name,
    file_name,
    parse_questions,
    temporary_name,
)
from sdx.domain.conversation import ERROR, INTERRUPTED, TRUNCATED, Conversation, Turn, title_from
from sdx.domain.fences import open_fence
from sdx.environment import current
from sdx.errors import ConfigError, ExitStatus, SdxError, Terminated, UsageError, redact
from sdx.model import pricing
from sdx.model.registry import Target, chosen_model_name, is_loopback, resolve
from sdx.terminal.render import console, said_through, sanitize_for_terminal, say, write_failure
from sdx.turn import TurnOptions, conversation_messages, estimate_tokens, run_turn, store_turn

if TYPE_CHECKING:
    from sdx.store.history import History

MAX_CONCURRENCY = 32
REMOTE_CONCURRENCY = 4
LOCAL_CONCURRENCY = 1  # Ollama answers one request at a time by default (OLLAMA_NUM_PARALLEL=1)
ATTEMPTS = 3  # a stream that breaks mid-answer is asked again, whole, up to this many times in all
RETRY_PAUSE = 1.0  # seconds before asking a broken answer again (times the attempt number)
INPUT_LIMIT = 16 * 1024 * 1024  # bytes of question file read at most
POLL = 0.2  # seconds the main thread waits for an outcome before looking again (keeps Ctrl-C prompt)
# Most severe first: a bug, then what the user must fix before any rerun can work, then what a rerun may fix.
SEVERITY = (ExitStatus.ERROR, ExitStatus.CONFIG, ExitStatus.USAGE, ExitStatus.PROVIDER, ExitStatus.NETWORK)
LOCK_NAME = ".sdx-batch.lock"
INDEX_TITLE = "# Study guide"
SAFE_MODEL = re.compile(r"[^\w.:/@+-]")
TRAILER = re.compile(
    r"<!-- sdx batch: model=(?P<model>[^;]*); date=(?P<date>[^;]*);(?: cost=(?P<cost>[^;]*);)?"
    r" tokens=(?P<tokens>[^ ]*) -->"
)
DEFAULT_ANSWER_TOKENS = (500, 2500)  # an answer's length when the model has no earlier answers to go by
EARLIER_ANSWERS = 50  # how many of the model's last answers the forecast looks at


@dataclass(frozen=True)
class BatchOptions:
    source: str | None = None  # a file, or "-" for stdin
    examples: bool = False
    out: Path | None = None
    model: str | None = None
    context: str | None = None
    concurrency: int | None = None
    force: bool = False
    log: bool = True
    timeout: float | None = None
    max_tokens: int | None = None
    estimate: bool = True  # --no-estimate: no computed capacity figures for the model
    html: bool = False  # an HTML page beside each answer
    dry_run: bool = False  # print the questions and a cost range; send nothing
    max_cost: float | None = None  # USD: start no question that could take the spend past it


@dataclass
class Job:
    question: Question
    name: str  # the final file name
    path: Path
    temporary: Path

    @property
    def cut_off(self) -> Path:
        """Where the answer is kept when the model stopped at the token limit (see `cut_off_name`)."""
        return self.path.with_name(cut_off_name(self.name))


@dataclass
class Row:
    """One line of `index.md`."""

    job: Job
    status: str = "pending"  # pending, done, cut off (kept as job.cut_off, asked again by a rerun), failed
    model: str = ""
    date: str = ""
    tokens: str = ""
    reason: str = ""
    code: int = 0  # the failure's exit code
    earlier: bool = False  # done by an earlier run
    cost: float | None = None  # USD; None: unknown
    cost_source: str = ""


@dataclass
class Outcome:
    job: Job
    conversation: Conversation
    turn: Turn
    error: SdxError | None = None


@dataclass(frozen=True)
class Notice:
    text: str


@dataclass(frozen=True)
class NotStarted:
    """A question left unasked because it could take the spend past --max-cost."""

    job: Job


class BatchInterrupted(SdxError):
    """Ctrl-C (or SIGTERM/SIGHUP) during a batch: what is done stays done; the line says how to resume."""

    def line(self) -> str:
        return f"sdx: {self.what}"


# ---------------------------------------------------------------------------------------------------------------
# Input


def read_source(options: BatchOptions, stdin: BinaryIO | None) -> tuple[str, str]:
    """(the input's text, how to name it in messages)."""
    if options.examples and options.source is not None:
        raise UsageError("give a file of questions or --examples, not both")
    if options.examples:
        return "\n".join(question_bank.texts()), "the built-in examples"
    if options.source is None:
        raise UsageError("no questions given", "sdx batch questions.txt --out guide/ (or - for stdin, or --examples)")
    if options.source == "-":
        if stdin is None:
            raise UsageError("no questions on stdin", "pipe a file of questions in, or give its path")
        return decode_input(stdin.read(INPUT_LIMIT + 1), "stdin"), "stdin"
    path = in_working_directory(Path(options.source))
    shown = options.source
    if path.is_dir():
        raise UsageError(f"{shown} is a directory", "give a text file with one question per line")
    try:
        with path.open("rb") as handle:
            data = handle.read(INPUT_LIMIT + 1)
    except FileNotFoundError:
        raise UsageError(
            f"no such file: {shown}", "check the path, or use - to read the questions from stdin"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read {shown}: {exc.strerror}", "check its permissions") from None
    return decode_input(data, shown), shown


def decode_input(data: bytes, shown: str) -> str:
    """UTF-8 (a byte-order mark is dropped), or UTF-16 with a byte-order mark; binary or other text is refused."""
    if len(data) > INPUT_LIMIT:
        raise UsageError(f"{shown} is larger than {INPUT_LIMIT // (1024 * 1024)} MB", "split it into smaller lists")
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 is full of NULs
        raise UsageError(f"{shown} looks binary (it contains NUL bytes)", "give a text file, one question a line")
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{shown} is not UTF-8 text (bad byte at offset {exc.start})", "save it as UTF-8 and run again"
        ) from None


def in_working_directory(path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else current().cwd / path


def check_sizes(questions: list[Question], context: str, limit_kb: int) -> None:
    for question in questions:
        if len(prompts.user_message(question.text, context).encode()) > limit_kb * 1024:
            raise UsageError(
                f"question {question.number} (line {question.line}) and its context are larger than {limit_kb} KB",
                "shorten it, or raise max_input_kb in the config file",
            )


def choose_concurrency(asked: int | None, target: Target) -> int:
    if asked is None:
        return LOCAL_CONCURRENCY if is_loopback(target.base_url) else REMOTE_CONCURRENCY
    if asked < 1:
        raise UsageError(f"--concurrency must be at least 1 (got {asked})", "e.g. --concurrency 4")
    if asked > MAX_CONCURRENCY:
        say(f"sdx: note: --concurrency {asked} is more than providers accept; using {MAX_CONCURRENCY}")
        return MAX_CONCURRENCY
    return asked


def prepare_out(out: Path | None) -> Path:
    """The output directory, created when missing, checked writable before any request is sent."""
    if out is None:
        raise UsageError("no output directory given", "add --out DIR, e.g. --out guide/")
    path = in_working_directory(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory", "give a directory (it is created when missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".sdx-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write in --out {out}: {exc.strerror}", "pick a directory you can write to") from None
    return path


# ---------------------------------------------------------------------------------------------------------------
# Answer files and the index


def question_block(text: str) -> str:
    """The question at the top of its answer file, as a quote."""
    lines = text.splitlines() or [""]
    quoted = [f"> **Question:** {lines[0]}", *(f"> {line}" if line else ">" for line in lines[1:])]
    return "\n".join(quoted) + "\n\n"


QUESTION_START = "> **Question:** "


def question_in_file(path: Path) -> str | None:
    """The question an answer file holds (its `question_block`, read back), or None for a file sdx did not write."""
    lines: list[str] = []
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle):
                line = line.rstrip("\n")
                if number == 0:
                    if not line.startswith(QUESTION_START):
                        return None
                    lines.append(line.removeprefix(QUESTION_START))
                elif line == ">" or line.startswith("> "):
                    lines.append(line[2:])
                else:
                    break
    except OSError:
        return None
    return "\n".join(lines).strip()


def adopt_earlier_answers(rows: list[Row], out: Path) -> None:
    """Match the answer files already in `out` to the questions by their text, not their number: a file whose
    question moved in the list (one inserted above it, say) is renamed to the question's new name, so it is not
    asked again. Answers to questions no longer in the list are left as they are, and said."""
    by_text: dict[str, Path] = {}
    for path in sorted(out.glob("*.md")):
        if path.name == INDEX_NAME or path.name.endswith(CUT_OFF_SUFFIX):  # no whole answer to adopt
            continue
        if (text := question_in_file(path)) is not None:
            by_text.setdefault(text, path)
    wanted = {row.job.question.text: row for row in rows}
    moves = [
        (path, wanted[text].job.path)
        for text, path in by_text.items()
        if text in wanted and path != wanted[text].job.path
    ]
    staged, _ = move_files(moves)  # a name held by a file that stays: the question is asked again
    if staged:
        say(f"sdx: note: {len(staged)} earlier answer{plural(len(staged))} moved in the list and renamed to match")
    gone = sorted(path.name for text, path in by_text.items() if text not in wanted)
    settle_cut_offs(rows, out)
    settle_pages(rows, out)
    if gone:
        shown = ", ".join(gone[:3]) + (", …" if len(gone) > 3 else "")
        say(
            f"sdx: note: {len(gone)} file{plural(len(gone))} in {out.name}/ answer questions no longer in the list"
            f" (kept as they are): {shown}"
        )


def move_files(moves: list[tuple[Path, Path]]) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """Rename each (source, target), in two steps since a new name may be the old name of another file that moves;
    a move whose target is held by a file that stays, or that another move takes first, is not made. Returns the
    moves made and those not made."""
    moving = dict(moves)
    settled = False
    while not settled:  # a move left out may hold the target of another: leave that out too
        settled, taken = True, set()
        for source, target in list(moving.items()):
            if target in taken or (target.exists() and target not in moving):
                del moving[source]
                settled = False
            else:
                taken.add(target)
    staged = []
    for source, target in moving.items():
        stage = source.with_name(f".{source.name}.moving")
        os.replace(source, stage)
        staged.append((stage, target))
    for stage, target in staged:
        os.replace(stage, target)
    return list(moving.items()), [(source, target) for source, target in moves if source not in moving]


CUT_OFF_NOTE = "> **Cut off** at the token limit"


def cut_off_question(path: Path) -> str | None:
    """The question of a cut-off answer sdx wrote (the question block, its cut-off note and trailer), else None."""
    text = question_in_file(path)
    if text is None:
        return None
    tail = _file_tail(path, 1024)
    return text if tail is not None and CUT_OFF_NOTE in tail and TRAILER.search(tail) else None


def _file_tail(path: Path, size: int) -> str | None:
    """The last `size` bytes of a file as text, or None when it cannot be read."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - size))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def settle_cut_offs(rows: list[Row], out: Path) -> None:
    """Cut-off answers follow their question: removed once it has a whole answer (the rerun that completed it, or
    an answer that moved in), renamed when it moved in the list, so that none is left looking current."""
    jobs = {row.job.question.text: row.job for row in rows}
    moves = []
    for path in sorted(out.glob(f"*{CUT_OFF_SUFFIX}")):
        text = cut_off_question(path)
        job = jobs.get(text) if text is not None else None
        if job is None:
            continue  # not sdx's, or its question is no longer in the list
        if question_in_file(job.path) == text:
            path.unlink(missing_ok=True)
        elif path != job.cut_off:
            moves.append((path, job.cut_off))
    _, blocked = move_files(moves)
    for source, target in blocked:
        if cut_off_question(target) == cut_off_question(source):  # the same question's, already in place
            source.unlink(missing_ok=True)


def question_key(text: str) -> str:
    """A question's key in its page's mark: no question text in an HTML comment, where `-->` would end it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


PAGE_MARK = re.compile(r"<!-- sdx batch page: question (?P<key>[0-9a-f]{20}) -->\n?\Z")
INDEX_PAGE_MARK = "<!-- sdx batch index -->"


def page_question(path: Path) -> str | None:
    """The question key of a page sdx batch wrote (its last line is the mark), else None."""
    tail = _file_tail(path, 200)
    found = PAGE_MARK.search(tail) if tail is not None else None
    return found["key"] if found else None


def settle_pages(rows: list[Row], out: Path) -> None:
    """Pages follow their answer: renamed with it when it moved in the list, removed when it is gone (the question
    is asked again, and its page made again)."""
    jobs = {question_key(row.job.question.text): row.job for row in rows}
    moves = []
    for path in sorted(out.glob("*.html")):
        key = page_question(path)
        job = jobs.get(key) if key is not None else None
        if job is None:
            continue  # not sdx's page, or its question is no longer in the list
        if question_in_file(job.path) != job.question.text:
            path.unlink(missing_ok=True)
        elif path != page_path(job):
            moves.append((path, page_path(job)))
    _, blocked = move_files(moves)
    for source, target in blocked:
        if page_question(target) == page_question(source):
            source.unlink(missing_ok=True)


@contextmanager
def batch_lock(out: Path) -> Iterator[None]:
    """One batch at a time in a directory: a second one is refused in one line. The lock is the kernel's (`flock`)
    on `.sdx-batch.lock`, so a batch that died holds nothing; the file is removed when the batch ends."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock
        yield
        return
    path = out / LOCK_NAME
    while True:
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            process = f" (process {holder})" if holder.isdigit() else ""
            raise UsageError(
                f"another sdx batch{process} is writing into {out}", "wait for it to finish, or give another --out"
            ) from None
        try:
            if os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino:
                break  # else the batch before ours removed the file we locked: lock the new one
        except FileNotFoundError:
            pass
        handle.close()
    try:
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()


def trailer(row: Row) -> str:
    """The last line of a finished answer file: what `index.md` shows for it on a later run (HTML comment)."""
    return f"\n\n<!-- sdx batch: model={row.model}; date={row.date}; cost={cost_field(row)}; tokens={row.tokens} -->\n"


def cost_field(row: Row) -> str:
    """The trailer's cost: `0.00123`, `~0.00123` (estimated) or `unknown`."""
    if row.cost is None:
        return "unknown"
    return f"{'~' if pricing.is_estimated(row.cost_source) else ''}{row.cost:.6g}"


def read_cost_field(text: str | None, row: Row) -> None:
    value = (text or "").strip()
    try:
        row.cost = float(value.lstrip("~"))
    except ValueError:
        return
    row.cost_source = pricing.PRICE_LIST if value.startswith("~") else pricing.REPORTED


def read_trailer(path: Path, row: Row) -> None:
    """Fill `row` from a finished file's trailer (an answer from an earlier run)."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 512))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return
    found = list(TRAILER.finditer(tail))
    if found:
        row.model, row.date, row.tokens = found[-1]["model"], found[-1]["date"], found[-1]["tokens"]
        read_cost_field(found[-1]["cost"], row)


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def render_index(rows: list[Row], model: str, updated: str) -> str:
    done = sum(row.status == "done" for row in rows)
    cost = guide_cost([row for row in rows if row.status == "done"])
    lines = [
        INDEX_TITLE,
        "",
        f"{done} of {len(rows)} questions answered · model `{model}`{f' · cost {cost}' if cost else ''}"
        f" · updated {updated}",
        "",
        "| # | Question | Status | Model | Date | Tokens | Cost |",
        "|---:|---|---|---|---|---:|---:|",
    ]
    for row in rows:
        title = cell(title_from(row.job.question.text, 100))
        if row.status in ("done", "cut off"):
            linked = row.job.name if row.status == "done" else row.job.cut_off.name
            title = "[" + title.replace("[", "\\[").replace("]", "\\]") + f"]({linked})"
        status = {
            "done": "done",
            "cut off": "cut off at the token limit (asked again by the next run)",
            "failed": f"failed: {cell(row.reason)}",
            "pending": "not answered yet",
        }[row.status]
        cost = pricing.cost_text(row.cost, row.cost_source) or ("unknown" if row.status == "done" else "")
        lines.append(
            f"| {row.job.question.number} | {title} | {status} | {cell(row.model)} | {row.date} | {row.tokens}"
            f" | {cost} |"
        )
    return "\n".join(lines) + "\n"


def guide_cost(done: list[Row]) -> str:
    """What the answers cost together: `~$0.0123` (an estimate in it), `$0.0123 + 2 unknown`; "" when no answer's
    cost is known."""
    known = [row for row in done if row.cost is not None]
    if not known:
        return ""
    estimated = any(pricing.is_estimated(row.cost_source) for row in known)
    text = pricing.cost_text(sum(row.cost or 0.0 for row in known), pricing.PRICE_LIST if estimated else "")
    unknown = len(done) - len(known)
    return f"{text} + {unknown} unknown" if unknown else text


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once; on failure nothing is left behind and nothing is replaced."""
    temporary = path.with_name(temporary_name(path.name))
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise write_failure(str(path), exc) from exc


def page_path(job: Job) -> Path:
    return job.path.with_suffix(".html")


def write_page(job: Job, report: Callable[[str], None], force: bool = False) -> None:
    """`--html`: the answer file as a self-contained HTML page beside it, its last line sdx's mark. A page that
    cannot be made costs a line, never the answer; a diagram that is not drawn, a line too. A file under the
    page's name that sdx did not write is replaced only with --force."""
    from sdx.terminal.html_page import markdown_page, undrawn_note

    path = page_path(job)
    if not force and path.exists() and page_question(path) is None:
        report(f"{path.name} not written: a file sdx did not write has that name (--force replaces it)")
        return
    try:
        answer = TRAILER.sub("", job.path.read_text(encoding="utf-8")).rstrip() + "\n"
    except (OSError, UnicodeDecodeError) as exc:
        report(f"{path.name} not written: {job.name} cannot be read ({getattr(exc, 'strerror', None) or exc})")
        return
    page = markdown_page(title_from(job.question.text), f"# {title_from(job.question.text)}\n\n{answer}")
    if page.undrawn:
        report(f"{path.name}: {undrawn_note(page.undrawn)}")
    try:
        write_atomically(path, f"{page.html}<!-- sdx batch page: question {question_key(job.question.text)} -->\n")
    except SdxError as exc:
        report(f"{path.name} not written: {exc.what}")


def render_index_page(rows: list[Row], model: str, updated: str) -> str:
    """`index.html`: what `index.md` says, as a page: each answered question linked to its page (or its file,
    when it has none: a cut-off answer, or a page that could not be written), every text escaped."""
    from sdx.terminal.html_page import document

    done = sum(row.status == "done" for row in rows)
    cost = guide_cost([row for row in rows if row.status == "done"])
    summary = (
        f"{done} of {len(rows)} questions answered · model <code>{html.escape(model)}</code>"
        f"{f' · cost {html.escape(cost)}' if cost else ''} · updated {html.escape(updated)}"
    )
    lines = [
        f"<h1>{INDEX_TITLE.removeprefix('# ')}</h1>",
        f'<p class="summary">{summary}</p>',
        '<table class="index">',
        "<thead><tr><th>#</th><th>Question</th><th>Status</th><th>Model</th><th>Date</th><th>Tokens</th>"
        "<th>Cost</th></tr></thead>",
        "<tbody>",
    ]
    for row in rows:
        title = html.escape(title_from(row.job.question.text, 100))
        if row.status == "done":
            has_page = page_question(page_path(row.job)) == question_key(row.job.question.text)
            target = page_path(row.job).name if has_page else row.job.name
            title = f'<a href="{html.escape(target)}">{title}</a>'
        elif row.status == "cut off":
            title = f'<a href="{html.escape(row.job.cut_off.name)}">{title}</a>'
        status = html.escape(
            {
                "done": "done",
                "cut off": "cut off at the token limit (asked again by the next run)",
                "failed": f"failed: {' '.join(row.reason.split())}",
                "pending": "not answered yet",
            }[row.status]
        )
        cost = pricing.cost_text(row.cost, row.cost_source) or ("unknown" if row.status == "done" else "")
        cells = [str(row.job.question.number), title, status, html.escape(row.model), html.escape(row.date)]
        cells += [html.escape(row.tokens), html.escape(cost)]
        kind = row.status.replace(" ", "-")
        lines.append(f'<tr class="{kind}">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    lines += ["</tbody>", "</table>", ""]
    return document(INDEX_TITLE.removeprefix("# "), "\n".join(lines)) + INDEX_PAGE_MARK + "\n"


def utc_date(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


# ---------------------------------------------------------------------------------------------------------------
# The shared state of the workers


class RateGate:
    """One rate-limit budget for the whole batch: a wait asked for by any request delays every next request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, current().monotonic() + seconds)

    def wait(self) -> None:
        """Sleep (through the environment's `sleep`, which tests record) until the pause is over."""
        remaining = self._until - current().monotonic()
        if remaining > 0:
            current().sleep(remaining)


@dataclass
class Shared:
    """What the main thread and the workers share."""

    target: Target
    model_name: str
    context: str
    turn_options: TurnOptions
    jobs: queue.Queue[Job | None]
    outcomes: queue.Queue[Outcome | Notice]
    pages: bool = False  # --html
    force: bool = False  # --force: a page replaces a file sdx did not write
    gate: RateGate = field(default_factory=RateGate)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards `open_files` against the Ctrl-C cleanup
    open_files: set[Path] = field(default_factory=set)  # temporary files being written
    estimate: bool = True  # capacity figures for the model (--no-estimate: none)
    budget: Budget | None = None  # --max-cost

    def abandon(self) -> None:
        """Stop the workers from starting anything and remove every temporary file being written."""
        with self.lock:
            self.stop.set()
            for path in self.open_files:
                path.unlink(missing_ok=True)
            self.open_files.clear()


@dataclass
class Budget:
    """--max-cost: a question starts only if the spend so far, plus the most that each question in flight and this
    one could cost, stays within the cap; once one is refused, no other starts."""

    cap: float
    most: Callable[[Job], float]  # the most one question could cost
    spent: float = 0.0
    estimated: bool = False  # some of `spent` is an estimate (priced, or the amount held for an unknown cost)
    in_flight: float = 0.0
    refused: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, job: Job) -> float | None:
        """The amount held for `job` while it is answered, or None when it must not start."""
        most = self.most(job)
        with self.lock:
            if self.refused or self.spent + self.in_flight + most > self.cap * (1 + 1e-9):
                self.refused = True
                return None
            self.in_flight += most
        return most

    def settle(self, held: float, turn: Turn) -> None:
        """The question is over: its cost (the amount held when it is unknown) is spent."""
        with self.lock:
            self.in_flight -= held
            self.spent += held if turn.cost is None else turn.cost
            self.estimated |= turn.cost is None or pricing.is_estimated(turn.cost_source)


@dataclass
class FileSink:
    handle: IO[bytes]

    def write(self, text: str) -> None:
        self.handle.write(text.encode("utf-8"))


def worker(shared: Shared) -> None:
    while not shared.stop.is_set():
        job = shared.jobs.get()
        if job is None:
            return
        try:
            outcome = answer(job, shared)
        except OSError as exc:  # the temporary file could not be created
            error = write_failure(str(job.path), exc)
            turn = Turn(question=job.question.text, context=shared.context, status=ERROR, error=error.what)
            outcome = Outcome(job, batch_conversation(job, shared), turn, error)
        if outcome is not None:
            shared.outcomes.put(outcome)


def answer(job: Job, shared: Shared) -> Outcome | NotStarted | None:
    """Ask one question into its temporary file; a stream that broke mid-answer is asked again, whole. What sdx
    would say meanwhile (a warning) goes to the main thread, naming the question, to be shown above the bar."""
    with said_through(lambda message: shared.outcomes.put(Notice(f"{job.name}: {message.removeprefix('sdx: ')}"))):
        return answer_with_retries(job, shared)


def answer_with_retries(job: Job, shared: Shared) -> Outcome | NotStarted | None:
    outcome: Outcome | None = None
    for attempt in range(1, ATTEMPTS + 1):
        shared.gate.wait()
        held = shared.budget.reserve(job) if shared.budget else 0.0
        if held is None:
            return outcome or NotStarted(job)
        handle = open_temporary(job, shared)
        if handle is None:
            return None
        outcome = attempt_once(job, shared, handle)
        if shared.budget:
            shared.budget.settle(held, outcome.turn)
        if outcome.error is None or not worth_retrying(outcome) or attempt == ATTEMPTS:
            return outcome
        shared.outcomes.put(Notice(f"{job.name}: {outcome.error.what}; asking again ({attempt + 1}/{ATTEMPTS})"))
        current().sleep(RETRY_PAUSE * attempt)
    raise AssertionError("unreachable")


def open_temporary(job: Job, shared: Shared) -> IO[bytes] | None:
    """The temporary file, opened and registered unless the batch is stopping (then None)."""
    with shared.lock:
        if shared.stop.is_set():
            return None
        handle = job.temporary.open("wb", buffering=0)  # unbuffered: the file shows what has arrived
        shared.open_files.add(job.temporary)
    return handle


def batch_conversation(job: Job, shared: Shared) -> Conversation:
    """Each question is its own conversation of kind `batch` in history, noting its file."""
    conversation = new_conversation("batch", shared.model_name)
    conversation.meta["file"] = job.name
    return conversation


def batch_context(job: Job, shared: Shared) -> str:
    """The shared context, with sdx's capacity figures when the question (or the context) states a scale: as in
    `sdx ask`, but never drawn, so the progress display stays whole."""
    if not shared.estimate:
        return shared.context
    from sdx.commands.ask import with_facts
    from sdx.domain.estimates import estimate_from_text, facts_for_prompt

    estimate = estimate_from_text(f"{job.question.text}\n{shared.context}")
    return with_facts(shared.context, facts_for_prompt(estimate) if estimate is not None else "")


def attempt_once(job: Job, shared: Shared, handle: IO[bytes]) -> Outcome:
    conversation = batch_conversation(job, shared)
    turn = Turn(question=job.question.text, context=batch_context(job, shared))

    @contextmanager
    def into_file() -> Iterator[FileSink]:
        yield FileSink(handle)

    error: SdxError | None = None
    try:
        handle.write(question_block(job.question.text).encode("utf-8"))
        run_turn(conversation, turn, shared.target, shared.turn_options, None, into_file)
        if turn.status == INTERRUPTED:  # sdx stopped an answer that kept repeating itself: not a whole answer
            error = SdxError(turn.error, "run the same command again to ask it again", ExitStatus.PROVIDER)
    except SdxError as exc:
        error = exc
    except OSError as exc:  # writing the answer file failed
        error = write_failure(str(job.path), exc)
    except Exception as exc:  # a bug in one question must not hang the batch: report it like any failure
        error = SdxError(f"unexpected {type(exc).__name__}: {exc}", "rerun with --debug and report it")
    finally:
        handle.close()
    return Outcome(job, conversation, turn, error)


def worth_retrying(outcome: Outcome) -> bool:
    """A stream that broke after text arrived: asking again may well work (other failures were retried already,
    or will not get better by asking again)."""
    return outcome.error is not None and outcome.error.status == ExitStatus.NETWORK and bool(outcome.turn.answer)


# ---------------------------------------------------------------------------------------------------------------
# What the user sees on stderr


class Progress:
    """A Rich progress bar with ✓/✗ lines above it on a terminal; one plain line per event anywhere else."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.finished = 0
        self.failed = 0
        self.tokens = 0
        self.terminal = current().stderr_isatty
        self._bar: Any = None
        self._task: Any = None
        self._started = 0.0

    def __enter__(self) -> Progress:
        if self.terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self._started = current().monotonic()

            self._bar = Bar(
                TextColumn("Answering"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("· {task.fields[failed]} failed · {task.fields[tokens]} tokens ·"),
                TimeElapsedColumn(),
                TextColumn("· ETA {task.fields[eta]}"),
                console=console(stderr=True),
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("batch", total=self.total, failed=0, tokens=0, eta="-:--:--")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def line(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(sanitize_for_terminal(text), markup=False, highlight=False)
        else:
            say(f"sdx: {text}")

    def done(self, row: Row, seconds: float) -> None:
        self.finished += 1
        self.tokens += int(row.tokens.lstrip("~") or 0)
        cost = pricing.cost_text(row.cost, row.cost_source)
        self.line(f"{self._count()}✓ {row.job.name} ({row.tokens} tokens, {f'{cost}, ' if cost else ''}{seconds:.1f}s)")
        self._update()

    def fail(self, row: Row) -> None:
        self.finished += 1
        self.failed += 1
        self.line(f"{self._count()}✗ {row.job.name}: {row.reason}")
        self._update()

    def skip(self) -> None:
        self.finished += 1
        self._update()

    def _count(self) -> str:
        return "" if self.terminal else f"[{self.finished}/{self.total}] "

    def _update(self) -> None:
        if self._bar is not None:
            eta = self._eta()
            self._bar.update(self._task, completed=self.finished, failed=self.failed, tokens=self.tokens, eta=eta)

    def _eta(self) -> str:
        """The time left at the pace so far (the mean time per finished question). Rich's own estimate divides by
        the span between its first and last samples, which is near zero when concurrent answers land together."""
        if not self.finished:
            return "-:--:--"
        seconds = round((current().monotonic() - self._started) / self.finished * (self.total - self.finished))
        return f"{seconds // 3600}:{seconds // 60 % 60:02}:{seconds % 60:02}"


# ---------------------------------------------------------------------------------------------------------------
# The command


def run_batch(options: BatchOptions, config: Config, stdin: BinaryIO | None) -> None:
    text, shown = read_source(options, stdin)
    parsed = parse_questions(text)
    if not parsed.questions:
        raise UsageError(f"{shown} has no questions (only blank lines or # comments)", "write one question a line")
    context = (options.context or "").strip()
    check_sizes(parsed.questions, context, config.max_input_kb)
    model_name = chosen_model_name(options.model, config)
    if options.dry_run:
        dry_run(parsed.questions, context, resolve(model_name, config, key=False), options)
        return
    target = resolve(model_name, config)
    out = prepare_out(options.out)
    concurrency = choose_concurrency(options.concurrency, target)
    for line, number in parsed.duplicates:
        say(f"sdx: note: line {line} repeats question {number}; it is asked once")

    with batch_lock(out):
        run_locked(options, config, parsed.questions, target, model_name, out, concurrency, context)


def run_locked(
    options: BatchOptions,
    config: Config,
    questions: list[Question],
    target: Target,
    model_name: str,
    out: Path,
    concurrency: int,
    context: str,
) -> None:
    """The batch, once it holds the directory's lock."""
    total = len(questions)
    rows = [Row(make_job(question, total, out)) for question in questions]
    check_index_is_ours(out / INDEX_NAME, options.force)
    if options.html:
        check_index_page_is_ours(out / INDEX_PAGE_NAME, options.force)
    adopt_earlier_answers(rows, out)
    todo = plan(rows, options.force)
    if options.html:  # pages for answers of an earlier run without --html
        for row in rows:
            if row.earlier and not page_path(row.job).exists():
                write_page(row.job, lambda text: say(f"sdx: {text}"), options.force)
    index = IndexWriter(out / INDEX_NAME, rows, model_name, options.html)
    index.write()
    if not todo:
        say(f"sdx: all {total} answers are already in {shown_dir(options)} (--force asks them again)")
        return
    turn_options = TurnOptions(
        raw=True,
        timeout=options.timeout or config.timeout,
        max_tokens=options.max_tokens or config.max_tokens,
        spinner=False,
    )
    shared = Shared(
        target,
        model_name,
        context,
        turn_options,
        queue.Queue(),
        queue.Queue(),
        estimate=options.estimate,
        pages=options.html,
        force=options.force,
    )
    if options.max_cost is not None:
        shared.budget = cost_budget(options.max_cost, [row.job for row in todo], target, context, options)
    shared.turn_options = replace(turn_options, on_wait=pause_everyone(shared))
    skipped = total - len(todo)
    workers = min(concurrency, len(todo))
    say(
        f"sdx: {len(todo)} question{plural(len(todo))} to answer with {model_name} into {shown_dir(options)}, "
        f"{workers} at a time" + (f" ({skipped} already done)" if skipped else "")
    )
    history = open_history(continuing=False, logging=options.log and config.log, what="the answers")
    try:
        collect(todo, rows, shared, workers, index, history, options)
    finally:
        if history is not None:
            history.close()


def check_index_is_ours(path: Path, force: bool) -> None:
    """`index.md` is rewritten on every run; one that sdx did not write is only replaced with --force."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return
    except OSError:
        return  # unreadable: writing it will say what is wrong
    if first.rstrip("\n") != INDEX_TITLE and not force:
        raise UsageError(
            f"{path} exists and was not written by sdx batch", "add --force to replace it, or give another --out"
        )


def check_index_page_is_ours(path: Path, force: bool) -> None:
    """`index.html`, like `index.md`: one that sdx did not write (no mark at its end) is only replaced with --force."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return
    except OSError:
        return
    if not text.rstrip().endswith(INDEX_PAGE_MARK) and not force:
        raise UsageError(
            f"{path} exists and was not written by sdx batch", "add --force to replace it, or give another --out"
        )


def make_job(question: Question, total: int, out: Path) -> Job:
    name = file_name(question, total)
    return Job(question, name, out / name, out / temporary_name(name))


def plan(rows: list[Row], force: bool) -> list[Row]:
    """The rows to answer: all with --force, else those without a finished file (leftover temporaries go)."""
    todo = []
    if rows:
        for leftover in rows[0].job.path.parent.glob(".*.md.part"):  # ours, from a run that was killed
            leftover.unlink(missing_ok=True)
    for row in rows:
        row.job.temporary.unlink(missing_ok=True)
        if row.job.path.exists() and not force:
            row.status, row.earlier = "done", True
            read_trailer(row.job.path, row)
        else:
            todo.append(row)
    return todo


def shown_dir(options: BatchOptions) -> str:
    return str(options.out)


def plural(count: int) -> str:
    return "" if count == 1 else "s"


def pause_everyone(shared: Shared) -> Callable[[str, float], None]:
    def on_wait(message: str, seconds: float) -> None:
        shared.gate.pause(seconds)
        shared.outcomes.put(Notice(f"{message}; the whole batch waits"))

    return on_wait


@dataclass
class IndexWriter:
    path: Path
    rows: list[Row]
    model: str
    page: bool = False  # --html: index.html too

    def write(self) -> None:
        updated = utc_date(current().wall_clock())
        write_atomically(self.path, render_index(self.rows, self.model, updated))
        if self.page:
            write_atomically(self.path.with_name(INDEX_PAGE_NAME), render_index_page(self.rows, self.model, updated))


def collect(
    todo: list[Row],
    rows: list[Row],
    shared: Shared,
    workers: int,
    index: IndexWriter,
    history: History | None,
    options: BatchOptions,
) -> None:
    """Start the workers, take their outcomes as they come, and end with a summary (or the failures)."""
    by_name = {row.job.name: row for row in todo}
    for row in todo:
        shared.jobs.put(row.job)
    for _ in range(workers):
        shared.jobs.put(None)
        threading.Thread(target=worker, args=(shared,), name="sdx-batch", daemon=True).start()
    started = current().monotonic()
    waiting = len(todo)
    try:
        with Progress(len(todo)) as progress:
            while waiting:
                try:
                    item = shared.outcomes.get(timeout=POLL)
                except queue.Empty:
                    continue
                if isinstance(item, Notice):
                    progress.line(item.text)
                    continue
                waiting -= 1
                if isinstance(item, NotStarted):
                    progress.skip()
                    continue
                land(item, by_name[item.job.name], shared, history, progress, started)
                if shared.outcomes.empty() or not waiting:  # outcomes that land together share one rewrite
                    index.write()
    except (KeyboardInterrupt, Terminated) as exc:
        stop_now(exc, shared, rows, index, options)
    if shared.budget is not None and shared.budget.refused:
        say_capped(shared.budget, rows)
    summarise(rows, options)


def land(
    outcome: Outcome, row: Row, shared: Shared, history: History | None, progress: Progress, started: float
) -> None:
    """One question's outcome: rename its file into place (or remove it), store it, show it."""
    turn, job = outcome.turn, outcome.job
    if outcome.error is None:
        cut = turn.status == TRUNCATED
        row.status = "cut off" if cut else "done"
        row.model = SAFE_MODEL.sub("_", turn.model or shared.model_name)  # as named: kept out of comment syntax
        row.date = utc_date(turn.created_at or current().wall_clock())
        row.tokens = f"{'~' if turn.tokens_estimated else ''}{turn.completion_tokens or 0}"
        row.cost, row.cost_source = turn.cost, turn.cost_source
        try:
            with job.temporary.open("ab") as handle:
                ending = _close_open_fence(turn.answer) + (cut_off_note(row) if cut else "") + trailer(row)
                handle.write(ending.encode("utf-8"))
            os.replace(job.temporary, job.cut_off if cut else job.path)
            if not cut and cut_off_question(job.cut_off) == job.question.text:
                job.cut_off.unlink()  # an earlier run's cut-off answer, now asked whole
        except OSError as exc:
            outcome.error = write_failure(str(job.path), exc)
    if outcome.error is not None:
        job.temporary.unlink(missing_ok=True)
        row.status, row.reason, row.code = "failed", redact(outcome.error.what), outcome.error.status
        row.model = row.date = row.tokens = ""
        row.cost, row.cost_source = None, ""
    with shared.lock:
        shared.open_files.discard(job.temporary)
    store_turn(outcome.conversation, outcome.turn, history, what=outcome.job.name)
    if row.status == "cut off":
        row.reason = f"cut off at the token limit ({row.tokens} tokens); kept as {job.cut_off.name}"
        row.code = ExitStatus.PROVIDER
    if row.status == "done":
        progress.done(row, turn.duration or current().monotonic() - started)
        if shared.pages:
            write_page(job, progress.line, shared.force)
    else:
        progress.fail(row)


def _close_open_fence(answer: str) -> str:
    """A fence the answer left open (cut off inside a code block), closed: sdx's note and trailer stay outside it."""
    marker = open_fence(answer)
    return f"\n{marker}" if marker else ""


def cut_off_note(row: Row) -> str:
    """The end of a cut-off answer's file, before its trailer: what it is and what happens to it."""
    return (
        f"\n\n> **Cut off** at the token limit ({row.tokens} tokens): this is not a whole answer. The next"
        f" `sdx batch` run asks the question again (raise --max-tokens for room).\n"
    )


def stop_now(exc: BaseException, shared: Shared, rows: list[Row], index: IndexWriter, options: BatchOptions) -> None:
    """After Ctrl-C: abandon what is in flight, keep what is done, say how to resume; a second Ctrl-C ends it all."""
    second = second_interrupt_exits()
    try:
        shared.abandon()
        for row in rows:  # an answer renamed just before the interrupt landed is done
            if row.status != "done" and row.job.path.exists():
                row.status = "done"
        index.write()
        done = sum(row.status == "done" for row in rows)
        rest = len(rows) - done
        again = "the same command without --force" if options.force else "the same command"
        status: int = ExitStatus.INTERRUPTED
        name = "interrupted"
        if isinstance(exc, Terminated):
            status, name = 128 + exc.signum, "terminated" if exc.signum == signal.SIGTERM else "hung up"
        raise BatchInterrupted(
            f"{name}: {done} of {len(rows)} answers are in {shown_dir(options)}; "
            f"run {again} again to answer the other {rest}",
            status=status,  # type: ignore[arg-type]
        ) from None
    finally:
        second()


def second_interrupt_exits() -> Callable[[], None]:
    """While the batch cleans up after Ctrl-C, another Ctrl-C exits at once; returns what restores the handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, lambda _s, _f: os._exit(ExitStatus.INTERRUPTED))
    return lambda: signal.signal(signal.SIGINT, previous)


def summarise(rows: list[Row], options: BatchOptions) -> None:
    failed = [row for row in rows if row.status in ("failed", "cut off")]
    done = sum(row.status == "done" for row in rows)
    earlier = sum(row.earlier for row in rows)
    note = f" ({earlier} from an earlier run)" if earlier else ""
    index = Path(shown_dir(options)) / INDEX_NAME
    also = f" and {index.with_name(INDEX_PAGE_NAME)}" if options.html else ""
    say(f"sdx: {done} of {len(rows)} answers are in {shown_dir(options)}{note}; index: {index}{also}")
    if done:
        cost = guide_cost([row for row in rows if row.status == "done"])
        say(f"sdx: the {done} answer{plural(done)} cost {cost}" if cost else "sdx: what the answers cost is unknown")
    if not failed:
        return
    for row in failed:
        say(f"sdx:   ✗ {row.job.name}: {row.reason}")
    room = (
        "raise --max-tokens (or max_tokens in the config file) and "
        if any(row.status == "cut off" for row in failed)
        else ""
    )
    raise SdxError(
        f"{len(failed)} of {len(rows)} question{plural(len(rows))} failed",
        f"{room}run the same command again to ask only those (finished answers are kept)",
        most_severe([row.code for row in failed]),
    )


def say_capped(budget: Budget, rows: list[Row]) -> None:
    rest = sum(row.status == "pending" for row in rows)
    say(
        f"sdx: stopped at the cost cap: {'~' if budget.estimated else ''}${budget.spent:.4f} of --max-cost"
        f" ${budget.cap:g} spent, and another"
        f" question could pass it; {rest} question{plural(rest)} not asked: run the same command again (with a"
        " higher --max-cost) to answer them"
    )


# ---------------------------------------------------------------------------------------------------------------
# What it will cost


@dataclass(frozen=True)
class Forecast:
    """What answering some questions will cost: a range, and what it rests on."""

    price: pricing.Priced
    prompt_tokens: list[int]  # each question's, as sent
    answer_tokens: tuple[int, int]  # the shortest and longest answer expected
    basis: str  # where `answer_tokens` comes from, in words

    def cost(self, prompt: int, answer: int) -> float:
        assert self.price.price is not None
        return self.price.price.cost(prompt, answer)

    def total(self) -> tuple[float, float] | None:
        if self.price.price is None:
            return None
        low, high = self.answer_tokens
        return sum(self.cost(p, low) for p in self.prompt_tokens), sum(self.cost(p, high) for p in self.prompt_tokens)


def prompt_tokens(question: Question, context: str, model_name: str) -> int:
    """The tokens of the messages one question is sent with (estimated as the turn estimates them)."""
    messages, _ = conversation_messages(new_conversation("batch", model_name), question.text, context, 10**9)
    return estimate_tokens(messages)


def forecast(questions: list[Question], context: str, target: Target, max_tokens: int | None) -> Forecast:
    """The price (a price list may be fetched: this is before any answer) and the answer lengths of the model's
    earlier answers in the history, or DEFAULT_ANSWER_TOKENS; --max-tokens caps them."""
    price = pricing.model_price(target, fetch=True)
    lengths = earlier_answer_lengths(target.model_id)
    if lengths:
        low, high = min(lengths), max(lengths)
        basis = f"the shortest and longest of the model's last {len(lengths)} answer{plural(len(lengths))}"
    else:
        low, high = DEFAULT_ANSWER_TOKENS
        basis = f"assumed: no earlier answers by {target.model_id} in history"
    if max_tokens is not None:
        low, high = min(low, max_tokens), min(high, max_tokens)
        basis += f", at most {max_tokens:,} (--max-tokens)"
    tokens = [prompt_tokens(question, context, target.name) for question in questions]
    return Forecast(price, tokens, (low, high), basis)


def earlier_answer_lengths(model_id: str) -> list[int]:
    from sdx.store.history import History, history_path

    if not history_path().exists():  # a forecast creates no history
        return []
    try:
        with History.open() as history:
            return history.answer_lengths(model_id, EARLIER_ANSWERS)
    except SdxError:
        return []


def no_price(target: Target, priced: pricing.Priced) -> str:
    if not pricing.is_openrouter(target):
        return f"no price is known for {target.spec}"
    return priced.problem or f"OpenRouter's price list has no {target.model_id}"


def cost_budget(cap: float, jobs: list[Job], target: Target, context: str, options: BatchOptions) -> Budget:
    """--max-cost: each question is held at its prompt plus the longest answer expected, until its cost is known."""
    expected = forecast([job.question for job in jobs], context, target, options.max_tokens)
    if expected.price.price is None:
        raise ConfigError(
            f"--max-cost needs a price, and {no_price(target, expected.price)}",
            f'add [prices."{target.spec}"] with input and output (USD per million tokens) to the config file',
        )
    prompts_of = {job.name: tokens for job, tokens in zip(jobs, expected.prompt_tokens, strict=True)}
    high = expected.answer_tokens[1]
    most = max(expected.cost(tokens, high) for tokens in expected.prompt_tokens)
    say(
        f"sdx: --max-cost ${cap:g}: each question counts as up to {pricing.cost_text(most, expected.price.source)}"
        f" until its cost is known ({high:,} tokens out at most, {expected.basis})"
    )
    return Budget(cap, lambda job: expected.cost(prompts_of[job.name], high))


def dry_run(questions: list[Question], context: str, target: Target, options: BatchOptions) -> None:
    """The questions a run would ask (those not answered yet in --out), and what they would cost; nothing is sent
    and nothing is written."""
    total = len(questions)
    out = in_working_directory(options.out) if options.out is not None else None
    todo = [q for q in questions if options.force or out is None or not (out / file_name(q, total)).exists()]
    done = total - len(todo)
    stdout = current().stdout
    where = f" into {shown_dir(options)}" if options.out is not None else ""
    already = f" ({done} already answered)" if done else ""
    lines = [f"Would ask {len(todo)} of {total} question{plural(total)} with {target.name}{where}{already}:"]
    lines += [f"{q.number:>4}. {title_from(q.text, 100)}" for q in todo]
    if todo:
        lines.append(forecast_line(forecast(todo, context, target, options.max_tokens), target))
    stdout.write("\n".join(lines) + "\n")
    say("sdx: dry run: no question was sent")


def forecast_line(expected: Forecast, target: Target) -> str:
    low, high = expected.answer_tokens
    prompt = round(sum(expected.prompt_tokens) / len(expected.prompt_tokens))
    tokens = f"about {prompt:,} tokens in and {low:,} to {high:,} out a question, {expected.basis}"
    totals = expected.total()
    if totals is None:
        return (
            f"Estimated cost: unknown: {no_price(target, expected.price)}; {tokens}. "
            f'Add [prices."{target.spec}"] to the config file to price it.'
        )
    source = {pricing.CONFIGURED: "[prices] in the config file", pricing.PRICE_LIST: "OpenRouter's price list"}
    where = source.get(expected.price.source, "a server on this machine")
    first, last = (pricing.cost_text(value, expected.price.source) for value in totals)
    span = first if first == last else f"{first} to {last}"
    return f"Estimated cost: {span} ({where}; {tokens})"


def most_severe(statuses: list[int]) -> ExitStatus:
    """The exit code of a batch with failures: a bug (1) first, then what needs a fix before a rerun can work
    (3 config, 2 usage, 4 provider refused), then what a rerun may cure by itself (5 network)."""
    ranked = sorted(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else len(SEVERITY))
    return ExitStatus(ranked[0]) if ranked[0] in ExitStatus._value2member_map_ else ExitStatus.ERROR
