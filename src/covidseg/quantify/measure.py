"""Areas/volumes of lung and lesions, per lung, with severity grades.

Everything here works on plain numpy masks in the input's own grid, so the numbers follow
the real voxel spacing: a voxel counts ``prod(spacing)`` mm^3 (volumes, reported in mL) or
a pixel ``sy * sx`` mm^2 (slices, reported in mm^2). Without a known spacing (plain images)
sizes are pixel/voxel counts and the unit says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from covidseg.quantify.severity import DEFAULT_SEVERITY, SeverityConfig, mosmed_grade, ratio_grade, zone_score
from covidseg.quantify.sides import LEFT, RIGHT, cranial_axis, split_left_right, zones

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


def _region(lung, lesion, ggo, cons, unit_size, within=None) -> RegionMeasure:
    def size(mask):
        if mask is None:
            return None
        n = int(np.count_nonzero(mask if within is None else mask & within))
        return n * unit_size

    lung_size, lesion_size = size(lung), size(lesion)
    pct = None if lung_size == 0 else 100.0 * lesion_size / lung_size
    return RegionMeasure(lung_size, lesion_size, size(ggo), size(cons), pct)


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
    ggo = cons = None
    if classes is not None:
        classes = np.asarray(classes)
        if classes.shape != lung.shape:
            raise ValueError(f"classes shape {classes.shape} differs from lung shape {lung.shape}")
        ggo, cons = (classes == 1) & lung, (classes == 2) & lung
    unit_size, unit = _unit_size(lung.ndim, spacing)

    whole = _region(lung, lesion, ggo, cons, unit_size)
    right = left = None
    if sides is None and orientation is not None:
        try:
            sides = split_left_right(lung, orientation)
        except ValueError:  # no lateral axis (e.g. a sagittal slice): no per-lung numbers
            sides = None
    if sides is not None:
        if sides.shape != lung.shape:
            raise ValueError(f"sides shape {sides.shape} differs from lung shape {lung.shape}")
        right = _region(lung, lesion, ggo, cons, unit_size, within=sides == RIGHT)
        left = _region(lung, lesion, ggo, cons, unit_size, within=sides == LEFT)

    pct = whole.lesion_percent
    sev = Severity(
        ratio_grade=None if pct is None else ratio_grade(min(pct, 100.0), severity),
        ratio_thresholds=tuple(severity.ratio_thresholds),
        mosmed_grade=None if pct is None else mosmed_grade(min(pct, 100.0), severity),
    )
    slice_lesion = slice_unit = None
    head = cranial_axis(orientation) if orientation is not None else None
    if lung.ndim == 3:
        axis = head[0] if head is not None else 0
        other = tuple(a for a in range(3) if a != axis)
        counts = lesion.sum(axis=other)
        if spacing is not None:
            slice_size, slice_unit = float(np.prod([spacing[a] for a in other])), "mm2"
        else:
            slice_size, slice_unit = 1.0, "pixels"
        slice_lesion = [float(c) * slice_size for c in counts]
        if sides is not None and head is not None and whole.lung > 0:
            sev = _with_zones(sev, lung, lesion, sides, orientation, severity)
    return Measurements(unit, None if spacing is None else tuple(map(float, spacing)), whole, right, left, sev,
                        slice_lesion, slice_unit)


def _with_zones(sev: Severity, lung, lesion, sides, orientation, config: SeverityConfig) -> Severity:
    zone_map = zones(sides, orientation, n_zones=len(ZONE_NAMES))
    scores: dict[str, int] = {}
    percents: dict[str, float] = {}
    for side, side_name in ((RIGHT, "right"), (LEFT, "left")):
        for z, zone_name in enumerate(ZONE_NAMES, start=1):
            in_zone = (sides == side) & (zone_map == z)
            n_lung = int(np.count_nonzero(in_zone))
            pct = 0.0 if n_lung == 0 else 100.0 * np.count_nonzero(lesion & in_zone) / n_lung
            key = f"{side_name}_{zone_name}"
            percents[key] = pct
            scores[key] = zone_score(pct, config)
    return Severity(sev.ratio_grade, sev.ratio_thresholds, sev.mosmed_grade, scores, percents, sum(scores.values()))
