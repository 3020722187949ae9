"""A DICOM slice without ImagePositionPatient/ImageOrientationPatient (issue 15, point 8).

The report measured it with PixelSpacing (4.17 mm) but ``lung.nii.gz`` was written with a
1 mm identity affine: areas computed from the mask were 17x too small. The mask now carries
the spacing the report used, and report.json says the orientation is unknown.
"""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from covidseg.cli import main
from covidseg.io import read_image, write_mask

from hostile.corpus import write_dicom

SPACING = (4.17, 3.9)  # rows, columns (mm): unequal, so a swap of the axes shows
THICKNESS = 5.0


def _chest_slice(side: int = 64) -> np.ndarray:
    y, x = np.mgrid[:side, :side]
    c = side / 2
    hu = np.full((side, side), -1000.0)
    hu[((y - c) / (0.42 * side)) ** 2 + ((x - c) / (0.47 * side)) ** 2 < 1] = 40
    for cx in (0.3 * side, 0.7 * side):
        hu[((y - c) / (0.3 * side)) ** 2 + ((x - cx) / (0.15 * side)) ** 2 < 1] = -850
    return hu


@pytest.fixture
def bare_dicom(tmp_path):
    hu = _chest_slice()
    return write_dicom(tmp_path / "bare.dcm", rows=64, cols=64, ImagePositionPatient=None,
                       ImageOrientationPatient=None, PixelSpacing=list(SPACING), SliceThickness=THICKNESS,
                       PixelData=(hu + 1024).astype("<u2").tobytes())


@pytest.mark.parametrize("suffix", [".nii.gz", ".mha"])
def test_mask_of_a_slice_without_position_keeps_its_pixel_spacing(bare_dicom, tmp_path, suffix):
    img = read_image(bare_dicom)
    assert img.spacing == SPACING and img.affine is None
    mask = np.zeros(img.shape, np.uint8)
    mask[10:20, 5:25] = 1
    path = write_mask(mask, img, tmp_path / f"m{suffix}")
    if suffix == ".mha":
        import SimpleITK as sitk

        written = sitk.ReadImage(str(path))
        assert written.GetSpacing() == pytest.approx((SPACING[1], SPACING[0], THICKNESS))
        assert sitk.GetArrayFromImage(written)[0].tolist() == mask.tolist()
        return
    out = nib.load(str(path))
    zooms = out.header.get_zooms()
    assert zooms == pytest.approx((SPACING[1], SPACING[0], THICKNESS))  # x = columns, y = rows
    data = np.asarray(out.dataobj)
    area = data.sum() * zooms[0] * zooms[1]
    assert area == pytest.approx(mask.sum() * SPACING[0] * SPACING[1])
    assert out.header["descrip"].tobytes().rstrip(b"\0").decode().endswith("orientation unknown")


def test_report_and_mask_agree_on_areas_and_orientation_is_marked_unknown(bare_dicom, tmp_path, tiny_all):
    out = tmp_path / "out"
    assert main(["predict", "-q", str(bare_dicom), "-o", str(out), "--model", str(tiny_all), "--no-pictures"]) == 0
    report = json.loads((out / "bare" / "report.json").read_text())
    assert report["unit"] == "mm2" and report["input"]["spacing_mm"] == list(SPACING)
    assert report["input"]["orientation_known"] is False
    lung = nib.load(str(out / "bare" / "lung.nii.gz"))
    zx, zy = lung.header.get_zooms()[:2]
    area = float(np.asarray(lung.dataobj).sum()) * zx * zy
    assert report["measurements"]["whole"]["lung"] > 1000  # two lungs of several cm² each
    assert area == pytest.approx(report["measurements"]["whole"]["lung"], rel=1e-3)


def test_orientation_is_known_only_with_patient_geometry(tmp_path, tiny_all):
    from PIL import Image

    placed = write_dicom(tmp_path / "placed.dcm", rows=64, cols=64)
    Image.fromarray(np.full((64, 64), 90, np.uint8)).save(tmp_path / "plain.png")
    out = tmp_path / "out"
    assert main(["predict", "-q", str(placed), str(tmp_path / "plain.png"), "-o", str(out), "--model",
                 str(tiny_all), "--no-pictures"]) == 0
    known = {n: json.loads((out / n / "report.json").read_text())["input"]["orientation_known"]
             for n in ("placed", "plain")}
    assert known == {"placed": True, "plain": False}
