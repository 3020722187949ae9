"""Masks go back into the input's exact geometry."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from covidseg.errors import UnsupportedFormatError
from covidseg.io import mask_suffix, read_image, write_mask


def test_nifti_lung_mask_round_trip_is_exact(ct64_nifti, ct64_lung, tmp_path):
    img = read_image(ct64_nifti)
    lung = read_image(ct64_lung)  # the lung mask, read into the same canonical layout
    assert lung.array.shape == img.array.shape
    out = write_mask(lung.array.astype(np.uint8), img, tmp_path / "lung.nii.gz")
    written, original = nib.load(out), nib.load(ct64_lung)
    assert written.shape == nib.load(ct64_nifti).shape == original.shape
    assert np.allclose(written.affine, nib.load(ct64_nifti).affine)
    np.testing.assert_array_equal(np.asarray(written.dataobj), np.asarray(original.dataobj))
    assert written.get_data_dtype() == np.uint8
    hdr, src = written.header, nib.load(ct64_nifti).header
    assert (hdr["qform_code"], hdr["sform_code"]) == (src["qform_code"], src["sform_code"])
    np.testing.assert_array_equal(hdr.get_sform(), src.get_sform())


def test_voxels_land_in_the_right_place(ct64_nifti, tmp_path):
    img = read_image(ct64_nifti)
    mask = np.zeros(img.array.shape, np.uint8)
    mask[10, 20, 30] = 1  # array[k, j, i]
    data = np.asarray(nib.load(write_mask(mask, img, tmp_path / "m.nii")).dataobj)
    assert list(zip(*np.nonzero(data))) == [(30, 20, 10)]  # file order (i, j, k)


def test_dicom_mask_is_in_patient_space_matching_the_nifti(ct64_dicom, ct64_nifti, ct64_lung, tmp_path):
    """Finding: the DICOM-derived affine equals the NIfTI's within 0.0004 per entry (DICOM
    positions are rounded to 0.001 mm, so the slice step is 3.98700 vs 3.98734 mm), i.e. voxel
    positions within 0.03 mm; both masks hold the same voxels in the same order."""
    lung = read_image(ct64_lung).array.astype(np.uint8)
    dcm, nii = read_image(ct64_dicom), read_image(ct64_nifti)
    from_dicom = nib.load(write_mask(lung, dcm, tmp_path / "dicom.nii.gz"))
    from_nifti = nib.load(write_mask(lung, nii, tmp_path / "nifti.nii.gz"))
    assert from_dicom.shape == from_nifti.shape == (64, 64, 79)
    np.testing.assert_allclose(from_dicom.affine, from_nifti.affine, atol=1e-3)
    far = np.array([63, 63, 78, 1])
    assert np.linalg.norm((from_dicom.affine - from_nifti.affine) @ far) < 0.05  # mm
    np.testing.assert_array_equal(np.asarray(from_dicom.dataobj), np.asarray(from_nifti.dataobj))
    assert nib.aff2axcodes(from_dicom.affine) == ("L", "P", "S")
    assert from_dicom.header["sform_code"] == 1 and from_dicom.header["qform_code"] == 1


@pytest.mark.parametrize(
    "axes, flips",
    [((0, 1, 2), (1, 1, 1)), ((0, 1, 2), (-1, 1, -1)), ((2, 0, 1), (1, -1, 1)), ((1, 2, 0), (-1, -1, -1))],
)
def test_any_axis_order_round_trips(tmp_path, axes, flips):
    """NIfTI stored in RAS, LPI, sagittal (PIR-like) ... orders: read canonical, write back exactly."""
    rng = np.random.default_rng(0)
    data = rng.integers(-1000, 1000, size=(32, 33, 34)).astype(np.int16)  # any axis may be in-plane
    affine = np.zeros((4, 4))
    affine[3, 3] = 1
    for i, (ax, fl) in enumerate(zip(axes, flips)):
        affine[ax, i] = fl * (0.5 + i)
    affine[:3, 3] = [10, -20, 30]
    src = tmp_path / "src.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), src)
    img = read_image(src)
    assert img.orientation == ("S", "P", "L")
    for i, j, k in [(0, 0, 0), (31, 32, 33), (1, 2, 3)]:
        pos = affine @ [i, j, k, 1]
        idx = np.rint(np.linalg.solve(img.affine, pos)).astype(int)[:3]
        assert img.array[tuple(idx)] == data[i, j, k]
    out = nib.load(write_mask((img.array > 0).astype(np.uint8), img, tmp_path / "m.nii.gz"))
    assert out.shape == data.shape and np.allclose(out.affine, affine)
    np.testing.assert_array_equal(np.asarray(out.dataobj), (data > 0).astype(np.uint8))


def test_4d_nifti_with_one_volume_keeps_its_shape(tmp_path):
    data = np.full((32, 33, 6, 1), -1000, np.int16)
    src = tmp_path / "one.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 3.0, 1.0])), src)
    img = read_image(src)
    assert img.array.shape == (6, 33, 32)
    out = nib.load(write_mask(np.ones(img.array.shape, np.uint8), img, tmp_path / "m.nii.gz"))
    assert out.shape == (32, 33, 6, 1)


def test_png_mask_for_image_input(semiseg, tmp_path):
    img = read_image(semiseg / "train" / "images" / "0.jpg")
    assert mask_suffix(img) == ".png"
    mask = np.zeros(img.array.shape, np.uint8)
    mask[10:20, 5:9] = 255
    out = write_mask(mask, img, tmp_path / "0.png")
    back = np.asarray(Image.open(out))
    assert back.dtype == np.uint8 and back.shape == img.array.shape
    np.testing.assert_array_equal(back, mask)


def test_png_mask_for_a_single_dicom_slice(chest512, tmp_path):
    img = read_image(chest512 / "slice001.dcm")
    mask = (img.array > -500).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(write_mask(mask, img, tmp_path / "s.png"))), mask)
    # and in patient space as a one-slice NIfTI, consistent with the 2-slice series
    assert mask_suffix(img) == ".nii.gz"
    one = nib.load(write_mask(mask, img, tmp_path / "s.nii.gz"))
    series = read_image(chest512)
    two = nib.load(write_mask(np.zeros(series.array.shape, np.uint8), series, tmp_path / "v.nii.gz"))
    assert one.shape == (512, 512, 1)
    np.testing.assert_allclose(one.affine[:3, :2], two.affine[:3, :2])
    np.testing.assert_allclose(one.affine[:3, 3], two.affine[:3, 3], atol=1e-4)
    np.testing.assert_array_equal(np.asarray(one.dataobj)[:, :, 0], mask.T)


def test_mask_shape_must_match(ct64_nifti, semiseg, tmp_path):
    img = read_image(semiseg / "train" / "images" / "0.jpg")
    with pytest.raises(ValueError, match="shape"):
        write_mask(np.zeros((10, 10), np.uint8), img, tmp_path / "x.png")
    vol = read_image(ct64_nifti)
    with pytest.raises(ValueError, match="shape"):
        write_mask(np.zeros((64, 64, 79), np.uint8), vol, tmp_path / "x.nii.gz")
    assert not list(tmp_path.iterdir())


def test_unsuitable_extensions_are_refused(ct64_nifti, tmp_path):
    vol = read_image(ct64_nifti)
    mask = np.zeros(vol.array.shape, np.uint8)
    for name in ("m.png", "m.jpg", "m.txt"):
        with pytest.raises(UnsupportedFormatError):
            write_mask(mask, vol, tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_png_mask_values_must_fit_8_bits(semiseg, tmp_path):
    img = read_image(semiseg / "train" / "images" / "0.jpg")
    with pytest.raises(ValueError, match="0..255"):
        write_mask(np.full(img.array.shape, 300, np.int32), img, tmp_path / "x.png")
    write_mask(np.ones(img.array.shape, bool), img, tmp_path / "b.png")
    assert np.asarray(Image.open(tmp_path / "b.png")).max() == 1  # bool -> 0/1, as given


def test_slices_folder_mask_is_a_folder_of_pngs(tmp_path):
    src = tmp_path / "stack"
    src.mkdir()
    for n in (10, 2, 1):
        Image.fromarray(np.full((32, 33), n, np.uint8)).save(src / f"s{n}.png")
    img = read_image(src)
    assert mask_suffix(img) == ""
    mask = np.stack([np.full((32, 33), k, np.uint8) for k in range(3)])
    write_mask(mask, img, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["s1.png", "s10.png", "s2.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "s10.png")).max() == 2  # third in natural order
    nii = nib.load(write_mask(mask, img, tmp_path / "stack.nii.gz"))
    assert nii.shape == (33, 32, 3)


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
def test_itk_mask_formats_keep_the_geometry(ct64_dicom, suffix, tmp_path):
    img = read_image(ct64_dicom)
    mask = (img.array > -400).astype(np.uint8)
    out = sitk.ReadImage(str(write_mask(mask, img, tmp_path / f"m{suffix}")))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(out), mask)
    np.testing.assert_allclose(out.GetOrigin(), img.origin, atol=1e-4)
    np.testing.assert_allclose(out.GetSpacing(), img.spacing[::-1], atol=1e-4)
    back = read_image(out_path := tmp_path / f"m{suffix}")
    assert back.kind in ("nrrd", "metaimage") and back.source == out_path
    np.testing.assert_array_equal(back.array, mask.astype(np.float32))
    np.testing.assert_allclose(back.affine, img.affine, atol=1e-4)


def test_oblique_qform_only_nifti_round_trips(tmp_path):
    """A rotated (oblique) volume whose geometry is only in the qform: header kept exactly."""
    theta = np.deg2rad(20)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([-0.8, 0.8, 2.5])  # columns toward ~L, ~A, S
    affine[:3, 3] = [50, -60, 10]
    data = np.random.default_rng(3).integers(-1000, 400, (32, 33, 8)).astype(np.int16)
    src = nib.Nifti1Image(data, None)
    src.set_qform(affine, code=1)
    src.set_sform(None, code=0)
    nib.save(src, tmp_path / "oblique.nii.gz")
    img = read_image(tmp_path / "oblique.nii.gz")
    assert img.orientation == ("S", "P", "L")
    assert img.array.shape == (8, 33, 32)
    np.testing.assert_allclose(img.spacing, (2.5, 0.8, 0.8), rtol=1e-5)
    out = nib.load(write_mask((img.array > 0).astype(np.uint8), img, tmp_path / "m.nii.gz"))
    assert out.header["sform_code"] == 0 and out.header["qform_code"] == 1
    np.testing.assert_allclose(out.affine, nib.load(tmp_path / "oblique.nii.gz").affine, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(out.dataobj), (data > 0).astype(np.uint8))


def test_scaled_nifti_reads_in_hu_and_mask_is_unscaled(tmp_path):
    hu = np.random.default_rng(4).integers(-1024, 2000, (32, 33, 3)).astype(np.float32)
    src = nib.Nifti1Image((hu + 1024).astype(np.uint16), np.diag([-1.0, -1.0, 2.0, 1.0]))  # L, P, S
    src.header.set_slope_inter(1.0, -1024.0)
    nib.save(src, tmp_path / "scaled.nii.gz")
    img = read_image(tmp_path / "scaled.nii.gz")
    assert img.is_hu
    np.testing.assert_array_equal(img.array, hu.transpose(2, 1, 0))
    out = nib.load(write_mask(np.ones(img.array.shape, np.uint8), img, tmp_path / "m.nii.gz"))
    assert out.get_data_dtype() == np.uint8
    assert np.all(np.asarray(out.dataobj) == 1) and out.get_fdata().max() == 1.0


def test_nifti_mask_drops_free_text_of_the_input_header(ct64_nifti, tmp_path):
    """Converters may put patient data in header extensions or text fields; a mask written in
    the input's geometry (by predict or a GUI export) must not carry it along."""
    src = nib.load(ct64_nifti)
    hdr = src.header.copy()
    hdr.extensions.append(nib.nifti1.Nifti1Extension(6, b"DOE^JANE 1970-01-01"))
    hdr["db_name"], hdr["aux_file"], hdr["descrip"] = b"ACC12345", b"DOE-aux", b"DOE^JANE"
    dirty = tmp_path / "dirty.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(src.dataobj), src.affine, header=hdr), dirty)
    img = read_image(dirty)
    out = write_mask(np.zeros(img.array.shape, np.uint8), img, tmp_path / "m.nii.gz")
    written = nib.load(out)
    assert len(written.header.extensions) == 0
    for key in ("db_name", "aux_file"):
        assert written.header[key].item() == b"", key
    assert written.header["descrip"].item() == b"covidseg mask"
    import gzip

    assert b"DOE" not in gzip.decompress(out.read_bytes()) and b"ACC12345" not in gzip.decompress(out.read_bytes())
    assert np.allclose(written.affine, src.affine)
