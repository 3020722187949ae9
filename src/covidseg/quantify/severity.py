"""Severity grades computed from lesion/lung measurements.

Definitions and sources: docs/severity.md. All thresholds are in percent of lung
involved (lesion volume or area / lung volume or area x 100) and every interval is
closed at its lower end: a value exactly on a boundary belongs to the higher grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class SeverityConfig:
    """Thresholds (percent of lung) of the grades.

    ``ratio_thresholds``: upper bounds of "mild" and "moderate" for the lesion/lung ratio grade
    (``none`` when there is no lesion, ``severe`` at or above the last bound).
    ``mosmed_thresholds``: lower bounds of CT-2, CT-3, CT-4 (MosMedData, Morozov et al. 2020).
    ``zone_thresholds``: lower bounds of zone scores 2, 3, 4 (score 1 = any involvement below
    the first, score 0 = none).

    Noise floor: a case whose lesion is below ``noise_floor_percent`` of the lung *and* whose
    largest connected lesion is below ``noise_floor_ml`` (volumes), ``noise_floor_mm2``
    (slices with a pixel spacing) or ``noise_floor_px`` (no spacing: pixels, or voxels of a
    volume) is graded as without lesion (CT-0, ratio grade ``none``, zone scores 0); the
    measured sizes stay in the report. ``noise_floor_percent=0`` turns the floor off. The
    defaults sit between the false-positive burden of healthy scans and the smallest
    burdens of COVID-19 slices (docs/severity.md).
    """

    ratio_thresholds: tuple[float, float] = (10.0, 30.0)
    ratio_names: tuple[str, str, str, str] = ("none", "mild", "moderate", "severe")
    mosmed_thresholds: tuple[float, float, float] = (25.0, 50.0, 75.0)
    zone_thresholds: tuple[float, float, float] = (25.0, 50.0, 75.0)
    noise_floor_percent: float = 1.0
    noise_floor_ml: float = 1.0
    noise_floor_mm2: float = 100.0
    noise_floor_px: float = 200.0

    def __post_init__(self) -> None:
        for name in ("noise_floor_percent", "noise_floor_ml", "noise_floor_mm2", "noise_floor_px"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= (100.0 if name == "noise_floor_percent" else float("inf")):
                raise ValueError(f"{name} must be >= 0{' and <= 100' if name == 'noise_floor_percent' else ''}, "
                                 f"got {value!r}")
        for name in ("ratio_thresholds", "mosmed_thresholds", "zone_thresholds"):
            values = tuple(getattr(self, name))
            if any(not 0.0 < v <= 100.0 for v in values) or list(values) != sorted(set(values)):
                raise ValueError(f"{name} must be strictly increasing percentages in (0, 100], got {values!r}")
        if len(self.ratio_names) != len(self.ratio_thresholds) + 2:
            raise ValueError(f"ratio_names needs {len(self.ratio_thresholds) + 2} names, got {len(self.ratio_names)}")


DEFAULT_SEVERITY = SeverityConfig()


def _check_percent(percent: float) -> float:
    percent = float(percent)
    if not 0.0 <= percent <= 100.0:  # NaN fails too
        raise ValueError(f"percent must be within [0, 100], got {percent!r}")
    return percent


def _bin(percent: float, bounds: Sequence[float]) -> int:
    """1 + number of lower bounds <= percent (so 1 below the first bound)."""
    return 1 + sum(percent >= b for b in bounds)


def ratio_grade(percent: float, config: SeverityConfig = DEFAULT_SEVERITY) -> str:
    """Lesion/lung ratio grade: none (0 %), mild, moderate, severe (bounds in ``config``)."""
    percent = _check_percent(percent)
    if percent == 0.0:
        return config.ratio_names[0]
    return config.ratio_names[_bin(percent, config.ratio_thresholds)]


def mosmed_grade(percent: float, config: SeverityConfig = DEFAULT_SEVERITY) -> str:
    """MosMedData CT grade: CT-0 no lesion, CT-1 < 25 %, CT-2 25-50 %, CT-3 50-75 %, CT-4 >= 75 %."""
    percent = _check_percent(percent)
    if percent == 0.0:
        return "CT-0"
    return f"CT-{_bin(percent, config.mosmed_thresholds)}"


def zone_score(percent: float, config: SeverityConfig = DEFAULT_SEVERITY) -> int:
    """Score 0-4 of one lung zone: 0 none, 1 < 25 %, 2 25-50 %, 3 50-75 %, 4 >= 75 %."""
    percent = _check_percent(percent)
    if percent == 0.0:
        return 0
    return _bin(percent, config.zone_thresholds)


def noise_floor_size(unit: str, config: SeverityConfig = DEFAULT_SEVERITY) -> float:
    """The largest-lesion limit of the noise floor in ``unit`` (mL, mm2, voxels or pixels)."""
    limits = {"mL": config.noise_floor_ml, "mm2": config.noise_floor_mm2,
              "voxels": config.noise_floor_px, "pixels": config.noise_floor_px}
    if unit not in limits:
        raise ValueError(f"unit must be one of {tuple(limits)}, got {unit!r}")
    return float(limits[unit])


def below_noise_floor(percent: float, largest: float, unit: str, config: SeverityConfig = DEFAULT_SEVERITY) -> bool:
    """True if a lesion of ``percent`` of the lung whose largest connected part measures
    ``largest`` (in ``unit``) is below the noise floor: some lesion, but too little and too
    scattered to be told from the false positives of healthy scans (docs/severity.md)."""
    percent = _check_percent(percent)
    if largest < 0:
        raise ValueError(f"largest must be >= 0, got {largest!r}")
    return 0.0 < percent < config.noise_floor_percent and largest < noise_floor_size(unit, config)
