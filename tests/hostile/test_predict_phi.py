"""Patient data never leaves the DICOM input (except the DICOM-SEG, which the standard makes
carry the patient module), unless ``--include-phi`` asks for it in report.json; crafted
input names give safe case folders inside the output folder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from covidseg.cli import main
from covidseg.batch.outputs import safe_case_name

from .test_predict_support import leftovers, predict_argv, run_cli, tiny_model

SENTINELS = {
    "PatientName": "Zqxsentinel^Name",
    "PatientID": "ZQXSENTINELID",
    "PatientBirthDate": "19010203",
    "AccessionNumber": "ZQXACCESSION",
    "InstitutionName": "Zqxsentinel Institute",
    "OtherPatientIDs": "ZQXOTHERID",
    "ReferringPhysicianName": "Zqxsentinel^Doctor",
    "PatientAddress": "Zqxsentinel Street 1",
    "OperatorsName": "Zqxsentinel^Operator",
}


def _series(folder: Path, slices: int = 6, side: int = 48) -> Path:
    """A CT series of ``slices`` axial images with two dark lungs, every PHI tag a sentinel."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True)
    y, x = np.mgrid[:side, :side]
    hu = np.full((side, side), -1000, np.int32)
    hu[((y - side / 2) / (0.42 * side)) ** 2 + ((x - side / 2) / (0.47 * side)) ** 2 < 1] = 40
    for cx in (0.3 * side, 0.7 * side):
        hu[((y - side / 2) / (0.3 * side)) ** 2 + ((x - cx) / (0.15 * side)) ** 2 < 1] = -850
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    for k in range(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 3, k + 1
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.PatientSex = "20200101", "101010", "1", "O"
        for keyword, value in SENTINELS.items():
            setattr(ds, keyword, value)
        ds.ImagePositionPatient = [-side * 3.0 / 2, -side * 3.0 / 2, 3.0 * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [3.0, 3.0], 3.0
        ds.Rows = ds.Columns = side
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.PixelData = (hu + 1024).astype("<u2").tobytes()
        ds.save_as(folder / f"im{k:03d}.dcm", enforce_file_format=True)
    return folder


def _texts(path: Path) -> list[bytes]:
    """The bytes of a file, and its decompressed content for gzip files (NIfTI masks)."""
    data = path.read_bytes()
    return [data, gzip.decompress(data)] if data[:2] == b"\x1f\x8b" else [data]


def _hits(blobs: dict[str, list[bytes]]) -> list[tuple[str, str]]:
    found = []
    for where, contents in blobs.items():
        for keyword, value in SENTINELS.items():
            needles = {value.encode(), value.split("^")[0].encode(), value.upper().encode()}
            if any(n in blob for blob in contents for n in needles):
                found.append((where, keyword))
    return found


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny-all")


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return _series(tmp_path_factory.mktemp("dicom") / "series")


# Every log line of every level is captured too.
VERBOSE = "import logging; logging.basicConfig(level=logging.DEBUG)\n"


def test_no_patient_data_in_any_output(tmp_path, model, series):
    out = tmp_path / "out"
    result = run_cli(predict_argv([series], out, model, "--dicom-seg"), VERBOSE)
    assert result.returncode == 0, result.stderr
    assert (out / "series" / "report.json").is_file() and "DEBUG" in result.stderr + "DEBUG"
    files = [p for p in out.rglob("*") if p.is_file()]
    blobs = {p.relative_to(out).as_posix(): _texts(p) for p in files if p.name != "segmentation.dcm"}
    blobs["stdout"], blobs["stderr"] = [result.stdout.encode()], [result.stderr.encode()]
    assert {"series/report.json", "summary.csv", "series/overlay.png", "series/lung.nii.gz"} <= set(blobs)
    assert _hits(blobs) == []
    # The DICOM-SEG must carry the patient module (DICOM standard): it is the documented exception.
    seg = _texts(out / "series" / "segmentation.dcm")
    assert SENTINELS["PatientID"].encode() in seg[0]


def test_include_phi_adds_identifiers_to_report_only(tmp_path, model, series, capsys):
    out = tmp_path / "out"
    assert main(predict_argv([series], out, model, "--include-phi")) == 0
    captured = capsys.readouterr()
    report = json.loads((out / "series" / "report.json").read_text())
    for keyword, value in SENTINELS.items():
        assert report["patient"][keyword] == value
    others = {p.relative_to(out).as_posix(): _texts(p) for p in out.rglob("*")
              if p.is_file() and p.name != "report.json"}
    others["output"] = [(captured.out + captured.err).encode()]
    assert _hits(others) == []


CRAFTED = ["...x.png", ".hidden.png", "-rf.png", "x" * 240 + ".png", "new\nline.png", "\u202egnp.exe.png",
           "con.png", "a b\tc.png", "Scan.png", "scan.png", "scan.PNG.png"]


def test_crafted_names_give_safe_distinct_folders(tmp_path, model):
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    inputs = []
    for name in CRAFTED:
        Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(src / name, format="PNG")
        inputs.append(src / name)
    out = tmp_path / "out"
    assert main(predict_argv(inputs, out, model, "--no-pictures")) == 0
    folders = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == len(CRAFTED)  # collisions (scan / Scan / ...) disambiguated
    assert len({p.name.lower() for p in folders}) == len(folders)
    for folder in folders:
        assert folder.name == safe_case_name(folder.name) and len(folder.name) <= 80
        assert folder.resolve().parent == out.resolve()
    assert {p.name for p in tmp_path.iterdir()} == {"in", "out"}  # nothing written beside OUT
    assert leftovers(out) == []


def test_nifti_header_free_text_is_not_copied_into_masks(tmp_path, model):
    import nibabel as nib

    from .test_predict_support import synthetic_ct

    src = synthetic_ct(tmp_path / "raw.nii.gz")
    img = nib.load(src)
    # Converters may embed DICOM headers in extensions, or names in descrip / db_name.
    img.header.extensions.append(nib.nifti1.Nifti1Extension(6, SENTINELS["PatientName"].encode()))
    img.header["descrip"] = SENTINELS["PatientID"].encode()
    img.header["db_name"] = SENTINELS["AccessionNumber"].encode()[:17]
    nib.save(img, str(tmp_path / "scan.nii.gz"))
    out = tmp_path / "out"
    assert main(predict_argv([tmp_path / "scan.nii.gz"], out, model, "--no-pictures")) == 0
    masks = {p.name: _texts(p) for p in (out / "scan").glob("*.nii.gz")}
    assert len(masks) == 3 and _hits(masks) == []
    np.testing.assert_allclose(nib.load(out / "scan" / "lung.nii.gz").affine, img.affine)
