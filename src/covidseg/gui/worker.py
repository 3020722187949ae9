"""Background jobs: reading and segmenting run in a QThread, the window never waits.

A :class:`Job` wraps a plain function ``fn(progress) -> result``. It lives in its own
QThread and reports through queued signals; the GUI thread only connects slots. Cancel
is cooperative: :meth:`Job.cancel` sets a flag and the next ``progress`` call raises
:class:`Cancelled` inside the worker (the Segmenter calls it after every slice batch,
and lets the exception through), so no thread is ever killed mid-write.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from covidseg.errors import CovidsegError

log = logging.getLogger("covidseg.gui")

ProgressFn = Callable[[int, int], None]


class Cancelled(Exception):
    """Raised inside a job's thread when the user cancelled it."""


def describe_error(exc: BaseException) -> str:
    """One readable line for the window (the traceback goes to the log, not to the user)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, CovidsegError):
        return text
    if isinstance(exc, MemoryError):
        return "not enough memory for this input"
    if isinstance(exc, (OSError, ValueError)):
        return text or type(exc).__name__
    return f"internal error ({type(exc).__name__}): {text}"


class Job(QObject):
    """One unit of background work. Exactly one of finished/failed/cancelled is emitted."""

    progress = Signal(int, int)  # done, total
    finished = Signal(object)  # the function's result
    failed = Signal(str)  # a one-line message for the user
    cancelled = Signal()
    done = Signal()  # after any of the three above (thread bookkeeping)

    def __init__(self, name: str, fn: Callable[[ProgressFn], Any]):
        super().__init__()
        self.name = name
        self._fn = fn
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next progress point (thread-safe)."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, done: int, total: int) -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self.progress.emit(int(done), int(total))

    @Slot()
    def run(self) -> None:
        try:
            self._progress(0, 0)  # a job cancelled before it started does nothing
            result = self._fn(self._progress)
            if self._cancel.is_set():  # cancelled after the last progress point: drop the result
                raise Cancelled()
        except Cancelled:
            self.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - anything must reach the window, never kill it
            if not isinstance(exc, CovidsegError):
                log.error("job %s failed:\n%s", self.name, traceback.format_exc())
            self.failed.emit(describe_error(exc))
        else:
            self.finished.emit(result)
        finally:
            # Hand the object back to the GUI thread: Python owns it and frees it there when the
            # last reference goes. A C++ deleteLater in the worker raced with that and crashed.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())
            self.done.emit()


def start(job: Job, parent: QObject | None = None) -> QThread:
    """Run ``job`` in a new QThread; both are deleted once it is done. Returns the thread."""
    # A Qt parent owns the thread, so dropping the Python reference cannot destroy it while
    # it runs (that aborts the process); deleteLater frees it once it has finished.
    thread = QThread(parent if parent is not None else QCoreApplication.instance())
    thread.setObjectName(f"covidseg-{job.name}")
    job.moveToThread(thread)
    thread.started.connect(job.run)
    job.done.connect(thread.quit)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread
