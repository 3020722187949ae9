"""Case discovery for `covidseg predict INPUT...`."""

from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from covidseg.io import find_cases, read_case, read_image, safe_name


def _png(path, size=(32, 40), value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)


def _nii(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.full((32, 32, 2), -1000, np.int16), np.eye(4)), path)


@pytest.mark.parametrize("name, expected", [
    ("scan.nii.gz", "scan"), ("scan.nii", "scan"), ("a.b.nrrd", "a.b"), ("x.mha", "x"), ("IM1.dcm", "IM1"),
    ("slice 01.PNG", "slice_01"),
])
def test_single_file_is_one_case_named_without_extensions(tmp_path, name, expected):
    path = tmp_path / name
    if name.endswith((".nii.gz", ".nii")):
        _nii(path)
    else:
        path.write_bytes(b"x")  # discovery does not read the pixels
    [case] = find_cases(path)
    assert case.name == expected and case.path == path and case.series is None


def test_folder_of_slices_is_one_case(tmp_path):
    for n in (1, 2, 10):
        _png(tmp_path / "patient7" / f"{n}.png")
    [case] = find_cases(tmp_path / "patient7")
    assert (case.name, case.kind, case.path) == ("patient7", "slices", tmp_path / "patient7")
    assert read_case(case).array.shape == (3, 32, 40)


def test_slices_of_different_sizes_are_separate_cases(semiseg):
    cases = find_cases(semiseg / "test" / "images")
    assert len(cases) == 48 and {c.kind for c in cases} == {"image"}
    assert all(c.name.isdigit() and c.path.suffix == ".jpg" for c in cases)
    names = [int(c.name) for c in cases]
    assert names == sorted(names)  # natural order: 2 before 10


def test_folder_of_volumes_and_series(tmp_path, ct64_dicom):
    _nii(tmp_path / "b.nii.gz")
    _nii(tmp_path / "a.nii")
    shutil.copytree(ct64_dicom, tmp_path / "patients" / "p1" / "CT")
    _png(tmp_path / "patients" / "p2" / "0.png")
    (tmp_path / "README.txt").write_text("ignored")
    (tmp_path / ".cache").mkdir()
    _nii(tmp_path / ".cache" / "hidden.nii.gz")
    cases = find_cases(tmp_path)
    assert [(c.name, c.kind) for c in cases] == [
        ("a", "nifti"), ("b", "nifti"), ("CT", "dicom-series"), ("p2", "slices"),
    ]
    assert cases[2].series.startswith("1.2.826")
    assert read_case(cases[2]).array.shape == (79, 64, 64)


def test_name_clashes_get_a_suffix(tmp_path):
    _nii(tmp_path / "one" / "scan.nii.gz")
    _nii(tmp_path / "two" / "scan.nii.gz")
    _nii(tmp_path / "two" / "Scan.nrrd.nii")  # not a clash: "Scan.nrrd"
    _png(tmp_path / "three" / "scan" / "1.png")  # a stack named after its folder
    names = [c.name for c in find_cases(tmp_path)]
    assert sorted(names) == sorted(["scan", "scan_2", "Scan.nrrd", "scan_3"])


@pytest.mark.parametrize("raw, safe", [
    ("plain", "plain"), ("with space", "with_space"), ("a/b\\c:d*e?", "a_b_c_d_e"),
    ("..hidden", "hidden"), ("", "case"), ("CON", "_CON"), ("Müller", "Müller"),
])
def test_safe_names(raw, safe):
    assert safe_name(raw) == safe


def test_read_image_on_a_folder_with_one_case_below(tmp_path, ct64_dicom):
    shutil.copytree(ct64_dicom, tmp_path / "patient" / "study" / "CT")
    img = read_image(tmp_path)
    assert img.kind == "dicom-series" and img.array.shape == (79, 64, 64)


def test_read_image_on_a_folder_of_several_volumes_points_to_find_cases(tmp_path):
    from covidseg.errors import UnsupportedFormatError

    _nii(tmp_path / "a.nii.gz")
    _nii(tmp_path / "b.nii.gz")
    with pytest.raises(UnsupportedFormatError, match="find_cases"):
        read_image(tmp_path)
    _nii(tmp_path / "only" / "c.nii.gz")
    assert read_image(tmp_path / "only").kind == "nifti"
