"""Several DICOM series in one folder: choose by series=, or the largest; say which."""

from __future__ import annotations

import logging

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from covidseg.errors import ConfigError, NotCTError
from covidseg.io import find_cases, read_image

SECOND_UID = generate_uid()


@pytest.fixture
def two_series(dicom_copy):
    """The cip-ct64 series with its first 5 files moved to a second series (number 7)."""
    for p in sorted(dicom_copy.iterdir())[:5]:
        ds = pydicom.dcmread(p)
        ds.SeriesInstanceUID = SECOND_UID
        ds.SeriesNumber = 7
        ds.SeriesDescription = "Second look"
        ds.save_as(p)
    return dicom_copy


def test_largest_series_is_read_by_default_and_logged(two_series, ct64_nifti, caplog):
    with caplog.at_level(logging.INFO, logger="covidseg.io"):
        img = read_image(two_series)
    assert img.array.shape == (74, 64, 64)
    np.testing.assert_array_equal(img.array, read_image(ct64_nifti).array[5:])
    assert img.metadata["series_in_folder"] == 2
    assert img.metadata["series_number"] == 123456
    assert "largest" in img.metadata["series_selected_by"]
    assert img.metadata["other_series"] == [SECOND_UID]
    assert any("2 DICOM series" in r.getMessage() and "74 images" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("choice", [SECOND_UID, "7", 7, "second LOOK"])
def test_series_chosen_by_uid_number_or_description(two_series, ct64_nifti, choice):
    img = read_image(two_series, series=choice)
    assert img.array.shape == (5, 64, 64)
    assert img.metadata["series_uid"] == SECOND_UID
    np.testing.assert_array_equal(img.array, read_image(ct64_nifti).array[:5])
    np.testing.assert_allclose(img.spacing, (3.99, 4.17, 4.17), atol=0.01)


def test_unknown_series_lists_what_exists(two_series):
    with pytest.raises(ConfigError) as info:
        read_image(two_series, series="99")
    assert SECOND_UID in info.value.reason and "123456" in info.value.reason


def test_series_argument_for_a_non_dicom_input(ct64_nifti):
    with pytest.raises(ConfigError):
        read_image(ct64_nifti, series="1")


def test_find_cases_gives_one_case_per_series(two_series):
    cases = find_cases(two_series)
    assert [(c.name, c.series, c.kind) for c in cases] == [
        ("series_7", SECOND_UID, "dicom-series"),
        ("series_123456", cases[1].series, "dicom-series"),
    ]
    from covidseg.io import read_case

    assert read_case(cases[0]).array.shape == (5, 64, 64)
    assert read_case(cases[1]).array.shape == (74, 64, 64)


def test_non_ct_series_in_the_folder_is_skipped(dicom_copy):
    for p in sorted(dicom_copy.iterdir())[:3]:
        ds = pydicom.dcmread(p)
        ds.SeriesInstanceUID = SECOND_UID
        ds.Modality = "MR"
        ds.save_as(p)
    img = read_image(dicom_copy)
    assert img.array.shape == (76, 64, 64)
    assert [c.series for c in find_cases(dicom_copy)] == [img.metadata["series_uid"]]
    with pytest.raises(NotCTError):
        read_image(dicom_copy, series=SECOND_UID)
