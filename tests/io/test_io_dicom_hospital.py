"""DICOM as hospitals send it: localizers in the series, Enhanced CT (multi-frame), compressed
transfer syntaxes, PixelPaddingValue on every path, gantry tilt. Files are generated here
from the real cip-ct64 series / 512² slices (or synthetic arrays); nothing is downloaded."""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import uid as UID

from covidseg.errors import UnreadableFileError, UnsupportedFormatError
from covidseg.io import find_cases, read_image, write_mask

ENHANCED = "1.2.840.10008.5.1.4.1.1.2.1"
LEGACY_ENHANCED = "1.2.840.10008.5.1.4.1.1.2.2"


def _edit(path: Path, **attrs) -> None:
    ds = pydicom.dcmread(path)
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    ds.save_as(path)


def _localizer_from(src: Path, dst: Path, *, image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
                    orientation=(1, 0, 0, 0, 0, -1), rows=79, cols=64) -> Path:
    """A projection-like image in the same series as ``src`` (another size and orientation)."""
    ds = pydicom.dcmread(src)
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.InstanceNumber = 999
    if image_type is not None:
        ds.ImageType = list(image_type)
    elif "ImageType" in ds:
        del ds.ImageType
    ds.ImageOrientationPatient = list(orientation)
    ds.Rows, ds.Columns = rows, cols
    ds.PixelData = np.full((rows, cols), -500, np.int16).tobytes()
    ds.save_as(dst)
    return dst


# ------------------------------------------------------------------------------ localizers


def test_localizer_in_the_series_is_skipped_and_logged(dicom_copy, ct64_nifti, caplog):
    """Before: 'image size 79x64 differs ...' and the whole scan was refused."""
    _localizer_from(dicom_copy / "IMG0001.dcm", dicom_copy / "IMG0000.dcm")
    with caplog.at_level(logging.WARNING, logger="covidseg.io"):
        img = read_image(dicom_copy)
    np.testing.assert_array_equal(img.array, read_image(ct64_nifti).array)
    assert img.metadata["skipped_localizers"] == ["IMG0000.dcm"]
    assert all("IMG0000" not in f for f in img.metadata["files"])
    assert any("skipped 1 localizer" in r.getMessage() and "IMG0000.dcm" in r.getMessage() for r in caplog.records)


def test_stray_image_of_another_orientation_without_image_type_is_skipped(dicom_copy, ct64_nifti):
    _localizer_from(dicom_copy / "IMG0001.dcm", dicom_copy / "zz.dcm", image_type=None,
                    orientation=(0, 1, 0, 0, 0, -1), rows=64, cols=64)
    img = read_image(dicom_copy)
    np.testing.assert_array_equal(img.array, read_image(ct64_nifti).array)
    assert img.metadata["skipped_localizers"] == ["zz.dcm"]


def test_localizer_marked_by_image_type_alone_is_skipped(dicom_copy, ct64_nifti):
    """A localizer with the series' own orientation and size is found by its ImageType."""
    ds = pydicom.dcmread(dicom_copy / "IMG0001.dcm")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.ImagePositionPatient = [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1], 0.0]
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(dicom_copy / "scout.dcm")
    img = read_image(dicom_copy)  # else: 'uneven slice step(s)'
    np.testing.assert_array_equal(img.array, read_image(ct64_nifti).array)


def test_localizer_series_beside_the_scan_is_not_a_case(dicom_copy, ct64_nifti):
    for k, orientation in enumerate([(1, 0, 0, 0, 0, -1), (0, 1, 0, 0, 0, -1)]):
        path = _localizer_from(dicom_copy / "IMG0001.dcm", dicom_copy / f"scout{k}.dcm", orientation=orientation)
        _edit(path, SeriesInstanceUID="1.2.826.0.1.3680043.8.498.555", SeriesNumber=1)
    cases = find_cases(dicom_copy)
    assert len(cases) == 1 and cases[0].series == pydicom.dcmread(dicom_copy / "IMG0001.dcm").SeriesInstanceUID
    np.testing.assert_array_equal(read_image(dicom_copy).array, read_image(ct64_nifti).array)


def test_tiny_non_axial_series_without_image_type_is_not_a_case(dicom_copy, ct64_nifti):
    """Two coronal images in their own series (a scout without ImageType) beside the scan."""
    for k in range(2):
        path = _localizer_from(dicom_copy / "IMG0001.dcm", dicom_copy / f"cor{k}.dcm", image_type=None)
        _edit(path, SeriesInstanceUID="1.2.826.0.1.3680043.8.498.556", SeriesNumber=2,
              ImagePositionPatient=[0, float(k), 0])
    assert len(find_cases(dicom_copy)) == 1  # before: 2 cases, the coronal pair failing as 'too small'
    np.testing.assert_array_equal(read_image(dicom_copy).array, read_image(ct64_nifti).array)


def test_a_slightly_different_orientation_is_not_taken_for_a_localizer(dicom_copy):
    """5 degrees off is a damaged or different reconstruction, not a scout: still refused."""
    t = np.radians(5)
    _edit(dicom_copy / "IMG0079.dcm", ImageOrientationPatient=[1, 0, 0, 0, round(np.cos(t), 6), round(-np.sin(t), 6)])
    with pytest.raises(UnsupportedFormatError, match="ImageOrientationPatient differs"):
        read_image(dicom_copy)


def test_several_images_of_another_orientation_are_still_refused(dicom_copy):
    for k in range(4):
        _localizer_from(dicom_copy / "IMG0001.dcm", dicom_copy / f"cor{k}.dcm", image_type=None, rows=64)
    with pytest.raises(UnsupportedFormatError, match="ImageOrientationPatient differs"):
        read_image(dicom_copy)


# ------------------------------------------------------------------------------ Enhanced CT


@pytest.fixture(scope="module")
def enhanced_ct(ct64_dicom, tmp_path_factory) -> Path:
    """The cip-ct64 series converted to one multi-frame object (highdicom's legacy converter)."""
    import highdicom as hd

    datasets = [pydicom.dcmread(p) for p in sorted(ct64_dicom.glob("*.dcm"))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enh = hd.legacy.LegacyConvertedEnhancedCTImage(
            legacy_datasets=datasets, series_instance_uid=pydicom.uid.generate_uid(), series_number=7,
            sop_instance_uid=pydicom.uid.generate_uid(), instance_number=1)
    path = tmp_path_factory.mktemp("enhanced") / "legacy.dcm"
    enh.save_as(path)
    return path


def _as_enhanced(src: Path, dst: Path, sop_class: str = ENHANCED, **attrs) -> Path:
    ds = pydicom.dcmread(src)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    ds.save_as(dst)
    return dst


@pytest.mark.parametrize("sop_class", [ENHANCED, LEGACY_ENHANCED])
def test_enhanced_ct_reads_like_the_series(enhanced_ct, ct64_dicom, tmp_path, sop_class):
    path = _as_enhanced(enhanced_ct, tmp_path / "enhanced.dcm", sop_class)
    img, ref = read_image(path), read_image(ct64_dicom)
    assert img.kind == "dicom-series" and img.is_hu and img.metadata["frames"] == 79
    np.testing.assert_array_equal(img.array, ref.array)
    assert img.orientation == ref.orientation == ("S", "P", "L")
    # the series uses the median step of positions stored to 0.001 mm, highdicom the mean
    np.testing.assert_allclose(img.spacing, ref.spacing, atol=1e-3)
    np.testing.assert_allclose(img.affine, ref.affine, atol=0.03)
    np.testing.assert_allclose(img.origin, ref.origin, atol=1e-3)
    # a folder holding the one object reads the same, named after the folder
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(path, folder / "enhanced.dcm")
    again = read_image(folder)
    np.testing.assert_array_equal(again.array, ref.array)
    assert again.source == folder and len(find_cases(folder)) == 1


def test_enhanced_ct_mask_goes_back_to_its_frames(enhanced_ct, tmp_path):
    import nibabel as nib

    img = read_image(_as_enhanced(enhanced_ct, tmp_path / "e.dcm"))
    mask = (img.array > -400).astype(np.uint8)
    out = nib.load(write_mask(mask, img, tmp_path / "mask.nii.gz"))
    assert out.shape == (64, 64, 79)  # (columns, rows, frames): the object's own voxel order
    np.testing.assert_allclose(out.affine, img.native.affine, atol=1e-4)


@pytest.mark.parametrize("syntax", [UID.RLELossless, UID.JPEG2000Lossless])
def test_compressed_enhanced_ct(enhanced_ct, ct64_dicom, tmp_path, syntax):
    ds = pydicom.dcmread(_as_enhanced(enhanced_ct, tmp_path / "e.dcm"))
    ds.compress(syntax)
    ds.save_as(tmp_path / "c.dcm")
    img = read_image(tmp_path / "c.dcm")
    assert img.metadata["transfer_syntax"] == syntax
    np.testing.assert_array_equal(img.array, read_image(ct64_dicom).array)


def test_enhanced_ct_padding_becomes_air(enhanced_ct, tmp_path):
    ds = pydicom.dcmread(_as_enhanced(enhanced_ct, tmp_path / "e.dcm"))
    frames = ds.pixel_array.copy()  # stored values (intercept 0: HU)
    frames[:, :6, :6] = -3000
    ds.PixelData = frames.astype(np.int16).tobytes()
    ds.add_new(0x00280120, "SS", -3000)  # PixelPaddingValue (US or SS: signed pixels here)
    ds.save_as(tmp_path / "padded.dcm")
    img = read_image(tmp_path / "padded.dcm")
    assert img.metadata["padding_pixels"] == 79 * 36
    assert (img.array == -1024).sum() >= 79 * 36 and img.array.min() > -3000


def test_enhanced_ct_with_a_gap_is_refused(enhanced_ct, tmp_path):
    ds = pydicom.dcmread(_as_enhanced(enhanced_ct, tmp_path / "e.dcm"))
    keep = [k for k in range(79) if k != 40]
    ds.PerFrameFunctionalGroupsSequence = pydicom.Sequence([ds.PerFrameFunctionalGroupsSequence[k] for k in keep])
    ds.PixelData = ds.pixel_array[keep].astype(np.int16).tobytes()
    ds.NumberOfFrames = 78
    ds.save_as(tmp_path / "gap.dcm")
    with pytest.raises(Exception, match=r"gap.*between frame 4[01] and frame 4[01]") as info:
        read_image(tmp_path / "gap.dcm")
    assert type(info.value).__name__ == "DimensionError" and str(info.value).startswith(str(tmp_path / "gap.dcm"))


# ------------------------------------------------------------------------------ compression


def _jpeg_lossless(ds) -> None:
    """Re-encode ``ds`` as JPEG Lossless SV1 (process 14): pydicom has no encoder for it, so
    SimpleITK's GDCM writes the codestream, which is moved into ``ds``."""
    import SimpleITK as sitk

    tmp = Path(ds.filename).with_suffix(".sitk.dcm")
    writer = sitk.ImageFileWriter()
    writer.SetFileName(str(tmp))
    writer.SetUseCompression(True)
    writer.SetCompressor("JPEG")
    writer.Execute(sitk.GetImageFromArray(ds.pixel_array[None]))
    enc = pydicom.dcmread(tmp)
    assert enc.file_meta.TransferSyntaxUID == UID.JPEGLosslessSV1
    ds.PixelData = enc.PixelData
    ds["PixelData"].VR = "OB"
    ds.BitsStored, ds.HighBit = enc.BitsStored, enc.HighBit
    ds.file_meta.TransferSyntaxUID = UID.JPEGLosslessSV1
    tmp.unlink()


def _compress(src: Path, dst: Path, syntax) -> Path:
    ds = pydicom.dcmread(src)
    if syntax == UID.JPEGLosslessSV1:
        _jpeg_lossless(ds)
    else:
        ds.compress(syntax)
    ds.save_as(dst)
    return dst


SYNTAXES = [UID.RLELossless, UID.JPEGLSLossless, UID.JPEG2000Lossless, UID.JPEGLosslessSV1]


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda u: u.name.split(",")[0])
def test_compressed_slice_reads_like_the_uncompressed_one(chest512, tmp_path, syntax):
    if syntax == UID.JPEGLSLossless:
        pytest.importorskip("jpeg_ls", reason="the JPEG-LS encoder (pyjpegls) is not installed")
    ref = read_image(chest512 / "slice001.dcm")
    path = _compress(chest512 / "slice001.dcm", tmp_path / "c.dcm", syntax)
    img = read_image(path)
    assert img.metadata["transfer_syntax"] == syntax
    np.testing.assert_array_equal(img.array, ref.array)  # padding included
    assert img.metadata["padding_pixels"] == ref.metadata["padding_pixels"] > 1000


@pytest.mark.parametrize("syntax", [UID.JPEG2000Lossless, UID.JPEGLosslessSV1], ids=["J2K", "JPEG-lossless"])
def test_compressed_series_reads_like_the_nifti(dicom_copy, ct64_nifti, syntax):
    for p in dicom_copy.iterdir():
        _compress(p, p, syntax)
    np.testing.assert_array_equal(read_image(dicom_copy).array, read_image(ct64_nifti).array)


def test_undecodable_compression_names_the_file_and_the_transfer_syntax(chest512, tmp_path, monkeypatch):
    """No decoder (plugins missing, GDCM unable): one line with the file and the syntax."""
    import SimpleITK as sitk
    from pydicom.pixels import get_decoder

    path = _compress(chest512 / "slice001.dcm", tmp_path / "j2k.dcm", UID.JPEG2000Lossless)
    decoder = get_decoder(UID.JPEG2000Lossless)  # as if pylibjpeg-openjpeg were not installed
    monkeypatch.setattr(decoder, "_available", {})
    monkeypatch.setattr(decoder, "_unavailable", {"pylibjpeg": ("pylibjpeg", "pylibjpeg-openjpeg")})

    def gdcm_fails(*args, **kwargs):
        raise RuntimeError("GDCM cannot decode")

    monkeypatch.setattr(sitk, "ReadImage", gdcm_fails)
    with pytest.raises(UnreadableFileError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot decode the pixel data, transfer syntax ")
    assert "JPEG 2000 Image Compression (Lossless Only) (1.2.840.10008.1.2.4.90)" in message
    assert "no decoder installed (pylibjpeg - requires pylibjpeg and pylibjpeg-openjpeg)" in message
    assert "\n" not in message


# ------------------------------------------------------------------------------ padding


def test_padding_on_the_gdcm_path(chest512, monkeypatch):
    """Before: the SimpleITK/GDCM fallback returned the padding as -2000 - 1024 HU."""
    ref = read_image(chest512 / "slice001.dcm")

    def no_decoder(self):
        raise RuntimeError("no decoder for this transfer syntax")

    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(no_decoder))
    img = read_image(chest512 / "slice001.dcm")
    np.testing.assert_array_equal(img.array, ref.array)
    assert img.metadata["padding_pixels"] == ref.metadata["padding_pixels"] > 1000


def test_padding_range_in_a_series(dicom_copy):
    ref = read_image(dicom_copy)
    for p in dicom_copy.iterdir():
        ds = pydicom.dcmread(p)
        stored = ds.pixel_array.copy()
        stored[:4, :4] = -3000 + np.arange(16).reshape(4, 4)  # -3000 .. -2985
        ds.PixelData = stored.astype(np.int16).tobytes()
        ds.add_new(0x00280120, "SS", -3000)  # PixelPaddingValue .. PixelPaddingRangeLimit:
        ds.add_new(0x00280121, "SS", -2990)  # the first 11 of the 16 values
        ds.save_as(p)
    img = read_image(dicom_copy)
    assert img.metadata["padding_pixels"] == 79 * 11
    assert img.array.min() == pytest.approx(-2989)  # the 5 values beyond the range stay as stored
    assert (img.array == -1024).sum() == (ref.array == -1024).sum() + 79 * 11


# ------------------------------------------------------------------------------ gantry tilt


def _tilt(folder: Path, degrees: float, *, along_normal: bool) -> None:
    """Tilt the series: either the slice positions drift in y as z advances (a gantry-tilted
    acquisition stored with axial orientation), or the image plane itself is tilted about x
    and the positions follow its normal (an oblique but orthogonal volume)."""
    t = np.radians(degrees)
    for p in folder.iterdir():
        ds = pydicom.dcmread(p)
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        z0 = -360.256
        if along_normal:
            col = [0.0, np.cos(t), -np.sin(t)]
            normal = np.cross([1.0, 0.0, 0.0], col)
            pos = np.array([x, y, z0]) + (z - z0) * normal
            ds.ImageOrientationPatient = [1, 0, 0, *[round(c, 6) for c in col]]
            ds.ImagePositionPatient = [round(v, 4) for v in pos]
        else:
            ds.ImagePositionPatient = [x, round(y + (z - z0) * np.tan(t), 4), z]
        ds.GantryDetectorTilt = degrees
        ds.save_as(p)


def test_gantry_tilted_series_is_refused_with_a_clear_line(dicom_copy):
    """Before: a warning, and a volume read as if the slices were stacked straight."""
    _tilt(dicom_copy, 12, along_normal=False)
    with pytest.raises(UnsupportedFormatError) as info:
        read_image(dicom_copy)
    message = str(info.value)
    assert message.startswith(f"{dicom_copy}: gantry-tilted")
    assert "about 12.0 degrees" in message and "GantryDetectorTilt 12 degrees" in message


def test_tilted_plane_with_positions_along_its_normal_is_read(dicom_copy, ct64_nifti):
    _tilt(dicom_copy, 12, along_normal=True)
    img = read_image(dicom_copy)
    assert img.metadata["gantry_tilt"] == 12
    np.testing.assert_array_equal(img.array, read_image(ct64_nifti).array)
    np.testing.assert_allclose(img.spacing, (3.987, 4.171872, 4.171872), atol=2e-3)


def test_sub_pixel_drift_is_read_and_recorded(dicom_copy, ct64_nifti):
    _tilt(dicom_copy, 0.3, along_normal=False)  # 1.6 mm over 311 mm: under half a 4.17 mm pixel
    img = read_image(dicom_copy)
    np.testing.assert_array_equal(img.array, read_image(ct64_nifti).array)
    assert 1.0 < img.metadata["inplane_drift_mm"] < 2.085
