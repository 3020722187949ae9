"""Orientation handling shared by the volume readers and the mask writers.

Readers hand over the file's own voxel array in (i, j, k) order with its RAS affine
(nibabel convention). :func:`to_canonical` reorders it to covidseg's canonical layout, array
axes ``(z, y, x)`` increasing toward ``("S", "P", "L")``, using only axis permutations and
flips (never resampling), and records the transform so that :func:`from_canonical` can put a
mask back into the file's exact voxel order.
"""

from __future__ import annotations

import numpy as np
from nibabel.orientations import (
    aff2axcodes,
    apply_orientation,
    axcodes2ornt,
    inv_ornt_aff,
    io_orientation,
    ornt_transform,
)

from covidseg.io.image import CANONICAL_ORIENTATION, NativeGeometry

__all__ = [
    "LPS_TO_RAS",
    "to_canonical",
    "from_canonical",
    "geometry_fields",
    "itk_to_affine",
    "canonical_shape",
]

#: diag(-1, -1, 1, 1): converts world coordinates between DICOM/ITK LPS and NIfTI RAS.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

# (x, y, z) array axes codes such that the (z, y, x) transpose is CANONICAL_ORIENTATION.
_XYZ_TARGET = axcodes2ornt(tuple(reversed(CANONICAL_ORIENTATION)))


def itk_to_affine(origin, spacing, direction) -> np.ndarray:
    """RAS affine of the ITK index order (i, j, k) from ITK's LPS origin/spacing/direction."""
    n = len(origin)
    d = np.asarray(direction, dtype=float).reshape(n, n)
    lps = np.eye(4)
    lps[:n, :n] = d * np.asarray(spacing, dtype=float)[None, :]
    lps[:n, 3] = origin
    return LPS_TO_RAS @ lps


def to_canonical(raw: np.ndarray, affine: np.ndarray, header=None, reorient: bool = True):
    """Reorder a native (i, j, k) array to the canonical ``(z, y, x)`` layout.

    Returns ``(array, native)`` where ``array`` is C-contiguous in (z, y, x) order and
    ``native`` (:class:`NativeGeometry`) holds what :func:`from_canonical` needs. With
    ``reorient=False`` the axes are only transposed ((i, j, k) → (k, j, i)).
    """
    affine = np.asarray(affine, dtype=float)
    if reorient:
        ornt = ornt_transform(io_orientation(affine), _XYZ_TARGET)
    else:
        ornt = _ornt_identity()
    xyz = apply_orientation(raw, ornt)
    array = np.ascontiguousarray(xyz.transpose(2, 1, 0))
    native = NativeGeometry(tuple(int(s) for s in raw.shape), affine.copy(), ornt, header)
    return array, native


def canonical_shape(shape: tuple[int, int, int], affine: np.ndarray) -> tuple[int, int, int]:
    """The ``(z, y, x)`` shape :func:`to_canonical` will give, without touching any voxel
    (so a reader can check the axial slice size before reading the data)."""
    ornt = ornt_transform(io_orientation(np.asarray(affine, dtype=float)), _XYZ_TARGET)
    xyz = [0, 0, 0]
    for axis, (target, _flip) in enumerate(ornt):
        xyz[int(target)] = int(shape[axis])
    return xyz[2], xyz[1], xyz[0]


def canonical_affine(native: NativeGeometry) -> np.ndarray:
    """RAS affine of the canonical array's axes (z, y, x)."""
    xyz_aff = native.affine @ inv_ornt_aff(native.ornt, native.shape)
    return xyz_aff[:, [2, 1, 0, 3]]


def from_canonical(array: np.ndarray, native: NativeGeometry) -> np.ndarray:
    """Undo :func:`to_canonical`: a ``(z, y, x)`` array back to the file's (i, j, k) order."""
    xyz = np.asarray(array).transpose(2, 1, 0)
    raw = apply_orientation(xyz, _invert(native.ornt))
    if tuple(raw.shape) != tuple(native.shape):  # pragma: no cover - internal invariant
        raise AssertionError(f"reoriented shape {raw.shape} != native shape {native.shape}")
    return np.ascontiguousarray(raw)


def _ornt_identity() -> np.ndarray:
    return np.array([[0, 1], [1, 1], [2, 1]], dtype=float)


def _invert(ornt: np.ndarray) -> np.ndarray:
    """Inverse of an orientation transform: ornt sends input axis n to output axis
    ornt[n, 0] (flipped if ornt[n, 1] == -1), so the inverse sends that axis back to n."""
    inv = np.empty_like(np.asarray(ornt, dtype=float))
    for n, (axis, flip) in enumerate(np.asarray(ornt)):
        inv[int(axis)] = (n, flip)
    return inv


def geometry_fields(native: NativeGeometry) -> dict:
    """``spacing``, ``orientation``, ``origin``, ``direction``, ``affine`` of the canonical array."""
    aff = canonical_affine(native)
    zooms = np.sqrt((aff[:3, :3] ** 2).sum(axis=0))
    lps = LPS_TO_RAS @ aff
    # ITK index axes (x, y, z) are the array axes reversed: columns 2, 1, 0 of ``aff``.
    itk_cols = lps[:3, [2, 1, 0]] / zooms[[2, 1, 0]][None, :]
    codes = aff2axcodes(aff)
    return {
        "spacing": tuple(float(z) for z in zooms),
        "orientation": tuple(str(c) for c in codes),
        "origin": tuple(float(v) for v in lps[:3, 3]),
        "direction": tuple(float(v) for v in itk_cols.reshape(-1)),
        "affine": aff,
    }
