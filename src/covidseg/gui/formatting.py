"""How numbers are shown (panel, CSV/HTML/PDF reports): Qt-free so exports and tests share it.

The numbers themselves (rows, regions, percentages) are the report model's
(:class:`covidseg.report.model.CaseReport`)."""

from __future__ import annotations

import math

from covidseg.report.model import REGIONS as COLUMNS
from covidseg.report.model import ROWS, region_values

__all__ = ["GRADE_COLOURS", "UNIT_TEXT", "ROWS", "COLUMNS", "format_size", "format_percent", "region_values",
           "format_value"]

#: badge colours of the lesion/lung ratio grade (none, mild, moderate, severe)
GRADE_COLOURS = {"none": "#2e7d32", "mild": "#f9a825", "moderate": "#ef6c00", "severe": "#c62828"}
UNIT_TEXT = {"mL": "mL", "mm2": "mm²", "pixels": "px", "voxels": "voxels"}


def format_size(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    digits = 1 if unit == "mL" else 0
    return f"{value:,.{digits}f} {UNIT_TEXT.get(unit, unit)}"


def format_percent(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.1f} %"


def format_value(row: str, value: float | None, unit: str) -> str:
    return format_percent(value) if row.endswith("percent") else format_size(value, unit)
