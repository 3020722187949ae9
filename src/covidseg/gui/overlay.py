"""Pure-numpy pictures for the viewer: grey levels of a slice and colour overlays.

Qt-free on purpose (tests and the HTML/PDF report use it too); only :func:`to_qimage`
touches Qt, and imports it lazily. Colours are those of ``covidseg predict``'s pictures
(:mod:`covidseg.report.render`) so the window and the saved overlays read alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from covidseg.report.render import CONSOLIDATION_COLOUR, GGO_COLOUR, LESION_COLOUR, LUNG_COLOUR

__all__ = ["DisplayWindow", "PRESETS", "OverlayOptions", "grey", "lung_outline", "compose", "to_qimage",
           "LUNG_COLOUR", "GGO_COLOUR", "CONSOLIDATION_COLOUR", "LESION_COLOUR"]


@dataclass(frozen=True)
class DisplayWindow:
    """Grey-level mapping ``[level - width/2, level + width/2]`` → black..white."""

    level: float
    width: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.level) and np.isfinite(self.width)) or self.width <= 0:
            raise ValueError(f"width must be > 0 and level finite, got level={self.level!r} width={self.width!r}")

    @classmethod
    def from_range(cls, low: float, high: float) -> "DisplayWindow":
        if not high > low:
            raise ValueError(f"high must be > low, got {(low, high)!r}")
        return cls((low + high) / 2.0, high - low)


#: HU presets of the viewer (name → window); "custom" is whatever the user typed.
PRESETS: dict[str, DisplayWindow] = {
    "lung": DisplayWindow(-600.0, 1500.0),
    "mediastinum": DisplayWindow(40.0, 400.0),
}


def default_window(array: np.ndarray, is_hu: bool) -> DisplayWindow:
    """Lung window for HU data; the stored range (8-bit, or min..max of deeper images) otherwise."""
    if is_hu:
        return PRESETS["lung"]
    hi = float(np.max(array)) if array.size else 255.0
    if hi > 255.0:  # 16-bit PNG and similar: show their own range
        lo = float(np.min(array))
        return DisplayWindow.from_range(lo, hi if hi > lo else lo + 1.0)
    return DisplayWindow.from_range(0.0, 255.0)


def grey(slice2d: np.ndarray, win: DisplayWindow) -> np.ndarray:
    """uint8 (Y, X) display of one slice through ``win``."""
    lo = win.level - win.width / 2.0
    out = (np.asarray(slice2d, np.float32) - np.float32(lo)) * np.float32(255.0 / win.width)
    return np.clip(out, 0.0, 255.0, out=out).astype(np.uint8)


def lung_outline(lung2d: np.ndarray) -> np.ndarray:
    """Boolean one-pixel border of a 2-D lung mask (inside pixels touching the outside)."""
    lung2d = np.asarray(lung2d, bool)
    if not lung2d.any():
        return lung2d.copy()
    return lung2d & ~ndi.binary_erosion(lung2d, border_value=0)


@dataclass(frozen=True)
class OverlayOptions:
    """What the overlay shows. ``opacity`` in [0, 1] applies to the filled lesion colours."""

    lung: bool = True
    ggo: bool = True
    consolidation: bool = True
    opacity: float = 0.45

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.opacity) <= 1.0:
            raise ValueError(f"opacity must be within [0, 1], got {self.opacity!r}")


def compose(grey2d: np.ndarray, *, lung: np.ndarray | None = None, classes: np.ndarray | None = None,
            lesion: np.ndarray | None = None, options: OverlayOptions = OverlayOptions()) -> np.ndarray:
    """RGB uint8 (Y, X, 3): ``grey2d`` with GGO / consolidation blended at ``options.opacity``
    (or the untyped ``lesion`` when no ``classes`` exist, shown with the GGO switch) and the
    lung outline drawn opaque on top."""
    grey2d = np.asarray(grey2d)
    if grey2d.ndim != 2:
        raise ValueError(f"grey2d must be 2-D, got shape {grey2d.shape}")
    for name, m in (("lung", lung), ("classes", classes), ("lesion", lesion)):
        if m is not None and np.shape(m) != grey2d.shape:
            raise ValueError(f"{name} shape {np.shape(m)} differs from the slice's {grey2d.shape}")
    rgb = np.repeat(grey2d[..., None], 3, axis=2).astype(np.float32)
    alpha = np.float32(options.opacity)

    def paint(mask: np.ndarray, colour) -> None:
        if mask.any():
            rgb[mask] = (1 - alpha) * rgb[mask] + alpha * np.asarray(colour, np.float32)

    if classes is not None:
        if options.ggo:
            paint(classes == 1, GGO_COLOUR)
        if options.consolidation:
            paint(classes == 2, CONSOLIDATION_COLOUR)
    elif lesion is not None and options.ggo:
        paint(np.asarray(lesion, bool), LESION_COLOUR)
    out = np.rint(rgb).astype(np.uint8)
    if lung is not None and options.lung:
        out[lung_outline(lung)] = LUNG_COLOUR
    return out


def to_qimage(array: np.ndarray):
    """A QImage owning a copy of a uint8 (Y, X) grey or (Y, X, 3) RGB array."""
    from PySide6.QtGui import QImage

    a = np.ascontiguousarray(array, dtype=np.uint8)
    if a.ndim == 2:
        h, w = a.shape
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8)
    elif a.ndim == 3 and a.shape[2] == 3:
        h, w, _ = a.shape
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"array must be (Y, X) or (Y, X, 3), got shape {a.shape}")
    return img.copy()  # detach from the numpy buffer, which may be freed
