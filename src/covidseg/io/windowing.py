"""Intensity windowing: from Hounsfield units (or stored image values) to the model's [0, 1].

A *window* shows the HU range ``[level - width/2, level + width/2]`` as black → white; values
outside are clipped. The models are trained on 8-bit slices (COVID-SemiSeg JPGs, already
windowed by whoever exported them) divided by 255, so a CT in HU must be windowed into that
same intensity domain before inference: that window is :data:`MODEL_WINDOW`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from covidseg.io.image import CTImage

log = logging.getLogger("covidseg.io")

__all__ = ["Window", "LUNG", "MEDIASTINUM", "MODEL_WINDOW", "window", "to_model_input"]


@dataclass(frozen=True)
class Window:
    """A display window in HU: centre ``level`` and ``width`` (> 0)."""

    level: float
    width: float

    def __post_init__(self):
        if not (np.isfinite(self.level) and np.isfinite(self.width)) or self.width <= 0:
            raise ValueError(f"a window needs a finite level and a width > 0; got {self}")

    @property
    def lower(self) -> float:
        """HU shown black (0.0)."""
        return self.level - self.width / 2

    @property
    def upper(self) -> float:
        """HU shown white (1.0)."""
        return self.level + self.width / 2

    def apply(self, hu: np.ndarray) -> np.ndarray:
        """``window(hu, self.level, self.width)``."""
        return window(hu, self.level, self.width)


#: Lung window (L -600, W 1500: -1350 .. 150 HU): aerated lung, ground glass and
#: consolidation are all distinguishable.
LUNG = Window(-600.0, 1500.0)

#: Mediastinal / soft-tissue window (L 40, W 400: -160 .. 240 HU).
MEDIASTINUM = Window(40.0, 400.0)

#: The window that maps HU to the 8-bit training-image domain of the shipped models:
#: -1100 .. 250 HU (L -425, W 1350). Calibrated on the 98 labelled COVID-SemiSeg slices by
#: matching grey levels of air (~15), aerated lung (~47) and soft tissue (~217) to their HU
#: (see docs/predict.md); the generic LUNG window puts air at grey 60 and soft tissue at
#: 236, off the training images. ``to_model_input`` and the predict pipeline both use it.
MODEL_WINDOW = Window(-425.0, 1350.0)


def window(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    """Map ``hu`` linearly so ``level - width/2`` → 0 and ``level + width/2`` → 1, clipped.

    Returns a new float32 array in [0, 1] (same shape). ``width`` must be > 0.
    """
    Window(level, width)  # validates
    lower = level - width / 2
    out = (np.asarray(hu, dtype=np.float32) - np.float32(lower)) / np.float32(width)
    return np.clip(out, 0.0, 1.0, out=out).astype(np.float32, copy=False)


def to_model_input(img: CTImage, model_window: Window | None = None) -> np.ndarray:
    """``img.array`` as the model's float32 input in [0, 1] (same shape, a new array).

    * HU (``img.is_hu``): windowed with ``model_window`` (default :data:`MODEL_WINDOW`).
    * 8-bit images (and any non-HU data within 0..255): ``/ 255`` — the training domain.
    * 16-bit PNG and other non-HU data: min-max scaled per image/volume to [0, 1]
      (a constant image gives zeros). A 16-bit PNG's unit is unknown — HU + 1024, HU + 32768
      and full-range rescaled exports all exist — so no fixed divisor is right for all;
      min-max keeps the full contrast. For exact results, give such scans as DICOM/NIfTI in
      HU or as 8-bit windowed images.
    """
    arr = img.array
    if img.is_hu:
        w = model_window if model_window is not None else MODEL_WINDOW
        return w.apply(arr)
    bits = img.metadata.get("bit_depth")
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if bits == 8 or (bits is None and lo >= 0 and hi <= 255):
        return np.clip(arr / np.float32(255), 0.0, 1.0).astype(np.float32)
    log.info("%s: %s data that is not HU: min-max scaled to [0, 1]",
             img.source, f"{bits}-bit" if bits else "non-8-bit")
    if hi <= lo:
        return np.zeros_like(arr, dtype=np.float32)
    return ((arr - np.float32(lo)) / np.float32(hi - lo)).astype(np.float32)
