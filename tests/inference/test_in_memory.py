"""``Segmenter.predict`` on in-memory volumes: a numpy array with spacing, a SimpleITK image, a
nibabel image — the same masks and measurements as the file they came from."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from covidseg.inference import Segmenter
from covidseg.io import read_image
from covidseg.io.memory import from_array, from_nibabel, from_sitk


@pytest.fixture(scope="module")
def segmenter(tiny_all):
    # HU lung (classical) + a tiny random network for the lesions and their classes
    return Segmenter(tiny_all, batch_size=8, precision="fp32")


@pytest.fixture(scope="module")
def ct64(ct_examples):
    return ct_examples / "cip-ct64.nii.gz"


def _same(a, b):
    for name in ("lung", "lesion", "classes", "sides"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.measurements.to_dict() == b.measurements.to_dict()
    assert a.lung_source == b.lung_source
    assert a.image.shape == b.image.shape and a.image.orientation == b.image.orientation
    np.testing.assert_allclose(a.image.spacing, b.image.spacing, rtol=1e-6)
    assert a.image.is_hu == b.image.is_hu


def test_file_nibabel_simpleitk_and_array_give_identical_results(segmenter, ct64):
    from_file = segmenter.predict(ct64)
    assert from_file.lesion.any() and from_file.lung.any()  # something to compare
    ref = read_image(ct64)
    inputs = {
        "nibabel": (nib.load(ct64), {}),
        "SimpleITK": (sitk.ReadImage(str(ct64)), {}),
        "array": (ref.array.copy(), {"spacing": ref.spacing}),
        # slice 0 at the top and int16, as many arrays come: reoriented like a file
        "array IPL int16": (ref.array[::-1].astype(np.int16), {"spacing": ref.spacing, "orientation": "IPL"}),
    }
    for name, (source, kwargs) in inputs.items():
        pred = segmenter.predict(source, **kwargs)
        assert pred.image.kind == "array" and pred.image.source is None, name
        _same(pred, from_file)
        assert pred.report()["input"]["path"] is None


def test_simpleitk_image_from_the_dicom_series_matches_the_folder(ct_examples):
    """A DICOM series read by SimpleITK (LPS geometry) gives the DICOM reader's volume."""
    folder = ct_examples / "cip-ct64-dicom"
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    img, ref = from_sitk(reader.Execute()), read_image(folder)
    np.testing.assert_array_equal(img.array, ref.array)
    np.testing.assert_allclose(img.affine, ref.affine, atol=1e-3)
    assert img.orientation == ref.orientation == ("S", "P", "L") and img.is_hu


def test_nibabel_image_keeps_its_header_for_the_masks(ct64, tmp_path):
    from covidseg.io import write_mask

    img = from_nibabel(nib.load(ct64))
    out = nib.load(write_mask((img.array > -400).astype(np.uint8), img, tmp_path / "m.nii.gz"))
    src = nib.load(ct64)
    assert out.shape == src.shape
    np.testing.assert_allclose(out.affine, src.affine)


def test_hu_question_is_answered_explicitly():
    ct = np.full((4, 40, 40), -1000.0, np.float32)
    grey = np.full((4, 40, 40), 30.0, np.float32)
    assert from_array(ct, (2.0, 0.8, 0.8)).is_hu is True  # rule: minimum below -200
    assert from_array(grey, (2.0, 0.8, 0.8)).is_hu is False
    assert from_array(grey, (2.0, 0.8, 0.8), hu=True).is_hu is True  # a soft-tissue crop in HU
    assert from_array(ct, (2.0, 0.8, 0.8), hu=False).is_hu is False
    assert "hu=True" in from_array(grey, (2.0, 0.8, 0.8), hu=True).metadata["is_hu_reason"]


def test_a_2d_slice_with_and_without_spacing():
    hu = np.full((40, 48), -1000.0, np.float32)
    with_spacing = from_array(hu, (0.7, 0.8))
    assert with_spacing.shape == (40, 48) and with_spacing.spacing == pytest.approx((0.7, 0.8))
    assert with_spacing.orientation == ("P", "L") and with_spacing.affine is not None
    plain = from_array(hu.astype(np.uint8) * 0 + 30)
    assert plain.spacing is None and plain.affine is None and not plain.is_hu
    flipped = from_array(np.arange(40 * 40, dtype=np.float32).reshape(40, 40), (1.0, 1.0), orientation="AL")
    assert flipped.array[0, 0] == 39 * 40  # rows reversed to run toward posterior


@pytest.mark.parametrize("array, kwargs, message", [
    (np.zeros((4, 40, 40, 2)), {"spacing": (1, 1, 1)}, r"^array: shape \(4, 40, 40, 2\) has 4 dimensions"),
    (np.zeros(40), {"spacing": (1,)}, r"^array: shape \(40,\) has 1 dimensions"),
    (np.where(np.eye(40)[None].repeat(3, 0) > 0, np.nan, -1000.0), {"spacing": (1, 1, 1)},
     r"^array: 120 of 4800 voxels are NaN or infinite"),
    (np.zeros((3, 40, 40)), {"spacing": (1, 0, 1)}, r"^spacing: \(1, 0, 1\) must be positive and finite"),
    (np.zeros((3, 40, 40)), {"spacing": (1, -0.5, 1)}, r"^spacing: .*must be positive"),
    (np.zeros((3, 40, 40)), {"spacing": (1, float("nan"), 1)}, r"^spacing: .*must be positive"),
    (np.zeros((3, 40, 40)), {"spacing": (1, 1)}, r"^spacing: \(1, 1\) has 2 values; the 3-D array needs 3"),
    (np.zeros((3, 40, 40)), {}, r"^spacing: a volume \(3, 40, 40\) needs spacing=\(z, y, x\)"),
    (np.zeros((3, 40, 40)), {"spacing": (1, 1, 1), "orientation": "SPP"}, r"^orientation: 'SPP'"),
    (np.zeros((3, 40, 40), complex), {"spacing": (1, 1, 1)}, r"^array: dtype complex128 is not real numbers"),
    (np.zeros((3, 8, 8)), {"spacing": (1, 1, 1)}, r"^array: the axial slice is too small: 8x8"),
    (np.zeros((3, 40, 40)), {"spacing": (1, 1, 1), "hu": "yes"}, r"^hu: must be True, False or None"),
])
def test_bad_arrays_raise_one_line_value_errors(segmenter, array, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        segmenter.predict(array, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_image_objects_and_misplaced_arguments(segmenter, ct64):
    bad = sitk.GetImageFromArray(np.full((3, 40, 40), np.inf, np.float32))
    with pytest.raises(ValueError, match=r"^image: 4800 of 4800 voxels are NaN or infinite"):
        segmenter.predict(bad)
    with pytest.raises(ValueError, match=r"^spacing: only for a numpy array"):
        segmenter.predict(nib.load(ct64), spacing=(1, 1, 1))
    with pytest.raises(ValueError, match=r"^spacing: only for an in-memory array or image, not a \w*Path"):
        segmenter.predict(ct64, spacing=(1, 1, 1))
    with pytest.raises(ValueError, match=r"^series: only for a DICOM folder"):
        segmenter.predict(np.zeros((3, 40, 40)), spacing=(1, 1, 1), series="2")


def test_an_unknown_object_is_a_type_error(segmenter):
    with pytest.raises(TypeError, match="give a path, a CTImage, a numpy array"):
        segmenter.predict([[0.0] * 40] * 40)
