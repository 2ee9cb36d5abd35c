"""`sdx interview`: a timed mock system design interview with the model as the interviewer, graded at the end.

The flow: an opening turn (the interviewer presents the problem), then the candidate's loop (messages and the
`/hint`, `/next`, `/estimate …`, `/time`, `/done` commands) until `/done`, end of input or the clock; then one
grading request that must come back as JSON for the rubric's schema. Every turn goes through `run_turn` and is
stored as it happens; the grade and its status are kept in the conversation's `meta`:
`{"level", "minutes", "question", "hints", "grade_status", "grade", "grade_raw"}`, with the time used and the
phase after each turn (`"elapsed"`, `"phase"`: what `--resume` continues from), and a drill's `"drill"` or a
retry's `"retry_of"` (commands/interview_practice.py).

On a terminal the candidate types into the shared line editor, whose bottom toolbar shows the phase and the
time left. With stdin piped the interview is scriptable: one candidate message per line, end of input = `/done`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, Protocol

from sdx import grading
from sdx.commands import interview_practice as practice
from sdx.commands.chat import end_marker
from sdx.commands.conversations import open_history, regrade_elsewhere
from sdx.config import Config
from sdx.domain import question_bank, rubric
from sdx.domain.conversation import Conversation, Turn, title_from
from sdx.environment import current
from sdx.errors import ExitStatus, SdxError, UsageError
from sdx.model.registry import Target, chosen_model_name, resolve
from sdx.store.history import History, history_path
from sdx.terminal.prompt_input import TimeUp
from sdx.terminal.render import sanitize_for_terminal, say
from sdx.turn import Interrupted, TurnOptions, run_turn

INPUT_HISTORY_NAME = "interview_input_history"  # beside the history database, like chat's
PROMPT = "you› "
KEYS_HINT = "Enter sends · Esc-Enter new line · Ctrl-C stops a reply · Ctrl-D ends and grades (asks first)"
COMMANDS = ("/hint", "/next", "/estimate", "/diagram", "/time", "/done")
_COMMAND_WORD = re.compile(r"/[a-z]+")


@dataclass(frozen=True)
class InterviewOptions:
    question: str | None = None
    random_question: bool = False
    minutes: int | None = None  # None: STANDARD_MINUTES, or for --resume/--regrade the stored interview's
    level: str | None = None  # None: senior, or for --retry the earlier attempt's
    model: str | None = None
    regrade: str | None = None
    log: bool = True
    context: str | None = None  # -c: constraints given with the problem
    timeout: float | None = None
    max_tokens: int | None = None  # caps each interviewer reply (the grade has its own cap)
    grader_model: str | None = None  # --grader-model: grade with this model instead (else grader_model, else -m)
    weak: bool = False  # a built-in question drilling the weakest dimensions (commands/interview_practice.py)
    retry: str | None = None  # the id of a graded interview whose question is asked again
    resume: str | None = None  # the id of an interrupted interview to continue


def run_interview(options: InterviewOptions, config: Config) -> None:
    config = replace(config, timeout=options.timeout or config.timeout)  # the replies' and the grade's
    if options.regrade is not None:
        practice.check_alone("--regrade", options)
        regrade(options, config)
        return
    if options.resume is not None:
        practice.resume_interview(options, config)
        return
    plan = choose_plan(options)
    problem, level = plan.question, plan.level
    question = with_constraints(problem, options.context)
    minutes = options.minutes or rubric.STANDARD_MINUTES
    name = chosen_model_name(options.model, config)
    target = resolve(name, config)
    grader = grading.grader(options.grader_model, config, name)  # an unknown grader fails now, not after the interview
    conversation = Conversation(
        kind="interview",
        model=name,
        system_prompt=practice.interviewer_prompt(question, plan, minutes),
        prompt_version=rubric.INTERVIEW_PROMPT_VERSION,
        title=title_from(problem),
        meta={
            "level": level,
            "minutes": minutes,
            "question": question,
            "hints": 0,
            "grade_status": grading.NOT_GRADED,
            "grade": None,
            "grade_raw": "",
            **practice.plan_meta(plan),
        },
    )
    history = open_history(continuing=False, logging=options.log and config.log, what="this interview")
    try:
        interview = Interview(conversation, target, config, history, max_tokens=options.max_tokens)
        interview.run()
        interview.send_waiting_diagram()
        grade = grade_interview(conversation, grader, history, config, options.timeout)
        if plan.earlier is not None and grade is not None:
            practice.print_changes(plan.earlier, grade)
    finally:
        if history is not None:
            history.close()


def choose_plan(options: InterviewOptions) -> practice.Plan:
    """The question and level: as given, drawn at random, a drill (--weak) or an earlier one again (--retry)."""
    level = check_level(options.level) if options.level is not None else None
    if options.weak:
        practice.check_alone("--weak", options)
        return practice.plan_weak(level or rubric.DEFAULT_LEVEL)
    if options.retry is not None:
        practice.check_alone("--retry", options)
        return practice.plan_retry(options.retry, level)
    return practice.Plan(choose_question(options), level or rubric.DEFAULT_LEVEL)


def choose_question(options: InterviewOptions) -> str:
    if options.random_question and options.question:
        raise UsageError("give a question or --random, not both")
    if options.random_question:
        return random.choice(question_bank.texts())
    if not options.question or not options.question.strip():
        raise UsageError("no question given", 'try: sdx interview "Design a URL shortener" (or --random)')
    return options.question.strip()


def with_constraints(question: str, context: str | None) -> str:
    """The problem with `-c`'s constraints, as the interviewer presents it and the grader reads it."""
    constraints = (context or "").strip()
    return f"{question}{practice.CONSTRAINTS}{constraints}" if constraints else question


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


def banner_lines(parts: list[str]) -> list[str]:
    """The interview's first line, wrapped between its parts to fit a terminal (one line on a pipe)."""
    from sdx.terminal.fit import SEPARATOR, wrap_parts

    env = current()
    if not env.stderr_isatty:
        return ["sdx: " + SEPARATOR.join(parts)]
    return wrap_parts(parts, env.terminal_size()[0] - 1, "sdx: ", "     ")


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
    max_tokens: int | None = None
    started: float = 0.0
    chosen_phase: int = 0  # moved on by /next; the clock moves the phase too (whichever is further)
    shown_phase: int = -1
    pasted: list[str] = field(default_factory=list)  # /estimate figures waiting for the next message
    replies: int = 0
    already: float = 0.0  # seconds used before this run (a resumed interview)
    reader: Reader | None = None
    diagram: str = ""  # the candidate's /diagram, waiting for their next message

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
        """The bottom line: the phase, the time left and the commands, as many as fit the terminal's width."""
        from sdx.terminal.fit import fit_parts

        parts = [*self.status().split(" · "), " ".join(COMMANDS)]
        return fit_parts(parts, current().terminal_size()[0] - 1)

    def run(self) -> None:
        env = current()
        self.started = env.monotonic() - self.already
        meta = self.conversation.meta
        parts = [
            "mock interview", str(meta["level"]), f"{meta['minutes']} minutes", self.conversation.model,
            f"commands: {' '.join(COMMANDS)}",
        ]  # fmt: skip
        say("\n".join(banner_lines(parts)))
        self.reader = reader = make_reader(self.toolbar, keep_input=self.history is not None)
        if not self.conversation.turns:  # a resumed interview has had its opening
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
        if line.split(maxsplit=1)[:1] == ["/diagram"]:  # a pasted diagram may follow on the next lines
            self.take_diagram(line.removeprefix("/diagram"))
            return False
        word, _, rest = line.partition(" ")
        if word == "/done":
            return True
        if word == "/time":
            say(f"sdx: {rubric.clock(self.elapsed())} used of {self.minutes:g} minutes · {self.status()}")
        elif word == "/hint":
            self.conversation.meta["hints"] = self.hints + 1
            self.send("/hint", rubric.hint_request(self.hints))
            grading.store_meta(self.conversation, self.history)
        elif word == "/next":
            self.next_phase()
        elif word == "/estimate":
            self.estimate(rest.strip())
        elif _COMMAND_WORD.fullmatch(word):
            say(f"sdx: unknown command {word}: the commands are {', '.join(COMMANDS)}")
        elif line:
            self.send(self.with_diagram(line))
        return False

    def take_diagram(self, first: str) -> None:
        """`/diagram`: read the candidate's diagram, draw it, and keep it for their next message."""
        from sdx.commands import interview_diagram

        reader = self.reader
        assert reader is not None
        try:
            source = interview_diagram.read_diagram(
                first, lambda: reader.read(interview_diagram.PROMPT, self.minutes * 60 - self.elapsed())
            )
        except KeyboardInterrupt:
            say("sdx: the diagram was dropped")
            return
        if source is not None and interview_diagram.take(source).graph is not None:
            self.diagram = source

    def with_diagram(self, message: str) -> str:
        if not self.diagram:
            return message
        from sdx.commands.interview_diagram import with_diagram

        message, self.diagram = with_diagram(message, self.diagram), ""
        return message

    def send_waiting_diagram(self) -> None:
        """A diagram still waiting when the interview ends is sent on its own, so the grade sees it."""
        if self.diagram:
            from sdx.commands.interview_diagram import ON_ITS_OWN

            self.send(self.with_diagram(ON_ITS_OWN))

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
        phase, at = self.phase(), self.elapsed()
        note = rubric.interview_note(phase, at, self.minutes, request)
        turn = Turn(question=message, context="\n\n".join([*self.pasted, note]))
        self.pasted.clear()
        env = current()
        try:
            run_turn(
                self.conversation,
                turn,
                self.target,
                TurnOptions(
                    timeout=self.config.timeout,
                    max_tokens=self.max_tokens or self.config.max_tokens,
                    context_tokens=self.config.context_tokens,
                ),
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
            self.keep_clock(at + (turn.duration or 0.0))
            if not env.stdout_isatty:  # piped: each reply ends with chat's end-of-answer marker line
                self.replies += 1
                end_marker(turn, self.replies)  # as chat's: scripts can split the replies
            elif env.stdin_isatty:
                say("")  # a blank line between the reply and the next prompt

    def keep_clock(self, elapsed: float) -> None:
        """Store the time used and the phase with each turn, so that `--resume` continues with the time left (the
        clock is not read again here: the phases move with its readings)."""
        self.conversation.meta.update(elapsed=round(elapsed, 1), phase=self.chosen_phase)
        grading.store_meta(self.conversation, self.history)


# ---------------------------------------------------------------------------------------------------------------
# Grading


def regrade(options: InterviewOptions, config: Config) -> None:
    """Grade a stored interview again (after a failed grade, or with another model: --grader-model, else -m, else
    grader_model, else the interview's model), at its level and length."""
    assert options.regrade is not None
    with History.open() as history:
        conversation = history.load(history.resolve(options.regrade))
        if conversation.kind != "interview":
            raise regrade_elsewhere(conversation, "interview")
        practice.check_stored_options("--regrade", conversation, options)
        grader = grading.grader(options.grader_model or options.model, config, conversation.model)
        grade_interview(conversation, grader, history, config, options.timeout)


def grade_interview(
    conversation: Conversation, target: Target, history: History | None, config: Config, timeout: float | None = None
) -> dict[str, Any] | None:
    """Grade the interview's transcript (see `sdx.grading`; `timeout`: --timeout, the grade's own limit); None when
    the candidate said nothing."""
    if len(conversation.turns) < 2:
        say("sdx: nothing to grade: the candidate said nothing")
        return None
    return grading.grade_conversation(conversation, grading_job(conversation), target, history, config, timeout)


def grading_job(conversation: Conversation) -> grading.GradingJob:
    """The grader's prompt and the request carrying the transcript, from what the interview stored."""
    meta = conversation.meta
    exchanges = [(turn.question, turn.context, turn.answer) for turn in conversation.turns]
    level, hints = str(meta.get("level", rubric.DEFAULT_LEVEL)), int(meta.get("hints", 0))  # type: ignore[call-overload]
    text = rubric.transcript(str(meta.get("question", conversation.title)), exchanges)
    minutes = float(meta.get("minutes", rubric.STANDARD_MINUTES))  # type: ignore[arg-type]
    return grading.GradingJob(
        rubric.grader_prompt(level, hints), rubric.grading_request_text(level, minutes, hints, text), source=text
    )
