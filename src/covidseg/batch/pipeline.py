"""The case loop of ``covidseg predict``, with overlapped I/O.

Each case goes through three steps: **read** (input identity, the ``--resume`` check, reading
the image), **run** (the networks, post-processing, measurements: :class:`Segmenter`) and
**write** (the staging folder, masks, pictures, report.json, installing the case folder,
``summary.csv``). With ``overlap`` (the default of ``covidseg predict``) the three run at the
same time on neighbouring cases: the next case is read in a background thread while the
network runs on this one, and finished cases are written by one background writer thread.
Back-pressure keeps memory bounded: one case is read ahead, and the writer takes cases from
a queue of one, so at most two cases wait behind the network (one being written, one
queued; the network blocks until the writer catches up). Without ``overlap`` the same steps
run one after another in the main thread.

The failure contract does not depend on ``overlap``. Everything a case says (its error
line, ``skipped``, warnings) and everything it changes (failed rows, counts, the case
folder, ``summary.csv``) goes through the writer in case order, so a read error of case k+1
is reported for case k+1, after case k. A case's files are written into a staging folder
and renamed into place only when complete. On Ctrl-C or SIGTERM (both raised in the main
thread) :meth:`CaseWriter.abort` stops the writer: no further case is installed, and the
staging folder it was writing is removed before the process exits.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from covidseg.batch import outputs
from covidseg.errors import ConfigError, CovidsegError, InputError, escape_control

__all__ = ["BatchJob", "CaseWriter", "run_cases", "reason", "series_of"]

#: How long :meth:`CaseWriter.abort` waits for the writer to leave an install in progress.
ABORT_WAIT_S = 30.0


def reason(exc: BaseException, source) -> str:
    """The problem in one line, naming the exact file inside a series/folder when it differs."""
    if isinstance(exc, CovidsegError):
        why = exc.reason
        if exc.path and os.path.abspath(exc.path) != os.path.abspath(str(source)):
            why = f"{exc.path}: {why}"
    elif isinstance(exc, MemoryError):
        why = "out of memory; try a smaller --batch-size, a smaller input or more memory"
    else:  # a bug, but the other cases still run
        why = f"internal error ({type(exc).__name__}): {exc}"
    return escape_control(" ".join(str(why).split()) or type(exc).__name__)


def series_of(case, series):
    """The series a case is read with: ``--series`` for a DICOM folder, else its own."""
    return series if series is not None and case.kind == "dicom-series" else case.series


@dataclass
class BatchJob:
    """What every case of one ``covidseg predict`` run shares."""

    out: Path
    lock: outputs.OutputLock
    segmenter: Any
    models: list
    settings: dict
    key_of: dict  # case name -> input key, for every case of the run (all parts)
    series: str | None = None
    resume: bool = False
    overwrite: bool = False
    dicom_seg: bool = False
    pictures: bool = True
    include_phi: bool = False


@dataclass
class _Ready:
    """A case after its read step: skipped (``image`` None) or read."""

    final: Path
    identity: dict
    run: dict
    image: Any = None
    read_s: float = 0.0
    redo: str | None = None  # why an existing case folder is redone


def _read(job: BatchJob, name: str, case) -> _Ready:
    from covidseg.batch.case import run_record
    from covidseg.io import read_case, read_image

    final = outputs.case_path(job.out, name)
    try:
        identity = outputs.input_identity(case.path, series_of(case, job.series))
    except OSError as exc:  # vanished or unreadable since discovery
        raise InputError(f"cannot read ({exc.strerror or exc})", case.path) from None
    ready = _Ready(final, identity, run_record(identity, job.models, job.settings))
    if job.resume and final.exists():
        ready.redo = outputs.validate_case(final, ready.run)
        if ready.redo is None:
            return ready  # finished and valid: skipped, nothing to read
    t0 = time.perf_counter()
    use_series = job.series is not None and case.kind == "dicom-series"
    ready.image = read_image(case.path, series=job.series) if use_series else read_case(case)
    ready.read_s = time.perf_counter() - t0
    return ready


class _Task:
    """``fn(*args)`` now (``background`` False) or in a daemon thread; :meth:`result` returns
    or raises what it did. A daemon thread never delays the exit of an interrupted run."""

    def __init__(self, fn: Callable, *args, background: bool):
        self._done = threading.Event()
        self._value = self._error = None
        if background:
            threading.Thread(target=self._run, args=(fn, args), daemon=True, name="covidseg-read").start()
        else:
            self._run(fn, args)

    def _run(self, fn, args) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._error = exc
        finally:
            self._done.set()

    def result(self):
        self._done.wait()
        if self._error is not None:
            error, self._error = self._error, None  # no reference cycle through the traceback
            raise error
        value, self._value = self._value, None
        return value


class _Cancelled(BaseException):
    """The run is being interrupted: the writer stops without reporting anything."""


class CaseWriter:
    """The write step, in case order: in the caller's thread (``background`` False) or in one
    daemon thread fed through a bounded queue (``behind`` cases waiting)."""

    def __init__(self, job: BatchJob, progress, *, background: bool, behind: int = 1):
        if behind < 1:
            raise ValueError(f"behind must be at least 1, got {behind}")
        self.job, self.progress = job, progress
        self.failures: dict[str, dict] = {}
        self.ok = self.skipped = self.cases = 0
        self.summary_error: list[str] = []
        self._cancelled = threading.Event()
        self._guard = threading.Lock()  # held while a staging folder is registered or installed
        self._staging: Path | None = None
        self._fatal: BaseException | None = None
        self._thread = None
        if background:
            self._queue: queue.Queue = queue.Queue(maxsize=behind)
            self._thread = threading.Thread(target=self._loop, daemon=True, name="covidseg-write")
            self._thread.start()

    # ------------------------------------------------------------------ main thread
    # One queue item per case; ``notes`` are its lines (warnings ...) printed before its result.
    def failed(self, name: str, source, why: str, kind: str = "", notes: tuple = ()) -> None:
        self._submit(("failed", notes, name, source, why, kind))

    def skip(self, name: str) -> None:
        self._submit(("skipped", (), name))

    def write(self, name: str, source, kind: str, pred, ready: _Ready, notes: tuple = ()) -> None:
        self._submit(("write", notes, name, source, kind, pred, ready))

    def close(self) -> None:
        """Wait until every submitted case is written (or reported failed)."""
        if self._thread is not None:
            self._put(None)
            while self._thread.is_alive():
                self._thread.join(0.5)
            if self._fatal is not None:
                raise self._fatal
        if self.cases == 0:  # an empty run still leaves a (header-only or earlier runs') table
            self._update_summary()

    def abort(self) -> None:
        """Stop the writer now (Ctrl-C, SIGTERM): nothing more is installed, and the staging
        folder being written is removed (the next run would also remove it: nobody holds it)."""
        self._cancelled.set()
        if self._thread is None:
            return  # the main thread's own staging folder unwinds with it
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        for _ in range(2):  # again after the wait: the writer may have begun one more file
            got = self._guard.acquire(timeout=ABORT_WAIT_S)
            try:
                if self._staging is not None:
                    _remove_tree(self._staging)
            finally:
                if got:
                    self._guard.release()
            self._thread.join(timeout=1.0)

    def _submit(self, item) -> None:
        if self._thread is None:
            self._handle(item)
        else:
            self._put(item)

    def _put(self, item) -> None:
        while True:  # back-pressure: wait while the writer is `behind` cases behind
            self._raise_fatal()
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _raise_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._thread is not None and not self._thread.is_alive():  # it only ends on close/abort/fatal
            raise RuntimeError("the writer thread stopped")

    # ------------------------------------------------------------------ writer thread
    def _loop(self) -> None:
        while not self._cancelled.is_set():
            item = self._queue.get()
            if item is None or self._cancelled.is_set():
                return
            try:
                self._handle(item)
            except _Cancelled:
                return
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                self._fatal = exc
                return

    def _handle(self, item) -> None:
        kind, notes = item[:2]
        for note in notes:
            self.progress.log(note)
        self.cases += 1
        if kind == "failed":
            self._failed(*item[2:])
        elif kind == "skipped":
            self.skipped += 1
            self.progress.log(f"covidseg: {item[2]}: finished output is valid, skipped")
            self._update_summary()
        else:
            name, source, case_kind, pred, ready = item[2:]
            try:
                self._write(name, pred, ready)
                self.ok += 1
            except Exception as exc:  # noqa: BLE001 - one bad case must not stop the batch
                if self._cancelled.is_set():
                    raise _Cancelled from None
                self._failed(name, source, reason(exc, source), case_kind)
        self.progress.case_done()

    def _failed(self, name, source, why, kind="") -> None:
        self.progress.log(f"covidseg: error: {escape_control(source)}: {why}")
        self.failures[name] = outputs.failure_row(name, source, why, kind)
        self._update_summary()

    def _update_summary(self) -> None:
        # A summary that cannot be written (disk full ...) must not fail the finished case.
        try:
            outputs.rebuild_summary(self.job.out, self.failures, self.job.lock)
        except OSError as exc:
            if not self.summary_error:
                self.progress.log(f"covidseg: error: {escape_control(self.job.out / 'summary.csv')}: cannot write "
                                  f"({exc.strerror or exc})")
            self.summary_error.append(str(exc))

    def _write(self, name: str, pred, ready: _Ready) -> None:
        from covidseg.batch.case import write_case

        job, final, run = self.job, ready.final, ready.run
        with outputs.staged_folder(final, job.lock) as tmp:
            with self._guard:
                if self._cancelled.is_set():
                    raise _Cancelled
                self._staging = tmp
            try:
                write_case(pred, tmp, dicom_seg=job.dicom_seg, pictures=job.pictures, include_phi=job.include_phi,
                           identity=ready.identity)
                with job.lock, self._guard:
                    if self._cancelled.is_set():
                        raise _Cancelled
                    self._install(name, final, tmp, run)
            finally:
                with self._guard:
                    self._staging = None

    def _install(self, name: str, final: Path, tmp: Path, run: dict) -> None:
        """Rename the staging folder into place (under the output lock)."""
        job = self.job
        if os.path.lexists(final) and outputs.case_owner(final) != job.key_of[name]:
            # Another input's case (or a folder covidseg did not write) took this name since
            # the run started: never replace it; take a free name.
            taken = outputs.existing_owners(job.out).keys() | set(job.key_of)
            new = outputs.free_name(name, taken)
            self.progress.log(f"covidseg: {name}: the folder now holds another input's case or a "
                              f"folder covidseg did not write; writing {new} instead")
            self.failures.pop(name, None)
            job.key_of[new] = job.key_of[name]
            name, final = new, outputs.case_path(job.out, new)
            outputs.install(tmp, final, replace=False)
        elif final.exists() and not job.overwrite and outputs.validate_case(final, run) is None:
            # A concurrent run finished this very case first: keep its files.
            self.progress.log(f"covidseg: {name}: written meanwhile by another run, kept")
        elif final.exists() and not (job.overwrite or job.resume):
            raise ConfigError("another run created this case folder meanwhile; not replaced "
                              "(pass --resume or --overwrite)", final)
        else:
            outputs.install(tmp, final, replace=True)
        self.failures.pop(name, None)
        self._update_summary()


def _remove_tree(path: Path) -> None:
    """``rmtree`` that retries while another thread may still add a file."""
    for _ in range(5):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)
    shutil.rmtree(path, ignore_errors=True)


def run_cases(job: BatchJob, named: list, progress, *, overlap: bool) -> CaseWriter:
    """Read, run and write every ``(name, Case | None, discovery error, source)`` of ``named``;
    returns the writer (its ``ok``, ``skipped``, ``failures`` and ``summary_error``)."""
    writer = CaseWriter(job, progress, background=overlap)
    reads: dict[int, _Task] = {}

    def read(i: int) -> _Task:
        name, case = named[i][:2]
        return _Task(_read, job, name, case, background=overlap and i != current)

    try:
        for current, (name, case, error, source) in enumerate(named):
            progress.start_case(name)
            if case is None:
                writer.failed(name, source, error)
                continue
            task = reads.pop(current, None) or read(current)
            try:
                ready = task.result()
            except Exception as exc:  # noqa: BLE001 - reported for this case, in order
                ready, failure = None, exc
            nxt = current + 1
            if overlap and nxt < len(named) and named[nxt][1] is not None:
                reads[nxt] = read(nxt)  # read the next case while this one runs
            if ready is None:
                writer.failed(name, source, reason(failure, source), case.kind)
                continue
            if ready.image is None:
                writer.skip(name)
                continue
            notes = [f"covidseg: {name}: redoing the existing output ({ready.redo})"] if ready.redo else []
            image, ready.image = ready.image, None  # the prediction holds it from here on
            try:
                pred = job.segmenter.predict(image, progress=progress.slices_done)
            except Exception as exc:  # noqa: BLE001 - one bad case must not stop the batch
                writer.failed(name, source, reason(exc, source), case.kind, tuple(notes))
                continue
            finally:
                del image
            pred.timings["read"] = round(ready.read_s, 4)
            # also in report.json; shown even with --quiet
            notes += [f"covidseg: warning: {escape_control(source)}: {escape_control(w)}" for w in pred.warnings]
            writer.write(name, source, case.kind, pred, ready, tuple(notes))
            del pred
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return writer
