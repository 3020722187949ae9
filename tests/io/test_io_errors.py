"""Bad input that the hostile corpus (tests/hostile/corpus.py) cannot hold: paths that do not
exist, an error that names a file inside the folder given, a non-CT series folder, and a bad
``series=`` argument. Every hostile *file* is a corpus case, read through both reader entry
points by tests/hostile/test_readers.py (the cases once here that repeated it were removed,
the others became corpus cases)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from PIL import Image

from covidseg.errors import FileMissingError, InputError, NotCTError, UnreadableFileError
from covidseg.io import find_cases, read_image


def _check(exc_info, path):
    err = exc_info.value
    assert isinstance(err, InputError)
    assert err.path == str(path)
    assert err.reason and str(err).startswith(str(path))


def test_missing_file(tmp_path):
    for path in (tmp_path / "nope.nii.gz", tmp_path / "nofolder"):
        with pytest.raises(FileMissingError) as info:
            read_image(path)
        _check(info, path)
        with pytest.raises(FileMissingError):
            find_cases(path)


def test_broken_symlink(tmp_path):
    link = tmp_path / "link.nii.gz"
    link.symlink_to(tmp_path / "gone.nii.gz")
    with pytest.raises(FileMissingError, match="symbolic link"):
        read_image(link)


def test_random_bytes_named_dcm_in_a_folder_is_named_not_skipped(tmp_path):
    bad = tmp_path / "noise.dcm"
    bad.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    for read in (read_image, find_cases):
        with pytest.raises(UnreadableFileError) as info:
            read(tmp_path)
        _check(info, bad)


@pytest.mark.parametrize("modality, sop", [
    ("MR", "1.2.840.10008.5.1.4.1.1.4"),
    ("SEG", "1.2.840.10008.5.1.4.1.1.66.4"),
])
def test_folder_whose_only_series_is_not_ct(ct64_dicom, tmp_path, modality, sop):
    # the file alone is a corpus case (dicom-mr, dicom-seg); here the folder holding it
    ds = pydicom.dcmread(ct64_dicom / "IMG0001.dcm")
    ds.Modality = modality
    ds.SOPClassUID = sop
    ds.save_as(tmp_path / f"{modality}.dcm")
    with pytest.raises(NotCTError, match=modality):
        read_image(tmp_path)
    with pytest.raises(NotCTError, match=modality):
        find_cases(tmp_path)


def test_series_argument_matching_nothing_in_an_image_folder(tmp_path):
    from covidseg.errors import ConfigError

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "1.png")
    with pytest.raises(ConfigError):
        read_image(tmp_path, series="2")
