"""Atomic replacement of single files: temp sibling, fsync, rename, fsync of the folder.

The same recipe as :mod:`holocorr.io` (see ``holocorr/io/_store.py``), for
the small files other modules write (figures, JSON, HTML, FFTW wisdom):

1. the new content goes to a hidden temporary file in the target's folder,
   ``.<name>.tmp-<random><suffix>`` (same filesystem, so the rename is
   atomic; the target's suffix is kept so that writers that pick a format
   from the extension, like ``Figure.savefig``, still do);
2. the temporary file is flushed to disk (``fsync``);
3. it is renamed onto the target (``os.replace``: readers see the complete
   old file or the complete new one, never a mix or a truncated file);
4. the folder is flushed, so that the rename itself survives a power cut.

If anything fails (or the process is interrupted by an exception such as
KeyboardInterrupt), the temporary file is removed and the target is left as
it was. Only a SIGKILL or a power cut between steps 1 and 3 can leave a
temporary file behind; it is never the target.

The temporary file is created with mode 0o666 minus the umask (what
``open(path, "w")`` would give), not the 0o600 of ``tempfile.mkstemp``.

This module uses the standard library only, so that any holocorr module
(also :mod:`holocorr._fft`) can import it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["fsync_file", "fsync_dir", "temp_sibling", "replace_file", "write_bytes", "write_text"]


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a regular file's data and metadata to disk.

    Parameters
    ----------
    path : str or path-like

    Raises
    ------
    OSError
        When the file cannot be opened or the disk refuses the flush (the
        data may not be on disk: the caller must not publish it).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a folder (its entries: created, renamed, removed files) to disk.

    Best effort: platforms or filesystems that cannot open or fsync a folder
    (Windows, some network filesystems) are silently skipped.

    Parameters
    ----------
    path : str or path-like
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def temp_sibling(target: str | os.PathLike, *, keep_suffix: bool = True) -> Path:
    """Create and return an empty hidden temporary file next to `target`.

    Parameters
    ----------
    target : str or path-like
    keep_suffix : bool
        End the name with the target's suffix (``.png``, ``.json``).

    Returns
    -------
    pathlib.Path
        ``.<name>.tmp-<12 hex><suffix>``, created exclusively (never an
        existing file) with mode 0o666 minus the umask.
    """
    target = Path(target)
    suffix = target.suffix if keep_suffix else ""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file next to '{target}'")  # pragma: no cover


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def replace_file(target: str | os.PathLike, write: Callable[[Path], object], *, fsync: bool = True) -> Path:
    """Atomically replace (or create) `target` with what ``write(tmp)`` puts in `tmp`.

    Parameters
    ----------
    target : str or path-like
        The file to write; its folder must exist. An existing file is
        replaced only when the new one is complete and on disk.
    write : callable
        ``write(tmp)`` writes the complete new content to the path `tmp`
        (an empty file that already exists, with the target's suffix).
    fsync : bool
        Flush the new file and the folder to disk (default). False keeps
        atomicity (no truncated target after a crash of the process) but
        not durability after a power cut; for caches.

    Returns
    -------
    pathlib.Path
        `target`.

    Raises
    ------
    Exception
        Whatever `write`, the flush or the rename raised; the target is
        then unchanged and the temporary file removed.
    """
    target = Path(target)
    tmp = temp_sibling(target)
    try:
        write(tmp)
        if fsync:
            fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        _remove_quietly(tmp)
        raise
    if fsync:
        fsync_dir(target.parent)
    return target


def _write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to the file descriptor `fd` (os.write may write less)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_bytes(target: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Atomically replace (or create) the file `target` with `data`.

    Parameters
    ----------
    target : str or path-like
    data : bytes
    fsync : bool
        See :func:`replace_file`.

    Returns
    -------
    pathlib.Path
        `target`.

    Raises
    ------
    OSError
        When writing, flushing or renaming fails (disk full, read-only
        folder); the target is unchanged and no temporary file remains.
    """
    data = bytes(data)

    def write(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)

    return replace_file(target, write, fsync=fsync)


def write_text(target: str | os.PathLike, text: str, *, encoding: str = "utf-8", fsync: bool = True) -> Path:
    """Atomically replace (or create) the file `target` with `text`.

    Parameters
    ----------
    target : str or path-like
    text : str
    encoding : str
        Default UTF-8 (never the locale's encoding).
    fsync : bool
        See :func:`replace_file`.

    Returns
    -------
    pathlib.Path
        `target`.

    Raises
    ------
    OSError
        As :func:`write_bytes`.
    UnicodeEncodeError
        When `text` cannot be encoded; nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_text(Path(d) / "a.json", '{"a": 1}')
    ...     p.read_text(), sorted(q.name for q in Path(d).iterdir())
    ('{"a": 1}', ['a.json'])
    """
    return write_bytes(target, text.encode(encoding), fsync=fsync)
