"""The failures sdx knows how to explain, and the exit codes they end in.

Every known failure is raised as an `SdxError` carrying what happened and how to fix it; the CLI's single
boundary prints it as one line (`sdx: error: <what> — <fix>`) and exits with its `ExitStatus`.
"""

from __future__ import annotations

from enum import IntEnum

_SECRETS: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a key so that no line sdx prints can carry it, whatever a server echoed back."""
    if len(value) >= 8:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "[redacted]")
    return text


class ExitStatus(IntEnum):
    """Documented exit codes (the README lists them)."""

    OK = 0
    ERROR = 1  # unexpected: a bug, or a failure sdx has no sentence for yet
    USAGE = 2  # the command line or the input is wrong
    CONFIG = 3  # configuration: unknown model, missing key, broken config file
    PROVIDER = 4  # the provider refused: bad key, no credits, model not found, input too long, server error
    NETWORK = 5  # cannot connect, timeout, stream broke mid-answer
    INTERRUPTED = 130  # Ctrl-C

    def __str__(self) -> str:
        """The number, as Python 3.11+ prints an IntEnum; 3.10 would print `ExitStatus.OK`."""
        return str(self.value)


class SdxError(Exception):
    """A failure with a one-line explanation and a fix."""

    def __init__(self, what: str, fix: str = "", status: ExitStatus = ExitStatus.ERROR) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix
        self.status = status

    def sentence(self) -> str:
        """What happened and, when known, how to fix it: `<what> — <fix>`."""
        return redact(f"{self.what} — {self.fix}" if self.fix else self.what)

    def line(self) -> str:
        """The single line printed on stderr."""
        return f"sdx: error: {self.sentence()}"


class UsageError(SdxError):
    def __init__(self, what: str, fix: str = "") -> None:
        super().__init__(what, fix, ExitStatus.USAGE)


class ConfigError(SdxError):
    def __init__(self, what: str, fix: str = "") -> None:
        super().__init__(what, fix, ExitStatus.CONFIG)


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM or SIGHUP, so that a command ends as Ctrl-C would end it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
