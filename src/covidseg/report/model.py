"""The one report of a case: :class:`CaseReport`, built once from a prediction.

``report.json`` is its serialisation (:meth:`CaseReport.to_json`); the GUI's results panel
and its CSV / HTML / PDF reports show the same numbers (:meth:`CaseReport.table`) with
their own, translated words.

Patient data: report.json carries only allowlisted technical metadata of the input
(:data:`SAFE_METADATA`); the patient identifiers in :data:`PHI_KEYWORDS` are added (to
report.json only) when asked with ``include_phi``. A DICOM-SEG is the exception: the DICOM
standard requires it to carry the source's patient and study modules.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from covidseg import __version__

if TYPE_CHECKING:  # pragma: no cover
    from covidseg.inference.prediction import PredictionData
    from covidseg.quantify.measure import Measurements, RegionMeasure, Severity

#: Technical input metadata copied into report.json (an allowlist: anything a reader adds
#: later stays out unless listed here).
SAFE_METADATA = ("format", "modality", "series_uid", "series_number", "sop_class", "manufacturer",
                 "convolution_kernel", "slice_thickness", "rescale_type", "transfer_syntax", "bit_depth")

#: DICOM patient/study identifiers: written only with ``include_phi`` (report.json only).
PHI_KEYWORDS = ("PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "PatientBirthDate",
                "PatientSex", "PatientAge", "PatientAddress", "PatientTelephoneNumbers", "AccessionNumber",
                "StudyID", "StudyDate", "StudyTime", "InstitutionName", "InstitutionAddress",
                "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "StationName")

#: the regions of a case report (both lungs, each lung) and the numbers of each region
REGIONS = ("whole", "right", "left")
ROWS = ("lung", "lesion", "ggo", "consolidation", "lesion_percent", "ggo_percent", "consolidation_percent")

UNIT_NOTES = {
    "mL": "volumes in mL from the voxel spacing",
    "mm2": "areas in mm^2 from the pixel spacing",
    "pixels": "no pixel spacing is known for this input: areas are pixel counts",
    "voxels": "no voxel spacing is known for this input: volumes are voxel counts",
}


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
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


def severity_definitions(pred: "PredictionData") -> dict:
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


def patient_data(pred: "PredictionData") -> dict:
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


def region_values(region: "RegionMeasure | None") -> dict[str, float | None]:
    """The :data:`ROWS` of one region (percentages of that region's lung); all None when
    the region is unknown (no left/right split)."""
    if region is None:
        return dict.fromkeys(ROWS)

    def pct(part):
        return None if part is None or not region.lung else 100.0 * part / region.lung

    return {"lung": region.lung, "lesion": region.lesion, "ggo": region.ggo,
            "consolidation": region.consolidation, "lesion_percent": region.lesion_percent,
            "ggo_percent": pct(region.ggo), "consolidation_percent": pct(region.consolidation)}


def input_record(image) -> dict:
    """report.json's ``input``: what was read (no patient data: :data:`SAFE_METADATA`)."""
    meta = image.metadata or {}
    return {
        "path": str(image.source) if image.source is not None else None,
        "kind": image.kind,
        "shape": list(image.shape),
        "spacing_mm": list(image.spacing) if image.spacing is not None else None,
        "spacing_known": image.spacing is not None,
        "is_hu": bool(image.is_hu),
        "orientation": list(image.orientation),
        # False when the input has no patient geometry (JPG/PNG, a DICOM slice without
        # ImagePositionPatient/ImageOrientationPatient): the axes are assumed to be the
        # radiological display, so "right"/"left" rest on that assumption.
        "orientation_known": image.affine is not None,
        "series_instance_uid": meta.get("series_uid"),
        "metadata": {k: meta[k] for k in SAFE_METADATA if meta.get(k) is not None},
    }


@dataclass(frozen=True)
class CaseReport:
    """What the report of one case says, built once by :meth:`of`.

    ``input``: report.json's ``input`` record; ``measurements``: sizes per region, the
    severity grades and the per-slice series (:class:`covidseg.quantify.Measurements`);
    ``lesion_filtered``: lesion the HU false-positive filters removed, in ``unit`` (None
    when they did not run: plain images, filters off).
    """

    input: dict
    models: list[dict]
    tasks: tuple[str, ...]
    lung_source: str
    precision: str | None
    measurements: "Measurements"
    severity_definitions: dict
    lesion_filtered: dict[str, float] | None
    warnings: tuple[str, ...]
    timings: dict[str, float]
    version: str = __version__

    @classmethod
    def of(cls, pred: "PredictionData") -> "CaseReport":
        return cls(input=input_record(pred.image), models=list(pred.models), tasks=tuple(pred.tasks),
                   lung_source=pred.lung_source, precision=pred.precision, measurements=pred.measurements,
                   severity_definitions=severity_definitions(pred), lesion_filtered=pred.lesion_filtered,
                   warnings=tuple(pred.warnings), timings=dict(pred.timings))

    @property
    def unit(self) -> str:
        return self.measurements.unit

    @property
    def severity(self) -> "Severity":
        return self.measurements.severity

    def region(self, name: str) -> "RegionMeasure | None":
        if name not in REGIONS:
            raise ValueError(f"name must be one of {REGIONS}, got {name!r}")
        return getattr(self.measurements, name)

    def table(self) -> dict[str, dict[str, float | None]]:
        """``{region: {row: value}}`` for every region of :data:`REGIONS` and row of :data:`ROWS`."""
        return {name: region_values(self.region(name)) for name in REGIONS}

    def to_json(self, files: list[str] | None = None) -> dict:
        """The content of report.json (without the ``run``, ``manifest`` and ``patient``
        entries a case folder adds)."""
        m = self.measurements
        report = {
            "covidseg_version": self.version,
            "input": self.input,
            "models": self.models,
            "tasks": list(self.tasks),
            "lung_source": self.lung_source,
            "precision": self.precision,
            "unit": m.unit,
            "unit_note": UNIT_NOTES[m.unit],
            "measurements": {name: _asdict(self.region(name)) for name in REGIONS},
            "severity": _asdict(m.severity),
            "severity_definitions": self.severity_definitions,
            "lesion_filtered": self.lesion_filtered,
            "warnings": list(self.warnings),
            "slice_lesion": m.slice_lesion,
            "slice_unit": m.slice_unit,
            "timings_s": dict(self.timings),
        }
        if files is not None:
            report["files"] = files
        return jsonable(report)


def _asdict(value):
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
