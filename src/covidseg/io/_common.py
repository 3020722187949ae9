"""Helpers shared by the readers (not public)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from nibabel.orientations import io_orientation

from covidseg.errors import DimensionError, FileMissingError, NonFiniteError, UnreadableFileError

#: Smallest accepted in-plane size (rows and columns) of an image or an axial slice. A CT
#: slice is 256-1024 pixels wide; anything under 32 pixels is an icon, a thumbnail or a
#: wrongly shaped array, and the network would see little but interpolation.
MIN_SIDE = 32
#: Largest accepted 2-D image (pixels), checked from the header before decoding: 8192² is
#: 256 MB as float32, far above any CT slice (512² - 1024²); larger files are
#: decompression bombs or not CT.
MAX_PIXELS = 8192 * 8192
#: Largest accepted volume (voxels) before any voxel is read: 2³⁰ voxels is 4 GiB as float32,
#: e.g. 2000 slices of 724² (a photon-counting scan of 1000 slices of 1024² is 1.05e9).
MAX_VOXELS = 2**30

#: Below this minimum a volume of unknown unit is taken to be in Hounsfield units: CT in HU
#: always contains air (about -1000 HU), while intensity images have no negative values.
HU_MIN_THRESHOLD = -200.0


def check_exists(path: Path) -> None:
    """Refuse a missing path, a broken symbolic link or an unreadable one, naming it."""
    if not os.path.lexists(path):
        raise FileMissingError("no such file or folder", path)
    if not path.exists():
        raise FileMissingError("broken symbolic link", path)
    if not os.access(path, os.R_OK):
        raise UnreadableFileError("permission denied", path)


def natural_key(name: str):
    """Sort key so that ``2.png`` comes before ``10.png`` (case-insensitive)."""
    parts = re.split(r"(\d+)", name.lower())
    return [int(p) if p.isdigit() else p for p in parts], name


def looks_like_hu(array: np.ndarray) -> bool:
    """Heuristic for formats without a unit (NIfTI, NRRD, MetaImage): min < -200 → HU."""
    return bool(array.size) and float(array.min()) < HU_MIN_THRESHOLD


def one_line(text: object, limit: int = 300) -> str:
    """A third-party message (pydicom, nibabel, ITK) as one short line for an error reason."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def check_plane_size(rows: int, cols: int, path: Path, what: str = "image") -> None:
    """Refuse slices that are too small to be CT or too large to decode safely (header values)."""
    if rows < MIN_SIDE or cols < MIN_SIDE:
        raise DimensionError(
            f"{what} is too small: {cols}x{rows} pixels (width x height); covidseg needs axial "
            f"slices of at least {MIN_SIDE}x{MIN_SIDE}", path
        )
    if rows * cols > MAX_PIXELS:
        raise DimensionError(
            f"{what} is too large: {cols}x{rows} pixels (width x height) is over the "
            f"{MAX_PIXELS:,}-pixel limit for one slice; refused before decoding", path
        )


def check_voxel_count(shape: tuple[int, ...], path: Path, what: str = "volume") -> None:
    """Refuse a volume whose header promises more voxels than can be held in memory."""
    n = int(np.prod([int(s) for s in shape], dtype=object))
    if n > MAX_VOXELS:
        dims = "x".join(str(int(s)) for s in shape)
        raise DimensionError(
            f"{what} is too large: {dims} = {n:,} voxels is over the {MAX_VOXELS:,}-voxel limit "
            f"({MAX_VOXELS * 4 // 2**30} GiB as float32); refused before reading", path
        )


def check_spacing(spacing, path: Path, source: str = "spacing") -> None:
    """Refuse zero, negative or non-finite voxel spacing: every mm, mm² and mL would be wrong."""
    values = [float(v) for v in spacing]
    if not all(np.isfinite(v) and v > 0 for v in values):
        shown = ", ".join(f"{v:g}" for v in values)
        raise UnreadableFileError(
            f"voxel spacing ({source} {shown}) must be positive and finite; zero, negative or NaN "
            "spacing makes every size and volume wrong, so the file is refused", path
        )


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
        raise DimensionError(f"{what} has shape {tuple(int(d) for d in shape)}; need 2 or 3 dimensions", path)
    while len(dims) < 3:
        dims.append(1)
    return tuple(dims)


def check_affine(affine: np.ndarray, path: Path) -> None:
    """Refuse a voxel-to-world matrix that cannot place voxels (zero spacing, NaN, collinear axes)."""
    affine = np.asarray(affine, dtype=float)
    # io_orientation leaves an axis unmatched (NaN) when it is (nearly) a combination of the
    # others, e.g. a corrupt sform column of 1e28 mm: the determinant alone misses that.
    if (not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12
            or np.isnan(io_orientation(affine)).any()):
        raise UnreadableFileError(
            "the voxel-to-world matrix is degenerate (not invertible: zero or non-finite spacing, "
            "or two axes pointing the same way), so voxels cannot be placed in space", path
        )
