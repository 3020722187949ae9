"""Every kind of bad input gives a typed error naming the file and the reason."""

from __future__ import annotations

import gzip
import shutil

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from PIL import Image

from covidseg.errors import (
    DimensionError,
    EmptyFolderError,
    FileMissingError,
    InputError,
    NonFiniteError,
    NotCTError,
    UnreadableFileError,
    UnsupportedFormatError,
)
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


def test_truncated_nifti_gz(ct64_nifti, tmp_path):
    data = ct64_nifti.read_bytes()
    bad = tmp_path / "cut.nii.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFileError) as info:
        read_image(bad)
    _check(info, bad)
    assert "truncated" in info.value.reason


def test_truncated_uncompressed_nifti(ct64_nifti, tmp_path):
    raw = gzip.decompress(ct64_nifti.read_bytes())
    bad = tmp_path / "cut.nii"
    bad.write_bytes(raw[: len(raw) - 1000])
    with pytest.raises(UnreadableFileError) as info:
        read_image(bad)
    _check(info, bad)


def test_garbage_named_nifti(tmp_path):
    bad = tmp_path / "junk.nii.gz"
    bad.write_bytes(gzip.compress(b"definitely not a nifti header" * 20))
    with pytest.raises(UnreadableFileError) as info:
        read_image(bad)
    _check(info, bad)


def test_jpg_cut_in_half(semiseg, tmp_path):
    data = (semiseg / "train" / "images" / "0.jpg").read_bytes()
    bad = tmp_path / "half.jpg"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFileError) as info:
        read_image(bad)
    _check(info, bad)


def test_png_cut_in_half(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(good)
    bad = tmp_path / "half.png"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(UnreadableFileError) as info:
        read_image(bad)
    _check(info, bad)


def test_random_bytes_named_dcm(tmp_path):
    bad = tmp_path / "noise.dcm"
    bad.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(UnreadableFileError) as info:
        read_image(bad)
    _check(info, bad)
    # the same file inside a series folder is named, not skipped
    with pytest.raises(UnreadableFileError) as info:
        read_image(tmp_path)
    _check(info, bad)


def test_dicom_with_truncated_pixel_data(ct64_dicom, tmp_path):
    data = (ct64_dicom / "IMG0001.dcm").read_bytes()
    bad = tmp_path / "cut.dcm"
    bad.write_bytes(data[:-3000])
    with pytest.raises(UnreadableFileError) as info:
        read_image(bad)
    _check(info, bad)


def test_zero_byte_file(tmp_path):
    bad = tmp_path / "empty.png"
    bad.touch()
    with pytest.raises(UnreadableFileError, match="empty"):
        read_image(bad)


def test_unsupported_format(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("a CT report, not an image")
    with pytest.raises(UnsupportedFormatError) as info:
        read_image(bad)
    _check(info, bad)
    assert ".nii.gz" in info.value.reason  # says what is supported
    with pytest.raises(UnsupportedFormatError):
        find_cases(bad)


def test_empty_folder(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(EmptyFolderError) as info:
        read_image(folder)
    _check(info, folder)
    with pytest.raises(EmptyFolderError):
        find_cases(folder)
    (folder / "README.txt").write_text("nothing to see")
    (folder / "sub").mkdir()
    with pytest.raises(EmptyFolderError, match="supported"):
        read_image(folder)


@pytest.mark.parametrize("modality, sop", [
    ("MR", "1.2.840.10008.5.1.4.1.1.4"),
    ("SEG", "1.2.840.10008.5.1.4.1.1.66.4"),
])
def test_dicom_that_is_not_ct(ct64_dicom, tmp_path, modality, sop):
    ds = pydicom.dcmread(ct64_dicom / "IMG0001.dcm")
    ds.Modality = modality
    ds.SOPClassUID = sop
    bad = tmp_path / f"{modality}.dcm"
    ds.save_as(bad)
    with pytest.raises(NotCTError) as info:
        read_image(bad)
    _check(info, bad)
    assert modality in info.value.reason
    with pytest.raises(NotCTError):
        read_image(tmp_path)  # a folder whose only series is not CT
    with pytest.raises(NotCTError):
        find_cases(tmp_path)


def test_4d_nifti(tmp_path):
    bad = tmp_path / "fmri.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 3, 2), np.int16), np.eye(4)), bad)
    with pytest.raises(DimensionError) as info:
        read_image(bad)
    _check(info, bad)
    assert "4 dimensions" in info.value.reason


def test_4d_nrrd(tmp_path):
    bad = tmp_path / "4d.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((2, 3, 4, 5), np.int16), isVector=False), str(bad))
    with pytest.raises(DimensionError):
        read_image(bad)


def test_nan_in_float_nifti(tmp_path):
    data = np.full((32, 32, 5), -1000.0, np.float32)
    data[2, 2, 2] = np.nan
    data[1, 1, 1] = np.inf
    bad = tmp_path / "nan.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), bad)
    with pytest.raises(NonFiniteError) as info:
        read_image(bad)
    _check(info, bad)
    assert "2 of 5120" in info.value.reason


def test_nan_in_mha(tmp_path):
    data = np.zeros((3, 32, 32), np.float32)
    data[0, 0, 0] = np.nan
    bad = tmp_path / "nan.mha"
    sitk.WriteImage(sitk.GetImageFromArray(data), str(bad))
    with pytest.raises(NonFiniteError):
        read_image(bad)


def test_truncated_nrrd(tmp_path, ct64_nifti):
    img = sitk.ReadImage(str(ct64_nifti))
    good = tmp_path / "good.nrrd"
    sitk.WriteImage(img, str(good), useCompression=False)
    bad = tmp_path / "cut.nrrd"
    bad.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(UnreadableFileError) as info:
        read_image(bad)
    _check(info, bad)


def test_empty_axis_nifti(tmp_path):
    bad = tmp_path / "flat.nii"
    nib.save(nib.Nifti1Image(np.zeros((4, 0, 3), np.int16), np.eye(4)), bad)
    with pytest.raises(DimensionError, match="empty"):
        read_image(bad)


def test_mixed_sizes_in_a_dicom_series(dicom_copy, chest512):
    shutil.copy(chest512 / "slice001.dcm", dicom_copy / "zz.dcm")
    ds = pydicom.dcmread(dicom_copy / "zz.dcm")
    ds.SeriesInstanceUID = pydicom.dcmread(dicom_copy / "IMG0001.dcm").SeriesInstanceUID
    ds.save_as(dicom_copy / "zz.dcm")
    with pytest.raises(UnsupportedFormatError, match="differs"):
        read_image(dicom_copy)


def test_duplicate_slice_positions(dicom_copy):
    shutil.copy(dicom_copy / "IMG0010.dcm", dicom_copy / "IMG0010b.dcm")
    with pytest.raises(DimensionError, match="share a slice position"):
        read_image(dicom_copy)


def test_multi_frame_dicom_is_refused_with_advice(ct64_dicom, tmp_path):
    ds = pydicom.dcmread(ct64_dicom / "IMG0001.dcm")
    ds.PixelData = ds.PixelData * 2
    ds.NumberOfFrames = 2
    bad = tmp_path / "multi.dcm"
    ds.save_as(bad)
    with pytest.raises(UnsupportedFormatError, match="multi-frame") as info:
        read_image(bad)
    _check(info, bad)


def test_series_argument_matching_nothing_in_an_image_folder(tmp_path):
    from covidseg.errors import ConfigError

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "1.png")
    with pytest.raises(ConfigError):
        read_image(tmp_path, series="2")


def test_degenerate_geometry(tmp_path):
    img = nib.Nifti1Image(np.full((3, 4, 5), -1000, np.int16), np.eye(4))
    hdr = img.header
    hdr["srow_x"], hdr["srow_y"], hdr["srow_z"] = [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]  # x twice
    hdr["sform_code"] = 1
    bad = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(img.dataobj, None, hdr), bad)
    with pytest.raises(UnreadableFileError, match="degenerate") as info:
        read_image(bad)
    _check(info, bad)
    # ITK refuses such a MetaImage itself: still the same typed error
    mha = tmp_path / "flat.mha"
    mha.write_bytes(
        b"ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        b"TransformMatrix = 1 0 0 1 0 0 0 0 1\nOffset = 0 0 0\nElementSpacing = 1 1 1\n"
        b"DimSize = 5 4 3\nElementType = MET_SHORT\nElementDataFile = LOCAL\n" + bytes(120)
    )
    with pytest.raises(UnreadableFileError) as info:
        read_image(mha)
    _check(info, mha)
