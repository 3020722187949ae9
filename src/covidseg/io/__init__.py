"""Reading CT in every supported format into one contract, and writing masks back.

>>> from covidseg.io import read_image, write_mask, find_cases, to_model_input
>>> img = read_image("scan.nii.gz")          # CTImage: float32 (z, y, x), spacing, HU ...
>>> write_mask(mask, img, "scan-mask.nii.gz")  # exactly the input's geometry

See ``docs/io.md`` for the formats, the canonical orientation, windowing, case discovery
and the errors raised.
"""

from __future__ import annotations

from covidseg.io.atomic import atomic_write
from covidseg.io.cases import find_cases, safe_name
from covidseg.io.dicom_scan import SeriesInfo, scan_dicom_folder
from covidseg.io.image import CANONICAL_ORIENTATION, KINDS, Case, CTImage
from covidseg.io.formats import SUPPORTED
from covidseg.io.readers import read_case, read_image, read_label_map
from covidseg.io.windowing import (LUNG, MEDIASTINUM, MODEL_WINDOW, WINDOW_KEY, Window, intensity_range,
                                   model_window, to_model_input, to_uint8, to_unit, window, window_metadata)
from covidseg.io.writers import mask_suffix, write_mask

__all__ = [
    "CTImage",
    "Case",
    "KINDS",
    "CANONICAL_ORIENTATION",
    "SUPPORTED",
    "read_image",
    "read_case",
    "read_label_map",
    "find_cases",
    "scan_dicom_folder",
    "SeriesInfo",
    "safe_name",
    "write_mask",
    "mask_suffix",
    "atomic_write",
    "Window",
    "LUNG",
    "MEDIASTINUM",
    "MODEL_WINDOW",
    "window",
    "to_model_input",
    "to_unit",
    "to_uint8",
    "WINDOW_KEY",
    "model_window",
    "window_metadata",
    "intensity_range",
]
