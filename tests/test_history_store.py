"""The history store on real SQLite files in a temp dir: schema, migrations, search, failures, concurrency."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdx.domain.conversation import ERROR, INTERRUPTED, Conversation, Turn
from sdx.environment import Environment, installed
from sdx.errors import ExitStatus, UsageError
from sdx.store import history as store
from sdx.store.history import SCHEMA_VERSION, History, HistoryError, history_path


class Clock:
    """The wall clock of the installed environment; tests move it."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(tmp_path: Path) -> Iterator[Clock]:
    clock = Clock()
    env = Environment(
        stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), environ={"SDX_HOME": str(tmp_path)}, wall_clock=clock
    )
    with installed(env):
        yield clock


@pytest.fixture
def db_path(tmp_path: Path, clock: Clock) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def history(db_path: Path) -> Iterator[History]:
    with History.open(db_path) as opened:
        yield opened


def conversation(kind: str = "ask", title: str = "") -> Conversation:
    return Conversation(kind=kind, model="gpt-4o-mini", system_prompt="You are sdx.", prompt_version="v3", title=title)


def stored(history: History, *questions_and_answers: tuple[str, str], kind: str = "ask") -> Conversation:
    talk = conversation(kind)
    history.create(talk)
    for question, answer in questions_and_answers:
        history.add_turn(talk, Turn(question=question, answer=answer))
    return talk


def in_env(environ: dict[str, str]) -> Environment:
    return Environment(stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), environ=environ)


def test_the_database_lives_in_sdx_home_else_xdg_data_home_else_local_share(tmp_path):
    cases = [
        ({"SDX_HOME": "/s", "XDG_DATA_HOME": "/x", "HOME": "/h"}, Path("/s/history.db")),
        ({"XDG_DATA_HOME": "/x", "HOME": "/h"}, Path("/x/sdx/history.db")),
        ({"HOME": "/h"}, Path("/h/.local/share/sdx/history.db")),
        ({"SDX_HOME": "", "XDG_DATA_HOME": "", "HOME": "/h"}, Path("/h/.local/share/sdx/history.db")),
    ]
    for environ, expected in cases:
        with installed(in_env(environ)):
            assert history_path() == expected


def test_open_creates_a_private_directory_and_file_whatever_the_umask(tmp_path, clock):
    path = tmp_path / "data" / "sdx" / "history.db"
    old_umask = os.umask(0)
    try:
        History.open(path).close()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_every_connection_uses_wal_and_a_busy_timeout(history):
    assert history.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert history.db.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    assert history.db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_a_conversation_and_all_fields_of_its_turns_come_back_as_stored(history, clock):
    talk = conversation("interview")
    talk.meta = {"level": "senior"}
    conversation_id = history.create(talk)
    assert talk.id == conversation_id and len(conversation_id) == 26
    assert talk.created_at == talk.updated_at == clock.now
    first = Turn(
        question="Design a URL shortener",
        context="50M DAU",
        answer="## Requirements\n…",
        prompt_tokens=120,
        completion_tokens=800,
        tokens_estimated=True,
        time_to_first_token=0.25,
        duration=4.5,
        model_id="openai/gpt-4o-mini",
        prompt_version="v3",
    )
    clock.now += 10
    assert history.add_turn(talk, first) == first.id and first.id is not None
    assert first.created_at == clock.now
    clock.now += 10
    second = Turn(question="And sharding?", answer="Shard by", status=INTERRUPTED)
    third = Turn(question="Compare Kafka", status=ERROR, error="the provider answered 500")
    history.add_turn(talk, second)
    history.add_turn(talk, third)

    loaded = history.load(conversation_id)
    assert loaded.turns == [first, second, third]
    assert loaded.turns[0].tokens_estimated is True
    assert (loaded.kind, loaded.model, loaded.system_prompt, loaded.prompt_version) == (
        "interview",
        "gpt-4o-mini",
        "You are sdx.",
        "v3",
    )
    assert loaded.title == "Design a URL shortener"  # an untitled conversation takes its first question
    assert loaded.meta == {"level": "senior"}
    assert loaded.created_at == 1_750_000_000.0 and loaded.updated_at == clock.now == talk.updated_at


def test_update_meta_rewrites_the_meta_and_bumps_updated_at(history, clock):
    talk = stored(history, ("Design a chat system", "…"), kind="interview")
    clock.now += 60
    talk.meta = {"grade": {"overall": "hire", "scores": {"scalability": 3}}, "grade_status": "done"}
    history.update_meta(talk)
    loaded = history.load(talk.id)
    assert loaded.meta == talk.meta and loaded.updated_at == clock.now


def test_a_version_0_database_file_is_migrated_in_place(db_path):
    sqlite3.connect(db_path).close()  # an empty database: user_version 0, no tables
    legacy = sqlite3.connect(db_path)
    legacy.execute("CREATE TABLE unrelated (x)")  # whatever was there stays
    legacy.commit()
    legacy.close()
    with History.open(db_path) as history:
        assert history.db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        talk = stored(history, ("Design a cache", "LRU"))
        assert history.load(talk.id).turns[0].answer == "LRU"
        assert history.db.execute("SELECT count(*) FROM unrelated").fetchone() == (0,)


def test_migrations_run_in_one_transaction_all_or_nothing(db_path, monkeypatch):
    def broken_migration(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        db.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(store, "MIGRATIONS", [store._migrate_to_1, broken_migration])
    monkeypatch.setattr(store, "SCHEMA_VERSION", 2)
    with pytest.raises(HistoryError):
        History.open(db_path)
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA user_version").fetchone() == (0,)
    assert db.execute("SELECT name FROM sqlite_master").fetchall() == []  # not even version 1's tables
    db.close()
    monkeypatch.undo()
    with History.open(db_path) as history:
        assert history.version == SCHEMA_VERSION


def test_a_database_from_a_newer_sdx_is_read_but_never_written(db_path):
    with History.open(db_path) as history:
        talk = stored(history, ("Design a queue", "Use a log"))
    newer = sqlite3.connect(db_path)
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    with History.open(db_path) as history:
        assert [summary.id for summary in history.list()] == [talk.id]
        assert history.load(talk.id).turns[0].answer == "Use a log"
        with pytest.raises(HistoryError) as caught:
            history.add_turn(talk, Turn(question="more"))
        with pytest.raises(HistoryError):
            history.delete(talk.id)
        assert history.db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)
    assert caught.value.status == ExitStatus.CONFIG
    assert "written by a newer sdx" in caught.value.what and "upgrade sdx" in caught.value.fix


def test_a_corrupt_file_is_a_config_error_that_says_what_to_do(db_path):
    db_path.write_bytes(b"this is not a database, just some text\n" * 200)
    with pytest.raises(HistoryError) as caught:
        History.open(db_path)
    assert caught.value.status == ExitStatus.CONFIG
    assert "is damaged" in caught.value.what and str(db_path) in caught.value.what
    assert caught.value.fix == f"move it aside (mv {db_path} {db_path}.broken) and sdx starts a new one"


def test_a_data_dir_that_cannot_be_created_is_a_config_error(tmp_path, clock):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    with pytest.raises(HistoryError) as caught:
        History.open(blocker / "sdx" / "history.db")
    assert caught.value.status == ExitStatus.CONFIG
    assert "set SDX_HOME to a writable directory" in caught.value.fix


def test_a_full_disk_while_storing_a_turn_is_a_config_error_and_stores_nothing(history):
    talk = stored(history, ("Design a blob store", "Chunks"))
    pages = history.db.execute("PRAGMA page_count").fetchone()[0]
    history.db.execute(f"PRAGMA max_page_count = {pages + 1}")  # what SQLite reports when the disk is full
    with pytest.raises(HistoryError) as caught:
        history.add_turn(talk, Turn(question="bigger", answer="x" * 200_000))
    assert "the disk is full" in caught.value.what and caught.value.status == ExitStatus.CONFIG
    assert len(history.load(talk.id).turns) == 1  # the transaction was rolled back
    assert history.db.in_transaction is False


def test_a_write_interrupted_between_its_statements_leaves_nothing_half_written(history):
    talk = stored(history, ("Design a blob store", "Chunks"))
    updated_at = history.load(talk.id).updated_at

    def interrupt_the_update(statement: str) -> None:
        if statement.startswith("UPDATE conversations"):  # the turn's row is already inserted
            history.db.interrupt()

    history.db.set_trace_callback(interrupt_the_update)
    with pytest.raises(HistoryError) as caught:
        history.add_turn(talk, Turn(question="interrupted", answer="half"))
    assert "(interrupted)" in caught.value.what  # SQLite's own reason, not a failed ROLLBACK's
    history.db.set_trace_callback(None)
    assert history.db.in_transaction is False
    loaded = history.load(talk.id)
    assert [turn.question for turn in loaded.turns] == ["Design a blob store"] and loaded.updated_at == updated_at
    assert history.list(query="interrupted") == []
    history.add_turn(talk, Turn(question="next"))  # the database is usable at once
    assert len(history.load(talk.id).turns) == 2


def test_a_turn_for_a_conversation_deleted_meanwhile_is_refused(history):
    talk = stored(history, ("Design a feed", "…"))
    history.delete(talk.id)
    with pytest.raises(UsageError) as caught:
        history.add_turn(talk, Turn(question="more"))
    assert caught.value.what == f"conversation {talk.id} is not in the history"
    assert history.db.execute("SELECT count(*) FROM turns").fetchone() == (0,)


def test_resolve_takes_a_unique_prefix_in_any_case(history, clock):
    first = stored(history, ("one", "1"))
    clock.now += 86_400
    second = stored(history, ("two", "2"))
    assert history.resolve(first.id[:9].lower()) == first.id
    assert history.resolve(second.id) == second.id


def test_resolve_lists_the_candidates_of_an_ambiguous_prefix_and_says_when_none_matches(history):
    first = stored(history, ("Design a feed", "…"))
    second = stored(history, ("Design a search engine", "…"))  # same millisecond: the first 10 characters agree
    with pytest.raises(UsageError) as ambiguous:
        history.resolve(first.id[:10])
    assert "is ambiguous" in ambiguous.value.what
    assert f"{first.id} (Design a feed)" in ambiguous.value.what
    assert f"{second.id} (Design a search engine)" in ambiguous.value.what
    with pytest.raises(UsageError) as missing:
        history.resolve("7ZZZZZZZ")
    assert missing.value.what == "no conversation has an id starting with '7ZZZZZZZ'"
    for bad in ("", "01%", "01_"):
        with pytest.raises(UsageError):
            history.resolve(bad)


def test_latest_is_the_most_recently_updated_of_a_kind(history, clock):
    assert history.latest() is None
    old_ask = stored(history, ("ask 1", "…"))
    clock.now += 1
    chat = stored(history, ("chat 1", "…"), kind="chat")
    clock.now += 1
    history.add_turn(old_ask, Turn(question="follow-up"))
    assert history.latest() == old_ask.id
    assert history.latest("chat") == chat.id
    assert history.latest("interview") is None


def test_list_is_newest_first_with_turn_counts_a_kind_filter_and_a_limit(history, clock):
    talks = []
    for number in range(3):
        clock.now += 1
        talks.append(stored(history, *[(f"q{number}.{turn}", "a") for turn in range(number + 1)]))
    clock.now += 1
    interview = stored(history, ("Design Uber", "…"), kind="interview")
    summaries = history.list()
    assert [summary.id for summary in summaries] == [interview.id] + [talk.id for talk in reversed(talks)]
    assert [summary.turns for summary in summaries] == [1, 3, 2, 1]
    assert summaries[1].title == "q2.0" and summaries[1].model == "gpt-4o-mini"
    assert [summary.id for summary in history.list(kind="interview")] == [interview.id]
    assert len(history.list(limit=2)) == 2
    with pytest.raises(UsageError):
        history.list(kind="essay")


def test_search_ranks_matches_and_gives_a_snippet(history, clock):
    stored(history, ("Design a URL shortener", "Base62 ids in a key-value store."))
    clock.now += 1
    hashing = stored(history, ("Design a distributed cache", "Use consistent hashing with virtual nodes."))
    clock.now += 1
    stored(history, ("Design a rate limiter", "Token bucket."))
    found = history.list(query="consistent hashing")
    assert [summary.id for summary in found] == [hashing.id]
    assert "".join(text for text, _ in store.snippet_parts(found[0].snippet)) == (
        "Use consistent hashing with virtual nodes."
    )
    assert [text for text, matched in store.snippet_parts(found[0].snippet) if matched] == ["consistent", "hashing"]
    assert len(history.list(query="design")) == 3


PUNCTUATION = ["-", ":", '"', "*", "(", ")", "a:b", "C++", "-x", '"unbalanced', "NOT", "AND OR", "near(", "^", "%", "_"]


@pytest.mark.parametrize("query", PUNCTUATION)
def test_search_never_fails_on_punctuation(history, query):
    stored(history, ("What about C++ (and -x)?", 'It said "a:b" NOT 100% _ok_'))
    assert isinstance(history.list(query=query), list)


def test_search_finds_words_written_with_punctuation(history):
    talk = stored(history, ("Compare SQS vs. Kafka: which?", "At-least-once delivery."))
    for query in ("kafka:", "at-least-once", "SQS vs.", '"delivery"'):
        assert [summary.id for summary in history.list(query=query)] == [talk.id], query


def test_search_words_may_be_in_different_turns_of_a_conversation(history):
    talk = stored(history, ("Design a URL shortener", "Base62 ids."), ("How to shard?", "By the id's hash."))
    stored(history, ("Design a cache", "How to shard it: consistent hashing."))
    assert [summary.id for summary in history.list(query="shortener shard")] == [talk.id]
    assert history.list(query="shortener kafka") == []


def test_search_for_punctuation_alone_matches_it_literally(history):
    talk = stored(history, ("Use C++ (or Rust)", "It is *fast*"))
    stored(history, ("Use Go", "It is simple"))
    for query in ("*", "(", "++"):
        assert [summary.id for summary in history.list(query=query)] == [talk.id], query


def test_deleting_a_conversation_removes_its_turns_and_search_entries(history):
    kept = stored(history, ("Design a CDN", "edge caches"))
    gone = stored(history, ("Design a CDN for video", "edge caches and chunks"))
    history.delete(gone.id)
    assert [summary.id for summary in history.list(query="edge")] == [kept.id]
    assert history.db.execute("SELECT count(*) FROM turns").fetchone() == (1,)
    with pytest.raises(UsageError):
        history.load(gone.id)
    with pytest.raises(UsageError):
        history.delete(gone.id)


def test_without_fts5_search_falls_back_to_like(db_path, monkeypatch):
    monkeypatch.setattr(store, "fts5_available", lambda: False)
    with History.open(db_path) as history:
        assert not history.has_fts
        assert history.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'turns_fts'").fetchone() is None
        talk = stored(history, ("Design a CDN", "100% of _edge_ caches: hit ratio"), ("And shards?", "two"))
        stored(history, ("Design a queue", "A log"))
        for query in ("edge caches", "100%", "_edge_", "HIT", "cdn", "cdn shards"):
            assert [summary.id for summary in history.list(query=query)] == [talk.id], query
        assert history.list(query="10%0") == []
        for query in PUNCTUATION:
            history.list(query=query)


def test_fts5_is_detected_once():
    store.fts5_available.cache_clear()
    assert store.fts5_available() is True  # this Python's SQLite has it; the fallback is tested above
    assert store.fts5_available.cache_info().hits == 0
    store.fts5_available()
    assert store.fts5_available.cache_info().hits == 1


def test_eight_threads_with_their_own_connections_all_store_their_turns(db_path):
    """A fresh file: the threads race to create the schema, then to write (a cheap stand-in for processes)."""
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(number: int) -> None:
        try:
            start.wait()
            with History.open(db_path) as history:
                talk = conversation()
                history.create(talk)
                for turn in range(5):
                    history.add_turn(talk, Turn(question=f"writer {number} turn {turn}", answer="x" * 5000))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with History.open(db_path) as history:
        summaries = history.list(limit=100)
        assert len(summaries) == 8 and all(summary.turns == 5 for summary in summaries)
        assert len(history.list(query="writer", limit=100)) == 8


def test_ids_are_26_crockford_characters_that_sort_by_time():
    earlier, later = store.new_id(1_700_000_000.0), store.new_id(1_700_000_000.002)
    assert len(earlier) == 26 and set(earlier) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert earlier < later
    assert earlier[:10] == store.new_id(1_700_000_000.0)[:10] and earlier != store.new_id(1_700_000_000.0)
    assert store.new_id(0.0).startswith("0000000000")
