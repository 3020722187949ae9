"""Writing one case folder: masks in the input's geometry, pictures, DICOM-SEG, and report.json
(last) with the run record and a sha256 manifest.

A case is written into a hidden staging folder and renamed into place when complete
(:mod:`covidseg.batch.outputs`), so an interrupted run never leaves a partial case.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from covidseg.batch.outputs import REPORT_NAME, input_identity, install, interrupts_held, manifest_of, staged_folder
from covidseg.errors import ConfigError
from covidseg.io import atomic_write, mask_suffix, write_mask
from covidseg.report.model import CaseReport, jsonable, patient_data
from covidseg.report.pictures import write_pictures

if TYPE_CHECKING:  # pragma: no cover
    from covidseg.inference.prediction import PredictionData


def run_settings(config, precision: str | None, *, dicom_seg: bool, pictures: bool, include_phi: bool) -> dict:
    """The settings that change a case's outputs (``--resume`` redoes a case when they differ;
    batch size and threads do not change the result, so they are not listed)."""
    import dataclasses

    cfg = dataclasses.asdict(config) if config is not None else {}
    for key in ("device", "batch_size", "threads", "keep_probabilities"):
        cfg.pop(key, None)
    cfg.update(precision=precision, dicom_seg=bool(dicom_seg), pictures=bool(pictures), include_phi=bool(include_phi))
    return jsonable(cfg)


def run_record(identity: dict | None, models: list[dict], settings: dict) -> dict:
    """What produced a case: input identity, model sha256s, settings (compared by --resume)."""
    return jsonable({"input": identity, "models_sha256": [m.get("sha256") for m in models], "settings": settings})


def _write_json(obj: dict, path: Path) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def default_identity(pred: "PredictionData") -> dict | None:
    """The input identity of ``pred.image.source`` (None for an in-memory image)."""
    src = pred.image.source
    if src is None or not Path(src).exists():
        return None
    meta = pred.image.metadata or {}
    return input_identity(src, meta.get("series_uid") if pred.image.kind == "dicom-series" else None)


def save_prediction(pred: "PredictionData", folder: Path, *, dicom_seg: bool = False, pictures: bool = True,
                    include_phi: bool = False) -> list[Path]:
    """Write the case into a staging folder beside ``folder`` and rename it into place.

    An existing ``folder`` is replaced as a whole (atomically on Linux) if it is a covidseg
    case folder (has report.json) or empty; any other existing folder is refused
    (:class:`~covidseg.errors.ConfigError`), so user files are never deleted."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / REPORT_NAME).is_file())):
        raise ConfigError("exists and is not a covidseg case folder; choose another output folder", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with staged_folder(folder) as tmp:
        names = write_case(pred, tmp, dicom_seg=dicom_seg, pictures=pictures, include_phi=include_phi,
                           identity=default_identity(pred))
        install(tmp, folder, replace=True)
    return [folder / n for n in names]


def write_case(pred: "PredictionData", folder: Path, *, dicom_seg: bool = False, pictures: bool = True,
               include_phi: bool = False, identity: dict | None = None) -> list[str]:
    """Write every file of the case into ``folder`` (a staging folder), report.json last with
    the run record and a sha256 manifest; returns the top-level names written."""
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
        with interrupts_held():
            futures = [pool.submit(write, name, mask) for name, mask in masks.items() if mask is not None]
        pictures_written = write_pictures(pred, folder) if pictures else []
        written += [f.result() for f in futures]
    written += pictures_written
    if dicom_seg and img.kind in ("dicom-series", "dicom-file"):
        from covidseg.report.dicom_seg import write_dicom_seg

        written.append(write_dicom_seg(pred, folder / "segmentation.dcm"))
    pred.timings["save"] = round(time.perf_counter() - t0, 4)
    names = [p.name for p in written] + [REPORT_NAME]
    report = CaseReport.of(pred).to_json(names)
    if include_phi:
        report["patient"] = patient_data(pred)
    settings = run_settings(pred.config, pred.precision, dicom_seg=dicom_seg, pictures=pictures,
                            include_phi=include_phi)
    report["run"] = run_record(identity, pred.models, settings)
    report["manifest"] = manifest_of(folder)
    _write_json(report, folder / REPORT_NAME)
    return names
