"""`-o FILE` never destroys anything: a failed or interrupted request leaves what was there, a symlink stays a
symlink, a FIFO or a device is written in place and never removed, a bad path is refused before any request.

Device nodes are our own copies (`mknod` in a temp dir), never the machine's: these tests run as root, and the code
under test once deleted `-o /dev/null`.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from tests.fake_server import ANSWER, Failure

OLD = "# My notes\n\nWritten by hand, not by sdx.\n"
USAGE, PROVIDER, NETWORK, INTERRUPTED = 2, 4, 5, 130


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("sdx: error: ") and " — " in lines[0], lines[0]
    return lines[0]


def entries(folder: Path) -> list[str]:
    """The directory's names: no temporary file may be left behind."""
    return sorted(os.listdir(folder))


@pytest.fixture
def notes(sdx) -> Path:
    folder = sdx.home / "work"
    folder.mkdir()
    path = folder / "notes.md"
    path.write_text(OLD)
    path.chmod(0o640)
    return path


def device(folder: Path, name: str, minor: int) -> Path:
    """A character device like the machine's /dev/null (minor 3) or /dev/full (minor 7), in `folder`."""
    path = folder / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except OSError as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    return path


def refuse_connections(sdx) -> None:
    sdx.write_config('[providers.openrouter]\nbase_url = "http://127.0.0.1:9/api/v1"\n')


# A request that fails leaves the file as it was ----------------------------------------------------------------


@pytest.mark.parametrize("failure", ["401", "refused", "timeout"])
def test_failed_request_leaves_the_existing_file_untouched(sdx, fake, notes, failure):
    args = ["ask", "--force", "-o", str(notes), "Design a cache"]
    if failure == "401":
        fake.scenario.failures.append(Failure.json_error(401, "No auth credentials found"))
        expected = PROVIDER
    elif failure == "refused":
        refuse_connections(sdx)
        expected = NETWORK
    else:
        fake.scenario.delay_first = 5
        args[1:1] = ["--timeout", "0.5"]
        expected = NETWORK
    result = sdx.call(*args)
    assert result.code == expected, result.stderr
    one_error_line(result.stderr)
    assert notes.read_text() == OLD
    assert entries(notes.parent) == ["notes.md"]


def test_ctrl_c_while_waiting_leaves_the_existing_file_untouched(sdx, fake, notes):
    fake.scenario.delay_first = 5
    proc = sdx.popen("ask", "--force", "-o", str(notes), "Design a cache")
    deadline = time.monotonic() + 20
    while not fake.chat_requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == INTERRUPTED
    assert notes.read_text() == OLD
    assert entries(notes.parent) == ["notes.md"]


def test_answer_replaces_the_file_keeping_its_permissions(sdx, fake, notes):
    result = sdx.call("ask", "--force", "-o", str(notes), "Design a cache")
    assert result.code == 0, result.stderr
    assert notes.read_text() == ANSWER
    assert stat.S_IMODE(notes.stat().st_mode) == 0o640
    assert entries(notes.parent) == ["notes.md"]


def test_new_file_gets_the_usual_permissions(sdx, fake):
    umask = os.umask(0o022)
    try:
        result = sdx.call("ask", "-o", "answer.md", "Design a cache")  # relative to the working directory
    finally:
        os.umask(umask)
    assert result.code == 0, result.stderr
    assert (sdx.home / "answer.md").read_text() == ANSWER
    assert stat.S_IMODE((sdx.home / "answer.md").stat().st_mode) == 0o644


def test_answer_broken_mid_stream_is_kept_in_place_of_the_old_file(sdx, fake, notes):
    fake.scenario.break_after = 6
    result = sdx.call("ask", "--force", "-o", str(notes), "Design a cache")
    assert result.code == NETWORK, result.stderr
    assert notes.read_text() == ANSWER[:30]
    assert entries(notes.parent) == ["notes.md"]


def test_ctrl_c_mid_answer_keeps_what_arrived(sdx, fake, notes):
    fake.scenario.delay_between = 0.05
    proc = sdx.popen("ask", "--force", "-o", str(notes), "Design a cache")
    first = proc.stdout.read(5)
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()
    assert proc.wait(10) == INTERRUPTED
    assert 0 < len(first + rest) < len(ANSWER)
    assert notes.read_bytes() == first + rest
    assert entries(notes.parent) == ["notes.md"]


# Symlinks, FIFOs, devices ------------------------------------------------------------------------------------------


def test_symlink_is_followed_and_kept(sdx, fake, notes):
    link = notes.parent / "link.md"
    link.symlink_to("notes.md")
    fake.scenario.failures.append(Failure.json_error(401, "No auth credentials found"))
    assert sdx.call("ask", "--force", "-o", str(link), "Design a cache").code == PROVIDER
    assert link.is_symlink() and notes.read_text() == OLD
    assert sdx.call("ask", "--force", "-o", str(link), "Design a cache").code == 0
    assert link.is_symlink() and os.readlink(link) == "notes.md"
    assert notes.read_text() == ANSWER
    assert entries(notes.parent) == ["link.md", "notes.md"]


def test_dangling_symlink_gets_its_target_created(sdx, fake, notes):
    link = notes.parent / "link.md"
    link.symlink_to("later.md")
    assert sdx.call("ask", "-o", str(link), "Design a cache").code == 0
    assert link.is_symlink() and (notes.parent / "later.md").read_text() == ANSWER


def test_fifo_is_written_in_place_and_kept(sdx, fake, tmp_path):
    fifo = tmp_path / "answer.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = sdx.call("ask", "-o", str(fifo), "Design a cache")
    reader.join(10)
    assert result.code == 0, result.stderr
    assert received == [ANSWER.encode()]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_fifo_is_not_opened_when_no_text_arrives(sdx, fake, tmp_path):
    fifo = tmp_path / "answer.fifo"
    os.mkfifo(fifo)  # with no reader, opening it would block: the failure must come first
    fake.scenario.failures.append(Failure.json_error(401, "No auth credentials found"))
    assert sdx.call("ask", "-o", str(fifo), "Design a cache").code == PROVIDER
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize("fails", [True, False])
def test_device_is_written_in_place_and_never_removed(sdx, fake, tmp_path, fails):
    null = device(tmp_path, "null", 3)
    if fails:
        fake.scenario.failures.append(Failure.json_error(401, "No auth credentials found"))
    result = sdx.call("ask", "-o", str(null), "Design a cache")
    assert result.code == (PROVIDER if fails else 0), result.stderr
    assert stat.S_ISCHR(os.stat(null).st_mode) and os.stat(null).st_rdev == os.makedev(1, 3)
    assert entries(tmp_path) == ["home", "null"]


def test_full_device_is_a_one_line_error(sdx, fake, tmp_path):
    full = device(tmp_path, "full", 7)
    result = sdx.call("ask", "-o", str(full), "Design a cache")
    assert result.code == USAGE
    line = one_error_line(result.stderr)
    assert line == (
        f"sdx: error: cannot write the answer to -o {full}: no space left on device"
        " — free some space, or write the answer somewhere else"
    )
    assert stat.S_ISCHR(os.stat(full).st_mode)


# Paths refused before any request ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("missing/answer.md", "the directory {home}/missing does not exist"),
        ("a-file/answer.md", "{home}/a-file is not a directory"),
        ("folder", "-o folder is a directory"),
        ("", "-o': needs a file name (-o notes.md)"),
    ],
)
def test_bad_path_is_a_usage_error_before_any_request(sdx, fake, path, said):
    (sdx.home / "a-file").write_text("x")
    (sdx.home / "folder").mkdir()
    result = sdx.call("ask", "-o", path, "Design a cache")
    assert result.code == USAGE
    assert said.format(home=sdx.home) in one_error_line(result.stderr)
    assert fake.chat_requests() == []
    assert (sdx.home / "a-file").read_text() == "x" and (sdx.home / "folder").is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_directory_is_a_usage_error_before_any_request(sdx, fake):
    locked = sdx.home / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    result = sdx.call("ask", "-o", str(locked / "answer.md"), "Design a cache")
    assert result.code == USAGE
    assert "cannot create a file in" in one_error_line(result.stderr)
    assert fake.chat_requests() == []
