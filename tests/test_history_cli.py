"""`sdx history`, `sdx show`, `sdx export`, `sdx history rm|path`, as a user runs them, on a real database file."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdx.cli import run
from sdx.commands.history import conversation_markdown, local_time
from sdx.domain.conversation import ERROR, INTERRUPTED, Conversation, Turn
from sdx.environment import Environment, installed
from sdx.store.history import SCHEMA_VERSION, History
from tests.runner import Sdx

T0 = 1_750_000_000.0
DAY = 86_400.0


@pytest.fixture
def user(tmp_path: Path) -> Sdx:
    return Sdx(tmp_path / "home")


class Seeder:
    """Stores conversations through the History API, at chosen times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.now = T0

    def __call__(
        self, *turns: Turn, kind: str = "ask", model: str = "gpt-4o-mini", meta: dict | None = None
    ) -> Conversation:
        env = Environment(stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), wall_clock=lambda: self.now)
        talk = Conversation(kind=kind, model=model, system_prompt="sys", prompt_version="v3", meta=meta or {})
        with installed(env), History.open(self.path) as history:
            history.create(talk)
            for turn in turns:
                history.add_turn(talk, turn)
        self.now += DAY
        return talk

    def load(self, conversation_id: str) -> Conversation:
        with History.open(self.path) as history:
            return history.load(conversation_id)

    def ids(self) -> list[str]:
        with History.open(self.path) as history:
            return history.all_ids()


@pytest.fixture
def seed(user: Sdx) -> Iterator[Seeder]:
    yield Seeder(user.home / "history.db")


def test_history_lists_conversations_newest_first_as_aligned_columns(user, seed):
    shortener = seed(
        Turn("Design a URL shortener", answer="Base62.", cost=0.0012, cost_source="reported"),
        Turn("Shard it?", answer="By id.", cost=0.0003, cost_source="price list"),
    )
    limiter = seed(Turn("Design a rate limiter", answer="Token bucket.", model_id="llama3.2"), model="llama3.2")
    result = user.call("history")
    assert result.code == 0 and result.stderr == ""
    when_limiter, when_shortener = local_time(T0 + DAY), local_time(T0)
    assert result.out == (
        f"ID        WHEN              KIND  MODEL        TURNS  COST      TITLE\n"
        f"{limiter.id[:8]}  {when_limiter}  ask   llama3.2     1      ?         Design a rate limiter\n"
        f"{shortener.id[:8]}  {when_shortener}  ask   gpt-4o-mini  2      ~$0.0015  Design a URL shortener\n"
    )


def test_history_shows_longer_ids_when_eight_characters_are_not_unique(user, seed):
    seed.now = T0
    first = seed(Turn("one"))
    seed.now = T0  # the same millisecond: the ids share their 10 time characters
    second = seed(Turn("two"))
    shown = [line.split()[0] for line in user.call("history").out.splitlines()[1:]]
    assert len(shown[0]) > 10 and sorted(shown) == sorted([first.id[: len(shown[0])], second.id[: len(shown[1])]])
    assert user.call("show", shown[0]).code == 0


def test_history_json_is_a_list_of_conversations_for_scripts(user, seed):
    talk = seed(Turn("Design a URL shortener", answer="Base62 ids.", model_id="gpt-4o-mini"), meta={"source": "test"})
    result = user.call("history", "--json")
    assert result.code == 0
    assert json.loads(result.out) == [
        {
            "id": talk.id,
            "title": "Design a URL shortener",
            "kind": "ask",
            "model": "gpt-4o-mini",
            "created_at": "2025-06-15T15:06:40Z",
            "updated_at": "2025-06-15T15:06:40Z",
            "turns": 1,
            "meta": {"source": "test"},
            "snippet": None,
            "last_status": "complete",
            "cost": None,
            "cost_estimated": False,
            "unknown_cost": 1,
            "gradings": 0,
            "grading_cost": None,
        }
    ]


def test_an_empty_history_prints_nothing_on_stdout(user):
    result = user.call("history")
    assert (result.code, result.out, result.stderr) == (0, "", "sdx: no conversations yet\n")
    assert user.call("history", "--json").out == "[]\n"
    missing = user.call("history", "-q", "kafka")
    assert (missing.code, missing.out, missing.stderr) == (0, "", "sdx: no conversation matches 'kafka'\n")
    interviews = user.call("history", "--kind", "interview")
    assert (interviews.code, interviews.stderr) == (0, "sdx: no interview conversations yet\n")


def test_search_prints_the_matches_with_a_snippet(user, seed):
    seed(Turn("Design a URL shortener", answer="Base62 ids in a key-value store."))
    cache = seed(Turn("Design a cache", answer="Use consistent hashing\nwith virtual nodes."))
    result = user.call("history", "-q", "consistent hashing")
    assert result.code == 0
    lines = result.out.splitlines()
    assert len(lines) == 3 and lines[1].startswith(cache.id[:8])
    assert lines[2] == "    Use consistent hashing with virtual nodes."
    data = json.loads(user.call("history", "--query", "consistent hashing", "--json").out)
    assert [(item["id"], item["snippet"]) for item in data] == [
        (cache.id, "Use consistent hashing\nwith virtual nodes.")
    ]


def test_search_highlights_matches_on_a_terminal_and_neutralises_escapes(user, seed):
    seed(Turn("Design a cache", answer="consistent \x1b[2J hashing"))
    result = user.call("history", "-q", "hashing", tty=True)
    assert "\x1b[1mhashing\x1b[22m" in result.out and "␛[2J" in result.out and "\x1b[2J" not in result.out


def test_search_finds_the_beginnings_of_words(user, seed):
    sharding = seed(Turn("Design a key-value store", answer="Sharding by consistent hashing."))
    seed(Turn("Design a cache", answer="A shard-free design: one node."))
    found = {
        query: [item["id"] for item in json.loads(user.call("history", "-q", query, "--json").out)]
        for query in ("shardi", "hash", "consistent hash", "SHARDING")
    }
    assert found == {
        "shardi": [sharding.id],
        "hash": [sharding.id],
        "consistent hash": [sharding.id],
        "SHARDING": [sharding.id],
    }
    literal = user.call("history", "-q", "hashing OR nothing", "--json")  # OR is a word to find, not syntax
    assert literal.code == 0 and json.loads(literal.out) == []
    starred = user.call("history", "-q", 'hash*"', "--json")  # the star and the quote are text, never syntax
    assert starred.code == 0 and [item["id"] for item in json.loads(starred.out)] == [sharding.id]


@pytest.mark.parametrize("query", ['"', "-", ":", "*", "(", "a:b", "C++", 'say "hi', "NOT"])
def test_search_with_punctuation_never_fails(user, seed, query):
    seed(Turn("What about C++ (and -x)?", answer='It said "hi" NOT a:b'))
    result = user.call("history", "-q", query)
    assert result.code == 0 and "error" not in result.stderr


def test_history_kind_interview_shows_the_overall_grade(user, seed):
    seed(Turn("Design a feed"))
    graded = seed(Turn("Design Uber"), kind="interview", meta={"grade": {"overall": "hire", "scores": {}}})
    pending = seed(Turn("Design Slack"), kind="interview", meta={"grade_status": "pending"})
    lines = user.call("history", "--kind", "interview").out.splitlines()
    assert lines[0].split() == ["ID", "WHEN", "KIND", "MODEL", "TURNS", "COST", "GRADE", "TITLE"]
    assert [line.split()[0] for line in lines[1:]] == [pending.id[:8], graded.id[:8]]
    assert lines[1].split()[-3:] == ["pending", "Design", "Slack"]
    assert lines[2].split()[-3:] == ["hire", "Design", "Uber"]


def test_history_limit_and_bad_options_are_usage_errors(user, seed):
    for number in range(3):
        seed(Turn(f"question {number}"))
    assert len(user.call("history", "--limit", "2").out.splitlines()) == 3
    bad_kind = user.call("history", "--kind", "essay")
    assert bad_kind.code == 2
    assert bad_kind.stderr == "sdx: error: unknown kind 'essay' — choose one of: ask, chat, interview, batch, review\n"
    bad_limit = user.call("history", "--limit", "0")
    assert bad_limit.code == 2 and "see `sdx history --help`" in bad_limit.stderr


def a_conversation(seed: Seeder) -> Conversation:
    return seed(
        Turn("Design a URL shortener", context="50M DAU", answer="## Requirements\n\n- short ids\n", model_id="m1"),
        Turn("Now shard the table\nby user, maybe?", answer="```sql\nSELECT 1;", status=INTERRUPTED),
        Turn("Compare Kafka and SQS", status=ERROR, error="the provider answered 500"),
    )


def test_show_piped_prints_the_conversation_markdown(user, seed):
    talk = a_conversation(seed)
    result = user.call("show", talk.id[:8].lower())
    assert result.code == 0 and result.stderr == ""
    assert result.out == conversation_markdown(seed.load(talk.id))
    assert user.call("show", talk.id, "--raw", tty=True).out == result.out


def test_show_json_is_everything_stored_of_the_conversation(user, seed):
    talk = a_conversation(seed)

    result = user.call("show", talk.id, "--json")

    assert result.code == 0 and result.stderr == ""
    data = json.loads(result.out)
    assert (data["id"], data["kind"], data["model"], data["system_prompt"]) == (talk.id, "ask", "gpt-4o-mini", "sys")
    assert data["created_at"] == "2025-06-15T15:06:40Z" == data["turns"][0]["created_at"]
    assert [(turn["question"], turn["status"]) for turn in data["turns"]] == [
        ("Design a URL shortener", "complete"),
        ("Now shard the table\nby user, maybe?", "interrupted"),
        ("Compare Kafka and SQS", "error"),
    ]
    assert data["turns"][0]["context"] == "50M DAU" and data["turns"][0]["model_id"] == "m1"
    assert data["turns"][2]["error"] == "the provider answered 500"
    assert (data["meta"], data["gradings"]) == ({}, [])


def test_json_on_a_terminal_escapes_what_could_drive_or_reorder_it(user, seed):
    answer = "CSI as one character: \x9b2J, an override: \u202egnp.exe, and ESC: \x1b[31m"
    talk = seed(Turn("Design a \x9b2J cache", answer=answer))

    on_terminal = user.call("show", talk.id, "--json", tty=True)
    piped = user.call("show", talk.id, "--json")

    assert json.loads(on_terminal.out)["turns"][0]["answer"] == answer == json.loads(piped.out)["turns"][0]["answer"]
    assert "\\u009b2J" in on_terminal.out and "\\u202e" in on_terminal.out and "\\u001b[31m" in on_terminal.out
    assert not any(char in on_terminal.out for char in "\x9b\u202e\x1b")
    assert "\x9b" in piped.out and "\u202e" in piped.out  # a pipe gets the characters themselves
    listed = user.call("history", "--json", tty=True).out  # the title is the question
    assert "\x9b" not in listed and json.loads(listed)[0]["title"] == "Design a \x9b2J cache"


def test_conversation_markdown_marks_each_turn(seed):
    talk = seed.load(a_conversation(seed).id)
    text = conversation_markdown(talk)
    assert text.startswith(
        f"# Design a URL shortener\n\n*ask · gpt-4o-mini · {local_time(T0, zone=True)} · id {talk.id}*\n"
    )
    assert (
        "## 1. Design a URL shortener\n\n> **Context:**\n>\n> 50M DAU\n\n## Requirements\n\n- short ids\n\n*m1*" in text
    )
    assert "## 2. Now shard the table by user, maybe?\n\n> Now shard the table\n> by user, maybe?\n" in text
    assert "```sql\nSELECT 1;\n```\n\n> **Interrupted:** the answer stopped here." in text  # the open fence closed
    assert "## 3. Compare Kafka and SQS\n\n> **Failed:** the provider answered 500\n" in text


def test_conversation_markdown_renders_an_interview_grade(seed):
    talk = seed(Turn("Design Uber"), kind="interview", meta={"grade": {"overall": "hire", "scores": {"depth": 3}}})
    assert conversation_markdown(talk).endswith('## Grade\n\n- **overall**: hire\n- **scores**: {"depth": 3}\n')


def test_show_on_a_terminal_renders_markdown_and_neutralises_escapes(user, seed):
    talk = seed(Turn("Design a cache", answer="## Eviction\n\nUse **LRU**. \x1b[2J\x07"), Turn("More?", status=ERROR))
    result = user.call("show", talk.id, tty=True)
    assert result.code == 0
    screen = result.out
    assert "Eviction" in screen and "LRU" in screen and "**LRU**" not in screen and "## Eviction" not in screen
    assert "␛[2J" in screen and "\x1b[2J" not in screen and "\x07" not in screen
    assert "Failed:" in screen


def test_show_an_unknown_or_ambiguous_id_is_a_usage_error(user, seed):
    seed.now = T0
    first = seed(Turn("Design a feed"))
    seed.now = T0
    seed(Turn("Design a search engine"))
    missing = user.call("show", "7ZZZZZZZZ")
    assert missing.code == 2
    assert missing.stderr == (
        "sdx: error: no conversation has an id starting with '7ZZZZZZZZ' — see `sdx history` for the ids\n"
    )
    ambiguous = user.call("show", first.id[:10])
    assert ambiguous.code == 2 and "is ambiguous" in ambiguous.stderr and "Design a search engine" in ambiguous.stderr
    assert ambiguous.stderr.count("\n") == 1 and ambiguous.out == ""


def test_export_writes_one_markdown_file_and_never_overwrites_without_force(user, seed):
    talk = a_conversation(seed)
    expected = conversation_markdown(seed.load(talk.id))
    result = user.call("export", talk.id[:8], "-o", "notes.md")  # relative to the working directory
    assert (result.code, result.out) == (0, "")
    assert result.stderr == "sdx: wrote notes.md (3 turns)\n"
    assert (user.home / "notes.md").read_text(encoding="utf-8") == expected

    (user.home / "notes.md").write_text("my own notes")
    refused = user.call("export", talk.id, "-o", "notes.md")
    assert refused.code == 2
    assert refused.stderr == (
        "sdx: error: -o notes.md already exists — add --force to replace it, or choose another file name\n"
    )
    assert (user.home / "notes.md").read_text() == "my own notes"
    assert user.call("export", talk.id, "-o", "notes.md", "--force").code == 0
    assert (user.home / "notes.md").read_text(encoding="utf-8") == expected


def test_export_to_stdout(user, seed):
    talk = a_conversation(seed)
    expected = conversation_markdown(seed.load(talk.id)).encode("utf-8")
    assert user.call("export", talk.id).stdout == expected
    assert user.call("export", talk.id, "-o", "-", tty=True).stdout == expected


def test_export_to_a_terminal_shows_escape_sequences_instead_of_obeying_them(user, seed):
    talk = seed(Turn("Design a cache", answer="Use Redis.\x1b[2J\x1b]52;c;cm0gLXJm\x07 Done."))
    piped = user.call("export", talk.id).stdout
    assert b"\x1b[2J" in piped and b"\x1b]52" in piped  # a pipe or a file gets what the model sent
    shown = user.call("export", talk.id, tty=True).stdout.decode("utf-8")
    assert "\x1b" not in shown and "\x07" not in shown
    assert "Use Redis.␛[2J␛]52;c;cm0gLXJm" in shown and " Done." in shown


def test_export_into_a_missing_directory_is_a_usage_error(user, seed):
    talk = seed(Turn("q"))
    result = user.call("export", talk.id, "-o", "nowhere/notes.md")
    assert result.code == 2
    assert result.stderr == (
        f"sdx: error: cannot write -o nowhere/notes.md: the directory {user.home / 'nowhere'} does not exist"
        " — create it first, or pick another path\n"
    )


def test_rm_without_a_terminal_needs_yes(user, seed):
    talk = seed(Turn("Design a feed"))
    refused = user.call("history", "rm", talk.id[:8])
    assert refused.code == 2
    assert refused.stderr == (
        "sdx: error: not deleting without confirmation (stdin is not a terminal)"
        f" — add --yes: sdx history rm {talk.id} --yes\n"
    )
    assert seed.ids() == [talk.id]
    done = user.call("history", "rm", talk.id[:8], "--yes")
    assert (done.code, done.out, done.stderr) == (0, "", f"sdx: deleted {talk.id} (Design a feed)\n")
    assert seed.ids() == []
    again = user.call("history", "rm", talk.id, "--yes")
    assert again.code == 2 and "no conversation has an id starting with" in again.stderr


def rm_on_a_terminal(user: Sdx, conversation_id: str, answer: bytes) -> tuple[int, str]:
    """`sdx history rm ID` with a terminal on stdin that answers the question with `answer`."""
    stderr = io.StringIO()
    env = Environment(
        stdin=io.BytesIO(answer),
        stdout=io.StringIO(),
        stderr=stderr,
        stdin_isatty=True,
        stdout_isatty=True,
        stderr_isatty=True,
        environ=user.env,
        cwd=user.home,
    )
    return run(["history", "rm", conversation_id], env), stderr.getvalue()


def test_rm_on_a_terminal_asks_first(user, seed):
    talk = seed(Turn("Design a feed"), Turn("More"))
    code, stderr = rm_on_a_terminal(user, talk.id, b"n\n")
    assert code == 0 and seed.ids() == [talk.id]
    assert stderr == f'Delete "Design a feed" ({talk.id}, 2 turns)? [y/N] sdx: nothing deleted\n'
    code, stderr = rm_on_a_terminal(user, talk.id, b"")  # end of input: no
    assert code == 0 and seed.ids() == [talk.id] and stderr.endswith("sdx: nothing deleted\n")
    code, stderr = rm_on_a_terminal(user, talk.id, b"y\n")
    assert code == 0 and seed.ids() == [] and stderr.endswith(f"sdx: deleted {talk.id} (Design a feed)\n")


def test_history_path_prints_the_database_location(user, tmp_path):
    assert user.call("history", "path").out == f"{user.home / 'history.db'}\n"
    xdg = user.call("history", "path", env={"SDX_HOME": None, "XDG_DATA_HOME": str(tmp_path / "data")})
    assert xdg.out == f"{tmp_path / 'data' / 'sdx' / 'history.db'}\n"
    plain = user.call("history", "path", env={"SDX_HOME": None})
    assert plain.out == f"{user.home / '.local' / 'share' / 'sdx' / 'history.db'}\n"
    assert not (user.home / "history.db").exists()  # printing the path creates nothing


def test_a_history_path_that_is_a_directory_says_so(user):
    path = user.home / "history.db"
    path.mkdir()
    result = user.call("history")
    assert result.code == 3 and result.out == ""
    assert result.stderr == (
        f"sdx: error: the history database {path} is a directory"
        f" — move it aside (mv {path} {path}.old), or set SDX_HOME to another directory\n"
    )


def test_a_relative_sdx_home_is_made_absolute_against_the_working_directory(user, fake):
    user.write_config(f'[providers.openrouter]\nbase_url = "{fake.root}/api/v1"\n')
    (user.home / "rel" / "dir").mkdir(parents=True)
    (user.home / "rel" / "dir" / "config.toml").write_text(user.config_file.read_text())
    env = {"SDX_HOME": "rel/dir", "OPENROUTER_API_KEY": "sk-or-test-0123456789"}
    assert user.call("history", "path", env=env).out == f"{user.home / 'rel' / 'dir' / 'history.db'}\n"
    assert user.call("ask", "Design a cache", env=env).code == 0  # the config file was found there, too
    assert (user.home / "rel" / "dir" / "history.db").is_file()


def test_a_corrupt_database_is_exit_3_with_what_to_do(user):
    path = user.home / "history.db"
    path.write_bytes(b"garbage " * 1000)
    for args in (["history"], ["show", "01ABCDEFGH"], ["history", "rm", "01ABCDEFGH", "--yes"]):
        result = user.call(*args)
        assert result.code == 3 and result.out == ""
        assert result.stderr.startswith(f"sdx: error: the history database {path} is damaged")
        assert result.stderr.endswith(f"— move it aside (mv {path} {path}.broken) and sdx starts a new one\n")


def test_a_database_from_a_newer_sdx_can_be_listed_but_not_changed(user, seed):
    talk = seed(Turn("Design a feed"))
    newer = sqlite3.connect(seed.path)
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    assert user.call("history").code == 0
    assert user.call("show", talk.id).code == 0
    refused = user.call("history", "rm", talk.id, "--yes")
    assert refused.code == 3 and "written by a newer sdx" in refused.stderr
    assert seed.ids() == [talk.id]


def test_eight_concurrent_ask_processes_are_all_stored(sdx):
    """Real processes finishing together: WAL, the busy timeout and short transactions keep every answer."""
    processes = [sdx.popen("ask", f"Design system number {number}") for number in range(8)]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    data = json.loads(sdx.call("history", "--json", "--limit", "50").out)
    assert sorted(item["title"] for item in data) == sorted(f"Design system number {number}" for number in range(8))
    assert all(item["turns"] == 1 for item in data)


@pytest.mark.parametrize("command", ["show", "export"])
def test_a_reader_that_goes_away_ends_show_and_export_quietly(user, seed, command):
    talk = seed(Turn("Design a log store", answer="A line of the answer.\n" * 20_000))
    process = user.popen(command, talk.id)
    assert process.stdout.readline() == b"# Design a log store\n"
    process.stdout.close()  # `sdx show ID | head -1`
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""
