"""Left/right lung identification in patient space.

A lung's side is the side of the patient's midline it lies on (the body's centre, given by
the caller), named by the patient direction of the array's lateral axis, never by image
side: the same mask displayed in radiological or neurological convention gets the same
names, and a single lung (pneumonectomy, collapse, a whited-out lung) is one side while the
other reports 0. Lungs touching at the anterior junction line are separated where the mask
is thinnest.
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


def _block_any(mask: np.ndarray, step: int) -> np.ndarray:
    """In-plane downsampling by ``step``: a cell is set if any voxel of its block is (an OR of
    ``step**2`` strided views: cheaper than reducing a reshaped copy)."""
    if step == 1:
        return mask
    h, w = mask.shape[-2:]
    out = np.zeros(mask.shape[:-2] + (-(-h // step), -(-w // step)), bool)
    for dy in range(step):
        for dx in range(step):
            part = mask[..., dy::step, dx::step]
            out[..., : part.shape[-2], : part.shape[-1]] |= part
    return out


def _coord(shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Index along ``axis``, broadcastable to ``shape``."""
    view = [1] * len(shape)
    view[axis] = -1
    return np.arange(shape[axis]).reshape(view)


def _split_component(comp: np.ndarray, axis: int, mid: float, min_fraction: float, max_erosions: int) -> np.ndarray:
    """Sides 1 (below ``mid`` along ``axis``) / 2 (above) of one component that straddles the
    midline: two lungs touching at the junction line are separated where the component is
    thinnest (erosion seeds, nearest seed) and each part named by its own centre; without
    such a split the midline plane divides it."""
    seeds = _two_seeds(comp, min_fraction, max_erosions)
    if seeds is None:
        return np.where(_coord(comp.shape, axis) < mid, 1, 2).astype(np.uint8) * comp
    _, idx = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    parts = np.where(comp, seeds[tuple(idx)], 0)
    del idx
    out = np.zeros(comp.shape, np.uint8)
    for part in (1, 2):
        out[parts == part] = 1 if _centre(parts == part, axis) < mid else 2
    return out


def split_left_right(
    lung: np.ndarray,
    orientation: Sequence[str],
    *,
    midline: float | None = None,
    straddle_fraction: float = 0.2,
    min_fraction: float = 0.05,
    max_erosions: int = 6,
    max_voxels: int = 8_000_000,
) -> np.ndarray:
    """Label each lung voxel as :data:`RIGHT` (1) or :data:`LEFT` (2); 0 outside the lung.

    ``lung``: boolean mask, 2-D (Y, X) or 3-D (Z, Y, X). ``orientation``: patient direction per
    axis (see :func:`lateral_axis`). Sides come from the patient's midline, never from the
    relative position of two parts, so a single lung is one side and the other reports 0:
    ``midline`` is its index along the lateral axis (e.g. the body's centre). Without it, the
    midway point between two separable lungs is used, else the centre of the array.

    Each connected lung component lying mostly (all but ``straddle_fraction``) on one side of
    the midline belongs to that side (one lung, even one reaching across the midline after a
    pneumonectomy). A component straddling the midline (lungs touching at the anterior
    junction) is split where it is thinnest: erosion seeds (up to ``max_erosions``, each at
    least ``min_fraction`` of it), every voxel to its nearest seed, each part named by its
    centre. Volumes above ``max_voxels`` (in the lung's bounding box) are labelled on an
    in-plane grid coarsened by a power of two, then every lung voxel takes its cell's side.
    """
    lung = np.asarray(lung, bool)
    if lung.ndim != len(orientation):
        raise ValueError(f"orientation has {len(orientation)} axes but lung mask has {lung.ndim}")
    if not 0.0 <= straddle_fraction < 0.5:
        raise ValueError(f"straddle_fraction must be in [0, 0.5), got {straddle_fraction!r}")
    axis, to_left = lateral_axis(orientation)
    sides = np.zeros(lung.shape, np.uint8)
    if not lung.any():
        return sides
    # Work inside the bounding box, and on a coarser in-plane grid for big volumes: the
    # nearest-seed map needs ~20 bytes per voxel, and left/right only matters at the junction.
    box = ndi.find_objects(lung.astype(np.uint8))[0]
    sub = lung[box]
    step = 1
    while np.prod(sub.shape[:-2]) * -(-sub.shape[-2] // step) * -(-sub.shape[-1] // step) > max_voxels and step < 16:
        step *= 2
    coarse = _block_any(sub, step)
    scale = step if axis >= lung.ndim - 2 else 1  # coarse cells per index along the lateral axis
    # Fine index f (in the box) lies at coarse coordinate (f - (scale - 1) / 2) / scale.
    seeds = _two_seeds(coarse, min_fraction, max_erosions) if midline is None else None
    if seeds is not None:  # already in coarse coordinates
        mid = 0.5 * (_centre(seeds == 1, axis) + _centre(seeds == 2, axis))
    else:
        fine = (lung.shape[axis] - 1) / 2.0 if midline is None else float(midline)
        mid = (fine - box[axis].start - (scale - 1) / 2.0) / scale
    labels, n = ndi.label(coarse)
    total = np.bincount(labels.ravel(), minlength=n + 1)
    k = int(np.clip(np.ceil(mid), 0, coarse.shape[axis]))  # indices < mid: the first k along the axis
    low = np.bincount(labels[(slice(None),) * axis + (slice(0, k),)].ravel(), minlength=n + 1)
    frac_low = low / np.maximum(total, 1)
    table = np.where(frac_low >= 0.5, 1, 2).astype(np.uint8)
    table[0] = 0
    coarse_sides = table[labels]
    straddling = np.nonzero((frac_low > straddle_fraction) & (frac_low < 1.0 - straddle_fraction))[0]
    boxes = ndi.find_objects(labels) if straddling.size else []
    for lab in straddling:
        if lab == 0:
            continue
        where = boxes[lab - 1]
        comp = labels[where] == lab
        local_mid = mid - where[axis].start
        split = _split_component(comp, axis, local_mid, min_fraction, max_erosions)
        coarse_sides[where][comp] = split[comp]
    if step > 1:
        coarse_sides = np.repeat(np.repeat(coarse_sides, step, axis=-2), step, axis=-1)
        coarse_sides = coarse_sides[..., : sub.shape[-2], : sub.shape[-1]]
    sub_sides = np.where(sub, coarse_sides, 0).astype(np.uint8)
    # Name the sides: 1 = lower index along the lateral axis.
    lower_is_left = not to_left
    out = np.zeros_like(sub_sides)
    out[sub_sides == 1] = LEFT if lower_is_left else RIGHT
    out[sub_sides == 2] = RIGHT if lower_is_left else LEFT
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
