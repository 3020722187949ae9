"""The pictures of a case folder: overlay.png (one slice, or a montage of the most affected
slices, with a legend and caption) and lesion_curve.png (volumes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from covidseg.io import atomic_write
from covidseg.report import render

if TYPE_CHECKING:  # pragma: no cover
    from covidseg.inference.prediction import PredictionData


def _write_png(rgb_or_img, path: Path) -> None:
    img = rgb_or_img if isinstance(rgb_or_img, Image.Image) else Image.fromarray(rgb_or_img)
    with atomic_write(path) as tmp:
        img.save(tmp, format="PNG", optimize=False)


def _display_range(img) -> tuple[float, float] | None:
    if img.is_hu:
        return None
    hi = float(np.max(img.array))
    return (float(np.min(img.array)), hi) if hi > 255 else None


def write_pictures(pred: "PredictionData", folder: Path) -> list[Path]:
    img = pred.image
    value_range = _display_range(img)
    has_classes = pred.classes is not None
    items = render.legend_items(has_classes, pred.lesion is not None, pred.lung is not None)
    m = pred.measurements
    pct = m.whole.lesion_percent
    caption = (f"lesion {pct:.1f} % of lung" if pct is not None else "no lung found") + \
              (f" | {m.severity.mosmed_grade}" if m.severity.mosmed_grade else "")
    out: list[Path] = []
    arr = img.array

    def tile(k=None):
        sl = (lambda a: None if a is None else (a if k is None else a[k]))
        return render.overlay(render.grey(sl(arr), img.is_hu, value_range), sl(pred.lung), sl(pred.classes),
                              sl(pred.lesion))

    if arr.ndim == 2:
        _write_png(render.with_legend(tile(), items, caption), folder / "overlay.png")
        return [folder / "overlay.png"]
    lesion_counts = pred.lesion.sum(axis=(1, 2)) if pred.lesion is not None else np.zeros(arr.shape[0])
    lung_counts = pred.lung.sum(axis=(1, 2)) if pred.lung is not None else np.zeros(arr.shape[0])
    picks = render.pick_slices(lesion_counts, lung_counts)
    unit = m.slice_unit or "pixels"
    per_px = float(np.prod(img.spacing[1:])) if img.spacing is not None else 1.0
    caps = [f"slice {k}: lesion {lesion_counts[k] * per_px:.0f} {render.pretty_unit(unit)}" for k in picks]
    grid = render.montage([tile(k) for k in picks], caps)
    _write_png(render.with_legend(grid, items, caption), folder / "overlay.png")
    out.append(folder / "overlay.png")
    if arr.shape[0] < 2:  # a one-slice stack: a curve would be a single point
        return out
    xlabel = "slice (inferior → superior)" if img.orientation[0].upper() == "S" else "slice"
    with atomic_write(folder / "lesion_curve.png") as tmp:
        render.lesion_curve(list(lesion_counts * per_px), list(lung_counts * per_px), unit, tmp, xlabel=xlabel)
    out.append(folder / "lesion_curve.png")
    return out
