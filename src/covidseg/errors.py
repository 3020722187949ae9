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
        # One line whatever a library message or a crafted file name holds: line breaks in
        # the reason become spaces, other control characters (in the path too) escapes.
        reason = str(reason)
        self.reason = reason if reason.isprintable() else escape_control(" ".join(reason.split()))
        self.path = None if path is None else str(path)
        super().__init__(f"{escape_control(self.path)}: {self.reason}" if self.path else self.reason)


def escape_control(text: object) -> str:
    """``text`` with non-printable characters (newline, escape, U+202E ...) written as
    ``\\xNN`` / ``\\uNNNN``, so it prints on one line and shows what is really there."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")
                   for c in text)


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
