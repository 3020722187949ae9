"""Mask clean-up after the networks: lesions only inside the lung, no specks, tidy lungs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from covidseg.inference.morph import dilate_in_plane, fill_holes_in_plane, lookup


def _bbox(mask: np.ndarray) -> tuple[slice, ...] | None:
    found = ndi.find_objects(mask.astype(np.uint8, copy=False))
    return found[0] if found else None


def remove_small_components(mask: np.ndarray, min_voxels: float) -> np.ndarray:
    """Drop connected components (face-connected, 3-D for volumes) smaller than ``min_voxels``."""
    mask = np.asarray(mask, bool)
    if min_voxels <= 1 or not mask.any():
        return mask
    box = _bbox(mask)
    sub = mask[box]
    labels, n = ndi.label(sub)
    sizes = np.bincount(labels.ravel())
    small = sizes < min_voxels
    small[0] = False
    if small.any():
        sub = sub & ~small[labels]  # table lookup: one pass
    out = np.zeros_like(mask)
    out[box] = sub
    return out


def fill_holes_per_slice(mask: np.ndarray) -> np.ndarray:
    """Fill holes in every axial slice (vessels in the lung); 3-D filling would also fill the
    mediastinum between lungs that meet at the apex or base."""
    return fill_holes_in_plane(mask)


def keep_largest(mask: np.ndarray, n: int = 2, min_fraction: float = 0.1) -> np.ndarray:
    """Keep the ``n`` largest components, the 2nd.. only if >= ``min_fraction`` of the largest."""
    mask = np.asarray(mask, bool)
    labels, count = ndi.label(mask)
    if count <= 1:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    order = np.argsort(sizes)[::-1][:n]
    keep = [order[0]] + [o for o in order[1:] if sizes[o] >= min_fraction * sizes[order[0]]]
    return lookup(labels, keep, count)


def clean_lung(mask: np.ndarray) -> np.ndarray:
    """A network's lung mask: the two lungs (largest components), holes filled."""
    return fill_holes_per_slice(keep_largest(mask))


def extend_lung_with_lesions(lung: np.ndarray, lesion: np.ndarray, reach_voxels: int) -> np.ndarray:
    """Add to ``lung`` the lesion voxels within ``reach_voxels`` (in-plane) of it.

    An HU threshold leaves out dense subpleural consolidation that is not enclosed by aerated
    lung; the network sees it as lesion, and lesion tissue next to the lung is lung.
    """
    if reach_voxels <= 0 or not lesion.any() or not lung.any():
        return lung
    extra = lesion & ~lung
    if not extra.any():
        return lung
    box = _bbox(extra | lung)
    near = dilate_in_plane(lung[box], int(reach_voxels))
    out = lung.copy()
    out[box] |= extra[box] & near
    return out


def split_classes(lesion: np.ndarray, ggo: np.ndarray | None, consolidation: np.ndarray | None) -> np.ndarray:
    """Class map (0 background, 1 GGO, 2 consolidation) over ``lesion``: the likelier type per
    voxel; GGO when no type probabilities are known (the commoner pattern in COVID-19)."""
    classes = np.zeros(lesion.shape, np.uint8)
    classes[lesion] = 1
    if ggo is not None and consolidation is not None:
        classes[lesion & (consolidation > ggo)] = 2
    return classes


# ---------------------------------------------------------------- HU false-positive filters
@dataclass(frozen=True)
class LesionFilterConfig:
    """Removal of two false-positive patterns of the lesion network, on CT in HU only (plain
    images carry no density). The measurements behind the defaults: docs/predict.md.

    Vessels marked GGO (``vessels``). A lesion voxel is *thin bright* if it is at least
    ``vessel_contrast_hu`` above the grey opening over a box of about ``2 * vessel_radius_mm``
    per side (in-plane for slices, 3-D for volumes; structures narrower than a vessel vanish in the opening) and
    that opening is aerated lung (below ``aerated_hu``): a vessel, or its blurred edge, in
    normal lung. GGO raises the density of the whole area, so its opening is not aerated.
    Removed are (1) in volumes, thin bright voxels that are also tube-shaped (Hessian at
    sigma ``vessel_radius_mm``: two negative eigenvalues of similar size, ``|l2| >=
    vessel_tube_ratio * |l3|``, and a small third, ``|l1| <= vessel_tube_ratio * |l2|``; a
    nodule is a blob, a fissure a plate; and within ``vessel_radius_mm`` of the tube's axis,
    |gradient| <= vessel_radius_mm * |l2|, which the rim of a larger patch is not), with
    the thin bright and aerated lesion voxels within ``vessel_radius_mm`` of them (the rest
    of the vessel and its partial-volume halo), and (2)
    whole lesion components whose median HU is aerated (below ``aerated_hu``) and of which
    at least ``vessel_fraction`` is thin bright: a vessel tree with its partial-volume halo.

    Dependent density marked lesion (``dependent``). A lesion component is removed if it is
    a thin band along the pleura on the gravity-dependent side: 90 % of its voxels within
    ``band_depth_mm`` (in-plane) of the lung border, its extent along the pleura at least
    ``band_elongation`` times that depth, its median position in the ``dependent_fraction``
    of the lungs nearest ``dependent_side`` (``P`` for a supine patient) and its median HU
    within ``band_hu``. Subpleural lesions that reach deeper, or are round, stay.
    """

    vessels: bool = True
    vessel_radius_mm: float = 2.0
    vessel_contrast_hu: float = 100.0
    vessel_tube_ratio: float = 0.5
    vessel_fraction: float = 0.5
    aerated_hu: float = -700.0
    dependent: bool = True
    dependent_side: str = "P"
    dependent_fraction: float = 0.5
    band_depth_mm: float = 10.0
    band_elongation: float = 3.0
    band_hu: tuple[float, float] = (-700.0, -50.0)

    def __post_init__(self) -> None:
        for name in ("vessel_radius_mm", "band_depth_mm", "band_elongation"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0.0 < self.vessel_tube_ratio < 1.0:
            raise ValueError(f"vessel_tube_ratio must be in (0, 1), got {self.vessel_tube_ratio!r}")
        if not 0.0 <= self.vessel_fraction <= 1.0:
            raise ValueError(f"vessel_fraction must be in [0, 1], got {self.vessel_fraction!r}")
        if self.vessel_contrast_hu < 0:
            raise ValueError(f"vessel_contrast_hu must be >= 0, got {self.vessel_contrast_hu!r}")
        if not 0.0 < self.dependent_fraction <= 1.0:
            raise ValueError(f"dependent_fraction must be in (0, 1], got {self.dependent_fraction!r}")
        if self.dependent_side not in ("P", "A", "L", "R"):
            raise ValueError(f"dependent_side must be one of P, A, L, R, got {self.dependent_side!r}")
        lo, hi = self.band_hu
        if not hi > lo:
            raise ValueError(f"band_hu must be (low, high) with high > low, got {self.band_hu!r}")


def _odd_at_least_3(n: float) -> int:
    n = max(3, int(round(n)))
    return n if n % 2 else n + 1


def _padded_box(mask: np.ndarray, margin) -> tuple[slice, ...]:
    box = _bbox(mask)
    return tuple(slice(max(0, b.start - int(m)), min(n, b.stop + int(m))) for b, m, n in zip(box, margin, mask.shape))


def thin_bright(hu: np.ndarray, spacing, config: LesionFilterConfig) -> np.ndarray:
    """Voxels brighter than the grey opening (a box of about a vessel's diameter, 3-D for
    volumes) by ``vessel_contrast_hu`` where that opening is aerated lung: structures
    narrower than a vessel standing out of normal lung."""
    hu = np.asarray(hu, np.float32)
    size = tuple(_odd_at_least_3((2 * config.vessel_radius_mm + s) / s) for s in spacing)
    opened = ndi.maximum_filter(ndi.minimum_filter(hu, size=size), size=size)
    return (opened < config.aerated_hu) & (hu - opened >= config.vessel_contrast_hu)


def _block_mean(a: np.ndarray, factors) -> np.ndarray:
    """Mean over blocks of ``factors`` voxels (edges padded by repetition)."""
    pad = [(0, (-n) % f) for n, f in zip(a.shape, factors)]
    a = np.pad(a, pad, mode="edge") if any(p for _, p in pad) else a
    shape = []
    for n, f in zip(a.shape, factors):
        shape += [n // f, f]
    return a.reshape(shape).mean(axis=tuple(range(1, 2 * a.ndim, 2)), dtype=np.float32)


def tube_voxels(hu: np.ndarray, candidates: np.ndarray, spacing, config: LesionFilterConfig) -> np.ndarray:
    """Of ``candidates`` (3-D), the voxels on a bright tube at the vessel scale (Hessian)."""
    out = np.zeros(candidates.shape, bool)
    if candidates.ndim != 3 or not candidates.any():
        return out
    spacing = np.asarray(spacing, float)
    # The Hessian at sigma ~ a vessel's radius needs no finer grid than ~sigma: thin slices
    # are block-averaged first (4-16x fewer voxels), so big volumes stay fast.
    factors = np.maximum(1, np.floor(config.vessel_radius_mm / spacing / 1.5)).astype(int)
    spacing_c = spacing * factors
    sigma = np.maximum(config.vessel_radius_mm / spacing_c, 0.7)  # below ~0.7 voxel the Hessian is noise
    box = _padded_box(candidates, np.ceil(4 * sigma) * factors)
    coarse = _block_mean(np.asarray(hu[box], np.float32), factors)
    idx_fine = np.nonzero(candidates[box])
    idx = tuple(np.minimum(i // f, n - 1) for i, f, n in zip(idx_fine, factors, coarse.shape))
    hess = np.empty((idx[0].size, 3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            order = [0, 0, 0]
            order[i] += 1
            order[j] += 1
            hess[:, i, j] = hess[:, j, i] = (ndi.gaussian_filter(coarse, sigma, order=order)[idx]
                                             / (spacing_c[i] * spacing_c[j]))
    grad = np.empty((idx[0].size, 3), np.float32)
    for i in range(3):
        order = [0, 0, 0]
        order[i] = 1
        grad[:, i] = ndi.gaussian_filter(coarse, sigma, order=order)[idx] / spacing_c[i]
    lam = np.linalg.eigvalsh(hess)
    lam = np.take_along_axis(lam, np.argsort(np.abs(lam), axis=1), axis=1)  # |l1| <= |l2| <= |l3|
    a1, a2, a3 = np.abs(lam).T
    # bright (both strong curvatures negative), not a blob (l1 small), not a plate (l2 ~ l3)
    ratio = config.vessel_tube_ratio
    # near the axis: across a tube profile |gradient| / |curvature| is the distance from the
    # axis; at the rim of a larger patch it is the patch's radius of curvature
    near_axis = np.linalg.norm(grad, axis=1) <= config.vessel_radius_mm * a2
    tube = (lam[:, 1] < 0) & (lam[:, 2] < 0) & (a1 <= ratio * a2) & (a2 >= ratio * a3) & near_axis
    sub_out = np.zeros(candidates[box].shape, bool)
    sub_out[tuple(a[tube] for a in idx_fine)] = True
    out[box] = sub_out
    return out


def _component_medians(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Median of ``values`` per label 1..n (index 0 unused), one sort for all components."""
    flat = labels.ravel()
    keep = flat > 0
    return _sorted_medians(flat[keep], values.ravel()[keep], n)


def _sorted_medians(lab: np.ndarray, val: np.ndarray, n: int) -> np.ndarray:
    """Median of ``val`` per label ``lab`` in 1..n (index 0 unused): the labelled voxels only."""
    order = np.lexsort((val, lab))
    lab, val = lab[order], val[order]
    counts = np.bincount(lab, minlength=n + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    med = np.zeros(n + 1, np.float64)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    med[has] = (val[lo].astype(np.float64) + val[hi]) / 2.0
    return med


def vessel_lesions(hu: np.ndarray, lesion: np.ndarray, spacing, config: LesionFilterConfig) -> np.ndarray:
    """Lesion voxels that are vessels in aerated lung (see :class:`LesionFilterConfig`)."""
    lesion = np.asarray(lesion, bool)
    out = np.zeros(lesion.shape, bool)
    if not lesion.any() or spacing is None:
        return out
    box = _padded_box(lesion, [_odd_at_least_3((2 * config.vessel_radius_mm + s) / s) for s in spacing])
    sub_hu = np.asarray(hu[box], np.float32)
    sub = lesion[box]
    thin = thin_bright(sub_hu, spacing, config) & sub
    removed = tube_voxels(sub_hu, thin, spacing, config) if sub.ndim == 3 else np.zeros(sub.shape, bool)
    if removed.any():
        # the rest of the vessel and its partial-volume halo: thin bright or aerated lesion
        # voxels within a vessel radius of the tube
        reach = tuple(_odd_at_least_3(2 * config.vessel_radius_mm / s + 1) for s in spacing)
        removed |= sub & (thin | (sub_hu < config.aerated_hu)) & ndi.maximum_filter(removed, size=reach)
    labels, n = ndi.label(sub)
    size = np.bincount(labels.ravel(), minlength=n + 1)
    # counts, not a float64 weights copy of the whole box (thin lies inside the lesion)
    thin_share = np.bincount(labels[thin], minlength=n + 1) / np.maximum(size, 1)
    vessel_tree = (_component_medians(sub_hu, labels, n) < config.aerated_hu) & (thin_share >= config.vessel_fraction)
    vessel_tree[0] = False
    removed |= vessel_tree[labels]
    out[box] = removed
    return out


def _axis_toward(orientation, side: str) -> tuple[int, bool] | None:
    """(array axis, True if indices increase toward ``side``), or None if no axis runs along it."""
    opposite = {"P": "A", "A": "P", "L": "R", "R": "L"}[side]
    for axis, letter in enumerate(orientation):
        letter = str(letter).upper()[:1]
        if letter in (side, opposite):
            return axis, letter == side
    return None


def dependent_bands(hu: np.ndarray, lesion: np.ndarray, lung: np.ndarray, spacing, orientation,
                    config: LesionFilterConfig) -> np.ndarray:
    """Lesion components that are thin bands along the pleura on the dependent side."""
    lesion = np.asarray(lesion, bool)
    out = np.zeros(lesion.shape, bool)
    found = _axis_toward(orientation, config.dependent_side) if orientation is not None else None
    if not lesion.any() or found is None or spacing is None:
        return out
    axis, increasing = found
    if lesion.ndim == 3 and axis == 0:
        return out  # not an axial stack: the in-plane depth would run along gravity
    region = np.asarray(lung, bool) | lesion
    pixel = np.asarray(spacing, float)[-2:]
    # in-plane distance to the lung border, over the lesion's slices and the lung's box only
    depth = np.zeros(region.shape, np.float32)
    box = _bbox(region)
    if lesion.ndim == 3:
        zs = np.nonzero(lesion.any(axis=(1, 2)))[0]
        box = (slice(zs.min(), zs.max() + 1),) + box[1:]
    crop = np.pad(region[box].reshape(-1, *region[box].shape[-2:]), ((0, 0), (1, 1), (1, 1)))
    # lung cut by the image edge (small field of view) does not end at a pleura there
    for axis_, side in ((1, 0), (1, -1), (2, 0), (2, -1)):
        b = box[region.ndim - 3 + axis_]
        if (b.start == 0) if side == 0 else (b.stop == region.shape[region.ndim - 3 + axis_]):
            edge = [slice(None)] * 3
            edge[axis_] = side
            crop[tuple(edge)] = True
    dist = np.stack([ndi.distance_transform_edt(c, sampling=pixel)[1:-1, 1:-1] for c in crop])
    depth[box] = dist.reshape(region[box].shape)
    # position along gravity over the whole lung: 0 non-dependent side .. 1 dependent side
    present = np.nonzero(region.any(axis=tuple(a for a in range(region.ndim) if a != axis)))[0]
    lo, hi = present.min(), present.max()
    pos = (np.arange(region.shape[axis]) - lo) / max(hi - lo, 1)
    pos = pos if increasing else 1.0 - pos
    spacing = np.asarray(spacing, float)
    labels, n = ndi.label(lesion)
    # cheap tests for all components at once (one sort each), the shape only for the rest
    # per-component medians over the lesion voxels only (no volume-sized copies)
    where = np.flatnonzero(labels)
    lab = labels.ravel()[where]
    median_hu = _sorted_medians(lab, np.asarray(hu, np.float32).ravel()[where], n)
    median_pos = _sorted_medians(lab, pos.astype(np.float32)[np.unravel_index(where, lesion.shape)[axis]], n)
    maybe = ((median_hu >= config.band_hu[0]) & (median_hu <= config.band_hu[1])
             & (median_pos >= 1.0 - config.dependent_fraction))
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None or not maybe[k]:
            continue
        comp = labels[sl] == k
        thick = float(np.percentile(depth[sl][comp], 90))
        extent = max((s.stop - s.start) * sp for s, sp in zip(sl, spacing))
        if thick <= config.band_depth_mm and extent >= config.band_elongation * max(thick, float(spacing[-1])):
            out[sl] |= comp
    return out


def filter_hu_lesions(hu: np.ndarray, lesion: np.ndarray, lung: np.ndarray, spacing, orientation,
                      config: LesionFilterConfig) -> tuple[np.ndarray, dict[str, int]]:
    """``lesion`` without vessels and dependent bands (HU input), and the voxels each removed."""
    lesion = np.asarray(lesion, bool)
    removed = {"vessels": 0, "dependent": 0}
    if config.vessels:
        vessels = vessel_lesions(hu, lesion, spacing, config)
        removed["vessels"] = int(vessels.sum())
        lesion = lesion & ~vessels
    if config.dependent:
        bands = dependent_bands(hu, lesion, lung, spacing, orientation, config)
        removed["dependent"] = int(bands.sum())
        lesion = lesion & ~bands
    return lesion, removed
