"""Outputs: where srhw may write, and writing a directory or a file whole or not at all.

A command writes its directory into a fresh sibling and swaps it in, so a failure leaves the
previous output (or nothing) behind. `--force` replaces only a directory srhw wrote: one that holds
the marker file below. Whatever the flags, srhw refuses an empty path, a symbolic link, a path that
is or holds the working directory, the home directory or the filesystem root, and a directory
that holds one of the command's inputs (the model): replacing those would delete the user's files.
Output files (an upscaled image, a figure, a JSON record, an exported model) follow the same
rules: written beside their destination and renamed into place, never through a link, never
onto a directory or an input.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from srhw.errors import UsageError

MARKER = ".srhw-output"
MARKER_TEXT = json.dumps({"written_by": "srhw", "replaceable_with": "--force"}) + "\n"


def _holds(outer: Path, inner: Path) -> bool:
    return inner == outer or outer in inner.parents


def _named(out: str | Path, flag: str, what: str) -> Path:
    """`out` as a path: not empty, not a symbolic link (srhw replaces outputs as a whole)."""
    if str(out).strip() == "":
        raise UsageError(f"{flag}: the output path is empty; name a {what}")
    path = Path(out)
    if path.is_symlink():
        raise UsageError(f"{flag} '{path}' is a symbolic link (to '{os.readlink(path)}'); srhw replaces the {what} as "
                         f"a whole and will not write through a link: name the {what} itself")
    return path


def _creatable_under(full: Path, path: Path, flag: str) -> None:
    parent = next(p for p in full.parents if p.exists())  # the nearest existing ancestor
    if not parent.is_dir():
        raise UsageError(f"{flag} '{path}': '{parent}' is a file, so nothing can be created under it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} '{path}': '{parent}' is not writable")


def check_output_dir(out: str | Path, force: bool, inputs: tuple[str | Path, ...] = (), flag: str = "-o") -> Path:
    """The output directory `out` if srhw may write it (see the module's rules), else a UsageError
    that says why. Run before any work starts, and again just before the swap."""
    path = _named(out, flag, "directory")
    full = path.resolve()
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no password entry
        home = None
    for what, p in (("the current directory", Path.cwd()), ("your home directory", home),
                    ("the filesystem root", Path(full.anchor))):
        if p is not None and _holds(full, p.resolve()):
            raise UsageError(f"{flag} '{path}' is or holds {what}; srhw replaces its output directory as a whole: "
                             f"name a new or srhw-written directory")
    for i in inputs:
        if _holds(full, Path(i).resolve()):
            raise UsageError(f"{flag} '{path}' holds the input '{i}'; name another output directory")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} '{path}' is a file, not a directory; name a new directory")
    _creatable_under(full, path, flag)
    if path.is_dir() and any(path.iterdir()):
        if not (path / MARKER).is_file():
            raise UsageError(f"{flag} '{path}' is not empty and srhw did not write it (no {MARKER} in it); --force "
                             f"replaces only directories srhw wrote: name a new directory or empty this one yourself")
        if not force:
            raise UsageError(f"{flag} '{path}' holds an earlier srhw output; use --force to replace it")
    return full


def write_dir(out: str | Path, files: dict[str, str | bytes], force: bool,
              inputs: tuple[str | Path, ...] = ()) -> None:
    """Writes `files` (relative path -> content) and the marker into a fresh sibling directory of
    `out`, then swaps it in place of `out`: whole or not at all."""
    out_dir = check_output_dir(out, force, inputs)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as e:
        raise UsageError(f"cannot create the output directory '{out}': {e.strerror or e}") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        for name, content in (files | {MARKER: MARKER_TEXT}).items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        if out_dir.exists():
            check_output_dir(out, force, inputs)  # it may have changed while the work ran
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.replace(out_dir, old / "x")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UsageError(f"writing the output directory '{out}' failed: {e.strerror or e}; nothing was "
                         f"replaced") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_output_file(out: str | Path, flag: str = "-o", inputs: tuple[str | Path, ...] = ()) -> Path:
    """The output file `out` if srhw may write it: a non-empty path that is not a directory, not a
    symbolic link and not one of the command's inputs, under a directory that exists or can be
    created. Run before any work starts."""
    path = _named(out, flag, "file")
    if path.is_dir():
        raise UsageError(f"{flag} '{path}' is a directory; name a file")
    full = path.resolve()
    for i in inputs:
        if i is not None and Path(i).resolve() == full:
            raise UsageError(f"{flag} '{path}' is also an input of this command; name another output file")
    _creatable_under(full, path, flag)
    return full


@contextmanager
def replacing(out: str | Path, flag: str = "-o"):
    """Yields a temporary path beside `out` (same suffix) to write; on success it replaces `out`,
    on any failure it is removed: the file appears whole or not at all."""
    full = check_output_file(out, flag)
    try:
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{full.stem}.tmp-", suffix=full.suffix, dir=full.parent)
        os.close(fd)
    except OSError as e:
        raise UsageError(f"{flag}: cannot create '{out}': {e.strerror or e}") from None
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, full)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{flag}: writing '{out}' failed: {e.strerror or e}; nothing was written") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_file(out: str | Path, content: str | bytes, flag: str = "-o") -> Path:
    """Writes `content` to `out`, whole or not at all."""
    with replacing(out, flag) as tmp:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
    return Path(out)
