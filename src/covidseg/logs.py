"""Where messages go when covidseg runs from the command line.

covidseg's promise is one line per problem on stderr. Third-party libraries also talk:
nibabel (a RuntimeWarning when scaling overflows, its own stderr handler for header
problems), pydicom (UserWarnings and log records for over-long values), Pillow, numpy,
torch, highdicom (``warnings`` / ``logging``) and SimpleITK (ITK's C++ warning output).
:func:`configure` routes all of it into :mod:`logging` (each ``warnings`` warning as one
record on logger ``py.warnings``, like :func:`logging.captureWarnings`) and shows on stderr only covidseg's own warnings, unless
``verbose`` is set, in which case every record from INFO up is shown, one line each.

The Python API leaves logging and warnings to the application: only the CLI calls this.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings

__all__ = ["configure", "itk_warnings_shown", "import_sitk", "stream_handler"]

_handler: logging.Handler | None = None
#: Whether ITK's C++ warnings may print (None: leave SimpleITK's default, as for API users).
_itk_warnings: bool | None = None


class _Stderr(logging.StreamHandler):
    """A handler on the *current* ``sys.stderr`` (which tests and the GUI may replace)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


class _OneLine(logging.Formatter):
    """``covidseg: <level>: <message>`` (covidseg's own, ``covidseg: <level> (<library>):
    <message>`` for others), every record on one line (a warning's source line is joined)."""

    def format(self, record: logging.LogRecord) -> str:
        text = " ".join(super().format(record).split())
        if record.name == "covidseg" or record.name.startswith("covidseg."):
            return text if text.startswith("covidseg") else f"covidseg: {record.levelname.lower()}: {text}"
        if record.name == "py.warnings":
            return f"covidseg: warning: {text}"
        if record.name.split(".")[0] in DICOM_LIBRARIES:
            text = redact(text)
        return f"covidseg: {record.levelname.lower()} ({record.name}): {text}"


class _OwnOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "covidseg" or record.name.startswith("covidseg.")


#: Libraries whose messages may quote DICOM header values (a PatientName, a birth date ...).
DICOM_LIBRARIES = ("pydicom", "highdicom")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def redact(text: str) -> str:
    """Quoted values in a DICOM library's message replaced by ``'…'``: pydicom quotes the
    offending value ("Invalid value for VR DA: '19010203x'"), which may be patient data and
    must not reach a terminal or log even with ``--verbose``."""
    return _QUOTED.sub("'…'", text)


def _short(filename: str) -> str:
    """``.../site-packages/nibabel/arrayproxy.py`` → ``nibabel/arrayproxy.py``."""
    parts = filename.replace("\\", "/").split("/")
    return "/".join(parts[-2:])


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` replacement: one log record on logger ``py.warnings``
    (what :func:`logging.captureWarnings` does, without the source line, on one line)."""
    if file is not None:  # an explicit destination asked for by the caller
        _original_showwarning(message, category, filename, lineno, file, line)
        return
    where = _short(str(filename))
    text = str(message)
    if where.split("/")[0] in DICOM_LIBRARIES:
        text = redact(text)
    logging.getLogger("py.warnings").warning("%s in %s:%s: %s", category.__name__, where, lineno, text)


_original_showwarning = warnings.showwarning


def configure(verbose: bool = False) -> None:
    """Route library warnings into logging; stderr shows covidseg's warnings (all records
    from INFO up with ``verbose``). Safe to call again (replaces the previous setup)."""
    global _handler, _itk_warnings
    warnings.showwarning = _log_warning
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = _Stderr()
    _handler.setFormatter(_OneLine())
    if not verbose:
        _handler.addFilter(_OwnOnly())
    root.addHandler(_handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # nibabel gives its 'nibabel.global' logger a stderr handler of its own at import: hand
    # its records to the root handler above instead.
    nib_logger = logging.getLogger("nibabel.global")
    for h in list(nib_logger.handlers):
        if type(h) is logging.StreamHandler:
            nib_logger.removeHandler(h)
    nib_logger.propagate = True
    _itk_warnings = verbose
    if "SimpleITK" in sys.modules:
        apply_itk_setting(sys.modules["SimpleITK"])


def itk_warnings_shown() -> bool | None:
    return _itk_warnings


def apply_itk_setting(sitk) -> None:
    """ITK prints its warnings from C++ to stderr, past Python: switch them off unless
    ``--verbose`` (called wherever covidseg imports SimpleITK)."""
    if _itk_warnings is not None:
        sitk.ProcessObject.SetGlobalWarningDisplay(bool(_itk_warnings))


def import_sitk():
    """``import SimpleITK`` with the CLI's ITK warning setting applied."""
    import SimpleITK as sitk

    apply_itk_setting(sitk)
    return sitk


def stream_handler(stream, level: int = logging.WARNING) -> logging.Handler:
    """Add a root handler writing every record from ``level`` up (libraries included) to an
    open text ``stream`` (e.g. a training run's ``train.log``), one line each; the caller
    removes it (``logging.getLogger().removeHandler``)."""
    handler = logging.StreamHandler(stream)
    handler.setLevel(level)
    handler.setFormatter(_OneLine())
    logging.getLogger().addHandler(handler)
    return handler
