"""Typed errors for covidseg.

Every error a user can cause (a bad file, a bad argument) derives from
:class:`CovidsegError` and carries the offending path and a one-line reason, so the CLI
can print ``covidseg: error: <path>: <reason>`` and exit with status 2 without a traceback.
"""

from __future__ import annotations

from os import PathLike


class CovidsegError(Exception):
    """Base class of every error caused by user input or user configuration."""

    def __init__(self, reason: str, path: str | PathLike | None = None):
        self.reason = reason
        self.path = None if path is None else str(path)
        # One line whatever a crafted file name or a library message contains.
        text = f"{self.path}: {reason}" if self.path else reason
        super().__init__(one_line(text))


def one_line(text: str) -> str:
    """``text`` with control characters (newline, carriage return, escape ...) written as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class InputError(CovidsegError):
    """The input image/volume cannot be used."""


class FileMissingError(InputError):
    """The path does not exist."""


class UnreadableFileError(InputError):
    """The file exists but cannot be decoded (corrupt, truncated, wrong content)."""


class UnsupportedFormatError(InputError):
    """The file or folder is of a kind covidseg does not read."""


class EmptyFolderError(InputError):
    """A folder holds no readable image or DICOM file."""


class NotCTError(InputError):
    """A DICOM object that is not a CT image (e.g. a report, MR, or SEG)."""


class DimensionError(InputError):
    """The data has an unsupported number of dimensions (e.g. 4-D) or an empty axis."""


class NonFiniteError(InputError):
    """The data contains NaN or infinite values."""


class ModelError(CovidsegError):
    """A model folder is missing, incomplete, or inconsistent."""


class ChecksumError(ModelError):
    """A weight file does not match its recorded sha256: refused, never loaded."""


class ConfigError(CovidsegError):
    """A configuration value (CLI flag, config file entry) is invalid."""


class CheckpointError(CovidsegError):
    """No readable training checkpoint in a run folder (damaged or missing files)."""
