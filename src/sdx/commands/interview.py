"""`sdx interview`: a timed mock system design interview with the model as the interviewer, graded at the end.

The flow: an opening turn (the interviewer presents the problem), then the candidate's loop (messages and the
`/hint`, `/next`, `/estimate …`, `/time`, `/done` commands) until `/done`, end of input or the clock; then one
grading request that must come back as JSON for the rubric's schema. Every turn goes through `run_turn` and is
stored as it happens; the grade and its status are kept in the conversation's `meta`:
`{"level", "minutes", "question", "hints", "grade_status", "grade", "grade_raw"}`.

On a terminal the candidate types into the shared line editor, whose bottom toolbar shows the phase and the
time left. With stdin piped the interview is scriptable: one candidate message per line, end of input = `/done`.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sdx.commands.chat import end_marker
from sdx.commands.conversations import open_history
from sdx.config import Config
from sdx.domain import prompts, rubric
from sdx.domain.conversation import Conversation, Turn, title_from
from sdx.environment import current
from sdx.errors import ExitStatus, SdxError, UsageError
from sdx.model.registry import Target, chosen_model_name, resolve
from sdx.store.history import History, history_path
from sdx.terminal.prompt_input import TimeUp
from sdx.terminal.render import Spinner, console, sanitize_for_terminal, say
from sdx.turn import Interrupted, TurnOptions, context_budget, estimate_tokens, run_turn

GRADED, NOT_GRADED = "graded", "not graded"
GRADE_TIMEOUT = 300.0  # seconds at least for a whole grade, not streamed (a slow local model); more if configured
GRADE_MAX_TOKENS = 4096  # a grade takes about 1,500; a small model may repeat itself inside the schema forever
GRADE_ROOM = 2000  # tokens a grade usually takes, for the warning about long transcripts
NO_FORMAT_FILE = "no-response-format.json"  # base URLs that answered 400 to `response_format`
INPUT_HISTORY_NAME = "interview_input_history"  # beside the history database, like chat's
PROMPT = "you› "
KEYS_HINT = "Enter sends · Esc-Enter new line · Ctrl-C stops a reply · Ctrl-D ends and grades (asks first)"
SCORE_STYLES = {1: "bold red", 2: "yellow", 3: "green", 4: "bold green"}
COMMANDS = ("/hint", "/next", "/estimate", "/time", "/done")
_COMMAND_WORD = re.compile(r"/[a-z]+")


@dataclass(frozen=True)
class InterviewOptions:
    question: str | None = None
    random_question: bool = False
    minutes: int = rubric.STANDARD_MINUTES
    level: str = rubric.DEFAULT_LEVEL
    model: str | None = None
    regrade: str | None = None
    log: bool = True


def run_interview(options: InterviewOptions, config: Config) -> None:
    if options.regrade is not None:
        if options.question or options.random_question:
            raise UsageError("--regrade grades a stored interview: give no question or --random with it")
        regrade(options.regrade, options.model, config)
        return
    question = choose_question(options)
    level = check_level(options.level)
    name = chosen_model_name(options.model, config)
    target = resolve(name, config)
    conversation = Conversation(
        kind="interview",
        model=name,
        system_prompt=rubric.interviewer_prompt(question, level, options.minutes),
        prompt_version=rubric.INTERVIEW_PROMPT_VERSION,
        title=title_from(question),
        meta={
            "level": level,
            "minutes": options.minutes,
            "question": question,
            "hints": 0,
            "grade_status": NOT_GRADED,
            "grade": None,
            "grade_raw": "",
        },
    )
    history = open_history(continuing=False, logging=options.log and config.log, what="this interview")
    try:
        Interview(conversation, target, config, history).run()
        grade_interview(conversation, target, history, config)
    finally:
        if history is not None:
            history.close()


def choose_question(options: InterviewOptions) -> str:
    if options.random_question and options.question:
        raise UsageError("give a question or --random, not both")
    if options.random_question:
        return random.choice(prompts.EXAMPLES)
    if not options.question or not options.question.strip():
        raise UsageError("no question given", 'try: sdx interview "Design a URL shortener" (or --random)')
    return options.question.strip()


def check_level(level: str) -> str:
    if level not in rubric.LEVELS:
        raise UsageError(f"unknown level {level!r}", f"choose one of: {', '.join(rubric.LEVELS)}")
    return level


# ---------------------------------------------------------------------------------------------------------------
# The candidate's side: a line editor on a terminal, lines of piped input otherwise


class Reader(Protocol):
    def read(self, prompt: str, within: float | None = None) -> str: ...  # EOFError (end), KeyboardInterrupt, TimeUp

    def confirm_end(self) -> bool: ...


@dataclass
class LineReader:
    """Candidate messages from piped stdin, one a line; end of input ends the interview."""

    stream: BinaryIO

    def read(self, prompt: str, within: float | None = None) -> str:  # a pipe's line is taken whenever it comes
        line = self.stream.readline()
        if not line:
            raise EOFError
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if current().stderr_isatty:  # piped input on a terminal screen: show what was sent
            say(f"{prompt}{sanitize_for_terminal(text)}")
        return text

    def confirm_end(self) -> bool:
        return True


class EditorReader:
    """The shared prompt-toolkit line editor (history, multi-line paste), its toolbar showing phase and time."""

    def __init__(self, toolbar: Callable[[], str], keep_input: bool) -> None:
        from sdx.terminal.prompt_input import LineEditor

        input_history = history_path().parent / INPUT_HISTORY_NAME if keep_input else None
        self.editor = LineEditor(input_history, toolbar, hint=KEYS_HINT)

    def read(self, prompt: str, within: float | None = None) -> str:
        return self.editor.read(prompt, within)

    def confirm_end(self) -> bool:
        try:
            answer = self.editor.ask("End the interview and grade it? [Y/n] ")
        except EOFError:
            return True
        except KeyboardInterrupt:
            return False
        return answer.strip().lower() in ("", "y", "yes")


def make_reader(toolbar: Callable[[], str], keep_input: bool) -> Reader:
    """The line editor on a terminal (keeping the input history only when the interview is stored), else lines."""
    env = current()
    if env.stdin is None:
        raise UsageError("there is no stdin to read the candidate's answers from", "run sdx interview in a terminal")
    return EditorReader(toolbar, keep_input) if env.stdin_isatty else LineReader(env.stdin)


# ---------------------------------------------------------------------------------------------------------------
# The interview loop


@dataclass
class Interview:
    conversation: Conversation
    target: Target
    config: Config
    history: History | None
    started: float = 0.0
    chosen_phase: int = 0  # moved on by /next; the clock moves the phase too (whichever is further)
    shown_phase: int = -1
    pasted: list[str] = field(default_factory=list)  # /estimate figures waiting for the next message
    replies: int = 0

    @property
    def minutes(self) -> float:
        return float(self.conversation.meta["minutes"])  # type: ignore[arg-type]

    @property
    def hints(self) -> int:
        return int(self.conversation.meta["hints"])  # type: ignore[call-overload]

    def elapsed(self) -> float:
        return current().monotonic() - self.started

    def phase(self) -> int:
        return max(self.chosen_phase, rubric.phase_by_clock(self.elapsed(), self.minutes))

    def time_up(self) -> bool:
        return self.elapsed() >= self.minutes * 60

    def status(self) -> str:
        return rubric.status_line(self.phase(), self.elapsed(), self.minutes)

    def toolbar(self) -> str:
        return f"{self.status()} · {' '.join(COMMANDS)}"

    def run(self) -> None:
        env = current()
        self.started = env.monotonic()
        meta = self.conversation.meta
        say(
            f"sdx: mock interview · {meta['level']} · {meta['minutes']} minutes · {self.conversation.model}"
            f" · commands: {' '.join(COMMANDS)}"
        )
        reader = make_reader(self.toolbar, keep_input=self.history is not None)
        self.send(str(meta["question"]), rubric.OPENING_REQUEST)
        while True:
            if self.time_up():
                say("sdx: time is up: the interview is over")
                return
            self.announce_phase()
            try:
                line = reader.read(PROMPT, within=self.minutes * 60 - self.elapsed())
            except TimeUp:
                continue  # the clock ran out while the candidate typed: the loop ends the interview
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt drops the line being typed
            except EOFError:
                if reader.confirm_end():
                    return
                continue
            if self.handle(line.strip()):
                return

    def announce_phase(self) -> None:
        phase = self.phase()
        if phase != self.shown_phase:
            self.shown_phase = phase
            say(f"sdx: {self.status()}")

    def handle(self, line: str) -> bool:
        """Act on one line the candidate entered; True when it ends the interview."""
        word, _, rest = line.partition(" ")
        if word == "/done":
            return True
        if word == "/time":
            say(f"sdx: {rubric.clock(self.elapsed())} used of {self.minutes:g} minutes · {self.status()}")
        elif word == "/hint":
            self.conversation.meta["hints"] = self.hints + 1
            self.send("/hint", rubric.hint_request(self.hints))
            store_meta(self.conversation, self.history)
        elif word == "/next":
            self.next_phase()
        elif word == "/estimate":
            self.estimate(rest.strip())
        elif _COMMAND_WORD.fullmatch(word):
            say(f"sdx: unknown command {word}: the commands are {', '.join(COMMANDS)}")
        elif line:
            self.send(line)
        return False

    def next_phase(self) -> None:
        current_phase = self.phase()
        if current_phase >= len(rubric.PHASES) - 1:
            say("sdx: this is already the last phase; /done ends the interview")
            return
        self.chosen_phase = current_phase + 1
        self.announce_phase()
        self.send("/next", rubric.next_phase_request(self.chosen_phase))

    def estimate(self, text: str) -> None:
        from sdx.commands.estimate import print_estimate_table
        from sdx.domain.estimates import estimate_from_text, facts_for_prompt

        if not text:
            say("sdx: /estimate needs the constraints, e.g. /estimate 100M DAU, 10 writes per user per day, 1 KB each")
            return
        estimate = estimate_from_text(text)
        if estimate is None:
            say(
                "sdx: could not estimate from that: give users and a rate, e.g. "
                "/estimate 100M DAU, 10 writes per user per day, 1 KB each"
            )
            return
        print_estimate_table(estimate, stderr=True)
        self.pasted.append(facts_for_prompt(estimate))
        say("sdx: these figures go with your next message")

    def send(self, message: str, request: str = "") -> None:
        """One turn: the candidate's message (with pasted figures and sdx's note), the interviewer's reply."""
        note = rubric.interview_note(self.phase(), self.elapsed(), self.minutes, request)
        turn = Turn(question=message, context="\n\n".join([*self.pasted, note]))
        self.pasted.clear()
        env = current()
        try:
            run_turn(
                self.conversation,
                turn,
                self.target,
                TurnOptions(timeout=self.config.timeout, context_tokens=self.config.context_tokens),
                self.history,
            )
        except Interrupted as exc:
            if exc.status != ExitStatus.INTERRUPTED or not env.stdin_isatty:
                raise
            say("sdx: reply stopped; your turn")
        except SdxError as exc:
            if not env.stdin_isatty:
                raise
            say(exc.line())
            say("sdx: send your message again, or /done to end and grade")
        finally:
            if not env.stdout_isatty:  # piped: each reply ends with chat's end-of-answer marker line
                self.replies += 1
                end_marker(turn, self.replies)  # as chat's: scripts can split the replies
            elif env.stdin_isatty:
                say("")  # a blank line between the reply and the next prompt


# ---------------------------------------------------------------------------------------------------------------
# Grading


def regrade(prefix: str, model: str | None, config: Config) -> None:
    """Grade a stored interview again (after a failed grade, or with another model)."""
    with History.open() as history:
        conversation = history.load(history.resolve(prefix))
        if conversation.kind != "interview":
            raise UsageError(
                f"{conversation.id} is a {conversation.kind} conversation, not an interview",
                "see `sdx history --kind interview`",
            )
        target = resolve(chosen_model_name(model or conversation.model, config), config)
        grade_interview(conversation, target, history, config)


def grade_interview(conversation: Conversation, target: Target, history: History | None, config: Config) -> None:
    """Ask for the grade, validate it (asking once more with the problems quoted), store it and show it."""
    meta = conversation.meta
    exchanges = [(turn.question, turn.context, turn.answer) for turn in conversation.turns]
    if len(exchanges) < 2:
        say("sdx: nothing to grade: the candidate said nothing")
        return
    level, hints = str(meta.get("level", rubric.DEFAULT_LEVEL)), int(meta.get("hints", 0))  # type: ignore[call-overload]
    text = rubric.transcript(str(meta.get("question", conversation.title)), exchanges)
    minutes = float(meta.get("minutes", rubric.STANDARD_MINUTES))  # type: ignore[arg-type]
    messages = [
        {"role": "system", "content": rubric.grader_prompt(level, hints)},
        {"role": "user", "content": rubric.grading_request_text(level, minutes, hints, text)},
    ]
    warn_if_too_long(messages, target, config)
    raw = ""
    try:
        raw = ask_grader(target, messages, config.timeout)
        try:
            grade = rubric.parse_grade(raw)
        except rubric.GradeInvalid as first:
            say(f"sdx: the grade was not valid ({_short(first.problems)}); asking again")
            messages += [
                {"role": "assistant", "content": raw},
                {"role": "user", "content": rubric.revalidation_request(first.problems)},
            ]
            raw = ask_grader(target, messages, config.timeout)
            grade = rubric.parse_grade(raw)
    except rubric.GradeInvalid as second:
        outcome = "the earlier grade stands" if meta.get("grade_status") == GRADED else "not graded"
        _keep(conversation, history, NOT_GRADED, None, raw)
        raise SdxError(
            f"{target.name} did not produce a valid grade twice ({_short(second.problems)}); {outcome}",
            f"the transcript and the grader's text are kept; {_regrade_hint(conversation)} (try a larger model)",
            ExitStatus.PROVIDER,
        ) from None
    except (SdxError, KeyboardInterrupt):  # the request failed, or Ctrl-C while waiting for the grade
        _keep(conversation, history, NOT_GRADED, None, raw)
        say(f"sdx: the interview is kept: {_regrade_hint(conversation)}")
        raise
    _keep(conversation, history, GRADED, grade.model_dump(), raw)
    print_grade(meta)


def warn_if_too_long(messages: list[dict[str, str]], target: Target, config: Config) -> None:
    """Some local servers cut a long input silently (Ollama drops its start, the rubric with it): say so first."""
    tokens = estimate_tokens(messages)
    budget = context_budget(target, TurnOptions(context_tokens=config.context_tokens))
    if tokens + GRADE_ROOM > budget:
        say(
            f"sdx: warning: the transcript and rubric are about {tokens:,} tokens, more than {target.name} may take "
            "with room for the grade; if the grade fails, regrade with a model with a larger context"
        )


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _regrade_hint(conversation: Conversation) -> str:
    if conversation.id is None:
        return "it was not stored (--no-log), so it cannot be graded later"
    return f"grade it again with `sdx interview --regrade {conversation.id}`"


def _keep(conversation: Conversation, history: History | None, status: str, grade: Any, raw: str) -> None:
    """Store the outcome of grading. A failed regrade leaves an earlier grade as it was: only a new grade replaces
    a grade."""
    if status == NOT_GRADED and conversation.meta.get("grade_status") == GRADED:
        say("sdx: the earlier grade is kept")
        return
    conversation.meta.update(grade_status=status, grade=grade, grade_raw=raw)
    store_meta(conversation, history)


def store_meta(conversation: Conversation, history: History | None) -> None:
    """Save the interview's meta (hints, grade); a history that cannot be written costs a warning."""
    if history is None or conversation.id is None:
        return
    try:
        history.update_meta(conversation)
    except SdxError as exc:
        say(f"sdx: warning: the interview's hints and grade were not stored in history: {exc.what}")


def ask_grader(target: Target, messages: list[dict[str, str]], timeout: float) -> str:
    """One grading request: not streamed, temperature 0, the schema as `response_format` unless the server
    refuses it (then asked again without it, and remembered for that base URL); the client retries 429 and 5xx."""
    from sdx.model.client import ChatRequest, StreamStats, answer_deltas
    from sdx.model.client_errors import server_message

    timeout = max(timeout, GRADE_TIMEOUT)
    use_format = target.base_url not in refused_format_urls()
    with Spinner(f"Grading with {target.name}…"):
        while True:
            options = grading_options(target, use_format)
            request = ChatRequest(target, messages, False, timeout, GRADE_MAX_TOKENS, options=options)
            stats = StreamStats()
            try:  # the client's whole-answer path: retries, and every odd reply explained
                text = "".join(answer_deltas(request, stats, on_wait=lambda message, _s: say(f"sdx: {message}")))
            except SdxError as exc:
                refusal = exc.__cause__  # the client's error, for its status and the server's words
                status = getattr(refusal, "status_code", None)
                if not (use_format and refusal and rejects_response_format(status, server_message(refusal))):
                    raise
                use_format = False
                if status == 400:
                    remember_refused_format(target.base_url)
                say(f"sdx: note: {target.name} does not take a JSON schema (response_format); asking without it")
                continue
            if stats.finish_reason == "length":
                say(f"sdx: warning: the grade was cut off at {GRADE_MAX_TOKENS} tokens")
            return text


def grading_options(target: Target, use_format: bool) -> dict[str, Any]:
    """The request's extra body fields: temperature 0, and the schema (on OpenRouter, only for providers that
    honour it: `provider.require_parameters`)."""
    options: dict[str, Any] = {"temperature": 0}
    if use_format:
        options["response_format"] = rubric.response_format()
        if target.provider.name == "openrouter":
            options["extra_body"] = {"provider": {"require_parameters": True}}
    return options


def rejects_response_format(status: int | None, message: str) -> bool:
    """A 400 naming response_format (or json_schema); OpenRouter's 404 when no provider takes the parameters."""
    lowered = message.lower()
    if status in (400, 422):
        return "response_format" in lowered or "json_schema" in lowered or "response format" in lowered
    return status == 404 and "requested parameters" in lowered


def _refused_file() -> Path:
    return history_path().parent / NO_FORMAT_FILE


def refused_format_urls() -> list[str]:
    try:
        data = json.loads(_refused_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [url for url in data if isinstance(url, str)] if isinstance(data, list) else []


def remember_refused_format(base_url: str) -> None:
    urls = refused_format_urls()
    if base_url in urls:
        return
    try:
        path = _refused_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([*urls, base_url], indent=2) + "\n", encoding="utf-8")
    except OSError:
        pass  # only an optimisation: next time the server refuses again and sdx asks again


# ---------------------------------------------------------------------------------------------------------------
# The grade view


def print_grade(meta: dict[str, object]) -> None:
    """The grade as a Rich table (a dimension a row: score, evidence, what was missed), then the summary."""
    from rich.table import Table
    from rich.text import Text

    grade: dict[str, Any] = meta["grade"]  # type: ignore[assignment]
    clean = sanitize_for_terminal if current().stdout_isatty else (lambda text: text)
    level = str(meta.get("level", ""))
    table = Table(title=f"Grade: {grade['recommendation']} ({level} bar)", title_justify="left", show_lines=True)
    table.add_column("dimension", no_wrap=True)
    table.add_column("score", justify="center")
    table.add_column("evidence")
    table.add_column("missed")
    for dimension in rubric.DIMENSIONS:
        scored = grade["dimensions"][dimension.key]
        table.add_row(
            dimension.title,
            Text(f"{scored['score']}/4", style=SCORE_STYLES.get(scored["score"], "")),
            Text(clean("\n".join(f"“{quote}”" for quote in scored["evidence"]))),
            Text(clean("\n".join(f"- {item}" for item in scored["missed"]))),
        )
    out = console()
    out.print(table)
    out.print(Text(clean(f"Recommendation: {grade['recommendation']}. {grade['summary']}")))
    out.print(Text(clean("Strengths:\n" + "\n".join(f"- {item}" for item in grade["strengths"]))))
    out.print(Text(clean("Practise next:\n" + "\n".join(f"- {item}" for item in grade["practice_next"]))))
    out.print(Text(f"Hints used: {meta.get('hints', 0)}"))
