"""`sdx batch` matches answers to questions by their text, holds a lock on its directory, and names the question in
what it says while answering."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.test_batch import answer_files, guide, server, write_questions  # noqa: F401  (the fixture)

QUESTIONS = ["Design a URL shortener", "Design a rate limiter"]


def test_a_question_inserted_at_the_top_is_the_only_one_asked_and_the_others_are_renamed(sdx, server):  # noqa: F811
    name = write_questions(sdx, "\n".join(QUESTIONS) + "\n")
    assert sdx.call("batch", name, "--out", "guide").code == 0
    before = {path: (guide(sdx) / path).read_text() for path in answer_files(sdx)}
    server.requests.clear()
    write_questions(sdx, "\n".join(["Design a chat system", *QUESTIONS]) + "\n")
    result = sdx.call("batch", name, "--out", "guide")
    assert result.code == 0, result.stderr
    assert server.asked() == ["Design a chat system"]  # no money spent twice
    assert len(server.chat_requests()) == 1
    assert answer_files(sdx) == [
        "01-design-a-chat-system.md",
        "02-design-a-url-shortener.md",
        "03-design-a-rate-limiter.md",
    ]  # no stale file left under an old number
    assert (guide(sdx) / "02-design-a-url-shortener.md").read_text() == before["01-design-a-url-shortener.md"]
    assert (guide(sdx) / "03-design-a-rate-limiter.md").read_text() == before["02-design-a-rate-limiter.md"]
    assert "2 earlier answers moved in the list and renamed to match" in result.stderr
    index = (guide(sdx) / "index.md").read_text()
    assert "| 2 | [Design a URL shortener](02-design-a-url-shortener.md) | done |" in index

    server.requests.clear()
    write_questions(sdx, "Design a rate limiter\n")  # a question removed: its answer is kept, and said
    again = sdx.call("batch", name, "--out", "guide")
    assert again.code == 0 and server.chat_requests() == []
    assert "answer questions no longer in the list (kept as they are): 01-design-a-chat-system.md" in again.stderr
    assert "01-design-a-rate-limiter.md" in answer_files(sdx)


def test_a_second_batch_into_the_same_directory_is_refused_while_one_runs(sdx, server):  # noqa: F811
    name = write_questions(sdx, QUESTIONS[0])
    server.scenario.delay_first = 3.0
    first = sdx.popen("batch", name, "--out", "guide")
    lock = guide(sdx) / ".sdx-batch.lock"
    deadline = time.monotonic() + 60
    while not server.chat_requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = sdx.call("batch", name, "--out", "guide")
    assert second.code == 2
    assert second.stderr.splitlines()[-1] == (
        f"sdx: error: another sdx batch (process {first.pid}) is writing into {guide(sdx)}"
        " — wait for it to finish, or give another --out"
    )
    assert first.wait(60) == 0, first.stderr.read() if first.stderr else ""
    assert len(server.chat_requests()) == 1 and not lock.exists()


def test_a_lock_left_by_a_batch_that_died_does_not_block(sdx, server):  # noqa: F811
    name = write_questions(sdx, QUESTIONS[0])
    guide(sdx).mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (guide(sdx) / ".sdx-batch.lock").write_text(dead.stdout.strip())  # a pid no process has now, and no flock
    result = sdx.call("batch", name, "--out", "guide")
    assert result.code == 0, result.stderr
    assert answer_files(sdx) == ["01-design-a-url-shortener.md"]


def test_a_warning_during_a_batch_names_its_question(sdx, server):  # noqa: F811
    name = write_questions(sdx, QUESTIONS[0])
    server.scenario.finish_reason = "length"
    for tty in (False, True):
        result = sdx.call("batch", name, "--out", f"guide-{tty}", tty=tty)
        warnings = [line for line in result.stderr.splitlines() if "warning" in line]
        assert warnings, result.stderr
        assert all("01-design-a-url-shortener.md: warning: " in line for line in warnings), result.stderr
        if not tty:
            assert all(line.startswith("sdx: 01-design-a-url-shortener.md: warning: ") for line in warnings)


def test_an_index_that_sdx_did_not_write_is_not_replaced_without_force(sdx, server):  # noqa: F811
    name = write_questions(sdx, QUESTIONS[0])
    guide(sdx).mkdir()
    (guide(sdx) / "index.md").write_text("# My own index\n")
    refused = sdx.call("batch", name, "--out", "guide")
    assert refused.code == 2 and server.chat_requests() == []
    assert "index.md exists and was not written by sdx batch — add --force to replace it" in refused.stderr
    assert (guide(sdx) / "index.md").read_text() == "# My own index\n"
    assert sdx.call("batch", name, "--out", "guide", "--force").code == 0
    assert (guide(sdx) / "index.md").read_text().startswith("# Study guide\n")
    assert not os.path.exists(guide(sdx) / ".sdx-batch.lock")
