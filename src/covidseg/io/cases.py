"""Case discovery for ``covidseg predict INPUT...``: which inputs are one case each.

The rule (also in ``docs/io.md``):

* a file is one case (JPG/PNG, NIfTI, NRRD, MetaImage, or one DICOM file);
* a folder is searched recursively (hidden files and folders skipped); in each folder:

  - every DICOM **series** (files directly in that folder, grouped by SeriesInstanceUID)
    is one case named after the folder (several CT series in one folder: the folder name
    plus ``_<SeriesNumber>``); series that are not CT (SEG, SR, MR ...) are skipped, and
    so are localizer/scout series (ImageType LOCALIZER) beside another CT series;
  - its JPG/PNG files are **one** case, a stack of slices in natural name order, named
    after the folder — unless their sizes differ, in which case they cannot form a stack
    and each image is its own case;
  - every NIfTI / NRRD / MetaImage file is one case named after the file without its
    extensions (``scan.nii.gz`` → ``scan``);
  - other files (README, .raw data of .mhd/.nhdr headers ...) are ignored.

Names keep letters, digits, ``.``, ``_`` and ``-`` (anything else becomes ``_``); names
that clash (ignoring case, as on macOS/Windows) get ``_2``, ``_3`` ... in discovery order.

covidseg's own outputs are never inputs: a folder holding a case written by covidseg
(``report.json`` with a file manifest) or an output folder (``.covidseg.lock``) below the
given folder is skipped with everything under it, so ``covidseg predict data -o data/out``
can be rerun without segmenting its own masks and pictures; a case folder given as the
input is refused.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from pathlib import Path

from covidseg.errors import EmptyFolderError, NotCTError, UnsupportedFormatError
from covidseg.io._common import check_exists as _check_exists
from covidseg.io._common import natural_key
from covidseg.io.atomic import full_suffix
from covidseg.io.dicom_scan import scan_dicom_folder
from covidseg.io.formats import RASTER_SUFFIXES, SUPPORTED, VOLUME_SUFFIXES, file_kind, is_dicom_candidate, strip_suffix
from covidseg.io.image import Case
from covidseg.io.raster import raster_size

log = logging.getLogger("covidseg.io")

__all__ = ["find_cases", "safe_name", "case_name", "covidseg_output", "LOCK_NAME", "REPORT_NAME"]

#: Files that mark covidseg's own outputs: the output folder's lock and a case's report.
LOCK_NAME = ".covidseg.lock"
REPORT_NAME = "report.json"

_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                     *(f"lpt{i}" for i in range(1, 10))}


def safe_name(name: str, max_length: int = 80) -> str:
    """A file-system-safe name that cannot leave its folder or hide itself.

    Letters, digits, ``.``, ``_``, ``-`` only (path separators, control characters, spaces
    and the rest become ``_``); no leading or doubled dots (hidden files, ``..``), at most
    ``max_length`` characters, never empty or a Windows device name. Idempotent.
    """
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(c if (c.isalnum() or c in "._-") and c.isprintable() else "_" for c in text)
    text = re.sub(r"_+", "_", text).strip("._ -")
    text = re.sub(r"\.{2,}", ".", text)
    text = text[:max_length].rstrip("._ -")
    if not text:
        return "case"
    if text.split(".")[0].lower() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def case_name(path: Path) -> str:
    """File name without all its extensions (``scan.nii.gz`` → ``scan``), made safe."""
    return safe_name(strip_suffix(path))


def _folder_name(folder: Path) -> str:
    return safe_name(folder.name or folder.resolve().name)


def is_case_report(path: Path) -> bool:
    """True if ``path`` is a report.json written by covidseg (a case folder's manifest)."""
    import json

    try:
        if path.stat().st_size > 64 << 20:  # a case report is kilobytes; do not parse a huge file
            return False
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(report, dict) and "covidseg_version" in report and isinstance(report.get("manifest"), dict)


def covidseg_output(folder: Path) -> str | None:
    """Why ``folder`` holds covidseg's own output (None if it does not): an output folder
    (its lock file) or a case folder (its report.json with a file manifest)."""
    if os.path.isfile(os.path.join(folder, LOCK_NAME)):
        return f"a covidseg output folder (it holds {LOCK_NAME})"
    if is_case_report(Path(folder) / REPORT_NAME):
        return f"a covidseg case folder (its {REPORT_NAME} lists covidseg's own masks and pictures)"
    return None


def _file_case(path: Path) -> Case:
    kind = file_kind(path)
    if kind is None:
        raise UnsupportedFormatError(f"unsupported file type; covidseg reads {SUPPORTED}", path)
    return Case(case_name(path), path, None, kind)


def _folder_cases(folder: Path, files: list[Path], skipped_non_ct: list[str]) -> list[Case]:
    cases: list[Case] = []
    dicom = [p for p in files if is_dicom_candidate(p)]
    if dicom:
        series = [s for s in scan_dicom_folder(folder, dicom) if s.has_pixels]
        ct = [s for s in series if s.is_ct]
        for s in series:
            if not s.is_ct:
                skipped_non_ct.append(f"{folder}: {s.label()}")
                log.info("%s: skipping DICOM series that is not CT (%s)", folder, s.label())
        if any(not s.is_localizer for s in ct):
            # The scout/topogram series stored beside a scan is not a case (alone, it stays
            # one, so that reading it says why it cannot be segmented).
            for s in ct:
                if s.is_localizer:
                    log.info("%s: skipping localizer/scout series (%s)", folder, s.label())
            ct = [s for s in ct if not s.is_localizer]
        for index, s in enumerate(ct, start=1):
            name = _folder_name(folder)
            if len(ct) > 1:
                tag = s.number if s.number is not None else (s.description or index)
                name = safe_name(f"{name}_{tag}")
            cases.append(Case(name, folder, s.uid, "dicom-series"))
    rasters = [p for p in files if p.suffix.lower() in RASTER_SUFFIXES]
    if rasters:
        sizes = {raster_size(p) for p in rasters}
        if len(sizes) == 1 and None not in sizes:
            cases.append(Case(_folder_name(folder), folder, None, "slices"))
        else:
            log.info("%s: JPG/PNG files of different sizes: one case per image", folder)
            cases.extend(Case(case_name(p), p, None, "image") for p in rasters)
    for p in files:
        if full_suffix(p) in VOLUME_SUFFIXES:
            cases.append(_file_case(p))
    return cases


def _unique(cases: list[Case]) -> list[Case]:
    seen: set[str] = set()
    out = []
    for case in cases:
        name, n = case.name, 1
        while name.lower() in seen:
            n += 1
            name = f"{case.name}_{n}"
        seen.add(name.lower())
        out.append(case if name == case.name else Case(name, case.path, case.series, case.kind))
    return out


def _skip_output(folder: Path) -> bool:
    why = covidseg_output(folder)
    if why:
        log.info("%s: skipped, %s", folder, why)
    return why is not None


def find_cases(path: str | os.PathLike) -> list[Case]:
    """The cases in ``path`` (a file or a folder), following the rule in this module's doc.

    Raises :class:`FileMissingError` for a missing path, :class:`UnsupportedFormatError`
    for a file of an unsupported type, :class:`EmptyFolderError` for a folder without any
    case, :class:`NotCTError` if the only images found are non-CT DICOM series, and
    :class:`UnreadableFileError` for a ``.dcm`` file that is not DICOM.
    """
    path = Path(path).expanduser()
    _check_exists(path)
    if not path.is_dir():
        return [_file_case(path)]
    if is_case_report(path / REPORT_NAME):
        raise UnsupportedFormatError(f"{covidseg_output(path)}, not an input; give the scan it was made from", path)
    cases: list[Case] = []
    skipped_non_ct: list[str] = []
    seen_files = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted((d for d in dirnames if not d.startswith(".") and not _skip_output(Path(dirpath) / d)),
                             key=natural_key)
        folder = Path(dirpath)
        files = [folder / f for f in sorted(filenames, key=natural_key) if not f.startswith(".")]
        files = [p for p in files if p.is_file()]
        seen_files += len(files)
        cases.extend(_folder_cases(folder, files, skipped_non_ct))
    if not cases:
        if skipped_non_ct:
            raise NotCTError("no CT image; DICOM series found: " + "; ".join(skipped_non_ct), path)
        what = "the folder is empty" if not seen_files else f"none of its {seen_files} files is"
        raise EmptyFolderError(
            f"no image, volume or DICOM series found ({what}{' a supported type' if seen_files else ''}; "
            f"covidseg reads {SUPPORTED})", path,
        )
    return _unique(cases)
