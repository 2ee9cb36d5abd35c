"""The conversation history: one SQLite file (standard-library `sqlite3`, no ORM) in the user's data dir.

Every connection uses WAL and a busy timeout, and every write is one short `BEGIN IMMEDIATE` transaction, so
parallel `sdx` runs wait for each other instead of failing with `database is locked`. The schema is versioned
with `PRAGMA user_version`; `MIGRATIONS[n]` takes a database from version n to n + 1, all pending ones in one
transaction. A database written by a newer sdx (a version above ours) can still be read, but is never written.
Search uses FTS5 (an external-content table over the turns, kept in sync by triggers) ranked with bm25, and
falls back to `LIKE` when this SQLite has no FTS5.
"""

from __future__ import annotations

import builtins
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sdx.domain.conversation import KINDS, Conversation, GradingRequest, Turn, answer_sql, title_from
from sdx.environment import current
from sdx.errors import ConfigError, UsageError

BUSY_TIMEOUT = 5.0  # seconds a writer waits for another one before giving up
DB_NAME = "history.db"
SNIPPET_START, SNIPPET_END = "\x02", "\x03"  # around the matched words in a search snippet (see `snippet_parts`)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class HistoryError(ConfigError):
    """The history file cannot be read or written: damaged, from a newer sdx, read-only, disk full (exit 3)."""


@dataclass
class ConversationSummary:
    """One row of `sdx history`: a conversation without its turns (`snippet` is set by a search)."""

    id: str
    title: str
    kind: str
    model: str
    created_at: float
    updated_at: float
    turns: int
    meta: dict[str, object] = field(default_factory=dict)
    snippet: str | None = None
    last_status: str = ""  # the status of its last turn (complete, truncated, interrupted, error); "" without turns
    cost: float | None = None  # USD, the sum of its answers' and grading requests' known costs; None: none known
    cost_estimated: bool = False  # some of it is an estimate
    unknown_cost: int = 0  # answers and grading requests whose cost is unknown (not in `cost`)
    gradings: int = 0  # grading requests (an interview's or a review's grade)
    grading_cost: float | None = None  # USD, the part of `cost` that grading cost; None when none is known


def history_path() -> Path:
    """`$SDX_HOME/history.db`, else `$XDG_DATA_HOME/sdx/history.db`, else `~/.local/share/sdx/history.db`."""
    environ = current().environ
    if environ.get("SDX_HOME"):
        return Path(environ["SDX_HOME"]).expanduser() / DB_NAME
    if environ.get("XDG_DATA_HOME"):
        return Path(environ["XDG_DATA_HOME"]).expanduser() / "sdx" / DB_NAME
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".local" / "share" / "sdx" / DB_NAME


def new_id(now: float) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, as 26 Crockford base32 characters (sorts by time)."""
    value = (int(now * 1000) & (2**48 - 1)) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


_SCHEMA_V1 = """
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX conversations_by_update ON conversations (updated_at);
CREATE TABLE turns (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    context TEXT NOT NULL,
    answer TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    tokens_estimated INTEGER NOT NULL,
    time_to_first_token REAL,
    duration REAL,
    model_id TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX turns_by_conversation ON turns (conversation_id, id);
"""

_FTS_V1 = """
CREATE VIRTUAL TABLE turns_fts USING fts5 (question, answer, content='turns', content_rowid='id');
CREATE TRIGGER turns_fts_insert AFTER INSERT ON turns BEGIN
    INSERT INTO turns_fts (rowid, question, answer) VALUES (new.id, new.question, new.answer);
END;
CREATE TRIGGER turns_fts_delete AFTER DELETE ON turns BEGIN
    INSERT INTO turns_fts (turns_fts, rowid, question, answer) VALUES ('delete', old.id, old.question, old.answer);
END;
CREATE TRIGGER turns_fts_update AFTER UPDATE ON turns BEGIN
    INSERT INTO turns_fts (turns_fts, rowid, question, answer) VALUES ('delete', old.id, old.question, old.answer);
    INSERT INTO turns_fts (rowid, question, answer) VALUES (new.id, new.question, new.answer);
END;
"""


def _migrate_to_1(db: sqlite3.Connection) -> None:
    _run_script(db, _SCHEMA_V1)
    if fts5_available():
        _run_script(db, _FTS_V1)


def _migrate_to_2(db: sqlite3.Connection) -> None:
    """What the provider says a turn cost (OpenRouter's `usage.cost`), when it says."""
    db.execute("ALTER TABLE turns ADD COLUMN cost REAL")


def _migrate_to_3(db: sqlite3.Connection) -> None:
    """The model each turn was asked of, as the user named it (an alias or provider:model), beside `model_id`,
    the server's name for it."""
    db.execute("ALTER TABLE turns ADD COLUMN model TEXT NOT NULL DEFAULT ''")


def _migrate_to_4(db: sqlite3.Connection) -> None:
    """Where a turn's cost came from (every cost stored so far was reported by the provider), and an index that
    holds all `sdx usage` reads, so that totals never touch the turns' text."""
    db.execute("ALTER TABLE turns ADD COLUMN cost_source TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE turns SET cost_source = 'reported' WHERE cost IS NOT NULL")
    db.execute(
        "CREATE INDEX turns_usage ON turns (created_at, conversation_id, status, model_id, prompt_tokens,"
        " completion_tokens, tokens_estimated, cost, cost_source)"
    )
    if _table_exists(db, "turns_fts_update"):  # pricing a stored turn rewrites its cost, not its text
        db.execute("DROP TRIGGER turns_fts_update")
        _run_script(db, _FTS_UPDATE_OF_TEXT)


_FTS_UPDATE_OF_TEXT = """
CREATE TRIGGER turns_fts_update AFTER UPDATE OF question, answer ON turns BEGIN
    INSERT INTO turns_fts (turns_fts, rowid, question, answer) VALUES ('delete', old.id, old.question, old.answer);
    INSERT INTO turns_fts (rowid, question, answer) VALUES (new.id, new.question, new.answer);
END;
"""


_GRADINGS_V5 = """
CREATE TABLE gradings (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT REFERENCES conversations (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    model TEXT NOT NULL,
    model_id TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    tokens_estimated INTEGER NOT NULL,
    cost REAL,
    cost_source TEXT NOT NULL
);
CREATE INDEX gradings_by_conversation ON gradings (conversation_id);
CREATE INDEX gradings_usage ON gradings (created_at, kind, model_id, prompt_tokens, completion_tokens,
    tokens_estimated, cost, cost_source);
"""


def _migrate_to_5(db: sqlite3.Connection) -> None:
    """What each grading request cost (an interview's or a review's grade: one to three requests): `sdx usage` and
    `sdx show` count it. `conversation_id` is NULL for a review whose grade failed (the review is not stored, what
    it cost is); `kind` is the graded conversation's, so that the usage index holds every column `usage` reads."""
    _run_script(db, _GRADINGS_V5)


def _migrate_to_6(db: sqlite3.Connection) -> None:
    """How far each turn's request got (`unsent`, `unanswered`, `answered`; '' for the turns stored before), so that
    `sdx usage` counts a failed turn the server received, and the usage index with it (built again: a covering
    index cannot take a column in place)."""
    db.execute("ALTER TABLE turns ADD COLUMN delivery TEXT NOT NULL DEFAULT ''")
    db.execute("DROP INDEX turns_usage")
    db.execute(
        "CREATE INDEX turns_usage ON turns (created_at, conversation_id, status, delivery, model_id, prompt_tokens,"
        " completion_tokens, tokens_estimated, cost, cost_source)"
    )


# append only: MIGRATIONS[n] takes version n to n + 1
MIGRATIONS = [_migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4, _migrate_to_5, _migrate_to_6]
SCHEMA_VERSION = len(MIGRATIONS)


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """`executescript` would COMMIT the open transaction first; run the statements one by one inside it."""
    statement = ""
    for line in script.strip().splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


@cache
def fts5_available() -> bool:
    """Whether this SQLite has FTS5 (asked once per process)."""
    try:
        with sqlite3.connect(":memory:") as probe:
            probe.execute("CREATE VIRTUAL TABLE probe USING fts5 (text)")
        return True
    except sqlite3.OperationalError:
        return False


def fts_query(words: str) -> str:
    """The user's words as FTS5 prefix phrases (`shard` finds "sharding"), each quoted, so `-`, `:`, `"`, `*` or `(`
    are text, never syntax."""
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words.split())


def snippet_parts(snippet: str) -> Iterator[tuple[str, bool]]:
    """(text, matched) pieces of a search snippet."""
    for index, piece in enumerate(snippet.replace(SNIPPET_END, SNIPPET_START).split(SNIPPET_START)):
        if piece:
            yield piece, index % 2 == 1


class History:
    """One open history database; one per command. Close it (or use `with`) when done."""

    def __init__(self, db: sqlite3.Connection, path: Path, version: int) -> None:
        self.db = db
        self.path = path
        self.version = version
        self.has_fts = version >= 1 and _table_exists(db, "turns_fts") and fts5_available()

    @classmethod
    def open(cls, path: Path | None = None) -> History:
        """Open (creating the directory 0700 and the file 0600 when missing) and migrate to our schema."""
        path = path or history_path()
        if path.is_dir():  # SQLite would only say "unable to open database file"
            raise HistoryError(
                f"the history database {path} is a directory",
                f"move it aside (mv {path} {path}.old), or set SDX_HOME to another directory",
            )
        with _translated(path):
            _create_private(path)
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            with _translated(path):
                _use_wal(db)
                db.execute("PRAGMA foreign_keys=ON")
                # with WAL, NORMAL keeps every committed turn through a crash of sdx; only a power cut may lose the
                # last one. It saves a disk sync per write (~8 ms an answer in `sdx batch`).
                db.execute("PRAGMA synchronous=NORMAL")
                version = _migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db, path, version)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # writing

    def create(self, conversation: Conversation) -> str:
        """Insert the conversation (without its turns); sets and returns its new id."""
        now = current().wall_clock()
        conversation.created_at = conversation.created_at or now
        conversation.updated_at = conversation.updated_at or conversation.created_at
        if not conversation.title and conversation.turns:
            conversation.title = title_from(conversation.turns[0].question)
        conversation_id = new_id(conversation.created_at)
        with self._writing():
            self.db.execute(
                "INSERT INTO conversations (id, title, kind, model, system_prompt, prompt_version, created_at,"
                " updated_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    conversation.title,
                    conversation.kind,
                    conversation.model,
                    conversation.system_prompt,
                    conversation.prompt_version,
                    conversation.created_at,
                    conversation.updated_at,
                    json.dumps(conversation.meta, ensure_ascii=False),
                ),
            )
        conversation.id = conversation_id
        return conversation_id

    def add_turn(self, conversation: Conversation, turn: Turn) -> int:
        """Store one turn (creating the conversation first if it has no id); sets and returns the turn's id.

        One short transaction; also bumps the conversation's `updated_at`, and titles an untitled one.
        """
        if conversation.id is None:
            self.create(conversation)
        now = current().wall_clock()
        turn.created_at = turn.created_at or now
        with self._writing():
            updated = self.db.execute(
                "UPDATE conversations SET updated_at = ?, title = CASE title WHEN '' THEN ? ELSE title END,"
                " model = ? WHERE id = ?",  # the model that answered last (`-C -m other` changes it)
                (now, title_from(turn.question), conversation.model, conversation.id),
            )
            if updated.rowcount == 0:  # deleted by another sdx meanwhile
                raise _gone(conversation.id)
            cursor = self.db.execute(
                "INSERT INTO turns (conversation_id, question, context, answer, status, error, prompt_tokens,"
                " completion_tokens, tokens_estimated, time_to_first_token, duration, model_id, prompt_version,"
                " created_at, cost, model, cost_source, delivery) VALUES (" + ", ".join("?" * 18) + ")",
                (
                    conversation.id,
                    turn.question,
                    turn.context,
                    turn.answer,
                    turn.status,
                    turn.error,
                    turn.prompt_tokens,
                    turn.completion_tokens,
                    int(turn.tokens_estimated),
                    turn.time_to_first_token,
                    turn.duration,
                    turn.model_id,
                    turn.prompt_version,
                    turn.created_at,
                    turn.cost,
                    turn.model,
                    turn.cost_source,
                    turn.delivery,
                ),
            )
        turn.id = cursor.lastrowid
        conversation.updated_at = now
        conversation.title = conversation.title or title_from(turn.question)
        return turn.id

    def add_gradings(self, conversation: Conversation) -> None:
        """Store the conversation's grading requests not stored yet (with no conversation when it has no id: a
        review whose grade failed); sets their ids. Nothing else is written."""
        pending = [grading for grading in conversation.gradings if grading.id is None]
        if not pending:
            return
        ids = []
        with self._writing():
            if conversation.id is not None and not self._exists(conversation.id):  # deleted by another sdx meanwhile
                raise _gone(conversation.id)
            for grading in pending:
                cursor = self.db.execute(
                    f"INSERT INTO gradings (conversation_id, kind, {', '.join(_GRADING_FIELDS[:-1])})"
                    f" VALUES (?, ?, {', '.join('?' * (len(_GRADING_FIELDS) - 1))})",
                    (
                        conversation.id,
                        conversation.kind,
                        grading.created_at,
                        grading.model,
                        grading.model_id,
                        grading.prompt_tokens,
                        grading.completion_tokens,
                        int(grading.tokens_estimated),
                        grading.cost,
                        grading.cost_source,
                    ),
                )
                ids.append(cursor.lastrowid)
        for grading, grading_id in zip(pending, ids, strict=True):  # only once they are all committed
            grading.id = grading_id

    def _exists(self, conversation_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone() is not None

    def set_grading_cost(self, grading: GradingRequest) -> None:
        """Rewrite a stored grading request's cost and where it came from (priced after it was stored)."""
        with self._writing():
            self.db.execute(
                "UPDATE gradings SET cost = ?, cost_source = ? WHERE id = ?",
                (grading.cost, grading.cost_source, grading.id),
            )

    def set_cost(self, turn: Turn) -> None:
        """Rewrite a stored turn's cost and where it came from (priced after it was stored)."""
        with self._writing():
            self.db.execute(
                "UPDATE turns SET cost = ?, cost_source = ? WHERE id = ?", (turn.cost, turn.cost_source, turn.id)
            )

    def update_meta(self, conversation: Conversation) -> None:
        """Rewrite the conversation's `meta` (an interview's grade, say), `model` (chat's `/model`) and system
        prompt with its version (a regraded review's: the prompt of its new grade), and bump its `updated_at`."""
        now = current().wall_clock()
        with self._writing():
            cursor = self.db.execute(
                "UPDATE conversations SET meta = ?, model = ?, system_prompt = ?, prompt_version = ?, updated_at = ?"
                " WHERE id = ?",
                (
                    json.dumps(conversation.meta, ensure_ascii=False),
                    conversation.model,
                    conversation.system_prompt,
                    conversation.prompt_version,
                    now,
                    conversation.id,
                ),
            )
            if cursor.rowcount == 0:
                raise _gone(conversation.id)
        conversation.updated_at = now

    def delete(self, conversation_id: str) -> None:
        """Delete a conversation and its turns (and their search entries)."""
        with self._writing():
            self.db.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            self.db.execute("DELETE FROM gradings WHERE conversation_id = ?", (conversation_id,))
            cursor = self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            if cursor.rowcount == 0:
                raise _gone(conversation_id)

    # reading

    def load(self, conversation_id: str) -> Conversation:
        """The conversation with its turns in the order they were stored."""
        with _translated(self.path):
            row = self.db.execute(
                "SELECT id, title, kind, model, system_prompt, prompt_version, created_at, updated_at, meta"
                " FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if row is None:
                raise _gone(conversation_id)
            turns = self.db.execute(
                f"SELECT {', '.join(_TURN_FIELDS)} FROM turns WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
            gradings = self.db.execute(
                f"SELECT {', '.join(_GRADING_FIELDS)} FROM gradings WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        conversation = Conversation(
            id=row[0],
            title=row[1],
            kind=row[2],
            model=row[3],
            system_prompt=row[4],
            prompt_version=row[5],
            created_at=row[6],
            updated_at=row[7],
            meta=_meta(row[8]),
        )
        for values in turns:
            turn = Turn(**dict(zip(_TURN_FIELDS, values, strict=True)))
            turn.tokens_estimated = bool(turn.tokens_estimated)
            conversation.turns.append(turn)
        for values in gradings:
            grading = GradingRequest(**dict(zip(_GRADING_FIELDS, values, strict=True)))
            grading.tokens_estimated = bool(grading.tokens_estimated)
            conversation.gradings.append(grading)
        return conversation

    def resolve(self, prefix: str) -> str:
        """The full id of the one conversation whose id starts with `prefix` (case-insensitive)."""
        wanted = prefix.strip().upper()
        if not wanted or any(char not in _CROCKFORD for char in wanted):
            raise UsageError(f"no conversation has the id {prefix!r}", "see `sdx history` for the ids")
        with _translated(self.path):
            rows = self.db.execute(
                "SELECT id, title FROM conversations WHERE id >= ? AND id < ? ORDER BY updated_at DESC LIMIT 6",
                (wanted, wanted + "~"),
            ).fetchall()
        if not rows:
            raise UsageError(f"no conversation has an id starting with {prefix!r}", "see `sdx history` for the ids")
        if len(rows) > 1:
            candidates = ", ".join(f"{cid} ({title})" for cid, title in rows[:5]) + (", …" if len(rows) > 5 else "")
            raise UsageError(f"the id prefix {prefix!r} is ambiguous: {candidates}", "give more characters of the id")
        return rows[0][0]

    def latest(self, kind: str | None = None, *, exclude: tuple[str, ...] = ()) -> str | None:
        """The id of the most recently updated conversation (of `kind`, and of none of the `exclude` kinds), or None
        when there is none."""
        unwanted = ", ".join("?" * len(exclude))
        with _translated(self.path):
            row = self.db.execute(
                "SELECT id FROM conversations WHERE (? IS NULL OR kind = ?)"
                + (f" AND kind NOT IN ({unwanted})" if exclude else "")
                + " ORDER BY updated_at DESC, id DESC LIMIT 1",
                (kind, kind, *exclude),
            ).fetchone()
        return row[0] if row else None

    def list(self, *, query: str | None = None, kind: str | None = None, limit: int = 20) -> list[ConversationSummary]:
        """The most recently updated conversations, or with `query` the best matches of a full-text search."""
        if kind is not None and kind not in KINDS:
            raise UsageError(f"unknown kind {kind!r}", f"choose one of: {', '.join(KINDS)}")
        with _translated(self.path):
            words = (query or "").split()
            if not words:
                rows = self.db.execute(_LIST, {"kind": kind, "limit": limit}).fetchall()
            elif self.has_fts and all(any(char.isalnum() for char in word) for word in words):
                rows = self._search_fts(words, kind, limit)
            else:  # no FTS5, or a word that is only punctuation (FTS5 would ignore it): matched literally
                rows = self._search_like(words, kind, limit)
        return [_summary(row) for row in rows]

    def answer_lengths(self, model_id: str, limit: int = 50) -> builtins.list[int]:
        """The completion tokens of the model's last `limit` complete answers (to forecast what more will cost)."""
        with _translated(self.path):
            rows = self.db.execute(
                "SELECT completion_tokens FROM turns WHERE model_id = ? AND status = 'complete'"
                " AND completion_tokens > 0 ORDER BY created_at DESC LIMIT ?",
                (model_id, limit),
            ).fetchall()
        return [row[0] for row in rows]

    def all_ids(self) -> builtins.list[str]:  # `builtins.`: in this class, `list` is the method above
        """Every conversation id, sorted (to find the shortest unique prefixes)."""
        with _translated(self.path):
            return [row[0] for row in self.db.execute("SELECT id FROM conversations ORDER BY id")]

    def json_values(self, kind: str, paths: Sequence[str]) -> builtins.list[tuple[str, str, float, builtins.list]]:
        """(id, title, created_at, [the value at each JSON path of its meta, or None]) of every conversation of
        `kind`, oldest first. SQLite reads the paths (`$.grade.recommendation`), so a large meta is never parsed in
        Python: `sdx progress` reads a few numbers from each of a thousand grades."""
        if not paths:
            return []
        placeholders = ", ".join("?" * len(paths))  # after a path that is never there: an array even for one path
        try:
            with _translated(self.path):
                rows = self.db.execute(
                    f"SELECT id, title, created_at, json_extract(meta, '$.__none__', {placeholders}) FROM conversations"
                    " WHERE kind = ? ORDER BY created_at, id",
                    (*paths, kind),
                ).fetchall()
        except HistoryError as exc:
            if "json_extract" not in str(exc):
                raise
            rows = self._json_values_in_python(kind, paths)  # an SQLite built without JSON1 (before 3.38)
            return [(row[0], row[1], row[2], row[3]) for row in rows]
        return [(row[0], row[1], row[2], _json_list(row[3])[1:]) for row in rows]

    def _json_values_in_python(self, kind: str, paths: Sequence[str]) -> builtins.list[tuple]:
        with _translated(self.path):
            rows = self.db.execute(
                "SELECT id, title, created_at, meta FROM conversations WHERE kind = ? ORDER BY created_at, id", (kind,)
            ).fetchall()
        return [(row[0], row[1], row[2], [_at_path(_meta(row[3]), path) for path in paths]) for row in rows]

    def _search_fts(self, words: builtins.list[str], kind: str | None, limit: int) -> builtins.list[tuple[object, ...]]:
        """Conversations in which every word appears (in any of their turns), best bm25 match first."""
        each = " ".join(
            f"AND c.id IN (SELECT t.conversation_id FROM turns_fts JOIN turns t ON t.id = turns_fts.rowid"
            f" WHERE turns_fts MATCH :w{n})"
            for n in range(len(words))
        )
        params = {f"w{n}": fts_query(word) for n, word in enumerate(words)}
        any_word = " OR ".join(params.values())
        sql = _SEARCH.replace("/* every word */", each)
        return self.db.execute(sql, {"kind": kind, "limit": limit, "match": any_word, **params}).fetchall()

    def _search_like(
        self, words: builtins.list[str], kind: str | None, limit: int
    ) -> builtins.list[tuple[object, ...]]:
        """The search without FTS5: every word must appear in some turn (case-insensitive for ASCII); newest first."""
        patterns = ["%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for word in words]
        one = (
            "c.id IN (SELECT conversation_id FROM turns WHERE question LIKE ? ESCAPE '\\' OR answer LIKE ? ESCAPE '\\')"
        )
        each = " AND ".join([one] * len(patterns))
        sql = (
            f"SELECT {_SUMMARY_COLUMNS}, substr(t.question, 1, 120) FROM turns t JOIN conversations c"
            f" ON c.id = t.conversation_id WHERE {each} AND (? IS NULL OR c.kind = ?)"
            " GROUP BY c.id ORDER BY c.updated_at DESC, c.id DESC LIMIT ?"
        )
        params = [pattern for pattern in patterns for _ in (0, 1)]
        return self.db.execute(sql, (*params, kind, kind, limit)).fetchall()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One short write transaction, taken at once (`BEGIN IMMEDIATE`); rolled back on any exception."""
        if self.version > SCHEMA_VERSION:
            raise _newer(self.path, self.version)
        with _translated(self.path):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.db.in_transaction:  # SQLite rolls back by itself after some errors (an interrupt)
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")


_TURN_FIELDS = (
    "question", "context", "answer", "status", "error", "prompt_tokens", "completion_tokens", "tokens_estimated",
    "time_to_first_token", "duration", "model_id", "prompt_version", "created_at", "cost", "model", "cost_source",
    "delivery", "id",
)  # fmt: skip

_GRADING_FIELDS = (
    "created_at", "model", "model_id", "prompt_tokens", "completion_tokens", "tokens_estimated", "cost",
    "cost_source", "id",
)  # fmt: skip

_SUMMARY_COLUMNS = (
    "c.id, c.title, c.kind, c.model, c.created_at, c.updated_at,"
    " (SELECT count(*) FROM turns n WHERE n.conversation_id = c.id), c.meta,"
    " (SELECT s.status FROM turns s WHERE s.conversation_id = c.id ORDER BY s.id DESC LIMIT 1),"
    " (SELECT sum(n.cost) FROM turns n WHERE n.conversation_id = c.id),"
    " (SELECT max(n.cost_source IN ('prices', 'price list')) FROM turns n WHERE n.conversation_id = c.id),"
    f" (SELECT count(*) FROM turns n WHERE n.conversation_id = c.id AND n.cost IS NULL AND {answer_sql('n')}),"
    " (SELECT count(*) FROM gradings g WHERE g.conversation_id = c.id),"
    " (SELECT sum(g.cost) FROM gradings g WHERE g.conversation_id = c.id),"
    " (SELECT max(g.cost_source IN ('prices', 'price list')) FROM gradings g WHERE g.conversation_id = c.id),"
    " (SELECT count(*) FROM gradings g WHERE g.conversation_id = c.id AND g.cost IS NULL)"
)

_LIST = f"""
SELECT {_SUMMARY_COLUMNS}, NULL FROM conversations c
WHERE :kind IS NULL OR c.kind = :kind
ORDER BY c.updated_at DESC, c.id DESC LIMIT :limit
"""

# SQLite returns the other columns of the row where MIN() found its value: each conversation's best turn.
_SEARCH = f"""
WITH hits AS MATERIALIZED (
    SELECT t.conversation_id AS cid, bm25(turns_fts, 2.0, 1.0) AS rank,
           snippet(turns_fts, -1, '{SNIPPET_START}', '{SNIPPET_END}', '…', 12) AS snip
    FROM turns_fts JOIN turns t ON t.id = turns_fts.rowid
    WHERE turns_fts MATCH :match
), best AS (
    SELECT cid, MIN(rank) AS rank, snip FROM hits GROUP BY cid
)
SELECT {_SUMMARY_COLUMNS}, best.snip FROM best JOIN conversations c ON c.id = best.cid
WHERE (:kind IS NULL OR c.kind = :kind) /* every word */
ORDER BY best.rank, c.updated_at DESC LIMIT :limit
"""


def _summary(row: Sequence) -> ConversationSummary:
    """A row of `_SUMMARY_COLUMNS` and the snippet; the cost is the answers' and the grading's together."""
    cost, estimated, unknown, gradings, grading_cost, grading_estimated, grading_unknown = row[9:16]
    return ConversationSummary(
        *row[:6],
        turns=row[6],
        meta=_meta(row[7]),
        last_status=row[8] or "",
        cost=None if cost is None and grading_cost is None else (cost or 0.0) + (grading_cost or 0.0),
        cost_estimated=bool(estimated or grading_estimated),
        unknown_cost=unknown + grading_unknown,
        gradings=gradings,
        grading_cost=grading_cost,
        snippet=row[16],
    )


def _meta(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json_list(text: str | None) -> builtins.list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, builtins.list) else []


def _at_path(value: object, path: str) -> object:
    """The value at `$.a.b.c` in `value` (what json_extract gives), or None."""
    for key in path.removeprefix("$.").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _table_exists(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def _create_private(path: Path) -> None:
    """Create the directory (0700) and an empty file (0600) when missing, so the data is never world-readable."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. Switching needs the file to itself, and SQLite answers "locked" at once instead of waiting
    when several sdx open a new file together: try again, within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # a lock held by another process: real time, not the environment's clock


def _migrate(db: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION in one transaction; returns the version found (newer stays newer)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return version
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another sdx may have migrated meanwhile
        for migration in MIGRATIONS[version:]:
            migration(db)
        db.execute(f"PRAGMA user_version = {max(version, SCHEMA_VERSION)}")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return max(version, SCHEMA_VERSION)


def _gone(conversation_id: str | None) -> UsageError:
    return UsageError(f"conversation {conversation_id} is not in the history", "see `sdx history` for the ids")


def _newer(path: Path, version: int) -> HistoryError:
    return HistoryError(
        f"the history database {path} was written by a newer sdx (schema {version}, this sdx knows {SCHEMA_VERSION});"
        " it is kept as it is and nothing is stored",
        "upgrade sdx, or set SDX_HOME to another directory to start a separate history",
    )


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite and file-system failures → a `HistoryError` that says what to do."""
    try:
        yield
    except sqlite3.Error as exc:
        raise _history_error(path, str(exc)) from exc
    except OSError as exc:
        raise _history_error(path, exc.strerror or str(exc)) from exc


def _history_error(path: Path, reason: str) -> HistoryError:
    lowered = reason.lower()
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return HistoryError(
            f"the history database {path} is damaged ({reason})",
            f"move it aside (mv {path} {path}.broken) and sdx starts a new one",
        )
    if "full" in lowered or "no space" in lowered:
        return HistoryError(f"cannot write the history database {path}: the disk is full", "free some space")
    if "locked" in lowered or "busy" in lowered:
        return HistoryError(
            f"the history database {path} stayed locked for {BUSY_TIMEOUT:g}s ({reason})",
            "another sdx is writing to it; try again",
        )
    return HistoryError(
        f"cannot use the history database {path} ({reason})",
        f"make {path.parent} writable, or set SDX_HOME to a writable directory",
    )
