"""DICOM Segmentation (SEG) objects for DICOM input, via highdicom.

The SEG references the source series (same StudyInstanceUID, ReferencedSeriesSequence,
one frame per source image). Masks live in covidseg's canonical array; each source image's
pixel grid is mapped to it through the patient-space geometry, so the SEG is right whatever
reorientation the reader applied.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from covidseg import __version__
from covidseg.errors import InputError
from covidseg.io import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from covidseg.inference.prediction import PredictionData

_LPS_TO_RAS = np.array([-1.0, -1.0, 1.0])
_TYPE2_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                 "ReferringPhysicianName", "StudyID", "AccessionNumber")


def _frame_indices(ds, inv_affine: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical (k, j, i) index of every pixel (row, column) of source image ``ds``."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    ipp = np.asarray(ds.ImagePositionPatient, float)
    iop = np.asarray(ds.ImageOrientationPatient, float)
    row_dir, col_dir = iop[:3], iop[3:]  # DICOM: first triplet = direction along a row
    dr, dc = (float(v) for v in ds.PixelSpacing)  # (between rows, between columns)
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    world = ipp + c[..., None] * dc * row_dir + r[..., None] * dr * col_dir  # LPS, (rows, cols, 3)
    ras = world * _LPS_TO_RAS
    homog = np.concatenate([ras, np.ones((rows, cols, 1))], axis=-1)
    idx = np.rint(homog @ inv_affine.T)[..., :3].astype(np.int64)
    return idx[..., 0], idx[..., 1], idx[..., 2]


def write_dicom_seg(pred: "PredictionData", path: Path) -> Path:
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    img = pred.image
    files = (img.metadata or {}).get("files")
    if not files or img.affine is None:
        raise InputError("a DICOM-SEG needs the source DICOM files and their geometry", img.source)
    if (img.metadata or {}).get("multiframe"):
        raise InputError("a DICOM-SEG for an Enhanced CT (multi-frame) input is not supported yet; "
                         "use the NIfTI masks", img.source)
    sources = [pydicom.dcmread(f) for f in files]
    for ds in sources:
        # Type-2 patient/study attributes highdicom copies; some exporters omit them. Empty is
        # valid DICOM for type 2 (only the in-memory copies are touched).
        for keyword in _TYPE2_COPIED:
            if keyword not in ds:
                setattr(ds, keyword, "")
    affine = np.asarray(img.affine, float)
    inv = np.linalg.inv(affine)

    segments: list[tuple[str, np.ndarray, object, object]] = []
    if pred.lung is not None:
        segments.append(("Lung", pred.lung, codes.SCT.AnatomicalStructure, codes.SCT.Lung))
    if pred.classes is not None:
        segments.append(("Ground-glass opacity", pred.classes == 1, codes.SCT.MorphologicallyAbnormalStructure,
                         codes.SCT.Lesion))
        segments.append(("Consolidation", pred.classes == 2, codes.SCT.MorphologicallyAbnormalStructure,
                         codes.SCT.Lesion))
    elif pred.lesion is not None:
        segments.append(("COVID-19 lesion", pred.lesion, codes.SCT.MorphologicallyAbnormalStructure,
                         codes.SCT.Lesion))
    if not segments:
        raise InputError("nothing to store in a DICOM-SEG (no mask was predicted)", img.source)

    vol = [s[1] if s[1].ndim == 3 else s[1][None] for s in segments]
    shape = vol[0].shape
    frames = np.zeros((len(sources), int(sources[0].Rows), int(sources[0].Columns), len(segments)), bool)
    for f, ds in enumerate(sources):
        k, j, i = _frame_indices(ds, inv)
        inside = (k >= 0) & (k < shape[0]) & (j >= 0) & (j < shape[1]) & (i >= 0) & (i < shape[2])
        for s, mask in enumerate(vol):
            frame = np.zeros(k.shape, bool)
            frame[inside] = mask[k[inside], j[inside], i[inside]]
            frames[f, ..., s] = frame

    algorithm = hd.AlgorithmIdentificationSequence(
        name="covidseg", version=__version__, family=codes.cid7162.ArtificialIntelligence,
        source=", ".join(m["name"] for m in pred.models) or "classical HU lung segmentation",
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n, segment_label=label, segmented_property_category=category,
            segmented_property_type=prop_type, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for n, (label, _, category, prop_type) in enumerate(segments, start=1)
    ]
    with warnings.catch_warnings():
        # highdicom warns about single-component patient names copied from the source.
        warnings.simplefilter("ignore", UserWarning)
        seg = _segmentation(hd, sources, frames, descriptions)
    with atomic_write(path) as tmp:
        seg.save_as(tmp)
    return path


def _segmentation(hd, sources, frames, descriptions):
    return hd.seg.Segmentation(
        source_images=sources,
        pixel_array=frames.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=9001,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="covidseg",
        manufacturer_model_name="covidseg",
        software_versions=__version__,
        device_serial_number="none",
        series_description="covidseg lung and lesion segmentation",
        omit_empty_frames=False,
    )
