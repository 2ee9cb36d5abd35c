"""The one rule for the files a user names (`ask -o`, `export -o`, chat's `/save`, and those sdx writes into a
directory the user names, such as a batch's `index.md`):

- an existing file is never replaced silently: without `--force` the command refuses in one line that names
  `--force` (on a terminal, `/save` asks instead);
- a directory given as a file, a missing directory, a block device or a socket is its own one-line error, said
  before any request;
- a regular file is written beside itself first and moved into place whole, so a failure (a full disk, Ctrl-C)
  never leaves it truncated or half-written; a FIFO or a character device (`/dev/null`, `/dev/stdout`) is written
  in place, never truncated nor removed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import IO

from sdx.errors import UsageError

NEW, FILE, SPECIAL = "new", "file", "special"


def kind_of(full: Path, shown: str, *, example: str = "answer.md") -> str:
    """`NEW`, `FILE` (an existing regular file) or `SPECIAL` (FIFO, character device); a `UsageError` for what sdx
    must not or cannot write: a directory, a block device, a socket, a path in a missing directory. `shown` is
    how the user wrote it (`-o notes.md`, `notes.md`)."""
    try:
        status = os.stat(full)
    except (FileNotFoundError, NotADirectoryError):
        parent = Path(os.path.realpath(full)).parent
        if not parent.exists():
            raise UsageError(
                f"cannot write {shown}: the directory {parent} does not exist", "create it first, or pick another path"
            ) from None
        if not parent.is_dir():
            raise UsageError(f"cannot write {shown}: {parent} is not a directory", "pick another path") from None
        return NEW
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {(exc.strerror or str(exc)).lower()}", "pick another path") from None
    if stat.S_ISDIR(status.st_mode):
        inside = f"{shown.rstrip('/')}/{example}"
        raise UsageError(f"{shown} is a directory", f"give a file name, e.g. {inside}")
    if not os.access(full, os.W_OK):
        raise UsageError(f"cannot write {shown}: permission denied", "pick a file you can write to")
    if stat.S_ISREG(status.st_mode):
        return FILE
    if stat.S_ISFIFO(status.st_mode) or stat.S_ISCHR(status.st_mode):
        return SPECIAL
    raise UsageError(f"{shown} is not a file (a block device or a socket)", "give the path of a file")


def check_replaceable(
    full: Path, shown: str, *, force: bool, force_hint: str = "add --force", example: str = "answer.md"
) -> str:
    """`kind_of`, refusing an existing regular file unless `force`: the one rule for files the user names."""
    kind = kind_of(full, shown, example=example)
    if kind == FILE and not force:
        raise UsageError(f"{shown} already exists", f"{force_hint} to replace it, or choose another file name")
    return kind


def temporary_beside(target: Path, shown: str, *, existing: bool) -> tuple[IO[bytes], Path]:
    """A new hidden file in `target`'s directory with the permissions (and, as root, the owner) the file has
    or would get, to be moved over `target` once its content is there."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".sdx-partial", dir=target.parent)
    except OSError as exc:
        raise UsageError(
            f"cannot write {shown}: cannot create a file in {target.parent} ({exc.strerror})",
            "pick a path in a directory you can write to",
        ) from None
    with suppress(OSError):
        _copy_permissions(fd, target, existing)
    return os.fdopen(fd, "wb"), Path(name)


def _copy_permissions(fd: int, target: Path, existing: bool) -> None:
    if existing:
        status = os.stat(target)
        os.fchmod(fd, stat.S_IMODE(status.st_mode))
        if os.geteuid() == 0:
            os.fchown(fd, status.st_uid, status.st_gid)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)


def write_named_file(
    full: Path,
    text: str | bytes,
    shown: str,
    *,
    force: bool,
    force_hint: str = "add --force",
    example: str = "notes.md",
) -> None:
    """Write `text` (UTF-8) or bytes to the file the user named, by the rule above (checked first, then written
    whole)."""
    kind = check_replaceable(full, shown, force=force, force_hint=force_hint, example=example)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        if kind == SPECIAL:
            with open(full, "ab") as handle:  # a FIFO or a device: O_APPEND, no O_TRUNC
                handle.write(data)
            return
        target = Path(os.path.realpath(full))  # a symlink stays, and its target gets the text
        handle, temporary = temporary_beside(target, shown, existing=kind == FILE)
        try:
            with handle:
                handle.write(data)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {(exc.strerror or str(exc)).lower()}", "pick another path") from None
