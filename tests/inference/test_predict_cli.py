"""End to end through `covidseg predict` on the real files, with a tiny random model for the
learned parts: files, formats, geometry, DICOM-SEG, summary and per-case failures."""

from __future__ import annotations

import csv
import json
import shutil

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from covidseg.cli import main


def run(*argv) -> int:
    return main(["predict", "-q", *map(str, argv)])


def summary(out):
    with open(out / "summary.csv", newline="") as fh:
        return {row["case"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def ct_run(tmp_path_factory, ct_examples, tiny_all):
    """One run over every format in ct-examples (NIfTI, DICOM series, DICOM slice folder)."""
    out = tmp_path_factory.mktemp("ct-out")
    code = run(ct_examples / "cip-ct64.nii.gz", ct_examples / "cip-ct64-dicom", ct_examples / "cip-chest-512-dicom",
               ct_examples / "cip-chest-512-dicom" / "slice002.dcm", "-o", out, "--model", tiny_all, "--dicom-seg")
    return code, out


def test_every_ct_format_succeeds(ct_run):
    code, out = ct_run
    rows = summary(out)
    assert code == 0
    assert set(rows) == {"cip-ct64", "cip-ct64-dicom", "cip-chest-512-dicom", "slice002"}
    assert all(r["status"] == "ok" for r in rows.values())
    for case in rows:
        report = json.loads((out / case / "report.json").read_text())
        assert report["input"]["is_hu"] and report["unit"] in ("mL", "mm2")
        assert report["models"][0]["sha256"] and report["timings_s"]["network"] >= 0
        for name in report["files"]:
            assert (out / case / name).is_file()


@pytest.mark.parametrize("case", ["cip-ct64", "cip-ct64-dicom"])
def test_volume_masks_have_input_geometry(ct_run, ct_examples, case):
    _, out = ct_run
    source = nib.load(ct_examples / "cip-ct64.nii.gz")
    for name in ("lung", "lesion", "classes"):
        mask = nib.load(out / case / f"{name}.nii.gz")
        assert mask.shape == source.shape
        np.testing.assert_allclose(mask.affine, source.affine, atol=1e-3)
        values = set(np.unique(np.asarray(mask.dataobj)).tolist())
        assert values <= ({0, 1, 2} if name == "classes" else {0, 1})
    for picture in ("overlay.png", "lesion_curve.png"):
        assert Image.open(out / case / picture).size[0] >= 320


@pytest.mark.parametrize("name", ["cip-ct64.nii.gz", "cip-ct64-dicom"])
def test_written_lung_mask_matches_reference(tmp_path, ct_examples, name):
    # The lung task on HU input needs no trained weights; the written NIfTI is what users get.
    assert run(ct_examples / name, "-o", tmp_path, "--tasks", "lung", "--lung-method", "hu", "--no-pictures") == 0
    case = name.split(".")[0]
    reference = np.asarray(nib.load(ct_examples / "cip-ct64-lung.nii.gz").dataobj) > 0
    lung = np.asarray(nib.load(tmp_path / case / "lung.nii.gz").dataobj) > 0
    assert 2 * (lung & reference).sum() / (lung.sum() + reference.sum()) >= 0.95
    assert sorted(p.name for p in (tmp_path / case).iterdir()) == ["lung.nii.gz", "report.json"]


def test_dicom_seg_references_source(ct_run, ct_examples):
    import highdicom as hd
    import pydicom

    _, out = ct_run
    seg = hd.seg.segread(out / "cip-ct64-dicom" / "segmentation.dcm")
    source = [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted((ct_examples / "cip-ct64-dicom").glob("*.dcm"))]
    assert seg.Modality == "SEG"
    assert seg.StudyInstanceUID == source[0].StudyInstanceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source[0].SeriesInstanceUID
    referenced = {item.ReferencedSOPInstanceUID for item in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence}
    assert referenced == {ds.SOPInstanceUID for ds in source}
    labels = [s.SegmentLabel for s in seg.SegmentSequence]
    assert labels[0] == "Lung" and len(labels) == 3
    # The SEG's lung voxels, mapped through patient space (LPS -> RAS), are the NIfTI's lung voxels.
    nifti = nib.load(out / "cip-ct64-dicom" / "lung.nii.gz")
    lung_nifti = np.asarray(nifti.dataobj) > 0
    vol = seg.get_volume(segment_numbers=[1])
    idx = np.argwhere(vol.array[..., 0] > 0)
    lps = (vol.affine @ np.c_[idx, np.ones(len(idx))].T).T[:, :3]
    ras = lps * [-1.0, -1.0, 1.0]
    ijk = np.rint((np.linalg.inv(nifti.affine) @ np.c_[ras, np.ones(len(ras))].T).T[:, :3]).astype(int)
    assert len(idx) == lung_nifti.sum() > 0
    assert lung_nifti[tuple(ijk.T)].all()


def test_slice_input_gives_pngs_at_input_size(tmp_path, semiseg, tiny_all):
    src = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    out = tmp_path / "out"
    assert run(src, "-o", out, "--model", tiny_all) == 0
    case = out / src.stem
    size = Image.open(src).size
    for name, allowed in (("lung", {0, 255}), ("lesion", {0, 255}), ("classes", {0, 1, 2})):
        mask = Image.open(case / f"{name}.png")
        assert mask.size == size
        assert set(np.unique(np.asarray(mask)).tolist()) <= allowed
    report = json.loads((case / "report.json").read_text())
    assert report["unit"] == "pixels" and "no pixel spacing" in report["unit_note"]
    assert report["severity"]["zone_total"] is None
    assert (case / "overlay.png").is_file()


def test_corrupt_file_fails_alone(tmp_path, semiseg, tiny_all):
    folder = tmp_path / "in"
    folder.mkdir()
    good = sorted((semiseg / "test" / "images").glob("*.jpg"))[:2]
    for f in good:
        shutil.copy(f, folder / f.name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    out = tmp_path / "out"
    code = run(folder, "-o", out, "--model", tiny_all)
    rows = summary(out)
    assert code == 2
    assert rows["broken"]["status"] == "failed" and rows["broken"]["error"]
    assert [rows[f.stem]["status"] for f in good] == ["ok", "ok"]
    assert not (out / "broken").exists()


def test_existing_outputs_need_resume_or_overwrite(tmp_path, semiseg, tiny_all, capsys):
    src = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    out = tmp_path / "out"
    assert run(src, "-o", out, "--model", tiny_all, "--tasks", "lesion") == 0
    assert not (out / src.stem / "lung.png").exists() and (out / src.stem / "lesion.png").exists()
    report = (out / src.stem / "report.json").stat().st_mtime_ns
    capsys.readouterr()
    # Neither flag: refused before any work, the finished case untouched.
    assert run(src, "-o", out, "--model", tiny_all, "--tasks", "lesion") == 2
    assert "--resume" in capsys.readouterr().err
    assert run(src, "-o", out, "--model", tiny_all, "--tasks", "lesion", "--resume") == 0
    assert (out / src.stem / "report.json").stat().st_mtime_ns == report
    assert "skipped" in capsys.readouterr().err
    # Other settings: --resume redoes the case.
    assert run(src, "-o", out, "--model", tiny_all, "--resume") == 0
    assert summary(out)[src.stem]["status"] == "ok" and (out / src.stem / "lung.png").exists()
    report = (out / src.stem / "report.json").stat().st_mtime_ns
    assert run(src, "-o", out, "--model", tiny_all, "--overwrite") == 0
    assert (out / src.stem / "report.json").stat().st_mtime_ns != report
    assert run(src, "-o", out, "--model", tiny_all, "--overwrite", "--resume") == 2


def test_name_clash_across_inputs_gets_suffix(tmp_path, semiseg, tiny_all):
    src = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    other = tmp_path / "b"
    other.mkdir()
    shutil.copy(src, other / src.name)
    out = tmp_path / "out"
    assert run(src, other / src.name, "-o", out, "--model", tiny_all) == 0
    assert set(summary(out)) == {src.stem, f"{src.stem}_2"}


def test_no_shipped_weights_is_a_clear_error(tmp_path, semiseg, capsys, monkeypatch):
    from covidseg.inference import loading

    monkeypatch.setattr(loading, "WEIGHTS_DIR", tmp_path / "weights-empty")
    src = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    assert run(src, "-o", tmp_path / "out") == 2
    assert "no trained weights are shipped" in capsys.readouterr().err


@pytest.mark.parametrize("argv, word", [(["--batch-size", "0"], "batch_size"), (["--threads", "0"], "threads"),
                                        (["--device", "tpu"], "device")])
def test_bad_flags_are_config_errors(tmp_path, semiseg, capsys, argv, word, tiny_all):
    src = sorted((semiseg / "test" / "images").glob("*.jpg"))[0]
    assert run(src, "-o", tmp_path / "out", "--model", tiny_all, *argv) == 2
    assert word in capsys.readouterr().err


@pytest.mark.parametrize("series, status", [("123456", "ok"), ("999", "failed")])
def test_series_selection(tmp_path, ct_examples, series, status):
    code = run(ct_examples / "cip-ct64-dicom", "-o", tmp_path, "--tasks", "lung", "--series", series, "--no-pictures")
    row = summary(tmp_path)["cip-ct64-dicom"]
    assert row["status"] == status and code == (0 if status == "ok" else 2)
    if status == "failed":
        assert "no series matches" in row["error"]
