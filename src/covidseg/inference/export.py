"""Writing a Prediction: masks in the input's geometry, pictures, report.json, DICOM-SEG.

Every file goes through :func:`covidseg.io.atomic_write` (a temporary file renamed into
place), so an interrupted run never leaves a half-written file under its final name.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from covidseg import __version__
from covidseg.io import atomic_write, mask_suffix, write_mask
from covidseg.inference import render

if TYPE_CHECKING:  # pragma: no cover
    from covidseg.inference.segmenter import Prediction

VOLUME_KINDS = ("nifti", "dicom-series", "nrrd", "metaimage", "slices")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else round(v, 6)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    return value


def severity_definitions(pred: "Prediction") -> dict:
    sev = pred.config.severity if pred.config is not None else None
    r = sev.ratio_thresholds if sev else (10.0, 30.0)
    m = sev.mosmed_thresholds if sev else (25.0, 50.0, 75.0)
    z = sev.zone_thresholds if sev else (25.0, 50.0, 75.0)
    return {
        "ratio_grade": f"lesion/lung ratio: none = 0 %, mild < {r[0]:g} %, moderate {r[0]:g}-{r[1]:g} %, "
                       f"severe >= {r[1]:g} % (docs/severity.md)",
        "mosmed_grade": f"MosMedData (Morozov et al. 2020): CT-0 no lesion, CT-1 < {m[0]:g} %, CT-2 {m[0]:g}-{m[1]:g} %, "
                        f"CT-3 {m[1]:g}-{m[2]:g} %, CT-4 >= {m[2]:g} % of lung",
        "zone_score": f"each lung in upper/middle/lower thirds of its head-feet extent, 0 none, 1 < {z[0]:g} %, "
                      f"2 {z[0]:g}-{z[1]:g} %, 3 {z[1]:g}-{z[2]:g} %, 4 >= {z[2]:g} %; total 0-24 (volumes only)",
    }


def build_report(pred: "Prediction", files: list[str] | None = None) -> dict:
    img = pred.image
    m = pred.measurements
    meta = img.metadata or {}
    unit_note = {
        "mL": "volumes in mL from the voxel spacing",
        "mm2": "areas in mm^2 from the pixel spacing",
        "pixels": "no pixel spacing is known for this input: areas are pixel counts",
        "voxels": "no voxel spacing is known for this input: volumes are voxel counts",
    }[m.unit]
    report = {
        "covidseg_version": __version__,
        "input": {
            "path": str(img.source) if img.source is not None else None,
            "kind": img.kind,
            "shape": list(img.shape),
            "spacing_mm": list(img.spacing) if img.spacing is not None else None,
            "spacing_known": img.spacing is not None,
            "is_hu": bool(img.is_hu),
            "orientation": list(img.orientation),
            "series_instance_uid": meta.get("series_uid"),
        },
        "models": pred.models,
        "tasks": list(pred.tasks),
        "lung_source": pred.lung_source,
        "precision": pred.precision,
        "unit": m.unit,
        "unit_note": unit_note,
        "measurements": {
            "whole": m.whole, "right": m.right, "left": m.left,
        },
        "severity": m.severity,
        "severity_definitions": severity_definitions(pred),
        "slice_lesion": m.slice_lesion,
        "slice_unit": m.slice_unit,
        "timings_s": dict(pred.timings),
    }
    if files is not None:
        report["files"] = files
    import dataclasses

    def expand(v):
        return dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v

    report["measurements"] = {k: expand(v) for k, v in report["measurements"].items()}
    report["severity"] = expand(report["severity"])
    return _jsonable(report)


def _write_json(obj: dict, path: Path) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_png(rgb_or_img, path: Path) -> None:
    img = rgb_or_img if isinstance(rgb_or_img, Image.Image) else Image.fromarray(rgb_or_img)
    with atomic_write(path) as tmp:
        img.save(tmp, format="PNG", optimize=False)


def save_prediction(pred: "Prediction", folder: Path, *, dicom_seg: bool = False, pictures: bool = True) -> list[Path]:
    import time

    t0 = time.perf_counter()
    img = pred.image
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    suffix = mask_suffix(img)
    png_masks = suffix in (".png", "")  # a slice, or a folder of slice PNGs
    masks = {
        "lung": pred.lung if "lung" in pred.tasks else None,
        "lesion": pred.lesion if "lesion" in pred.tasks else None,
        "classes": pred.classes if "classes" in pred.tasks else None,
    }
    def write(name: str, mask: np.ndarray) -> Path:
        # PNG binary masks as 0/255 (visible in any viewer); NIfTI as 0/1 label maps.
        data = mask.astype(np.uint8) * np.uint8(255 if png_masks and name != "classes" else 1)
        return write_mask(data, img, folder / f"{name}{suffix}")

    # gzip-compressing big NIfTI masks dominates saving and releases the GIL: write them in
    # parallel threads while the pictures are drawn.
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(write, name, mask) for name, mask in masks.items() if mask is not None]
        pictures_written = _pictures(pred, folder) if pictures else []
        written += [f.result() for f in futures]
    written += pictures_written
    if dicom_seg and img.kind in ("dicom-series", "dicom-file"):
        from covidseg.inference.dicom_seg import write_dicom_seg

        written.append(write_dicom_seg(pred, folder / "segmentation.dcm"))
    pred.timings["save"] = round(time.perf_counter() - t0, 4)
    report_path = folder / "report.json"
    names = [p.name for p in written] + [report_path.name]
    _write_json(build_report(pred, names), report_path)
    written.append(report_path)
    return written


def _display_range(img) -> tuple[float, float] | None:
    if img.is_hu:
        return None
    hi = float(np.max(img.array))
    return (float(np.min(img.array)), hi) if hi > 255 else None


def _pictures(pred: "Prediction", folder: Path) -> list[Path]:
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
