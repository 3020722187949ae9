"""The pictures of a case folder: overlay.png (one slice, or a montage of the most affected
slices, with a legend and caption) and lesion_curve.png (volumes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from covidseg.io import atomic_write
from covidseg.quantify.sides import cranial_axis
from covidseg.report import render

if TYPE_CHECKING:  # pragma: no cover
    from covidseg.inference.prediction import PredictionData


def _write_png(rgb_or_img, path: Path) -> None:
    img = rgb_or_img if isinstance(rgb_or_img, Image.Image) else Image.fromarray(rgb_or_img)
    with atomic_write(path) as tmp:
        img.save(tmp, format="PNG", optimize=False)


def slice_overlay(pred: "PredictionData", index: int | None = None, *, scale: int | None = None) -> np.ndarray:
    """The overlay (RGB uint8) of slice ``index`` of a volume, or of a 2-D case, as the saved
    pictures and the GUI's report show it: grey levels through :func:`render.display_range`,
    the default :class:`render.OverlayOptions`, enlarged by ``scale`` (default: small
    inputs to about 320 pixels, :func:`render.picture_scale`)."""
    img = pred.image
    arr = img.array
    if arr.ndim == 3 and index is None:
        raise ValueError("index: a volume needs the slice to draw")
    pick = (lambda a: None if a is None else (a if a.ndim == 2 else a[int(index)]))
    grey = render.grey(pick(arr), *render.display_range(arr, img.is_hu))
    scale = render.picture_scale(grey.shape) if scale is None else scale
    return render.paint(grey, lung=pick(pred.lung), classes=pick(pred.classes), lesion=pick(pred.lesion), scale=scale)


def write_pictures(pred: "PredictionData", folder: Path) -> list[Path]:
    """overlay.png (a 2-D case: its overlay; a volume: a montage of the slices with most
    lesion) and, for a volume of two or more slices, lesion_curve.png."""
    img = pred.image
    has_classes = pred.classes is not None
    items = render.legend_items(has_classes, pred.lesion is not None, pred.lung is not None)
    m = pred.measurements
    pct = m.whole.lesion_percent
    caption = (f"lesion {pct:.1f} % of lung" if pct is not None else "no lung found") + \
              (f" | {m.severity.mosmed_grade}" if m.severity.mosmed_grade else "")
    out: list[Path] = []
    arr = img.array
    if arr.ndim == 2:
        _write_png(render.with_legend(slice_overlay(pred), items, caption), folder / "overlay.png")
        return [folder / "overlay.png"]
    lesion_counts = pred.lesion.sum(axis=(1, 2)) if pred.lesion is not None else np.zeros(arr.shape[0])
    lung_counts = pred.lung.sum(axis=(1, 2)) if pred.lung is not None else np.zeros(arr.shape[0])
    picks = render.pick_slices(lesion_counts, lung_counts)
    unit = m.slice_unit or "pixels"
    per_px = float(np.prod(img.spacing[1:])) if img.spacing is not None else 1.0
    caps = [f"slice {k}: lesion {lesion_counts[k] * per_px:.0f} {render.pretty_unit(unit)}" for k in picks]
    grid = render.montage([slice_overlay(pred, k) for k in picks], caps)
    _write_png(render.with_legend(grid, items, caption), folder / "overlay.png")
    out.append(folder / "overlay.png")
    if arr.shape[0] < 2 or m.slice_lesion is None:  # a one-slice stack: a curve would be a single point
        return out
    # the series of the measurements (along the head-feet axis), as the GUI's curve shows them
    head = cranial_axis(img.orientation)
    xlabel = "slice (inferior → superior)" if head is not None and head[1] else "slice"
    with atomic_write(folder / "lesion_curve.png") as tmp:
        render.lesion_curve(list(m.slice_lesion), list(m.slice_lung) if pred.lung is not None else None, unit, tmp,
                            xlabel=xlabel)
    out.append(folder / "lesion_curve.png")
    return out
