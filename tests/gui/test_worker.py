"""The background Job: exactly one outcome signal, readable errors, cooperative cancel."""

from __future__ import annotations

import threading

import pytest

from covidseg.errors import UnreadableFileError
from covidseg.gui.worker import Job, describe_error, start


class Recorder:
    """Collects a job's signals in the GUI thread (the receiver of queued connections)."""

    def __init__(self, job: Job):
        from PySide6.QtCore import QObject

        self.events: list[tuple] = []
        self.threads: set[int] = set()
        self._anchor = QObject()  # lives in the GUI thread
        job.progress.connect(lambda d, t: self.events.append(("progress", d, t)))
        job.finished.connect(lambda r: self.events.append(("finished", r)))
        job.failed.connect(lambda m: self.events.append(("failed", m)))
        job.cancelled.connect(lambda: self.events.append(("cancelled",)))

    def outcomes(self):
        return [e for e in self.events if e[0] != "progress"]


def _run(qtbot, job: Job):
    rec = Recorder(job)
    with qtbot.waitSignal(job.done, timeout=10000):
        start(job)
    qtbot.wait(20)  # deliver the queued signals emitted just before `done`
    return rec


def test_result_and_progress_arrive(qtbot):
    worker_threads = []

    def fn(progress):
        worker_threads.append(threading.get_ident())
        for k in range(1, 4):
            progress(k, 3)
        return 42

    rec = _run(qtbot, Job("t", fn))
    assert rec.outcomes() == [("finished", 42)]
    assert [e for e in rec.events if e[0] == "progress"][-1] == ("progress", 3, 3)
    assert worker_threads and worker_threads[0] != threading.get_ident()  # ran off the GUI thread


@pytest.mark.parametrize("exc,text", [
    (UnreadableFileError("not a NIfTI file", "/x/scan.nii.gz"), "/x/scan.nii.gz: not a NIfTI file"),
    (OSError("disk full"), "disk full"),
    (MemoryError(), "not enough memory for this input"),
    (KeyError("boom"), "internal error (KeyError): 'boom'"),
])
def test_errors_become_one_line_messages(qtbot, exc, text):
    def fn(progress):
        raise exc

    rec = _run(qtbot, Job("t", fn))
    assert rec.outcomes() == [("failed", text)]
    assert describe_error(exc) == text


def test_cancel_stops_at_next_progress_point(qtbot):
    reached = []
    job = Job("t", None)

    def fn(progress):
        for k in range(100):
            if k == 5:
                job.cancel()  # as if the user pressed Cancel now
            progress(k, 100)
            reached.append(k)
        return "never"

    job._fn = fn
    rec = _run(qtbot, job)
    assert rec.outcomes() == [("cancelled",)]
    assert max(reached) == 4


def test_cancel_after_last_progress_drops_the_result(qtbot):
    job = Job("t", None)

    def fn(progress):
        job.cancel()
        return "stale"

    job._fn = fn
    assert _run(qtbot, job).outcomes() == [("cancelled",)]


def test_segmenter_lets_the_cancel_exception_through(tiny_model, inputs):
    """The Segmenter must not swallow an exception raised by the progress callback."""
    from covidseg.inference import Segmenter

    class Stop(Exception):
        pass

    def progress(done, total):
        if done:
            raise Stop()

    with pytest.raises(Stop):
        Segmenter(tiny_model, batch_size=2).predict(inputs["nifti"], progress=progress)
