"""Writing a Prediction: masks in the input's geometry, pictures, report.json, DICOM-SEG.

A case is written into a hidden staging folder and renamed into place when complete
(:mod:`covidseg.inference.outputs`), so an interrupted run never leaves a partial case.

Patient data: report.json carries only allowlisted technical metadata of the input
(:data:`SAFE_METADATA`); the patient identifiers in :data:`PHI_KEYWORDS` are added (to
report.json only) when asked with ``include_phi``. A DICOM-SEG is the exception: the DICOM
standard requires it to carry the source's patient and study modules.
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

#: Technical input metadata copied into report.json (an allowlist: anything a reader adds
#: later stays out unless listed here).
SAFE_METADATA = ("format", "modality", "series_uid", "series_number", "sop_class", "manufacturer",
                 "convolution_kernel", "slice_thickness", "rescale_type", "transfer_syntax", "bit_depth")

#: DICOM patient/study identifiers: written only with ``include_phi`` (report.json only).
PHI_KEYWORDS = ("PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "PatientBirthDate",
                "PatientSex", "PatientAge", "PatientAddress", "PatientTelephoneNumbers", "AccessionNumber",
                "StudyID", "StudyDate", "StudyTime", "InstitutionName", "InstitutionAddress",
                "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "StationName")


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
    floor = (f"noise floor: lesion < {sev.noise_floor_percent:g} % of lung and no connected lesion >= "
             f"{sev.noise_floor_ml:g} mL (volumes) / {sev.noise_floor_mm2:g} mm2 (slices) / {sev.noise_floor_px:g} "
             f"pixels or voxels (no spacing) is graded CT-0 / none / zone 0 (noise_floor_applied; raw_* grades "
             f"and the measurements are without the floor; docs/severity.md)") if sev else None
    return {
        "noise_floor": floor,
        "ratio_grade": f"lesion/lung ratio: none = 0 %, mild < {r[0]:g} %, moderate {r[0]:g}-{r[1]:g} %, "
                       f"severe >= {r[1]:g} % (docs/severity.md)",
        "mosmed_grade": f"MosMedData (Morozov et al. 2020): CT-0 no lesion, CT-1 < {m[0]:g} %, CT-2 {m[0]:g}-{m[1]:g} %, "
                        f"CT-3 {m[1]:g}-{m[2]:g} %, CT-4 >= {m[2]:g} % of lung",
        "zone_score": f"each lung in upper/middle/lower thirds of its head-feet extent, 0 none, 1 < {z[0]:g} %, "
                      f"2 {z[0]:g}-{z[1]:g} %, 3 {z[1]:g}-{z[2]:g} %, 4 >= {z[2]:g} %; total 0-24 (volumes only)",
    }


def run_settings(config, precision: str | None, *, dicom_seg: bool, pictures: bool, include_phi: bool) -> dict:
    """The settings that change a case's outputs (``--resume`` redoes a case when they differ;
    batch size and threads do not change the result, so they are not listed)."""
    import dataclasses

    cfg = dataclasses.asdict(config) if config is not None else {}
    for key in ("device", "batch_size", "threads", "keep_probabilities"):
        cfg.pop(key, None)
    cfg.update(precision=precision, dicom_seg=bool(dicom_seg), pictures=bool(pictures), include_phi=bool(include_phi))
    return _jsonable(cfg)


def run_record(identity: dict | None, models: list[dict], settings: dict) -> dict:
    """What produced a case: input identity, model sha256s, settings (compared by --resume)."""
    return _jsonable({"input": identity, "models_sha256": [m.get("sha256") for m in models], "settings": settings})


def patient_data(pred: "Prediction") -> dict:
    """The DICOM patient/study identifiers of the source (``include_phi`` only)."""
    files = (pred.image.metadata or {}).get("files") or []
    if pred.image.kind not in ("dicom-series", "dicom-file") or not files:
        return {}
    import pydicom

    from pydicom.multival import MultiValue

    ds = pydicom.dcmread(files[0], stop_before_pixels=True)
    out = {}
    for keyword in PHI_KEYWORDS:
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        out[keyword] = "\\".join(map(str, value)) if isinstance(value, MultiValue) else str(value)
    return out


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
            # False when the input has no patient geometry (JPG/PNG, a DICOM slice without
            # ImagePositionPatient/ImageOrientationPatient): the axes are assumed to be the
            # radiological display, so "right"/"left" rest on that assumption.
            "orientation_known": img.affine is not None,
            "series_instance_uid": meta.get("series_uid"),
            "metadata": {k: meta[k] for k in SAFE_METADATA if meta.get(k) is not None},
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
        # lesion the HU false-positive filters removed (vessels, dependent bands), in `unit`;
        # null when they did not run (plain images, filters off)
        "lesion_filtered": pred.lesion_filtered,
        "warnings": list(pred.warnings),
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


def default_identity(pred: "Prediction") -> dict | None:
    """The input identity of ``pred.image.source`` (None for an in-memory image)."""
    from covidseg.inference.outputs import input_identity

    src = pred.image.source
    if src is None or not Path(src).exists():
        return None
    meta = pred.image.metadata or {}
    return input_identity(src, meta.get("series_uid") if pred.image.kind == "dicom-series" else None)


def save_prediction(pred: "Prediction", folder: Path, *, dicom_seg: bool = False, pictures: bool = True,
                    include_phi: bool = False) -> list[Path]:
    """Write the case into a staging folder beside ``folder`` and rename it into place.

    An existing ``folder`` is replaced as a whole (atomically on Linux) if it is a covidseg
    case folder (has report.json) or empty; any other existing folder is refused
    (:class:`~covidseg.errors.ConfigError`), so user files are never deleted."""
    from covidseg.errors import ConfigError
    from covidseg.inference.outputs import REPORT_NAME, install, staged_folder

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / REPORT_NAME).is_file())):
        raise ConfigError("exists and is not a covidseg case folder; choose another output folder", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with staged_folder(folder) as tmp:
        names = write_case(pred, tmp, dicom_seg=dicom_seg, pictures=pictures, include_phi=include_phi,
                           identity=default_identity(pred))
        install(tmp, folder, replace=True)
    return [folder / n for n in names]


def write_case(pred: "Prediction", folder: Path, *, dicom_seg: bool = False, pictures: bool = True,
               include_phi: bool = False, identity: dict | None = None) -> list[str]:
    """Write every file of the case into ``folder`` (a staging folder), report.json last with
    the run record and a sha256 manifest; returns the top-level names written."""
    import time

    from covidseg.inference.outputs import REPORT_NAME, manifest_of

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
    names = [p.name for p in written] + [REPORT_NAME]
    report = build_report(pred, names)
    if include_phi:
        report["patient"] = patient_data(pred)
    settings = run_settings(pred.config, pred.precision, dicom_seg=dicom_seg, pictures=pictures,
                            include_phi=include_phi)
    report["run"] = run_record(identity, pred.models, settings)
    report["manifest"] = manifest_of(folder)
    _write_json(report, folder / REPORT_NAME)
    return names


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
