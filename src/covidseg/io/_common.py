"""Helpers shared by the readers (not public)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from covidseg.errors import DimensionError, NonFiniteError, UnreadableFileError

#: Below this minimum a volume of unknown unit is taken to be in Hounsfield units: CT in HU
#: always contains air (about -1000 HU), while intensity images have no negative values.
HU_MIN_THRESHOLD = -200.0


def natural_key(name: str):
    """Sort key so that ``2.png`` comes before ``10.png`` (case-insensitive)."""
    parts = re.split(r"(\d+)", name.lower())
    return [int(p) if p.isdigit() else p for p in parts], name


def looks_like_hu(array: np.ndarray) -> bool:
    """Heuristic for formats without a unit (NIfTI, NRRD, MetaImage): min < -200 → HU."""
    return bool(array.size) and float(array.min()) < HU_MIN_THRESHOLD


def check_array(array: np.ndarray, path: Path) -> None:
    """Raise the typed errors for empty axes and non-finite values."""
    if array.size == 0 or 0 in array.shape:
        raise DimensionError(f"empty data (shape {tuple(array.shape)})", path)
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(array.size - np.count_nonzero(finite))
        raise NonFiniteError(
            f"{bad} of {array.size} voxels are NaN or infinite; covidseg needs finite values", path
        )


def squeeze_to_3d(shape: tuple[int, ...], path: Path, what: str) -> tuple[int, ...]:
    """Shape of a volume reduced to 3 axes: trailing length-1 axes dropped, 2-D padded."""
    dims = list(shape)
    while len(dims) > 3 and dims[-1] == 1:
        dims.pop()
    if len(dims) > 3:
        raise DimensionError(
            f"{what} has {len(shape)} dimensions {tuple(shape)}; covidseg reads 2-D or 3-D "
            f"data only (a 4-D series such as a perfusion or multi-phase scan: extract one volume)",
            path,
        )
    if len(dims) < 2:
        raise DimensionError(f"{what} has shape {tuple(shape)}; need 2 or 3 dimensions", path)
    while len(dims) < 3:
        dims.append(1)
    return tuple(dims)


def check_affine(affine: np.ndarray, path: Path) -> None:
    """Refuse a voxel-to-world matrix that cannot place voxels (zero spacing, NaN, collinear axes)."""
    affine = np.asarray(affine, dtype=float)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise UnreadableFileError(
            "the voxel-to-world geometry is degenerate (zero or non-finite spacing, collinear axes)", path
        )
