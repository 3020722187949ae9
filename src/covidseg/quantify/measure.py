"""Areas/volumes of lung and lesions, per lung, with severity grades.

Everything here works on plain numpy masks in the input's own grid, so the numbers follow
the real voxel spacing: a voxel counts ``prod(spacing)`` mm^3 (volumes, reported in mL) or
a pixel ``sy * sx`` mm^2 (slices, reported in mm^2). Without a known spacing (plain images)
sizes are pixel/voxel counts and the unit says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

import numpy as np
from scipy import ndimage as ndi

from covidseg.quantify.severity import (DEFAULT_SEVERITY, SeverityConfig, below_noise_floor, mosmed_grade,
                                        ratio_grade, zone_score)
from covidseg.quantify.sides import LEFT, RIGHT, cranial_axis, split_left_right

ZONE_NAMES = ("upper", "middle", "lower")


@dataclass(frozen=True)
class RegionMeasure:
    """Sizes within one region (both lungs, or one lung). ``ggo``/``consolidation`` are None
    when lesion types were not segmented; ``lesion_percent`` is None when the region has no lung."""

    lung: float
    lesion: float
    ggo: float | None
    consolidation: float | None
    lesion_percent: float | None


@dataclass(frozen=True)
class Severity:
    ratio_grade: str | None
    ratio_thresholds: tuple[float, ...]
    mosmed_grade: str | None
    zone_scores: dict[str, int] | None = None  # "right_upper" ... "left_lower"
    zone_percent: dict[str, float] | None = None
    zone_total: int | None = None  # 0-24
    # Noise floor (docs/severity.md): the largest connected lesion (in the measurements' unit),
    # whether the floor turned the grades to "no lesion", and the grades without it.
    largest_lesion: float | None = None
    noise_floor_applied: bool = False
    raw_ratio_grade: str | None = None
    raw_mosmed_grade: str | None = None


@dataclass(frozen=True)
class Measurements:
    unit: str  # "mL" | "mm2" | "voxels" | "pixels"
    spacing: tuple[float, ...] | None
    whole: RegionMeasure
    right: RegionMeasure | None
    left: RegionMeasure | None
    severity: Severity
    slice_lesion: list[float] | None = field(default=None)  # per slice along the head-feet axis
    slice_unit: str | None = None
    slice_lung: list[float] | None = None  # lung per slice, same axis and unit as slice_lesion

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unit_size(ndim: int, spacing: Sequence[float] | None) -> tuple[float, str]:
    if spacing is None:
        return 1.0, "voxels" if ndim == 3 else "pixels"
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != ndim or any(not np.isfinite(s) or s <= 0 for s in spacing):
        raise ValueError(f"spacing must have {ndim} positive values, got {spacing!r}")
    size = float(np.prod(spacing))
    return (size / 1000.0, "mL") if ndim == 3 else (size, "mm2")


_OUTSIDE = 31  # code of voxels outside the lung


def _slice_table(lung, lesion, classes, sides, axis: int) -> np.ndarray:
    """Lung voxel counts per (slice along ``axis``, side 0-2, lesion 0-1, class 0-3).

    One uint8 code per voxel and one small histogram per slice: a few passes over the data
    whatever the volume size, and everything else (per lung, per zone, per slice) follows.
    """
    code = np.zeros(lung.shape, np.uint8)
    if sides is not None:
        np.multiply(np.minimum(sides, 2), 8, out=code, casting="unsafe")
    code += lesion.astype(np.uint8) * np.uint8(4)
    if classes is not None:
        code += np.minimum(classes, 3).astype(np.uint8)
    np.putmask(code, ~lung, _OUTSIDE)
    code = np.moveaxis(code, axis, 0) if code.ndim == 3 else code[None]
    table = np.stack([np.bincount(c.ravel(), minlength=32) for c in code])
    return table[:, :24].reshape(-1, 3, 2, 4)


def _region(t: np.ndarray, unit_size: float, has_classes: bool) -> RegionMeasure:
    """``t``: (lesion 0-1, class 0-3) lung voxel counts of one region."""
    n_lung, n_lesion = int(t.sum()), int(t[1].sum())
    pct = None if n_lung == 0 else 100.0 * n_lesion / n_lung
    ggo = float(t[:, 1].sum()) * unit_size if has_classes else None
    cons = float(t[:, 2].sum()) * unit_size if has_classes else None
    return RegionMeasure(n_lung * unit_size, n_lesion * unit_size, ggo, cons, pct)


def measure(
    lung: np.ndarray,
    lesion: np.ndarray,
    classes: np.ndarray | None = None,
    *,
    spacing: Sequence[float] | None = None,
    orientation: Sequence[str] | None = None,
    sides: np.ndarray | None = None,
    severity: SeverityConfig = DEFAULT_SEVERITY,
) -> Measurements:
    """Measure masks of one case.

    ``lung``, ``lesion``: boolean masks (2-D slice or 3-D volume, same shape); lesions are
    counted only inside the lung. ``classes``: 0 background, 1 GGO, 2 consolidation (or None).
    ``spacing``: mm per array axis, or None if unknown. ``orientation``: patient direction per
    axis, needed for left/right (``sides`` may be given instead: 1 right, 2 left, 0 outside)
    and, for volumes, for the zone score.
    """
    lung = np.asarray(lung, bool)
    if lung.ndim not in (2, 3):
        raise ValueError(f"lung must be 2-D or 3-D, got shape {lung.shape}")
    lesion = np.asarray(lesion, bool)
    if lesion.shape != lung.shape:
        raise ValueError(f"lesion shape {lesion.shape} differs from lung shape {lung.shape}")
    lesion = lesion & lung
    if classes is not None:
        classes = np.asarray(classes)
        if classes.shape != lung.shape:
            raise ValueError(f"classes shape {classes.shape} differs from lung shape {lung.shape}")
    unit_size, unit = _unit_size(lung.ndim, spacing)
    has_classes = classes is not None

    if sides is None and orientation is not None:
        try:
            sides = split_left_right(lung, orientation)
        except ValueError:  # no lateral axis (e.g. a sagittal slice): no per-lung numbers
            sides = None
    if sides is not None and sides.shape != lung.shape:
        raise ValueError(f"sides shape {sides.shape} differs from lung shape {lung.shape}")
    head = cranial_axis(orientation) if orientation is not None else None
    axis = head[0] if (head is not None and lung.ndim == 3) else 0
    table = _slice_table(lung, lesion, classes, sides, axis)  # (slice, side, lesion, class)
    per_side = table.sum(axis=0)
    whole = _region(per_side.sum(axis=0), unit_size, has_classes)
    right = left = None
    if sides is not None:
        right = _region(per_side[RIGHT], unit_size, has_classes)
        left = _region(per_side[LEFT], unit_size, has_classes)

    pct = whole.lesion_percent
    sev = Severity(
        ratio_grade=None if pct is None else ratio_grade(min(pct, 100.0), severity),
        ratio_thresholds=tuple(severity.ratio_thresholds),
        mosmed_grade=None if pct is None else mosmed_grade(min(pct, 100.0), severity),
    )
    if lung.ndim == 3 and sides is not None and head is not None and whole.lung > 0:
        sev = _with_zones(sev, table, to_head=head[1], config=severity)
    sev = _with_noise_floor(sev, pct, largest_component(lesion) * unit_size, unit, severity)
    slice_lesion = slice_unit = slice_lung = None
    if lung.ndim == 3:
        other = tuple(a for a in range(3) if a != axis)
        if spacing is not None:
            slice_size, slice_unit = float(np.prod([spacing[a] for a in other])), "mm2"
        else:
            slice_size, slice_unit = 1.0, "pixels"
        slice_lesion = [float(c) * slice_size for c in table[:, :, 1].sum(axis=(1, 2))]
        slice_lung = [float(c) * slice_size for c in table.sum(axis=(1, 2, 3))]
    return Measurements(unit, None if spacing is None else tuple(map(float, spacing)), whole, right, left, sev,
                        slice_lesion, slice_unit, slice_lung)


def largest_component(mask: np.ndarray) -> int:
    """Voxel count of the largest face-connected component of ``mask`` (0 if empty)."""
    found = ndi.find_objects(mask.astype(np.uint8, copy=False))
    if not found:
        return 0
    labels, n = ndi.label(mask[found[0]])
    return int(np.bincount(labels.ravel())[1:].max())


def _with_noise_floor(sev: Severity, pct: float | None, largest: float, unit: str, config: SeverityConfig) -> Severity:
    """Record the largest lesion and the grades without the floor; below the floor, grade as
    no lesion (the measured percentages and sizes are kept)."""
    sev = replace(sev, largest_lesion=largest, raw_ratio_grade=sev.ratio_grade, raw_mosmed_grade=sev.mosmed_grade)
    if pct is None or not below_noise_floor(min(pct, 100.0), largest, unit, config):
        return sev
    zeros = None if sev.zone_scores is None else {k: 0 for k in sev.zone_scores}
    return replace(sev, ratio_grade=config.ratio_names[0], mosmed_grade="CT-0", zone_scores=zeros,
                   zone_total=None if zeros is None else 0, noise_floor_applied=True)


def _with_zones(sev: Severity, table: np.ndarray, *, to_head: bool, config: SeverityConfig) -> Severity:
    """Zone scores from per-slice counts: each lung's head-feet extent in equal thirds
    (same rule as :func:`covidseg.quantify.zones`), numbered from the apex."""
    scores: dict[str, int] = {}
    percents: dict[str, float] = {}
    n_zones = len(ZONE_NAMES)
    for side, side_name in ((RIGHT, "right"), (LEFT, "left")):
        lung_per_slice = table[:, side].sum(axis=(1, 2))
        lesion_per_slice = table[:, side, 1].sum(axis=1)
        present = np.nonzero(lung_per_slice)[0]
        zone_of = np.zeros(len(lung_per_slice), np.int64)
        if present.size:
            lo, hi = int(present.min()), int(present.max()) + 1
            edges = np.linspace(lo, hi, n_zones + 1)
            zone_of = np.clip(np.searchsorted(edges, np.arange(len(lung_per_slice)) + 0.5, side="right"), 1, n_zones)
            if to_head:
                zone_of = n_zones + 1 - zone_of
        for z, zone_name in enumerate(ZONE_NAMES, start=1):
            n_lung = int(lung_per_slice[zone_of == z].sum())
            n_lesion = int(lesion_per_slice[zone_of == z].sum())
            pct = 0.0 if n_lung == 0 else 100.0 * n_lesion / n_lung
            key = f"{side_name}_{zone_name}"
            percents[key] = pct
            scores[key] = zone_score(min(pct, 100.0), config)
    return replace(sev, zone_scores=scores, zone_percent=percents, zone_total=sum(scores.values()))
