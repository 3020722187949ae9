"""Crash-safe case folders, resume checks, the output-folder lock and ``summary.csv``.

A case is written into a hidden staging folder beside its final place
(``OUT/.covidseg-tmp-<case>.<random>/``) and renamed into place only when every file,
``report.json`` last, is on disk: ``OUT/<case>/`` either does not exist or is complete.
A process holds an ``flock`` on each of its staging folders while it writes, so the next
run can tell a dead run's leftovers (removed) from a live concurrent run's (kept).

``report.json`` records what produced the case (``run``: input identity, model sha256s,
settings) and a ``manifest`` of every other file with its sha256; :func:`validate_case`
checks both, which is what ``covidseg predict --resume`` relies on to skip a case.

Several processes may write into one output folder: installing a case folder and
rebuilding ``summary.csv`` (from the case reports in the folder) happen under an exclusive
``flock`` on ``OUT/.covidseg.lock``.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import errno
import hashlib
import io as _io
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

from covidseg.errors import ConfigError
from covidseg.io.atomic import current_umask, fsync_dir
from covidseg.io.cases import LOCK_NAME, REPORT_NAME, safe_name
from covidseg.models.pretrained import sha256_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; locks are no-ops, staging folders age out
    fcntl = None

#: Without flock (Windows), a staging folder counts as stale only after this many seconds.
STALE_AFTER_S = 24 * 3600

__all__ = [
    "TMP_PREFIX", "LOCK_NAME", "REPORT_NAME", "SUMMARY_FIELDS", "OutputLock", "safe_case_name", "unique_names",
    "input_key", "case_owner", "existing_owners", "assign_names", "free_name",
    "input_identity", "sha256_file", "manifest_of", "interrupts_held", "staged_folder", "install", "validate_case",
    "clean_stale",
    "rebuild_summary", "check_output_folder",
]

TMP_PREFIX = ".covidseg-tmp-"
OLD_PREFIX = ".covidseg-old-"
SUMMARY_NAME = "summary.csv"
MAX_NAME_CHARS = 80

SUMMARY_FIELDS = [
    "case", "status", "error", "input", "kind", "unit", "lung", "lesion", "ggo", "consolidation",
    "lesion_percent", "right_lesion_percent", "left_lesion_percent", "ratio_grade", "mosmed_grade",
    "zone_total", "noise_floor", "seconds", "output",
]

_RESERVED = {SUMMARY_NAME.split(".")[0]}  # OUT/summary.csv sits beside the case folders


# --------------------------------------------------------------------------------- names
def safe_case_name(name: str) -> str:
    """:func:`covidseg.io.safe_name` at :data:`MAX_NAME_CHARS`: a case folder name that cannot
    leave the output folder or hide itself."""
    return safe_name(name, MAX_NAME_CHARS)


def unique_names(names: Iterable[str]) -> list[str]:
    """Sanitised names, made unique ignoring case (as on macOS/Windows): ``x``, ``x_2``, ..."""
    used = set(_RESERVED)
    out = []
    for name in names:
        base = safe_case_name(name)
        unique, n = base, 1
        while unique.lower() in used:
            n += 1
            unique = safe_case_name(f"{base[:MAX_NAME_CHARS - 6].rstrip('._-')}_{n}")
        used.add(unique.lower())
        out.append(unique)
    return out


def _numbered(base: str, n: int) -> str:
    return base if n == 1 else safe_case_name(f"{base[:MAX_NAME_CHARS - 6].rstrip('._-')}_{n}")


def free_name(name: str, taken: Iterable[str]) -> str:
    """``name`` (sanitised), or ``name_2``, ``name_3`` ... : the first not in ``taken``
    (compared ignoring case) and not reserved."""
    used = {t.lower() for t in taken} | _RESERVED
    base = safe_case_name(name)
    n = 1
    while _numbered(base, n).lower() in used:
        n += 1
    return _numbered(base, n)


# --------------------------------------------------------------------------------- ownership
def input_key(path: str | os.PathLike, series: str | None = None) -> tuple[str, str | None]:
    """Which input a case is for: its absolute path and DICOM series (as in ``run.input``).
    Size and mtime are left out: a changed input still owns its case folder (and redoes it)."""
    return str(Path(os.path.abspath(Path(path).expanduser()))), None if series is None else str(series)


def case_owner(folder: Path) -> tuple[str, str | None] | None:
    """The :func:`input_key` a case folder was written for, from its report.json's ``run``;
    None when ``folder`` is not a covidseg case folder with a readable run record (a user's
    folder, a symbolic link, a damaged report): such a folder belongs to no input and is
    never replaced."""
    if folder.is_symlink() or not folder.is_dir():
        return None
    try:
        report = json.loads((folder / REPORT_NAME).read_text(encoding="utf-8"))
        ident = report["run"]["input"]
        return input_key(ident["path"], ident.get("series"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def existing_owners(out: Path) -> dict[str, tuple[str, str | None] | None]:
    """``{name: owner}`` of every visible entry of ``out`` (owner as :func:`case_owner`;
    None for files and for folders covidseg did not write)."""
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except FileNotFoundError:
        return {}
    return {e.name: case_owner(Path(e.path)) for e in entries if not e.name.startswith(".")}


def assign_names(wanted: list[tuple[str, tuple[str, str | None] | None]],
                 owners: dict[str, tuple[str, str | None] | None]) -> list[str]:
    """Case folder names for ``wanted`` (``(name, input_key or None)`` per case) in an
    output folder that already holds ``owners`` (:func:`existing_owners`).

    An input whose case folder is already there gets that folder's name again (so
    ``--resume``/``--overwrite`` find it whatever else the run holds); every other case gets
    its name, or ``name_2``, ``name_3`` ..., avoiding every name in the folder (another
    input's case, a user's folder or file) and the names given earlier in the run: a name
    is chosen from what the folder holds, never by reusing another input's folder."""
    by_owner: dict = {}
    for name, owner in owners.items():
        if owner is not None:
            by_owner.setdefault(owner, name)
    names: list[str | None] = [None] * len(wanted)
    used: set[str] = set()
    for i, (_, key) in enumerate(wanted):
        own = by_owner.get(key) if key is not None else None
        if own is not None and own == safe_case_name(own) and own.lower() not in used:
            names[i] = own
            used.add(own.lower())
    taken = {n.lower() for n in owners} | used
    for i, (name, _) in enumerate(wanted):
        if names[i] is None:
            names[i] = free_name(name, taken)
            taken.add(names[i].lower())
    return names  # type: ignore[return-value]


def case_path(out: Path, name: str) -> Path:
    """``out/name``, refusing any name that would resolve outside ``out`` (defence in depth)."""
    if name != safe_case_name(name):
        raise ValueError(f"name must be a sanitised case name, got {name!r}")
    path = out / name
    if path.resolve().parent != out.resolve():
        raise ConfigError(f"case folder {name!r} would leave the output folder", out)
    return path


# --------------------------------------------------------------------------------- identity
def input_identity(path: str | os.PathLike, series: str | None = None) -> dict:
    """Cheap identity of an input: absolute path, size and mtime (ns) of a file; of a folder
    (DICOM series, stack of slices), the same over the files directly in it plus a sha256 of
    their (name, size, mtime) listing. A changed, added or removed file changes it."""
    path = Path(input_key(path)[0])
    st = path.stat()
    ident: dict = {"path": str(path)}
    if path.is_dir():
        h = hashlib.sha256()
        size = mtime = count = 0
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            est = entry.stat()
            h.update(f"{entry.name}\0{est.st_size}\0{est.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
            size += est.st_size
            mtime = max(mtime, est.st_mtime_ns)
            count += 1
        ident.update(size=size, mtime_ns=mtime, files=count, listing_sha256=h.hexdigest())
    else:
        ident.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    if series is not None:
        ident["series"] = str(series)
    return ident


def manifest_of(folder: Path) -> dict[str, dict]:
    """``{relative posix path: {"sha256", "bytes"}}`` of every file under ``folder`` except
    ``report.json`` (which holds the manifest)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.relative_to(folder).as_posix() != REPORT_NAME:
            out[path.relative_to(folder).as_posix()] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return out


def validate_case(folder: Path, run: dict | None = None) -> str | None:
    """None if ``folder`` holds a complete case written for ``run`` (report.json parses, its
    ``run`` equals ``run``, every manifest file is present with its sha256); else the reason."""
    report_path = folder / REPORT_NAME
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no report.json"
    except (OSError, ValueError) as exc:
        return f"report.json unreadable ({type(exc).__name__})"
    if not isinstance(report, dict) or not isinstance(report.get("manifest"), dict):
        return "report.json has no file manifest"
    if run is not None and _canonical(report.get("run")) != _canonical(run):
        return "written for another input, model or settings"
    for name, entry in report["manifest"].items():
        path = folder / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            return f"manifest entry {name!r} is outside the case folder"
        try:
            if not path.is_file() or path.stat().st_size != entry.get("bytes") or sha256_file(path) != entry.get("sha256"):
                return f"{name} is missing or changed"
        except (OSError, AttributeError):
            return f"{name} is unreadable"
    return None


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


# --------------------------------------------------------------------------------- locking
class OutputLock:
    """Exclusive ``flock`` on ``OUT/.covidseg.lock`` (processes on one machine, NFSv4, SMB).

    Held only briefly: while a case folder is created, installed, and ``summary.csv`` is
    rebuilt. The lock file stays (deleting a lock file races with its next user)."""

    def __init__(self, out: Path):
        self.path = out / LOCK_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        self._depth = 0
        # flock excludes other processes only (threads share the open file): the writer
        # thread of an overlapped run and the main thread also take this re-entrant lock.
        self._threads = threading.RLock()

    def __enter__(self) -> "OutputLock":
        self._threads.acquire()
        try:
            if self._depth == 0 and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        os.close(self._fd)


def check_output_folder(out: Path) -> OutputLock:
    """Create ``out`` if needed and prove it writable (a probe file, the lock file); any
    failure is one :class:`ConfigError` before any work is done."""
    try:
        if out.exists() and not out.is_dir():
            raise ConfigError("the output path exists and is not a folder", out)
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=TMP_PREFIX + "probe.", dir=out)
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):  # a concurrent run's clean_stale may have taken it
            os.unlink(probe)
        return OutputLock(out)
    except OSError as exc:
        raise ConfigError(f"cannot write to the output folder ({exc.strerror or exc})", out) from None


# --------------------------------------------------------------------------------- staging
@contextlib.contextmanager
def interrupts_held():
    """Ctrl-C and SIGTERM (:mod:`covidseg.batch.cli` turns it into SystemExit) that arrive
    inside the block take effect right after it, for the few steps that must not be cut in
    two: creating a staging folder and taking its flock (cut, the folder would not be
    removed), and starting writer threads (cut inside ``ThreadPoolExecutor.submit``, a started
    worker stays unknown to the pool, which would not wait for it: it would write into the
    staging folder after its removal, atomic_write re-creating the folder). Main thread only;
    a no-op where signals cannot be blocked (Windows)."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)



@contextlib.contextmanager
def staged_folder(final: Path, lock: OutputLock | None = None) -> Iterator[Path]:
    """A new hidden folder beside ``final`` to write a case into; removed on exit unless it
    was installed (renamed away). Created under ``lock`` so :func:`clean_stale` in another
    process never sees it before it is flocked."""
    tmp = fd = None
    try:
        with lock if lock is not None else contextlib.nullcontext(), interrupts_held():
            tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{final.name[:40]}.", dir=final.parent))
            os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; a case folder is an ordinary folder
            if fcntl is not None:
                fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
                fcntl.flock(fd, fcntl.LOCK_EX)  # "alive": clean_stale skips folders it cannot lock
        yield tmp
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(tmp)
        if fd is not None:
            os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Files are fsynced by atomic_write; make the staging folder's entries durable too."""
    for dirpath, _, _ in os.walk(folder):
        fsync_dir(Path(dirpath))


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError, TypeError):  # not glibc >= 2.28 (macOS, musl, Windows)
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def install(tmp: Path, final: Path, *, replace: bool) -> bool:
    """Rename the complete staging folder ``tmp`` to ``final``. If ``final`` exists, swap it
    in atomically when ``replace`` (the old folder is deleted), else leave both untouched
    and return False. Concurrent writers must hold the :class:`OutputLock`."""
    _fsync_tree(tmp)
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise ConfigError("exists and is not a case folder; not replaced", final)
    if not final.exists():
        os.rename(tmp, final)  # atomic; the tmp folder is never empty (report.json)
        fsync_dir(final.parent)
        return True
    if not replace:
        return False
    if _exchange(tmp, final):  # tmp now holds the old case
        shutil.rmtree(tmp, ignore_errors=True)
    else:  # two renames: a crash in between leaves the old case in a hidden folder (cleaned later)
        old = Path(tempfile.mkdtemp(prefix=f"{OLD_PREFIX}{final.name[:40]}.", dir=final.parent))
        os.rename(final, old / "case")
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(final.parent)
    return True


def clean_stale(out: Path) -> list[str]:
    """Remove what killed runs left in ``out``: staging folders no live process holds a lock
    on, half-swapped old case folders and temporary summary files. Call under the lock."""
    removed = []
    for entry in sorted(os.scandir(out), key=lambda e: e.name):
        name = entry.name
        if name.startswith(TMP_PREFIX) and entry.is_dir(follow_symlinks=False) and fcntl is None:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(name)
        elif name.startswith(TMP_PREFIX) and entry.is_dir(follow_symlinks=False):
            try:
                fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # a live run is writing it
            shutil.rmtree(entry.path, ignore_errors=True)
            os.close(fd)
            removed.append(name)
        elif name.startswith(OLD_PREFIX) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(name)
        elif name.startswith(f".{SUMMARY_NAME}.") and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)  # atomic_write's temp file of a killed summary rewrite
            removed.append(name)
        elif name.startswith(TMP_PREFIX) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)  # a write probe
            removed.append(name)
    return removed


# --------------------------------------------------------------------------------- summary
def _fmt(value, digits: int = 3) -> str:
    return "" if value is None else f"{float(value):.{digits}f}"


def summary_row(name: str, report: dict, folder: Path) -> dict:
    """The summary.csv row of a finished case, from its report.json."""
    row = dict.fromkeys(SUMMARY_FIELDS, "")
    inp = report.get("input") or {}
    meas = report.get("measurements") or {}
    whole, right, left = (meas.get(k) or {} for k in ("whole", "right", "left"))
    sev = report.get("severity") or {}
    timings = report.get("timings_s") or {}
    row.update(
        case=name, status="ok", input=inp.get("path") or "", kind=inp.get("kind") or "", unit=report.get("unit") or "",
        lung=_fmt(whole.get("lung")), lesion=_fmt(whole.get("lesion")), ggo=_fmt(whole.get("ggo")),
        consolidation=_fmt(whole.get("consolidation")), lesion_percent=_fmt(whole.get("lesion_percent"), 2),
        right_lesion_percent=_fmt(right.get("lesion_percent"), 2), left_lesion_percent=_fmt(left.get("lesion_percent"), 2),
        ratio_grade=sev.get("ratio_grade") or "", mosmed_grade=sev.get("mosmed_grade") or "",
        zone_total="" if sev.get("zone_total") is None else str(sev["zone_total"]),
        noise_floor="yes" if sev.get("noise_floor_applied") else ("no" if "noise_floor_applied" in sev else ""),
        seconds=f"{sum(v for v in timings.values() if isinstance(v, (int, float))):.2f}", output=str(folder),
    )
    return row


def failure_row(name: str, source, error: str, kind: str = "") -> dict:
    row = dict.fromkeys(SUMMARY_FIELDS, "")
    row.update(case=name, status="failed", error=error, input=str(source), kind=kind)
    return row


_ROW_CACHE: dict[str, tuple[tuple[int, int], dict]] = {}


def _report_rows(out: Path) -> dict[str, dict]:
    rows = {}
    for entry in os.scandir(out):
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path) / REPORT_NAME
        try:
            st = path.stat()
        except OSError:
            continue
        key, stamp = str(path), (st.st_mtime_ns, st.st_size)
        cached = _ROW_CACHE.get(key)
        if cached is None or cached[0] != stamp:  # parse each report once per process
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(report, dict) or "manifest" not in report:
                continue
            cached = (stamp, summary_row(entry.name, report, Path(entry.path)))
            _ROW_CACHE[key] = cached
        rows[entry.name] = cached[1]
    return rows


def rebuild_summary(out: Path, failures: dict[str, dict], lock: OutputLock) -> Path:
    """Rewrite ``OUT/summary.csv`` from the case reports in ``out`` plus failed rows (this
    run's ``failures`` and failed rows of earlier or concurrent runs whose case still has no
    folder), under ``lock``, atomically."""
    from covidseg.io import atomic_write

    path = out / SUMMARY_NAME
    with lock:
        rows = _report_rows(out)
        failed: dict[str, dict] = {}
        with contextlib.suppress(OSError, ValueError, csv.Error):
            with open(path, newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    if row.get("status") == "failed" and row.get("case"):
                        failed[row["case"]] = {k: row.get(k) or "" for k in SUMMARY_FIELDS}
        failed.update(failures)
        for name, row in failed.items():
            rows.setdefault(name, row)  # a finished case folder wins over an old failure
        buf = _io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for name in sorted(rows, key=lambda n: n.lower()):
            writer.writerow(rows[name])
        with atomic_write(path) as tmp:
            tmp.write_text(buf.getvalue(), encoding="utf-8")
    return path
