"""``read_image``: one entry point for every supported format (dispatch on the path)."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import numpy as np

from covidseg.errors import (
    ConfigError,
    CovidsegError,
    DimensionError,
    EmptyFolderError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from covidseg.io._common import check_exists as _check_exists
from covidseg.io._common import one_line
from covidseg.io.atomic import full_suffix
from covidseg.io.cases import REPORT_NAME, covidseg_output, find_cases, is_case_report
from covidseg.io.dicom import read_dicom_file, read_dicom_series
from covidseg.io.formats import SUPPORTED, VOLUME_SUFFIXES, file_kind, is_dicom_candidate
from covidseg.io.image import Case, CTImage
from covidseg.io.itk import read_itk
from covidseg.io.nifti import read_nifti
from covidseg.io.raster import raster_files, read_raster, read_raster_labels, read_slices

__all__ = ["read_image", "read_case", "read_label_map", "file_kind", "SUPPORTED", "VOLUME_SUFFIXES"]  # the last three: io.formats

log = logging.getLogger("covidseg.io")

def _read_file(path: Path, kind: str | None = None) -> CTImage:
    kind = kind or file_kind(path)
    if kind is None:
        raise UnsupportedFormatError(f"unsupported file type; covidseg reads {SUPPORTED}", path)
    if path.stat().st_size == 0:
        raise UnreadableFileError("the file is empty (0 bytes)", path)
    if kind == "nifti":
        return read_nifti(path)
    if kind in ("nrrd", "metaimage"):
        return read_itk(path)
    if kind == "image":
        return read_raster(path)
    return read_dicom_file(path)


def _input_errors_only(read):
    """Keep the readers' contract under any input: only :class:`CovidsegError` escapes.

    The readers check what they know to be hostile; a third-party library failing in an
    unforeseen way on a strange file (a ``ValueError`` deep in a decoder, ``MemoryError`` on
    a huge file) still becomes one typed line naming the input, with the original exception
    chained (``__cause__``) and its traceback logged at DEBUG level for bug reports."""

    @functools.wraps(read)
    def wrapper(source, *args, **kwargs):
        if not isinstance(source, (str, os.PathLike, Case)):
            return read(source, *args, **kwargs)  # a caller's bug: let its TypeError through
        try:
            return read(source, *args, **kwargs)
        except CovidsegError:
            raise  # already one typed line (CovidsegError escapes control characters itself)
        except MemoryError as exc:
            where = getattr(source, "path", source)
            raise DimensionError("not enough memory to read it (far larger than a CT scan?)", where) from exc
        except Exception as exc:
            where = getattr(source, "path", source)
            log.debug("unexpected error reading %s", where, exc_info=True)
            raise UnreadableFileError(
                f"cannot be read ({type(exc).__name__}: {one_line(exc, 200)})", where
            ) from exc

    return wrapper


@_input_errors_only
def read_image(path: str | os.PathLike, series: str | int | None = None) -> CTImage:
    """Read an image, stack or volume into a :class:`CTImage` (see ``docs/io.md``).

    ``path`` is a file (JPG/PNG, NIfTI, NRRD, MetaImage, DICOM) or a folder: DICOM files
    directly in it are read as one series (``series`` picks one of several by
    SeriesInstanceUID, SeriesNumber or SeriesDescription; default the largest CT series);
    else its JPG/PNG files are stacked in natural name order; else its single volume file is
    read; else, if exactly one case lies in its subfolders (:func:`find_cases`), that one.

    Raises the :class:`covidseg.errors.InputError` subclasses (FileMissingError,
    UnreadableFileError, UnsupportedFormatError, EmptyFolderError, NotCTError,
    DimensionError, NonFiniteError), and :class:`covidseg.errors.ConfigError` for a
    ``series`` that matches nothing or that is given for an input other than a DICOM folder.
    """
    path = Path(path).expanduser()
    _check_exists(path)
    if path.is_dir():
        return _read_folder(path, series)
    if series is not None:
        raise ConfigError(f"series={series!r} applies to a DICOM folder only", path)
    return _read_file(path)


def _read_folder(folder: Path, series) -> CTImage:
    try:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    except OSError as exc:
        raise UnreadableFileError(f"cannot list the folder ({exc.strerror})", folder) from exc
    if is_case_report(folder / REPORT_NAME):  # its PNG masks would read as a stack of slices
        raise UnsupportedFormatError(f"{covidseg_output(folder)}, not an input; give the scan it was made from",
                                     folder)
    files = [p for p in entries if p.is_file()]
    if any(is_dicom_candidate(p) for p in files):
        return read_dicom_series(folder, series)
    if series is not None:
        raise ConfigError(f"series={series!r} given but the folder holds no DICOM file", folder)
    if raster_files(folder):
        return read_slices(folder)
    volumes = [p for p in files if full_suffix(p) in VOLUME_SUFFIXES]
    if len(volumes) == 1:
        return _read_file(volumes[0])
    if len(volumes) > 1:
        raise UnsupportedFormatError(
            f"the folder holds {len(volumes)} volume files; read them one by one "
            "(covidseg predict FOLDER and find_cases() take each as a case)", folder
        )
    cases = find_cases(folder)  # raises EmptyFolderError when nothing is found
    if len(cases) == 1:
        return read_case(cases[0])
    listing = ", ".join(str(c.path.relative_to(folder)) or "." for c in cases[:5])
    raise UnsupportedFormatError(
        f"the folder holds {len(cases)} cases ({listing}{', ...' if len(cases) > 5 else ''}); "
        "read them one by one (covidseg predict FOLDER and find_cases() take each as a case)",
        folder,
    )


@_input_errors_only
def read_case(case: Case) -> CTImage:
    """Read a :class:`Case` from :func:`find_cases` exactly as it was discovered."""
    path = Path(case.path)
    _check_exists(path)
    if case.kind == "dicom-series":
        return read_dicom_series(path, case.series)
    if case.kind == "slices":
        return read_slices(path)
    if path.is_dir():
        raise EmptyFolderError(f"a {case.kind} case must be a file", path)
    return _read_file(path, case.kind)


@_input_errors_only
def read_label_map(path: str | os.PathLike) -> np.ndarray:
    """A mask or label-map file (JPG/PNG or NIfTI) as its stored values, for training and
    evaluation references: PNG palette indices and integer types kept; NIfTI in the canonical
    ``(z, y, x)`` orientation of :func:`read_image`, as uint8 when its values are 0..255
    integers. The readers' checks and one-line errors apply (size, NaN, truncated file ...);
    whether the values are valid labels is the caller's check."""
    path = Path(path).expanduser()
    _check_exists(path)
    kind = file_kind(path)
    if kind not in ("image", "nifti"):
        raise UnsupportedFormatError("a mask must be a PNG/JPG image or a NIfTI volume", path)
    if path.stat().st_size == 0:
        raise UnreadableFileError("the file is empty (0 bytes)", path)
    if kind == "image":
        return read_raster_labels(path)
    values = read_nifti(path).array
    if values.size and values.min() >= 0 and values.max() <= 255 and np.array_equal(values, np.round(values)):
        return values.astype(np.uint8)
    return values
