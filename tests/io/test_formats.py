"""The one format registry (covidseg.io.formats): every consumer takes its lists from it."""

from __future__ import annotations

import pytest

from covidseg.io import formats
from covidseg.io.formats import file_kind


@pytest.mark.parametrize("name, kind", [
    ("a.png", "image"), ("a.JPG", "image"), ("a.jpeg", "image"), ("a.nii", "nifti"), ("a.NII.GZ", "nifti"),
    ("a.nrrd", "nrrd"), ("a.nhdr", "nrrd"), ("a.mha", "metaimage"), ("a.mhd", "metaimage"),
    ("a.dcm", "dicom-file"), ("a.IMA", "dicom-file"), ("a.txt", None), ("a.gz", None), ("a.bmp", None),
])
def test_file_kind_from_the_name(tmp_path, name, kind):
    assert file_kind(tmp_path / name) == kind


def test_dicom_without_extension_is_found_by_its_preamble(tmp_path):
    (tmp_path / "IM0001").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 8)
    (tmp_path / "README").write_bytes(b"not dicom" * 20)
    assert file_kind(tmp_path / "IM0001") == "dicom-file"
    assert file_kind(tmp_path / "README") is None


def test_gui_filter_lists_every_readable_suffix():
    flt = formats.dialog_filter()
    for suffix in formats.IMAGE_SUFFIXES:
        assert f"*{suffix} " in flt or f"*{suffix})" in flt


def test_readers_writers_and_discovery_share_the_registry():
    from covidseg.io import cases, dicom_scan, itk, raster, readers, writers

    assert readers.file_kind is cases.file_kind is formats.file_kind
    assert raster.RASTER_SUFFIXES is formats.RASTER_SUFFIXES
    assert itk.ITK_SUFFIXES is formats.ITK_SUFFIXES
    assert dicom_scan.DICOM_SUFFIXES is formats.DICOM_SUFFIXES
    assert writers.MASK_SUFFIXES is formats.MASK_SUFFIXES
    # every written mask format can be read back
    assert all(file_kind(f"m{s}") in ("image", "nifti", "nrrd", "metaimage") for s in formats.MASK_SUFFIXES)


def test_case_discovery_does_not_import_the_readers():
    # io/cases.py and io/readers.py imported each other; discovery now needs only the registry
    import inspect

    import covidseg.io.cases as cases_mod

    assert "covidseg.io.readers" not in inspect.getsource(cases_mod)
