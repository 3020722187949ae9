"""NRRD/MetaImage reading, a DICOM decoding fallback, 2-D volume files."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from covidseg.io import read_image


@pytest.mark.parametrize("suffix, kind", [(".nrrd", "nrrd"), (".mha", "metaimage"), (".mhd", "metaimage")])
def test_itk_formats_equal_the_nifti(ct64_dicom, ct64_nifti, tmp_path, suffix, kind):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(ct64_dicom)))
    path = tmp_path / f"ct{suffix}"
    sitk.WriteImage(reader.Execute(), str(path))
    img, ref = read_image(path), read_image(ct64_nifti)
    assert img.kind == kind and img.is_hu and img.orientation == ("S", "P", "L")
    np.testing.assert_array_equal(img.array, ref.array)
    np.testing.assert_allclose(img.spacing, ref.spacing, atol=1e-3)
    np.testing.assert_allclose(img.affine, ref.affine, atol=1e-3)


def test_flipped_nrrd_is_reoriented(ct64_nifti, tmp_path):
    """The same volume stored with reversed rows and slices reads identically."""
    ref = read_image(ct64_nifti)
    image = sitk.Flip(sitk.ReadImage(str(ct64_nifti)), [False, True, True])
    path = tmp_path / "flipped.nrrd"
    sitk.WriteImage(image, str(path))
    img = read_image(path)
    np.testing.assert_array_equal(img.array, ref.array)
    np.testing.assert_allclose(img.affine, ref.affine, atol=1e-3)


def test_2d_nifti_is_a_one_slice_volume(tmp_path):
    data = np.arange(33 * 34, dtype=np.int16).reshape(33, 34) - 1000
    path = tmp_path / "slice.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([-0.7, -0.7, 5.0, 1.0])), path)
    img = read_image(path)
    assert img.array.shape == (1, 34, 33)
    np.testing.assert_array_equal(img.array[0], data.T)
    np.testing.assert_allclose(img.spacing, (5.0, 0.7, 0.7))


def test_non_hu_nifti_is_detected(tmp_path):
    path = tmp_path / "eight_bit.nii.gz"
    nib.save(nib.Nifti1Image((np.arange(32 * 32 * 3) % 256).astype(np.uint8).reshape(32, 32, 3), np.eye(4)), path)
    assert read_image(path).is_hu is False


def test_dicom_pixel_decoding_falls_back_to_simpleitk(ct64_dicom, monkeypatch):
    """A transfer syntax without a pydicom decoder is read through SimpleITK (GDCM)."""
    ref = read_image(ct64_dicom / "IMG0040.dcm").array

    def no_decoder(self):
        raise RuntimeError("no decoder for this transfer syntax")

    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(no_decoder))
    np.testing.assert_array_equal(read_image(ct64_dicom / "IMG0040.dcm").array, ref)


def test_padding_value_becomes_air(chest512, tmp_path):
    ds = pydicom.dcmread(chest512 / "slice001.dcm")
    assert int(ds.PixelPaddingValue) == -2000
    raw = ds.pixel_array
    img = read_image(chest512 / "slice001.dcm")
    padded = raw == -2000
    assert padded.sum() > 1000  # the corners outside the round field of view
    assert np.all(img.array[padded] == -1024)
    np.testing.assert_array_equal(img.array[~padded], raw[~padded] - 1024.0)
    assert img.metadata["padding_pixels"] == int(padded.sum())


def test_2d_nrrd_is_a_one_slice_volume(tmp_path):
    data = (np.arange(32 * 35, dtype=np.int16).reshape(32, 35) * 10) - 1000  # (rows, columns)
    image = sitk.GetImageFromArray(data)
    image.SetSpacing((0.5, 0.6))
    sitk.WriteImage(image, str(tmp_path / "slice.nrrd"))
    img = read_image(tmp_path / "slice.nrrd")
    assert img.array.shape == (1, 32, 35)
    np.testing.assert_array_equal(img.array[0], data)  # LPS identity: rows P, columns L already
    np.testing.assert_allclose(img.spacing, (1.0, 0.6, 0.5))
