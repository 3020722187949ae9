"""Classical lung segmentation for CT in Hounsfield units, whatever the field of view.

Air-like voxels (below ``threshold`` HU) inside the body are the lungs plus the airways and
the gas of the stomach and bowel. "Inside the body" is decided from the body, not from the
image border: the body is the largest 3-D soft-tissue component, and its convex hull in each
slice is where lungs may lie. Air reaching the image border (or the padding outside a
circular field of view) is outside the patient unless it lies mostly inside that hull and
its 3-D component is enclosed by the body in other slices: then the field of view cuts
through a lung, and the lung is kept. The trachea and main bronchi are
tracked from the top of the scan downward and removed; the largest 3-D air component is a
lung, and the next one is the other lung only if it reaches up into the upper half of the
first (gas below the lungs is the stomach or bowel, never a lung); holes (vessels, dense
lesions enclosed by aerated lung) are filled slice by slice. Runs in a few seconds on a
300x512x512 volume and needs no trained weights (Dice 0.98 against the reference mask of
``cip-ct64``, >= 0.997 on it cropped through the lungs: docs/predict.md, "Field of view").

:func:`lung_warnings` checks a lung mask for implausible results (too small for a chest,
one lung missing, lung cut by the field of view or reaching below the other lung's base);
the Segmenter puts them into report.json and the CLI prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

from covidseg.inference.airless import AirlessConfig
from covidseg.inference.morph import IN_PLANE_3D as _IN_PLANE_3D, border_labels, fill_holes_in_plane, lookup


@dataclass(frozen=True)
class HULungConfig:
    """``threshold``: HU below which a voxel is air-like (lung parenchyma, even dense COVID
    lungs, stays mostly below it; everything at or above it counts as body tissue).
    ``second_lung_fraction``: the second-largest air component is kept as a lung if at least
    this fraction of the largest. ``min_lung_ml``: components smaller than this (mL; mm^2 x
    0.1 for a slice) are never lungs (bowel gas, esophagus). ``trachea_max_mm2``: largest
    in-plane area of an airway cross-section while tracking. ``second_lung_top``: the other
    lung's most cranial slice must lie in this upper fraction of the first lung's head-feet
    extent (both lungs reach up to the apex; stomach and bowel gas lie below the lungs).
    ``padding_below``: values below this are padding outside the reconstructed field of view
    (-2048, -3024 ...), not air. Air reaching the image border or the padding is still lung
    (a field of view cutting through it) when at most ``fov_cut_beyond`` of it lies outside
    the body's convex hull and at least ``fov_cut_enclosed`` of its 3-D air component lies
    in slices where the body encloses it (the same lung above or below the cut).
    ``airless``: when an airless lung with air bronchograms on the side of a missing or small
    lung counts as lung and consolidation (:class:`~covidseg.inference.airless.AirlessConfig`;
    applied by the Segmenter to volumes)."""

    threshold: float = -400.0
    second_lung_fraction: float = 0.1
    min_lung_ml: float = 5.0
    trachea_max_mm2: float = 700.0
    trachea_centre_fraction: float = 0.2
    second_lung_top: float = 0.5
    padding_below: float = -1200.0
    fov_cut_beyond: float = 0.5
    fov_cut_enclosed: float = 0.03
    airless: AirlessConfig = AirlessConfig()

    def __post_init__(self):
        if not 0.0 < self.second_lung_fraction <= 1.0:
            raise ValueError(f"second_lung_fraction must be in (0, 1], got {self.second_lung_fraction!r}")
        if self.min_lung_ml < 0:
            raise ValueError(f"min_lung_ml must be >= 0, got {self.min_lung_ml!r}")
        if self.trachea_max_mm2 <= 0:
            raise ValueError(f"trachea_max_mm2 must be > 0, got {self.trachea_max_mm2!r}")
        if not 0.0 < self.second_lung_top <= 1.0:
            raise ValueError(f"second_lung_top must be in (0, 1], got {self.second_lung_top!r}")
        if self.padding_below >= self.threshold:
            raise ValueError(f"padding_below must be below threshold, got {self.padding_below!r}")
        if not 0.0 <= self.fov_cut_beyond < 1.0:
            raise ValueError(f"fov_cut_beyond must be in [0, 1), got {self.fov_cut_beyond!r}")
        if not 0.0 < self.fov_cut_enclosed <= 1.0:
            raise ValueError(f"fov_cut_enclosed must be in (0, 1], got {self.fov_cut_enclosed!r}")


@dataclass
class HULungResult:
    """What :func:`find_lungs_hu` found. ``lung``: boolean mask like the input. ``body_centre``:
    median over the lung slices of the body's centre (array index along each in-plane axis,
    (y, x)), the patient's midline for left/right; None if no body was found.
    ``fov_cut_slices``: slices where the lung touches the image border or the padding outside
    the field of view (the scan cuts the lung there). ``gas_below_ml``: air components left
    out because they lie below the lungs (stomach/bowel gas; mL, mm^2/100 for a slice)."""

    lung: np.ndarray
    body_centre: tuple[float, float] | None = None
    fov_cut_slices: int = 0
    gas_below_ml: float = 0.0


def _coarse_step(shape: tuple[int, ...]) -> int:
    """In-plane stride for the body mask: ~128 px per side tells inside from outside well enough."""
    return max(1, int(round(min(shape[-2:]) / 128)))


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest face-connected component of ``mask`` (3-D for a volume)."""
    labels, n = ndi.label(mask)
    if n <= 1:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == np.argmax(sizes)


def _envelope(ys: np.ndarray, xs: np.ndarray, lower: bool) -> np.ndarray:
    """Indices of the convex (``lower``) or concave envelope of the points (ys[i], xs[i]),
    ``ys`` increasing (Andrew's monotone chain, one pass)."""
    sign = 1.0 if lower else -1.0
    hull: list[int] = []
    for i in range(len(ys)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (ys[b] - ys[a]) * (xs[i] - xs[a]) - (xs[b] - xs[a]) * (ys[i] - ys[a])
            if sign * cross <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    return np.asarray(hull)


def _convex_hull_2d(mask: np.ndarray) -> np.ndarray:
    """Convex hull of a 2-D mask, filled (from the first/last pixel of every row)."""
    out = np.zeros(mask.shape, bool)
    rows = np.nonzero(mask.any(axis=1))[0]
    if rows.size == 0:
        return out
    first = np.argmax(mask[rows], axis=1).astype(np.float64)
    last = (mask.shape[1] - 1 - np.argmax(mask[rows, ::-1], axis=1)).astype(np.float64)
    ys = rows.astype(np.float64)
    left = _envelope(ys, first, lower=True)
    right = _envelope(ys, last, lower=False)
    span = np.arange(rows[0], rows[-1] + 1)
    x0 = np.ceil(np.interp(span, ys[left], first[left]) - 1e-6)
    x1 = np.floor(np.interp(span, ys[right], last[right]) + 1e-6)
    cols = np.arange(mask.shape[1])
    out[span] = (cols >= x0[:, None]) & (cols <= x1[:, None])
    return out


def _body_region(tissue: np.ndarray) -> np.ndarray:
    """Per slice of a (Z, Y, X) mask: the convex hull of the body, the largest 3-D tissue
    component (the table and clothing lie apart from it; chest wall pieces that a small field
    of view cuts off in one slice join it through the neck or abdomen)."""
    body = _largest_component(tissue)
    return np.stack([_convex_hull_2d(b) for b in body])


def _inside_body_air(hu: np.ndarray, config: HULungConfig) -> tuple[np.ndarray, np.ndarray, int]:
    """Air-like voxels inside the body, the coarse body region and its in-plane stride.

    An in-plane air component that reaches the image border (or the padding outside a
    circular field of view) is outside the patient, unless it lies mostly inside the body's
    convex hull and its 3-D component is enclosed by the body elsewhere: then the field of
    view cuts through a lung."""
    vol = hu if hu.ndim == 3 else hu[None]
    air = vol < config.threshold
    has_padding = bool(vol.min() < config.padding_below)  # min() is cheaper than a mask
    nodata = vol < config.padding_below if has_padding else None
    if has_padding:
        air &= ~nodata
    step = _coarse_step(vol.shape)
    region = _body_region(~(air | nodata)[:, ::step, ::step] if has_padding else ~air[:, ::step, ::step])
    labels, n = ndi.label(air, structure=_IN_PLANE_3D)
    if n == 0:
        return (air if hu.ndim == 3 else air[0]), region, step
    edge = border_labels(labels)
    if has_padding:
        near = ndi.binary_dilation(nodata, structure=_IN_PLANE_3D) & air
        edge = np.union1d(edge, np.unique(labels[near]))
    sample = labels[:, ::step, ::step]
    total = np.bincount(sample.ravel(), minlength=n + 1)
    beyond = np.bincount(sample[~region], minlength=n + 1)
    # A lung cut by the field of view lies mostly inside the body hull (a circle cuts it along
    # an arc, the hull along a chord: up to half beyond) and its 3-D component is enclosed by
    # the body in other slices (above or below the cut). Air between the body and a table or
    # drape that joins it may lie inside the hull too, but reaches the edge in every slice.
    # Air mostly beyond the hull is outside for sure and is left out of the 3-D components
    # (a tracheostomy tube must not join the outside air to the lungs).
    unsure = edge[beyond[edge] <= config.fov_cut_beyond * total[edge]]
    outside = np.setdiff1d(edge, unsure)
    if unsure.size and vol.shape[0] > 1:
        rescued = _enclosed_elsewhere(sample, edge, outside, unsure, n, config.fov_cut_enclosed)
        outside = np.union1d(outside, unsure[~rescued])
    else:
        outside = edge
    inside = air & ~lookup(labels, outside, n)
    return (inside if hu.ndim == 3 else inside[0]), region, step


def _enclosed_elsewhere(sample: np.ndarray, edge: np.ndarray, clear: np.ndarray, unsure: np.ndarray, n: int,
                        fraction: float) -> np.ndarray:
    """For each in-plane air component in ``unsure`` (reaching the image edge, mostly inside
    the body hull): whether its 3-D air component lies, for at least ``fraction`` of its
    voxels, in slices where the body encloses it. A lung cut by the field of view is
    enclosed above and below the cut; air around the patient reaches the edge everywhere.

    ``sample``: in-plane labels on the coarse grid (0 = not air); ``clear``: labels of air
    surely outside, left out of the 3-D components."""
    air = lookup(sample, np.setdiff1d(np.arange(1, n + 1), clear), n)
    labels3, n3 = ndi.label(air)
    enclosed = air & ~lookup(sample, edge, n)
    total3 = np.bincount(labels3.ravel(), minlength=n3 + 1)
    enclosed3 = np.bincount(labels3[enclosed], minlength=n3 + 1)
    good3 = enclosed3 >= fraction * np.maximum(total3, 1)
    good3[0] = False
    hits = np.bincount(sample.ravel(), weights=good3[labels3].ravel(), minlength=n + 1)
    return hits[unsure] > 0


def _track_airways(inside: np.ndarray, pixel_mm2: float, cfg: HULungConfig, top_is_last: bool) -> np.ndarray:
    """Trachea and main bronchi: followed slice by slice from the top while their cross-section
    stays small; stops where they merge into the lung parenchyma."""
    airway = np.zeros(inside.shape, bool)
    order = range(inside.shape[0] - 1, -1, -1) if top_is_last else range(inside.shape[0])
    max_px = cfg.trachea_max_mm2 / pixel_mm2
    min_px = 20.0 / pixel_mm2  # a trachea is at least ~5 mm wide
    prev = None
    width = inside.shape[2]
    for z in order:
        labels, n = ndi.label(inside[z])
        if n == 0:
            if prev is not None:
                break
            continue
        sizes = np.bincount(labels.ravel())
        if prev is None:
            # Start: a small air component near the lateral centre of the body.
            cols = np.nonzero(inside.any(axis=(0, 1)))[0]
            centre = 0.5 * (cols.min() + cols.max()) if cols.size else width / 2
            chosen = []
            for lab in range(1, n + 1):
                if not min_px <= sizes[lab] <= max_px:
                    continue
                cx = np.nonzero(labels == lab)[1].mean()
                if abs(cx - centre) <= cfg.trachea_centre_fraction * (cols.max() - cols.min() + 1):
                    chosen.append(lab)
            if not chosen:
                # No airway seen in the top slices (e.g. scan starts below the carina).
                if z != order[0] and abs(z - order[0]) > 3:
                    break
                continue
        else:
            touching = np.unique(labels[prev & (labels > 0)])
            chosen = [lab for lab in touching if sizes[lab] <= max_px]
            if len(chosen) < len(touching):
                break  # merged with lung: stop, leave the rest to the lung
            if not chosen:
                break
        current = np.isin(labels, chosen)
        airway[z] = current
        prev = ndi.binary_dilation(current, iterations=1)
    return airway


def _component_sizes(labels: np.ndarray, n: int) -> np.ndarray:
    """Voxel count per label (index 0 = background, set to 0). Large volumes are counted on
    every 2nd voxel per axis (x8): ranking lungs against bowel gas needs no exact count."""
    step = 2 if labels.size > 16_000_000 else 1
    sample = labels[(slice(None, None, step),) * labels.ndim]
    sizes = np.bincount(sample.ravel(), minlength=n + 1).astype(np.float64) * step ** labels.ndim
    sizes[0] = 0
    return sizes


def find_lungs_hu(
    hu: np.ndarray,
    spacing: tuple[float, ...] | None,
    *,
    top_is_last: bool = True,
    config: HULungConfig = HULungConfig(),
) -> HULungResult:
    """Lung mask of a 2-D slice ``(Y, X)`` or a volume ``(Z, Y, X)`` in HU, with the body's
    centre (the patient's midline) and the gas left out below the lungs.

    ``top_is_last``: True if the last slice is the most cranial (canonical ``("S", ...)``),
    used to track the trachea downward and to tell gas below the lungs. ``spacing``: mm per
    axis (None: 1 mm assumed).
    """
    hu = np.asarray(hu)
    if hu.ndim not in (2, 3):
        raise ValueError(f"hu must be 2-D or 3-D, got shape {hu.shape}")
    if spacing is None:
        spacing = (1.0,) * hu.ndim
    pixel_mm2 = float(spacing[-1] * spacing[-2])
    inside, region, step = _inside_body_air(hu, config)
    volume = hu.ndim == 3 and hu.shape[0] > 1
    if volume:
        inside &= ~_track_airways(inside, pixel_mm2, config, top_is_last)
        unit_ml = pixel_mm2 * float(spacing[0]) / 1000.0
        structure = ndi.generate_binary_structure(3, 1)
    else:
        unit_ml = pixel_mm2 / 100.0  # a slice: compare areas (mm^2 / 100 ~ "mL" of a 10 mm slab)
        structure = ndi.generate_binary_structure(inside.ndim, 1)
    labels, n = ndi.label(inside, structure=structure)
    if n == 0:
        return HULungResult(np.zeros(hu.shape, bool), _body_centre(region, None, step))
    sizes = _component_sizes(labels, n)
    order = np.argsort(sizes)[::-1]
    keep, gas_below = [], 0.0
    if sizes[order[0]] * unit_ml >= config.min_lung_ml:
        keep.append(order[0])
    if keep and n >= 2:
        # Head-feet extents from an in-plane subsample (candidates are big: none is missed).
        sub = 2 if labels[0].size > 65536 else 1
        boxes = ndi.find_objects(labels[:, ::sub, ::sub], max_label=n) if volume else None
        for lab in order[1:]:
            if sizes[lab] < config.second_lung_fraction * sizes[order[0]] or sizes[lab] * unit_ml < config.min_lung_ml:
                break  # sorted by size: no further candidate is big enough
            if boxes is None or (boxes[lab - 1] is not None and boxes[order[0] - 1] is not None
                                 and _reaches_up(boxes[order[0] - 1][0], boxes[lab - 1][0], top_is_last,
                                                 config.second_lung_top)):
                keep.append(lab)
                break
            gas_below += float(sizes[lab]) * unit_ml  # below the lungs: stomach or bowel
    lung = lookup(labels, keep, n)
    # Vessels and lesions enclosed by lung, slice by slice (3-D filling would also fill the
    # mediastinum between lungs joined at the top or bottom).
    lung = fill_holes_in_plane(lung)
    padding = hu < config.padding_below if hu.min() < config.padding_below else None
    return HULungResult(lung, _body_centre(region, lung, step), _cut_slices(lung, padding), gas_below)


def _cut_slices(lung: np.ndarray, padding: np.ndarray | None) -> int:
    """Slices where the lung touches the in-plane image border or the padding (None: none)."""
    vol = lung if lung.ndim == 3 else lung[None]
    touch = vol[:, 0, :].any(axis=1) | vol[:, -1, :].any(axis=1) | vol[:, :, 0].any(axis=1) | vol[:, :, -1].any(axis=1)
    if padding is not None:
        pad = padding if padding.ndim == 3 else padding[None]
        touch |= (ndi.binary_dilation(pad, structure=_IN_PLANE_3D) & vol).any(axis=(1, 2))
    return int(np.count_nonzero(touch))


def _reaches_up(first: slice, other: slice, top_is_last: bool, fraction: float) -> bool:
    """Whether the ``other`` component's cranial end lies in the upper ``fraction`` of the
    ``first`` component's head-feet extent (slices of their bounding boxes along axis 0)."""
    if top_is_last:
        return other.stop - 1 >= first.stop - fraction * (first.stop - first.start)
    return other.start <= first.start + fraction * (first.stop - first.start)


def _body_centre(region: np.ndarray, lung: np.ndarray | None, step: int) -> tuple[float, float] | None:
    """Median over the lung slices (all slices without lung) of the body region's centre,
    as (y, x) indices of the full-resolution grid."""
    counts_y = region.sum(axis=2, dtype=np.int64)  # (Z, Yc)
    counts_x = region.sum(axis=1, dtype=np.int64)  # (Z, Xc)
    totals = counts_y.sum(axis=1)
    rows = totals > 0
    if lung is not None:
        vol = lung if lung.ndim == 3 else lung[None]
        with_lung = vol.any(axis=(1, 2))
        if (rows & with_lung).any():
            rows &= with_lung
    if not rows.any():
        return None
    cy = counts_y[rows] @ np.arange(counts_y.shape[1]) / totals[rows]
    cx = counts_x[rows] @ np.arange(counts_x.shape[1]) / totals[rows]
    return float(np.median(cy)) * step, float(np.median(cx)) * step


def segment_lungs_hu(
    hu: np.ndarray,
    spacing: tuple[float, ...] | None,
    *,
    top_is_last: bool = True,
    config: HULungConfig = HULungConfig(),
) -> np.ndarray:
    """Boolean lung mask of a 2-D slice ``(Y, X)`` or a volume ``(Z, Y, X)`` in HU
    (:func:`find_lungs_hu` without the extras)."""
    return find_lungs_hu(hu, spacing, top_is_last=top_is_last, config=config).lung


@dataclass(frozen=True)
class LungChecks:
    """Limits of :func:`lung_warnings`. ``min_chest_ml``: both lungs together are larger in
    any adult chest CT (even small or diseased lungs hold well over a litre). ``chest_extent_mm``:
    a scan this long (head-feet) covers the chest. ``one_lung_fraction``: a lung below this
    fraction of the other is reported missing. ``below_base_mm``: a lung reaching this far
    below the other lung's base likely includes stomach or bowel gas."""

    min_chest_ml: float = 500.0
    chest_extent_mm: float = 200.0
    one_lung_fraction: float = 0.1
    below_base_mm: float = 50.0


def lung_warnings(
    lung: np.ndarray,
    sides: np.ndarray | None,
    spacing: Sequence[float] | None,
    orientation: Sequence[str],
    *,
    fov_cut_slices: int = 0,
    checks: LungChecks = LungChecks(),
) -> list[str]:
    """One-line warnings about an implausible lung mask (empty, too small for a chest, one
    lung missing, cut by the field of view, not covered by the scan, reaching below the other
    lung's base). Volume checks need a 3-D mask with known spacing; ``sides``: 1 right, 2 left."""
    from covidseg.quantify.sides import LEFT, RIGHT, cranial_axis

    lung = np.asarray(lung, bool)
    out: list[str] = []
    if not lung.any():
        return ["no lung found (not a chest scan, or airless lungs): "
                "all lung measurements are empty"]
    if fov_cut_slices:
        total = lung.shape[0] if lung.ndim == 3 else 1
        out.append(f"the lung touches the edge of the field of view on {fov_cut_slices} of {total} slice(s): the "
                   f"scan cuts through the lung, so lung and lesion volumes miss the part outside it")
    head = cranial_axis(orientation) if len(orientation) == lung.ndim else None
    if lung.ndim != 3 or spacing is None or head is None:
        return out
    axis, to_head = head
    voxel_ml = float(np.prod(spacing)) / 1000.0
    # Per-slice counts (slice along the head-feet axis; lung, right, left): one pass.
    use_sides = sides is not None and sides.shape == lung.shape
    planes_lung = np.moveaxis(lung, axis, 0)
    planes_sides = np.moveaxis(sides, axis, 0) if use_sides else None
    table = np.zeros((lung.shape[axis], 3), np.int64)
    for k in range(table.shape[0]):
        if use_sides:
            table[k] = np.bincount(planes_sides[k].ravel(), minlength=3)[:3]
            table[k, 0] = table[k, RIGHT] + table[k, LEFT]
        else:
            table[k, 0] = np.count_nonzero(planes_lung[k])
    present = np.nonzero(table[:, 0])[0]
    if present.size == 0:
        return out
    n, step_mm = table.shape[0], float(spacing[axis])
    ends = {"first": present[0] == 0, "last": present[-1] == n - 1}
    covered = not any(ends.values())
    whole_ml = float(table[:, 0].sum()) * voxel_ml
    if whole_ml < checks.min_chest_ml and (covered or n * step_mm >= checks.chest_extent_mm):
        out.append(f"lung volume {whole_ml:.0f} mL is implausibly small for a chest CT (< {checks.min_chest_ml:.0f} mL): "
                   f"check lung.nii.gz, the lesion percentages rest on it")
    for end, hit in ends.items():
        if hit:
            out.append(f"the lung reaches the {end} slice: the scan does not cover the whole lung, volumes cover "
                       f"only the part scanned")
    if not use_sides:
        return out
    side_ml = {"right": float(table[:, RIGHT].sum()) * voxel_ml, "left": float(table[:, LEFT].sum()) * voxel_ml}
    big = max(side_ml, key=side_ml.get)
    small = "left" if big == "right" else "right"
    if side_ml[small] < checks.one_lung_fraction * side_ml[big]:
        out.append(f"only the {big} lung was found ({small} lung {side_ml[small]:.0f} mL, {big} {side_ml[big]:.0f} mL): "
                   f"expected after pneumonectomy or with an airless {small} lung without air bronchograms "
                   f"(collapse, effusion, consolidation without open airways, which is then not measured); "
                   f"otherwise check the lung mask")
        return out
    # Caudal end of each lung (mm along the head-feet axis, larger = lower).
    low = {}
    for code, name in ((RIGHT, "right"), (LEFT, "left")):
        idx = np.nonzero(table[:, code])[0]
        low[name] = (-idx[0] if to_head else idx[-1]) * step_mm
    deeper = max(low, key=low.get)
    gap = low[deeper] - min(low.values())
    if gap > checks.below_base_mm:
        out.append(f"the {deeper} lung mask reaches {gap:.0f} mm below the other lung's base: it may include stomach "
                   f"or bowel gas; check the lung mask")
    return out
