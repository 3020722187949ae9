"""The viewer's grey levels and overlays, through the one painter.

The overlay itself (colours, opacity, lung outline) is :func:`covidseg.report.render.paint`,
re-exported here as :func:`compose`: ``covidseg predict``'s pictures, the GUI's reports and
this viewer draw a slice with the same code. Qt-free on purpose; only :func:`to_qimage`
touches Qt, and imports it lazily.
"""

from __future__ import annotations

import numpy as np

from covidseg.io.windowing import LUNG, MEDIASTINUM, Window
from covidseg.report import render
from covidseg.report.render import (CONSOLIDATION_COLOUR, GGO_COLOUR, LESION_COLOUR, LUNG_COLOUR, OverlayOptions,
                                    lung_outline)
from covidseg.report.render import paint as compose

__all__ = ["DisplayWindow", "PRESETS", "OverlayOptions", "grey", "lung_outline", "compose", "to_qimage",
           "LUNG_COLOUR", "GGO_COLOUR", "CONSOLIDATION_COLOUR", "LESION_COLOUR"]


#: The viewer's grey-level window (level, width, ``lower``/``upper``): covidseg's one HU
#: window type, :class:`covidseg.io.windowing.Window`.
DisplayWindow = Window

#: HU presets of the viewer (name → window); "custom" is whatever the user typed.
PRESETS: dict[str, Window] = {"lung": LUNG, "mediastinum": MEDIASTINUM}


def default_window(array: np.ndarray, is_hu: bool) -> DisplayWindow:
    """Lung window for HU data; otherwise the range of the saved pictures (8-bit: 0..255,
    deeper images: their own min..max; :func:`covidseg.report.render.display_range`)."""
    if is_hu:
        return PRESETS["lung"]
    return DisplayWindow.from_range(*render.display_range(array, False))


def grey(slice2d: np.ndarray, win: DisplayWindow) -> np.ndarray:
    """uint8 (Y, X) display of one slice through ``win``."""
    return render.grey(slice2d, win.lower, win.upper)


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
