"""Real scans: the NIfTI and the DICOM series of one volume agree; DICOM slices in HU."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from covidseg.io import CANONICAL_ORIENTATION, read_image


def test_nifti_and_dicom_series_give_the_same_volume(ct64_nifti, ct64_dicom):
    nii = read_image(ct64_nifti)
    dcm = read_image(ct64_dicom)
    assert nii.kind == "nifti" and dcm.kind == "dicom-series"
    for img in (nii, dcm):
        assert img.array.dtype == np.float32 and img.array.flags.c_contiguous
        assert img.array.shape == (79, 64, 64)
        assert img.is_hu
        assert img.orientation == CANONICAL_ORIENTATION == ("S", "P", "L")
        np.testing.assert_allclose(img.spacing, (3.99, 4.17, 4.17), atol=0.01)
    np.testing.assert_array_equal(nii.array, dcm.array)  # same voxels in the same order
    np.testing.assert_allclose(nii.affine, dcm.affine, atol=1e-3)
    np.testing.assert_allclose(nii.origin, dcm.origin, atol=1e-3)
    np.testing.assert_allclose(nii.direction, dcm.direction, atol=1e-6)


def test_nifti_array_is_the_file_data_in_zyx_order(ct64_nifti):
    img = read_image(ct64_nifti)
    data = np.asarray(nib.load(ct64_nifti).dataobj)  # (x, y, z), axes L, P, S
    np.testing.assert_array_equal(img.array, data.transpose(2, 1, 0))
    zooms = nib.load(ct64_nifti).header.get_zooms()
    np.testing.assert_allclose(img.spacing, zooms[::-1], rtol=1e-6)


def test_canonical_orientation_is_anatomical(ct64_nifti):
    """z goes foot -> head: the first slices are below the lungs, the last above them."""
    img = read_image(ct64_nifti)
    world = [img.affine @ [k, 0, 0, 1] for k in (0, img.shape[0] - 1)]
    assert world[1][2] > world[0][2]  # RAS z (superior) grows with the slice index
    row = [img.affine @ [0, j, 0, 1] for j in (0, 63)]
    assert row[1][1] < row[0][1]  # RAS y (anterior) shrinks: rows go toward posterior
    col = [img.affine @ [0, 0, i, 1] for i in (0, 63)]
    assert col[1][0] < col[0][0]  # RAS x (right) shrinks: columns go toward patient-left


def test_affine_maps_array_indices_to_the_files_world_positions(ct64_nifti):
    img = read_image(ct64_nifti)
    nii = nib.load(ct64_nifti)
    data = np.asarray(nii.dataobj)
    for i, j, k in [(3, 5, 7), (60, 10, 70), (0, 63, 0)]:
        assert img.array[k, j, i] == data[i, j, k]
        np.testing.assert_allclose(img.affine @ [k, j, i, 1], nii.affine @ [i, j, k, 1], atol=1e-4)


def test_itk_geometry_fields_reproduce_the_sitk_series_reader(ct64_dicom):
    img = read_image(ct64_dicom)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(ct64_dicom)))
    ref = reader.Execute()
    np.testing.assert_array_equal(img.array, sitk.GetArrayFromImage(ref).astype(np.float32))
    np.testing.assert_allclose(img.origin, ref.GetOrigin(), atol=1e-3)
    np.testing.assert_allclose(img.direction, ref.GetDirection(), atol=1e-6)
    np.testing.assert_allclose(img.spacing[::-1], ref.GetSpacing(), atol=1e-3)


def test_dicom_series_metadata(ct64_dicom):
    img = read_image(ct64_dicom)
    meta = img.metadata
    assert meta["modality"] == "CT"
    assert meta["series_uid"].startswith("1.2.826.0.1.3680043")
    assert len(meta["files"]) == 79 and meta["files"][0].endswith("IMG0001.dcm")
    assert meta["series_in_folder"] == 1
    assert not any("Patient" in key for key in meta)


@pytest.mark.parametrize("name", ["slice001.dcm", "slice002.dcm"])
def test_single_512_dicom_slice_in_hu(chest512, name):
    img = read_image(chest512 / name)
    assert img.kind == "dicom-file"
    assert img.array.shape == (512, 512) and img.array.dtype == np.float32
    assert img.is_hu
    np.testing.assert_allclose(img.spacing, (0.70, 0.70), atol=0.01)
    assert img.orientation == ("P", "L")
    # the corner lies outside the field of view (PixelPaddingValue): air, not -3024
    for corner in (img.array[0, 0], img.array[0, -1], img.array[-1, 0], img.array[-1, -1]):
        assert -1030 <= corner <= -970
    # air inside the field of view, in front of the chest (top centre): near -1000 HU
    assert -1050 < np.median(img.array[5:15, 246:266]) < -950
    assert img.array.max() > 500  # bone
    assert img.affine is not None and img.affine.shape == (4, 4)


def test_512_dicom_folder_is_a_two_slice_volume(chest512):
    img = read_image(chest512)
    assert img.kind == "dicom-series"
    assert img.array.shape == (2, 512, 512)
    np.testing.assert_allclose(img.spacing, (0.625, 0.703125, 0.703125), atol=1e-4)
    np.testing.assert_array_equal(img.array[0], read_image(chest512 / "slice001.dcm").array)


def test_rescale_slope_and_intercept_are_applied(dicom_copy, ct64_nifti):
    import pydicom

    ref = read_image(ct64_nifti).array
    # store the same HU as (stored * 2 - 1000): the reader must undo it
    for p in dicom_copy.iterdir():
        ds = pydicom.dcmread(p)
        hu = ds.pixel_array.astype(np.int32)
        stored = (hu + 1000) // 2
        ds.PixelData = stored.astype(ds.pixel_array.dtype).tobytes()
        ds.RescaleSlope, ds.RescaleIntercept = 2, -1000
        ds.save_as(p)
    img = read_image(dicom_copy)
    expected = ((ref.astype(np.int32) + 1000) // 2) * 2 - 1000
    np.testing.assert_array_equal(img.array, expected.astype(np.float32))


def test_dicom_sorted_by_position_not_by_file_name(dicom_copy, ct64_nifti):
    # rename the files in reverse order: IMG0001 (lowest slice) becomes the last name
    files = sorted(dicom_copy.iterdir())
    for n, p in enumerate(files):
        p.rename(dicom_copy / f"tmp{n}")
    for n in range(len(files)):
        (dicom_copy / f"tmp{n}").rename(dicom_copy / f"x{len(files) - n:03d}.dcm")
    np.testing.assert_array_equal(read_image(dicom_copy).array, read_image(ct64_nifti).array)
