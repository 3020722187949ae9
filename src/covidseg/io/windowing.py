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

__all__ = ["Window", "LUNG", "MEDIASTINUM", "MODEL_WINDOW", "WINDOW_KEY", "window", "to_model_input", "to_unit",
           "to_uint8", "model_window", "window_metadata", "intensity_range"]


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

    @classmethod
    def from_range(cls, low: float, high: float) -> "Window":
        """The window showing ``low`` .. ``high`` HU (``high > low``)."""
        low, high = float(low), float(high)
        if not high > low:
            raise ValueError(f"a window range needs high > low; got ({low}, {high})")
        return cls((low + high) / 2, high - low)


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

#: Metadata key (``config.json`` of a model) holding the HU window ``[low, high]`` the
#: model's training data were mapped through. Written by ``covidseg train``; read by
#: predict, evaluate and the GUI through :func:`model_window`.
WINDOW_KEY = "hu_window"


def window_metadata(w: Window) -> list[float]:
    """``[low, high]`` of ``w``: the value stored under :data:`WINDOW_KEY`."""
    return [float(w.lower), float(w.upper)]


def model_window(metadata: dict | None) -> Window:
    """The HU window a model expects: its metadata ``hu_window`` ``[low, high]``.

    Models saved without the key (the shipped weights, trained on 8-bit COVID-SemiSeg JPGs)
    get :data:`MODEL_WINDOW`, the window calibrated to those images, so their predictions
    do not change. Raises ValueError naming the key if the stored value is malformed.
    """
    value = (metadata or {}).get(WINDOW_KEY)
    if value is None:
        return MODEL_WINDOW
    try:
        low, high = (float(v) for v in value)
        return Window.from_range(low, high)
    except (TypeError, ValueError):
        raise ValueError(f"metadata {WINDOW_KEY!r} must be [low, high] HU with high > low, got {value!r}") from None


def to_unit(array: np.ndarray, is_hu: bool, hu_window: Window = MODEL_WINDOW,
            value_range: tuple[float, float] | None = None) -> np.ndarray:
    """The one intensity mapping of covidseg: raw values → the models' input, float32 in [0, 1].

    Training (``covidseg.data.load_folder``), predict, evaluate and the GUI all go through it.

    * HU (``is_hu``): linear window ``hu_window`` (a model's is :func:`model_window`).
    * Other data: ``value_range`` ``(low, high)`` mapped to 0 .. 1 (the min..max of a
      16-bit image or volume, whose unit is unknown), else 8-bit (``/ 255``).
    """
    if is_hu:
        lo, hi = float(hu_window.lower), float(hu_window.upper)
    else:
        lo, hi = value_range or (0.0, 255.0)
    if hi <= lo:
        raise ValueError(f"window must have high > low, got {(lo, hi)!r}")
    out = (np.asarray(array, np.float32) - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    return np.clip(out, 0.0, 1.0, out=out)


def to_uint8(unit: np.ndarray) -> np.ndarray:
    """[0, 1] values as the 8-bit grey levels of the training images (round half up)."""
    return (np.clip(np.asarray(unit, np.float32), 0.0, 1.0) * np.float32(255) + np.float32(0.5)).astype(np.uint8)


def window(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    """Map ``hu`` linearly so ``level - width/2`` → 0 and ``level + width/2`` → 1, clipped.

    Returns a new float32 array in [0, 1] (same shape). ``width`` must be > 0.
    """
    return to_unit(hu, True, Window(level, width))  # Window validates


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
        return to_unit(arr, True, model_window if model_window is not None else MODEL_WINDOW)
    bits = img.metadata.get("bit_depth")
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if bits == 8 or (bits is None and lo >= 0 and hi <= 255):
        return to_unit(arr, False)
    log.info("%s: %s data that is not HU: min-max scaled to [0, 1]",
             img.source, f"{bits}-bit" if bits else "non-8-bit")
    if hi <= lo:
        return np.zeros_like(arr, dtype=np.float32)
    return to_unit(arr, False, value_range=(lo, hi))


def intensity_range(array: np.ndarray) -> tuple[float, float] | None:
    """``value_range`` for :func:`to_unit` of non-HU data: None (8-bit, ``/ 255``) when the
    values fit 0..255, else the data's own (min, max) (16-bit images of unknown unit)."""
    if not array.size:
        return None
    lo, hi = float(array.min()), float(array.max())
    return (lo, hi) if hi > 255.0 else None
