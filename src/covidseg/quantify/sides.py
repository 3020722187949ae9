"""Left/right lung identification in patient space.

Lungs are told apart by anatomy (two large air-filled components, or one component split
where it is thinnest) and named by the patient direction of the array's lateral axis, never
by image side: the same mask displayed in radiological or neurological convention gets the
same names.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

RIGHT = 1
LEFT = 2
SIDE_NAMES = {RIGHT: "right", LEFT: "left"}

_LATERAL = {"L": True, "R": False}  # letter -> array index increases toward patient's left?
_CRANIAL = {"S": True, "I": False}  # letter -> array index increases toward the head?


def lateral_axis(orientation: Sequence[str]) -> tuple[int, bool]:
    """Return ``(axis, increases_to_left)`` for the array axis running right<->left.

    ``orientation`` gives, per array axis, the patient direction it increases toward
    (e.g. ``("S", "P", "L")``). Raises ``ValueError`` if no axis is lateral (e.g. a
    sagittal slice, where left/right cannot be told apart).
    """
    for axis, letter in enumerate(orientation):
        if letter.upper() in _LATERAL:
            return axis, _LATERAL[letter.upper()]
    raise ValueError(f"orientation {tuple(orientation)!r} has no left-right axis")


def cranial_axis(orientation: Sequence[str]) -> tuple[int, bool] | None:
    """Return ``(axis, increases_to_head)`` for the head-feet axis, or None if absent (2-D axial)."""
    for axis, letter in enumerate(orientation):
        if letter.upper() in _CRANIAL:
            return axis, _CRANIAL[letter.upper()]
    return None


def _two_seeds(lung: np.ndarray, min_fraction: float, max_erosions: int) -> np.ndarray | None:
    """Label image with the two lungs as labels 1 and 2 (seeds), or None if not separable.

    Lungs touching at the anterior junction line form one component; eroding a few times
    usually separates them, the separated cores then act as seeds.
    """
    total = int(lung.sum())
    structure = ndi.generate_binary_structure(lung.ndim, 1)
    core = lung
    for _ in range(max_erosions + 1):
        labels, n = ndi.label(core, structure=structure)
        if n >= 2:
            sizes = np.bincount(labels.ravel())[1:]
            order = np.argsort(sizes)[::-1]
            if sizes[order[1]] >= min_fraction * total:
                seeds = np.zeros(lung.shape, np.uint8)
                seeds[labels == order[0] + 1] = 1
                seeds[labels == order[1] + 1] = 2
                return seeds
        core = ndi.binary_erosion(core, structure=structure)
        if not core.any():
            break
    return None


def _centre(mask: np.ndarray, axis: int, default: float = 0.0) -> float:
    """Mean index of ``mask`` along ``axis`` (from a 1-D profile: no per-voxel coordinates)."""
    other = tuple(a for a in range(mask.ndim) if a != axis)
    profile = np.count_nonzero(mask, axis=other) if other else mask.astype(np.int64)
    total = profile.sum()
    return default if total == 0 else float(np.dot(np.arange(profile.size), profile) / total)


def split_left_right(
    lung: np.ndarray,
    orientation: Sequence[str],
    *,
    min_fraction: float = 0.05,
    max_erosions: int = 6,
    max_voxels: int = 8_000_000,
) -> np.ndarray:
    """Label each lung voxel as :data:`RIGHT` (1) or :data:`LEFT` (2); 0 outside the lung.

    ``lung``: boolean mask, 2-D (Y, X) or 3-D (Z, Y, X). ``orientation``: patient direction per
    axis (see :func:`lateral_axis`). The two largest components (after up to ``max_erosions``
    erosions, each at least ``min_fraction`` of the lung) seed the lungs; every other lung voxel
    joins its nearest seed. If the lungs cannot be separated, the mask is split at the lateral
    centre of mass. Volumes above ``max_voxels`` (in the lung's bounding box) are split on an
    in-plane grid coarsened by a power of two, then every lung voxel takes its cell's side.
    """
    lung = np.asarray(lung, bool)
    if lung.ndim != len(orientation):
        raise ValueError(f"orientation has {len(orientation)} axes but lung mask has {lung.ndim}")
    axis, to_left = lateral_axis(orientation)
    sides = np.zeros(lung.shape, np.uint8)
    if not lung.any():
        return sides
    # Work inside the bounding box, and on a coarser in-plane grid for big volumes: the
    # nearest-seed map needs ~20 bytes per voxel, and left/right only matters at the junction.
    box = ndi.find_objects(lung.astype(np.uint8))[0]
    sub = lung[box]
    step = 1
    while sub[..., ::step, ::step].size > max_voxels and step < 16:
        step *= 2
    coarse = sub[..., ::step, ::step] if step > 1 else sub
    seeds = _two_seeds(coarse, min_fraction, max_erosions)
    if seeds is None:
        centre = _centre(sub, axis)
        shape = [1] * sub.ndim
        shape[axis] = -1
        coords = np.arange(sub.shape[axis]).reshape(shape)
        sub_sides = np.where(coords <= centre, 1, 2).astype(np.uint8) * sub  # lower lateral half -> 1
    else:
        # Nearest seed for every voxel (distance transform of the non-seed region).
        _, idx = ndi.distance_transform_edt(seeds == 0, return_indices=True)
        labels = seeds[tuple(idx)]
        del idx
        if step > 1:
            labels = np.repeat(np.repeat(labels, step, axis=-2), step, axis=-1)
            labels = labels[..., : sub.shape[-2], : sub.shape[-1]]
        sub_sides = np.where(sub, labels, 0).astype(np.uint8)
    # Name the two parts: label 1/2 -> right/left by their lateral centre of mass.
    c1 = _centre(sub_sides == 1, axis, default=-np.inf)
    c2 = _centre(sub_sides == 2, axis, default=np.inf)
    label1_is_left = (c1 > c2) == to_left
    out = np.zeros_like(sub_sides)
    out[sub_sides == 1] = LEFT if label1_is_left else RIGHT
    out[sub_sides == 2] = RIGHT if label1_is_left else LEFT
    sides[box] = out
    return sides


def zones(sides: np.ndarray, orientation: Sequence[str], n_zones: int = 3) -> np.ndarray:
    """Split each lung into ``n_zones`` zones of equal head-feet extent (1 = most cranial).

    Returns a uint8 array, 0 outside the lung. Only defined for volumes with a head-feet axis.
    """
    found = cranial_axis(orientation)
    if found is None or sides.ndim != 3:
        raise ValueError("zones need a 3-D volume with a head-feet axis")
    axis, to_head = found
    other = tuple(a for a in range(3) if a != axis)
    n = sides.shape[axis]
    table = np.zeros((3, n), np.uint8)  # [side, index along the head-feet axis] -> zone
    for side in (RIGHT, LEFT):
        present = np.nonzero(np.any(sides == side, axis=other))[0]
        if present.size == 0:
            continue
        lo, hi = int(present.min()), int(present.max()) + 1
        # Equal thirds of this lung's own extent, numbered from the apex.
        edges = np.linspace(lo, hi, n_zones + 1)
        zone_of_index = np.clip(np.searchsorted(edges, np.arange(n) + 0.5, side="right"), 1, n_zones)
        if to_head:
            zone_of_index = n_zones + 1 - zone_of_index
        table[side] = zone_of_index
    shape = [1, 1, 1]
    shape[axis] = -1
    index = np.arange(n).reshape(shape)
    return table[np.minimum(sides, 2), index]  # 0 where sides == 0 (table row 0 is zeros)
