"""Atomic file writes: a temporary file in the destination folder, renamed into place.

Every file covidseg writes (masks, reports, tables) goes through :func:`atomic_write`, so a
crash, a full disk or Ctrl-C never leaves a half-written output under the final name: the
destination either keeps its previous content or gets the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_write", "full_suffix", "current_umask", "fsync_dir"]


def full_suffix(path: str | os.PathLike) -> str:
    """The file's known compound extension, lower-case: ``scan.nii.gz`` → ``.nii.gz``.

    Only a trailing ``.gz`` is joined with the extension before it; ``a.b.png`` → ``.png``.
    """
    name = Path(path).name.lower()
    suffixes = Path(name).suffixes
    if not suffixes:
        return ""
    if suffixes[-1] == ".gz" and len(suffixes) >= 2:
        return "".join(suffixes[-2:])
    return suffixes[-1]


def current_umask() -> int:
    """The process umask, read without changing it where possible."""
    try:  # Linux: read it without changing it (os.umask is process-wide and racy)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    The temporary file is created (empty) in the same folder, named
    ``.<name>.<random>.tmp<suffix>`` so that libraries which pick the format from the
    extension (nibabel, Pillow, SimpleITK) see the same extension as ``path``. Write the
    whole file to the yielded path inside the ``with`` block. On normal exit the file is
    flushed to disk (``fsync``), given the permissions a newly created file would get
    (``0o666 & ~umask``, or the mode of the file it replaces) and renamed over ``path``
    with :func:`os.replace` (atomic on POSIX and Windows within one file system). If the
    block raises, the temporary file is deleted and the exception propagates; ``path`` is
    untouched. Missing parent folders are created. Only for single-file formats: a writer
    that adds a companion file (``.mhd`` + ``.raw``, ``.nhdr``) would leave it behind.

    >>> with atomic_write("out/mask.nii.gz") as tmp:
    ...     nibabel.save(img, tmp)
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=folder, prefix=f".{path.name}.", suffix=".tmp" + full_suffix(path)
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: the temporary file was removed before the rename")
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~current_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:  # make the rename itself durable
        fsync_dir(folder)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (new names, renames) to disk; a no-op where folders cannot
    be opened (Windows) or the file system refuses."""
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
