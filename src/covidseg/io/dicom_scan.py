"""Finding DICOM files and series in a folder (headers only) and choosing a series."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from covidseg.errors import (
    ConfigError,
    CovidsegError,
    EmptyFolderError,
    NotCTError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from covidseg.io._common import natural_key, one_line
from covidseg.io.formats import DICOM_SUFFIXES, has_dicom_preamble, is_dicom_candidate  # noqa: F401  (re-exported)

__all__ = [
    "DICOM_SUFFIXES",
    "SeriesInfo",
    "has_dicom_preamble",
    "is_dicom_candidate",
    "scan_dicom_folder",
    "select_series",
    "read_dataset",
    "is_ct_dataset",
    "not_ct_error",
    "not_ct_reason",
    "tag_str",
    "tag_int",
    "is_localizer",
    "LOCALIZER_TYPES",
]

#: File extensions taken for DICOM. Files without an extension are DICOM if they carry the
#: standard "DICM" preamble.

_CT_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT Image Storage
}

_HEADER_TAGS = [
    "SOPClassUID",
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "Rows",
    "Columns",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "InstanceNumber",
    "NumberOfFrames",
    "ImageType",
]

#: ImageType values (any of its components) that mark a localizer / scout / topogram: a
#: projection radiograph the scanner stores with the CT images, not an axial slice.
#: (LOCALIZER is the DICOM term; vendors also write SCOUT, TOPOGRAM, SURVIEW, SCANOGRAM.)
LOCALIZER_TYPES = frozenset({"LOCALIZER", "SCOUT", "TOPOGRAM", "SURVIEW", "SCANOGRAM"})
#: A series of at most this many non-axial images is a scout series (see SeriesInfo.is_localizer).
TINY_SERIES = 3


def read_dataset(path: Path, header_only: bool):
    kwargs = {"stop_before_pixels": True, "specific_tags": _HEADER_TAGS} if header_only else {}
    try:
        try:
            ds = pydicom.dcmread(str(path), **kwargs)
        except InvalidDicomError:
            # No Part-10 preamble: old files are sometimes bare datasets; accept them only
            # if they parse and hold the attributes of an image.
            ds = pydicom.dcmread(str(path), force=True, **kwargs)
            if "SOPClassUID" not in ds and "Modality" not in ds:
                raise InvalidDicomError("no DICOM preamble and no SOPClassUID/Modality")
        # Decode the elements now (pydicom decodes lazily): a corrupt element (an unknown VR,
        # a value of the wrong length) is an unreadable file here, not a surprise later.
        if header_only:
            _ = [ds.get(t) for t in _HEADER_TAGS]
        else:
            for _ in ds.iterall():
                pass
    except (MemoryError, CovidsegError):
        raise
    except PermissionError as exc:
        raise UnreadableFileError(f"permission denied ({exc.strerror})", path) from exc
    except Exception as exc:
        raise UnreadableFileError(f"not a readable DICOM file ({one_line(exc)})", path) from exc
    return ds


def tag_str(ds, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def tag_int(ds, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def is_localizer(ds) -> bool:
    """True if the image's ImageType names it a localizer/scout (see :data:`LOCALIZER_TYPES`)."""
    value = ds.get("ImageType")
    if value is None:
        return False
    parts = [value] if isinstance(value, str) else list(value)
    return any(str(part).strip().upper() in LOCALIZER_TYPES for part in parts)


def _is_non_axial(ds) -> bool:
    """True if ImageOrientationPatient is valid and its normal is not mostly head-feet."""
    try:
        iop = [float(v) for v in ds.get("ImageOrientationPatient")]
    except (TypeError, ValueError):
        return False
    if len(iop) != 6:
        return False
    normal = np.cross(iop[:3], iop[3:])
    return bool(np.isfinite(normal).all() and np.abs(normal).max() > 0 and int(np.argmax(np.abs(normal))) != 2)


def _is_ct(modality: str | None, sop_class: str | None) -> bool:
    """CT needs both: Modality CT (when present) and a CT image SOP class (when present).

    A Secondary Capture (or any other object) labelled Modality CT is a screenshot or a
    derived picture: no Hounsfield units and no patient geometry, so it is not CT here."""
    if modality is None and sop_class is None:
        return False
    if modality is not None and modality.upper() != "CT":
        return False
    return sop_class is None or sop_class in _CT_SOP_CLASSES


def is_ct_dataset(ds) -> bool:
    return _is_ct(tag_str(ds, "Modality"), tag_str(ds, "SOPClassUID"))


def not_ct_reason(modality: str | None, sop_class: str | None) -> str:
    """One line saying why an object is not a CT image (modality and SOP class named)."""
    sop_name = None
    if sop_class:
        sop_name = getattr(pydicom.uid.UID(sop_class), "name", None) or sop_class
    if modality is not None and modality.upper() != "CT":
        return f"DICOM modality is {modality!r} ({sop_name or 'no SOP class'}), not CT"
    if sop_class is None:
        return "DICOM object without Modality and SOPClassUID: cannot tell that it is CT"
    if sop_class.startswith("1.2.840.10008.5.1.4.1.1.7"):
        return (f"DICOM {sop_name} (SOP class {sop_class}), not a CT image: a Secondary Capture is "
                "a picture of a screen, without Hounsfield units or patient geometry")
    if sop_name == sop_class:  # unknown to pydicom (private, or corrupt)
        return f"DICOM object of SOP class {sop_class}, not a CT image"
    return f"DICOM {sop_name} (SOP class {sop_class}), not a CT image"


def not_ct_error(ds, path: Path) -> NotCTError:
    return NotCTError(not_ct_reason(tag_str(ds, "Modality"), tag_str(ds, "SOPClassUID")), path)


@dataclass
class SeriesInfo:
    """One DICOM series found in a folder (headers only)."""

    uid: str
    number: int | None
    description: str | None
    modality: str | None
    files: list[Path] = field(default_factory=list)
    is_ct: bool = True
    has_pixels: bool = True
    sop_class: str | None = None
    localizers: int = 0  # images whose ImageType says localizer/scout
    non_axial: int = 0  # images whose plane is not axial (normal not mostly head-feet)

    @property
    def is_localizer(self) -> bool:
        """A scout series, never taken for the scan: every image a localizer by ImageType, or
        a tiny series (<= TINY_SERIES images) of non-axial images (localizers without
        ImageType; such a series could not give axial slices anyway)."""
        n = len(self.files)
        return bool(n) and (self.localizers == n or (n <= TINY_SERIES and self.non_axial == n))

    def not_ct_reason(self) -> str:
        return not_ct_reason(self.modality, self.sop_class)

    def label(self) -> str:
        parts = [f"uid {self.uid}"]
        if self.number is not None:
            parts.append(f"number {self.number}")
        if self.description:
            parts.append(f"description {self.description!r}")
        kind = self.modality or "no modality"
        if self.is_localizer:
            kind += " localizer"
        if not self.is_ct and self.sop_class:
            kind += f" {getattr(pydicom.uid.UID(self.sop_class), 'name', None) or self.sop_class}"
        parts.append(f"{len(self.files)} images, {kind}")
        return ", ".join(parts)


def scan_dicom_folder(folder: Path, files: list[Path] | None = None) -> list[SeriesInfo]:
    """Group the DICOM files directly inside ``folder`` by SeriesInstanceUID (headers only).

    Files named ``.dcm`` (etc.) that are not DICOM raise :class:`UnreadableFileError`; files
    without extension and without the DICM preamble are ignored. Objects without pixel data
    (DICOMDIR, reports) are kept with ``has_pixels=False``. Series are returned in natural
    order of their first file's name.
    """
    if files is None:
        files = [p for p in _list_files(folder) if is_dicom_candidate(p)]
    series: dict[str, SeriesInfo] = {}
    for path in files:
        ds = read_dataset(path, header_only=True)
        uid = tag_str(ds, "SeriesInstanceUID") or f"(no SeriesInstanceUID: {path.name})"
        info = series.get(uid)
        if info is None:
            info = series[uid] = SeriesInfo(
                uid=uid,
                number=tag_int(ds, "SeriesNumber"),
                description=tag_str(ds, "SeriesDescription"),
                modality=tag_str(ds, "Modality"),
                is_ct=is_ct_dataset(ds),
                has_pixels="Rows" in ds and "Columns" in ds,
                sop_class=tag_str(ds, "SOPClassUID"),
            )
        else:
            # One odd file must not hide the series: it is chosen, and reading it then
            # names that file (a non-CT image in a CT series, a file without pixels).
            info.is_ct = info.is_ct or is_ct_dataset(ds)
            info.has_pixels = info.has_pixels or ("Rows" in ds and "Columns" in ds)
        info.files.append(path)
        info.localizers += is_localizer(ds)
        info.non_axial += _is_non_axial(ds)
    return list(series.values())


def _list_files(folder: Path) -> list[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
    except OSError as exc:
        raise UnreadableFileError(f"cannot list the folder ({exc.strerror})", folder) from exc
    return [Path(e.path) for e in entries if e.is_file() and not e.name.startswith(".")]


def select_series(found: list[SeriesInfo], series: str | int | None, folder: Path) -> tuple[SeriesInfo, str]:
    """Choose one series: by ``series`` (SeriesInstanceUID, SeriesNumber or
    SeriesDescription, tried in that order), else the CT series (not localizer-only) with the most images.

    Returns ``(info, how)`` where ``how`` says why it was chosen. Raises
    :class:`ConfigError` if ``series`` matches none or several series,
    :class:`NotCTError` if the chosen (or every) series is not CT.
    """
    images = [s for s in found if s.has_pixels]
    if not images:
        raise EmptyFolderError("no DICOM image in the folder (only objects without pixel data)", folder)
    if series is not None:
        key = str(series).strip()
        matches = [s for s in images if s.uid == key]
        how = "SeriesInstanceUID"
        if not matches and key.lstrip("+-").isdigit():
            matches = [s for s in images if s.number == int(key)]
            how = "SeriesNumber"
        if not matches:
            matches = [s for s in images if s.description and s.description.lower() == key.lower()]
            how = "SeriesDescription"
        if not matches:
            listing = "; ".join(s.label() for s in images)
            raise ConfigError(f"no series matches {key!r} (by UID, number or description); found: {listing}", folder)
        if len(matches) > 1:
            listing = "; ".join(s.label() for s in matches)
            raise ConfigError(f"{len(matches)} series match {key!r}; give the SeriesInstanceUID: {listing}", folder)
        chosen = matches[0]
        if not chosen.is_ct:
            raise NotCTError(f"series {chosen.uid}: {chosen.not_ct_reason()}", chosen.files[0])
        return chosen, f"series={key!r} matched the {how}"
    ct = [s for s in images if s.is_ct]
    if not ct:
        raise NotCTError(
            "no CT series in the folder: " + "; ".join(s.label() for s in images), images[0].files[0]
        )
    # A localizer series (the scout/topogram the scanner stores beside the scan) is never the
    # volume meant.
    volumes = [s for s in ct if not s.is_localizer]
    if not volumes:
        raise UnsupportedFormatError(
            "the only CT series are localizer/scout images (ImageType LOCALIZER: projection "
            "radiographs, not axial slices): " + "; ".join(s.label() for s in ct), folder
        )
    ct = volumes
    chosen = max(ct, key=lambda s: len(s.files))  # max() keeps the first of equals
    if len(ct) == 1:
        return chosen, "only CT series in the folder"
    return chosen, f"largest of {len(ct)} CT series (pass series= to choose another)"
