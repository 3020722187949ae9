"""An airless lung that is still there: complete consolidation recognised by its air bronchograms.

The HU lung (:mod:`covidseg.inference.lung_hu`) is the air inside the body, so a lung whose
air spaces are filled (pneumonia consolidating a whole lung or its lower lobes) is not found,
and the report would give that side 0 mL like after a pneumonectomy. What tells a consolidated
lung from a pneumonectomy space, an effusion or a collapsed lung without patent airways is the
air bronchogram: its bronchi stay open and show as thin, branching air tubes inside the dense
tissue.

:func:`find_airless_lungs` looks, on the side whose HU lung is much smaller than the other
(and only in the axial slices where that side holds much less lung than the mirror image of
the other lung across the patient's midline), at the mirrored other lung (optionally widened):
its lung-like tissue (not air, bone/contrast or fat), holes (enclosed air) included, is an
airless lung if it carries air bronchograms: air below ``air_hu`` enclosed by that tissue,
away from the mediastinum, thin (no ball of ``max_radius_mm`` fits in it) and long
(``min_length_mm``), at least ``min_bronchogram_ml`` of it. The segmenter then counts that
region as lung and as consolidation (docs/severity.md, "One lung, or a lung without air").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

from covidseg.inference.morph import dilate_in_plane, fill_holes_in_plane


@dataclass(frozen=True)
class AirlessConfig:
    """When an airless region counts as lung (defaults and their reasons: docs/severity.md).

    ``enabled``: False turns the rule off (``covidseg predict --no-airless-lung``).
    ``side_fraction``: a side is examined when its HU lung is below this fraction of the other
    side's (healthy right/left ratios lie around 0.8-1.25). ``slice_fraction``: within it, an
    axial slice is examined when that side's lung there is below this fraction of the other
    lung's area. ``margin_mm``: the mirrored other lung is widened in-plane by this much
    (default none: on cip-ct64 5 mm added ~430 mL of chest wall and mediastinum to ~2100 mL). ``dense_hu``: (low, high) HU of lung-like tissue,
    smoothed over ``smooth_mm`` in-plane: consolidation and partly aerated lung, not air,
    bone or contrast-filled vessels; ``fat_hu``: (low, high) left out as fat. ``air_hu``:
    bronchogram air lies below it. ``max_radius_mm``: air in which a ball of this radius fits
    is not a bronchogram (stomach/bowel gas, a pleural air pocket). ``min_length_mm``: a
    bronchogram's extent (air tubes, 26-connected). ``central_fraction``: air nearer the
    midline than this fraction of the other lung's lateral reach (per slice) is central:
    trachea, oesophagus, a bronchial stump, or main, intermediate and lobar bronchi, which
    stay open in a collapsed lung; bronchograms must lie beyond the hilum.
    ``min_bronchogram_ml``: bronchogram air needed in a region; ``min_region_ml``: smallest
    airless region counted."""

    enabled: bool = True
    side_fraction: float = 0.6
    slice_fraction: float = 0.5
    margin_mm: float = 0.0
    dense_hu: tuple[float, float] = (-500.0, 100.0)
    fat_hu: tuple[float, float] = (-150.0, -50.0)
    smooth_mm: float = 3.0
    air_hu: float = -500.0
    max_radius_mm: float = 5.0
    min_length_mm: float = 20.0
    central_fraction: float = 0.4
    min_bronchogram_ml: float = 1.0
    min_region_ml: float = 50.0

    def __post_init__(self) -> None:
        for name in ("side_fraction", "slice_fraction", "central_fraction"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        for name in ("max_radius_mm", "min_length_mm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("margin_mm", "smooth_mm", "min_bronchogram_ml", "min_region_ml"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("dense_hu", "fat_hu"):
            lo, hi = getattr(self, name)
            if not hi > lo:
                raise ValueError(f"{name} must be (low, high) with high > low, got {getattr(self, name)!r}")
        if not self.dense_hu[0] <= self.air_hu <= self.dense_hu[1]:
            # air and tissue must meet: bronchogram air is what the tissue encloses
            raise ValueError(f"air_hu must lie within dense_hu, got {self.air_hu!r}")


@dataclass
class AirlessLung:
    """One side's airless lung: ``side`` ("right"/"left"), its volume and that of its
    bronchogram air (mL), and the number of axial slices it spans."""

    side: str
    ml: float
    bronchogram_ml: float
    slices: int

    def warning(self) -> str:
        return (f"the {self.side} lung was airless in {self.slices} slice(s): {self.ml:.0f} mL of dense tissue "
                f"carrying air bronchograms ({self.bronchogram_ml:.1f} mL of tubular air) was counted as "
                f"{self.side} lung and as consolidation; check lung.nii.gz and lesion.nii.gz")


@dataclass
class AirlessResult:
    """``mask``: the airless lung voxels (boolean, like the HU volume); ``lungs``: per side found."""

    mask: np.ndarray
    lungs: list[AirlessLung] = field(default_factory=list)

    def warnings(self) -> list[str]:
        return [lung.warning() for lung in self.lungs]


def _odd(n: float) -> int:
    n = max(1, int(round(n)))
    return n if n % 2 else n + 1


def _mirror(mask: np.ndarray, mid: float) -> np.ndarray:
    """``mask`` reflected along its last axis about index ``mid``."""
    width = mask.shape[-1]
    src = np.rint(2.0 * mid - np.arange(width)).astype(np.int64)
    valid = (src >= 0) & (src < width)
    out = np.zeros_like(mask)
    out[..., valid] = mask[..., src[valid]]
    return out


def _opening(mask: np.ndarray, radius_mm: float, spacing) -> np.ndarray:
    """Euclidean opening: the union of the balls of ``radius_mm`` that fit in ``mask``."""
    if not mask.any():
        return mask
    centres = ndi.distance_transform_edt(mask, sampling=spacing) > radius_mm
    if not centres.any():
        return np.zeros_like(mask)
    return mask & (ndi.distance_transform_edt(~centres, sampling=spacing) <= radius_mm)


def _bronchograms(air: np.ndarray, spacing, config: AirlessConfig) -> np.ndarray:
    """Of the enclosed ``air``, the thin (no ``max_radius_mm`` ball fits) and long air tubes."""
    thin = air & ~_opening(air, config.max_radius_mm, spacing)
    labels, n = ndi.label(thin, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return thin
    keep = np.zeros(n + 1, bool)
    step = float(min(spacing))
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        span = np.array([(s.stop - s.start - 1) * sp for s, sp in zip(sl, spacing)])
        keep[k] = float(np.sqrt((span ** 2).sum())) + step >= config.min_length_mm
    return keep[labels]


def _side_region(hu: np.ndarray, lung: np.ndarray, own: np.ndarray, mirrored: np.ndarray, slices: np.ndarray,
                 central: np.ndarray, spacing, config: AirlessConfig) -> tuple[np.ndarray, np.ndarray]:
    """Lung-like tissue (holes filled) in the (widened) mirror of the other lung on one side, in
    the ``slices`` examined, and its bronchogram air. Arrays are (Z, Y, X), X lateral."""
    pixel = np.asarray(spacing[1:], float)
    envelope = dilate_in_plane(mirrored, int(round(config.margin_mm / float(pixel.min())))) & own
    envelope &= ~lung
    envelope[~slices] = False
    if not envelope.any():
        return envelope, envelope
    box = ndi.find_objects(envelope.astype(np.uint8))[0]
    env = envelope[box]
    sub = np.asarray(hu[box], np.float32)
    size = (1,) + tuple(_odd(config.smooth_mm / p) for p in pixel)
    smooth = ndi.uniform_filter(sub, size=size) if max(size) > 1 else sub
    tissue = env & (smooth >= config.dense_hu[0]) & (smooth <= config.dense_hu[1])
    tissue &= ~((smooth >= config.fat_hu[0]) & (smooth <= config.fat_hu[1]))
    region = fill_holes_in_plane(tissue) & env
    air = region & (sub < config.air_hu) & ~central[box]
    bronchi = _bronchograms(air, spacing, config)
    out_region, out_bronchi = np.zeros(hu.shape, bool), np.zeros(hu.shape, bool)
    out_region[box], out_bronchi[box] = region, bronchi
    return out_region, out_bronchi


def find_airless_lungs(
    hu: np.ndarray,
    lung: np.ndarray,
    spacing: Sequence[float] | None,
    orientation: Sequence[str],
    midline: float | None,
    config: AirlessConfig = AirlessConfig(),
) -> AirlessResult:
    """Airless lung with air bronchograms on the side where the HU lung is missing or small.

    ``hu``: volume (Z, Y, X) in HU with ``spacing`` (mm per axis) and ``orientation`` (patient
    direction per axis, axial slices along axis 0); ``lung``: the HU lung mask; ``midline``:
    the body's centre along the lateral axis (array index). Returns an empty result for
    slices, non-axial stacks, unknown spacing or midline, or when ``config.enabled`` is False.
    """
    from covidseg.quantify.sides import lateral_axis

    hu, lung = np.asarray(hu), np.asarray(lung, bool)
    empty = AirlessResult(np.zeros(lung.shape, bool))
    if (not config.enabled or hu.ndim != 3 or hu.shape[0] < 2 or spacing is None or midline is None
            or not lung.any()):
        return empty
    try:
        axis, to_left = lateral_axis(orientation)
    except ValueError:
        return empty
    if axis == 0:
        return empty  # not an axial stack: the mirror needs the lateral axis in-plane
    # lateral axis last (views, no copies)
    swap = axis == 1
    hu_t, lung_t = (np.swapaxes(hu, 1, 2), np.swapaxes(lung, 1, 2)) if swap else (hu, lung)
    spacing_t = (spacing[0], spacing[2], spacing[1]) if swap else tuple(spacing)
    spacing_t = tuple(float(s) for s in spacing_t)
    width = lung_t.shape[-1]
    k = int(np.clip(np.ceil(midline), 0, width))  # indices below the midline: [0, k)
    area = np.stack([np.count_nonzero(lung_t[..., :k], axis=(1, 2)),
                     np.count_nonzero(lung_t[..., k:], axis=(1, 2))])  # (2, Z): low, high side
    total = area.sum(axis=1)
    voxel_ml = float(np.prod(spacing_t)) / 1000.0
    dist = np.abs(np.arange(width) - float(midline))
    result = AirlessResult(np.zeros(lung_t.shape, bool))
    for own in (0, 1):
        other = 1 - own
        if total[own] >= config.side_fraction * total[other] or total[other] * voxel_ml < config.min_region_ml:
            continue  # both lungs there (the usual case: one comparison, nothing else computed)
        slices = (area[own] < config.slice_fraction * area[other]) & (area[other] > 0)
        x = np.arange(width)
        own_side = (x < k) if own == 0 else (x >= k)
        other_lung = lung_t & ~own_side[None, None, :]
        mirrored = _mirror(other_lung, float(midline))
        # per slice, how far the other lung reaches from the midline; central air lies nearer
        reach = np.where(other_lung.any(axis=1), dist[None, :], 0.0).max(axis=1)  # (Z,)
        central = dist[None, None, :] < config.central_fraction * reach[:, None, None]
        region, bronchi = _side_region(hu_t, lung_t, np.broadcast_to(own_side, lung_t.shape), mirrored, slices,
                                       np.broadcast_to(central, lung_t.shape), spacing_t, config)
        labels, n = ndi.label(region)
        if n == 0:
            continue
        size = np.bincount(labels.ravel(), minlength=n + 1) * voxel_ml
        tubes = np.bincount(labels.ravel(), weights=bronchi.ravel(), minlength=n + 1) * voxel_ml
        good = (size >= config.min_region_ml) & (tubes >= config.min_bronchogram_ml)
        good[0] = False
        if not good.any():
            continue
        found = good[labels]
        result.mask |= found
        # array index increasing toward the patient's left: the low side is the right
        side = ("right" if to_left else "left") if own == 0 else ("left" if to_left else "right")
        result.lungs.append(AirlessLung(side, float(size[good].sum()), float(tubes[good].sum()),
                                        int(np.count_nonzero(found.any(axis=(1, 2))))))
    if swap:
        result.mask = np.ascontiguousarray(np.swapaxes(result.mask, 1, 2))
    return result
