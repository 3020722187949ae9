"""How numbers are shown (panel, CSV/HTML/PDF reports): Qt-free so exports and tests share it."""

from __future__ import annotations

import math

#: badge colours of the lesion/lung ratio grade (none, mild, moderate, severe)
GRADE_COLOURS = {"none": "#2e7d32", "mild": "#f9a825", "moderate": "#ef6c00", "severe": "#c62828"}
UNIT_TEXT = {"mL": "mL", "mm2": "mm²", "pixels": "px", "voxels": "voxels"}
ROWS = ("lung", "lesion", "ggo", "consolidation", "lesion_percent", "ggo_percent", "consolidation_percent")
COLUMNS = ("whole", "right", "left")


def format_size(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    digits = 1 if unit == "mL" else 0
    return f"{value:,.{digits}f} {UNIT_TEXT.get(unit, unit)}"


def format_percent(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.1f} %"


def region_values(region) -> dict[str, float | None]:
    """Numbers of one RegionMeasure by row key (percentages of that region's lung)."""
    if region is None:
        return dict.fromkeys(ROWS)

    def pct(part):
        return None if part is None or not region.lung else 100.0 * part / region.lung

    return {"lung": region.lung, "lesion": region.lesion, "ggo": region.ggo,
            "consolidation": region.consolidation, "lesion_percent": region.lesion_percent,
            "ggo_percent": pct(region.ggo), "consolidation_percent": pct(region.consolidation)}


def format_value(row: str, value: float | None, unit: str) -> str:
    return format_percent(value) if row.endswith("percent") else format_size(value, unit)
