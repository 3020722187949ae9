"""The one table of file formats: which suffixes covidseg reads and writes, and what kind each is.

Readers, mask writers, case discovery (``find_cases``), the training/evaluation data loader
(``covidseg.data``) and the GUI's file dialogs all take their lists from here, so adding a
format is one edit. Only the standard library is imported: every module may use this one.
"""

from __future__ import annotations

import os
from pathlib import Path

from covidseg.io.atomic import full_suffix

__all__ = [
    "RASTER_SUFFIXES", "NIFTI_SUFFIXES", "ITK_SUFFIXES", "DICOM_SUFFIXES", "VOLUME_SUFFIXES",
    "IMAGE_SUFFIXES", "MASK_SUFFIXES", "SUPPORTED", "file_kind", "strip_suffix", "is_nifti",
    "is_dicom_candidate", "has_dicom_preamble", "dialog_filter",
]

#: Plain 2-D images (Pillow); a folder of them is one stack of slices.
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg")
#: NIfTI-1/2 volumes (nibabel); longest first, so ``endswith`` tests pick ``.nii.gz``.
NIFTI_SUFFIXES = (".nii.gz", ".nii")
#: NRRD and MetaImage volumes (SimpleITK) → the kind ``read_image`` gives them.
ITK_SUFFIXES = {".nrrd": "nrrd", ".nhdr": "nrrd", ".mha": "metaimage", ".mhd": "metaimage"}
#: Names of DICOM files (files without extension are DICOM when they have the preamble).
DICOM_SUFFIXES = (".dcm", ".dicom", ".ima", ".dic")
#: Single-file volume formats (one case per file in a folder).
VOLUME_SUFFIXES = NIFTI_SUFFIXES + tuple(ITK_SUFFIXES)
#: Every suffix of a readable single file.
IMAGE_SUFFIXES = RASTER_SUFFIXES + VOLUME_SUFFIXES + DICOM_SUFFIXES
#: Suffixes ``write_mask`` writes (besides a folder of PNGs for a stack of slices).
MASK_SUFFIXES = (".png", ".nii", ".nii.gz", ".nrrd", ".mha")

SUPPORTED = (
    "JPG/PNG images (.jpg, .jpeg, .png), a folder of JPG/PNG slices, NIfTI (.nii, .nii.gz), "
    "a DICOM series folder or a DICOM file (.dcm, .dicom, .ima or no extension), "
    "NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd)"
)


def has_dicom_preamble(path: str | os.PathLike) -> bool:
    """True if the file has the 128-byte preamble followed by ``DICM`` (DICOM Part 10)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def is_dicom_candidate(path: Path) -> bool:
    """True for files named like DICOM, or without extension but with the DICM preamble."""
    path = Path(path)
    if path.name.startswith(".") or path.name.upper() == "DICOMDIR":
        return False
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES:
        return True
    if suffix == "" or suffix[1:].isdigit():  # IM0001, 1.2.840.113619.2.55.3.1 ...
        return has_dicom_preamble(path)
    return False


def file_kind(path: str | os.PathLike) -> str | None:
    """The kind of a single file from its name (and DICOM preamble), or None if unsupported:
    ``"image"``, ``"nifti"``, ``"nrrd"``, ``"metaimage"`` or ``"dicom-file"``."""
    suffix = full_suffix(path)
    if suffix in NIFTI_SUFFIXES:
        return "nifti"
    if suffix in ITK_SUFFIXES:
        return ITK_SUFFIXES[suffix]
    if suffix in RASTER_SUFFIXES:
        return "image"
    if is_dicom_candidate(Path(path)):
        return "dicom-file"
    return None


def is_nifti(path: str | os.PathLike) -> bool:
    return full_suffix(path) in NIFTI_SUFFIXES


def strip_suffix(path: str | os.PathLike) -> str:
    """The file name without its known compound extension (``scan.nii.gz`` → ``scan``)."""
    name = Path(path).name
    suffix = full_suffix(path)
    return name[: -len(suffix)] if suffix and name.lower().endswith(suffix) else name


def dialog_filter() -> str:
    """A Qt file-dialog filter of every readable single file (DICOM folders are opened as folders)."""
    patterns = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
    return f"CT images ({patterns});;All files (*)"
