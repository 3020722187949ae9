"""Quantification: lung/lesion areas and volumes (spacing-aware), left/right lungs, severity grades."""

from covidseg.quantify.measure import Measurements, RegionMeasure, Severity, measure
from covidseg.quantify.severity import SeverityConfig, below_noise_floor, mosmed_grade, ratio_grade, zone_score
from covidseg.quantify.sides import LEFT, RIGHT, lateral_axis, split_left_right, zones

__all__ = [
    "measure", "Measurements", "RegionMeasure", "Severity",
    "SeverityConfig", "below_noise_floor", "mosmed_grade", "ratio_grade", "zone_score",
    "LEFT", "RIGHT", "lateral_axis", "split_left_right", "zones",
]
