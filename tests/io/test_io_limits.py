"""The readers' safety limits and decisions on borderline input (docs/io.md, "Hostile input"):
size limits checked from headers, spacing/geometry checks, DICOM series consistency
tolerances, rescale and SOP-class rules, and the catch-all that keeps errors typed."""

from __future__ import annotations

import logging

import nibabel as nib
import numpy as np
import pytest
from hostile.corpus import HU_DISC, PIXEL_SPACING, SIZE, write_dicom, write_nifti, write_series
from PIL import Image, ImageFile

import covidseg.io._common as common
from covidseg.errors import (
    DimensionError,
    NotCTError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from covidseg.io import find_cases, read_image

# ------------------------------------------------------------------------------- image sizes


@pytest.mark.parametrize("rows, cols, ok", [
    (32, 32, True), (32, 600, True), (31, 40, False), (40, 31, False), (1, 1, False), (1, 500, False),
])
def test_minimum_image_size(tmp_path, rows, cols, ok):
    path = tmp_path / "img.png"
    Image.fromarray(np.zeros((rows, cols), np.uint8)).save(path)
    if ok:
        assert read_image(path).shape == (rows, cols)
    else:
        with pytest.raises(DimensionError, match=rf"too small: {cols}x{rows} pixels"):
            read_image(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_too_large_image_is_refused_before_decoding(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"big{suffix}"
    Image.fromarray(np.zeros((64, 48), np.uint8)).save(path)
    monkeypatch.setattr(common, "MAX_PIXELS", 64 * 48 - 1)

    def no_decoding(self):
        raise AssertionError("pixels decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(DimensionError, match=r"too large: 48x64 pixels .*before decoding"):
        read_image(path)


def test_stack_of_slices_over_the_voxel_budget_is_refused_from_headers(tmp_path, monkeypatch):
    for n in range(3):
        Image.fromarray(np.zeros((32, 40), np.uint8)).save(tmp_path / f"{n}.png")
    assert read_image(tmp_path).shape == (3, 32, 40)
    monkeypatch.setattr(common, "MAX_VOXELS", 3 * 32 * 40 - 1)
    with pytest.raises(DimensionError, match=r"stack of slices is too large: 3x32x40"):
        read_image(tmp_path)


def test_one_tiny_slice_in_a_stack_is_named(tmp_path):
    for n in range(3):
        Image.fromarray(np.zeros((32, 40), np.uint8)).save(tmp_path / f"{n}.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "9.png")
    assert read_image(tmp_path / "0.png").shape == (32, 40)
    with pytest.raises(DimensionError, match="too small") as info:
        read_image(tmp_path)
    assert info.value.path.endswith("9.png")


@pytest.mark.parametrize("fmt", ["TIFF", "GIF", "BMP"])
def test_other_image_formats_named_png_are_refused(tmp_path, fmt):
    path = tmp_path / "renamed.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(path, format=fmt)
    with pytest.raises(UnsupportedFormatError, match=f"holds {fmt} data, not PNG or JPEG"):
        read_image(path)


def test_animated_png_is_refused(tmp_path):
    frames = [Image.fromarray(np.full((40, 40), v, np.uint8)) for v in (0, 100, 200)]
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedFormatError, match="animated PNG with 3 frames"):
        read_image(tmp_path / "a.png")


# ------------------------------------------------------------------------------- NIfTI / ITK geometry


@pytest.mark.parametrize("pixdim", [
    [0.8, 0.8, 0.0], [0.8, -0.8, 2.5], [np.nan, 0.8, 2.5], [0.8, 0.8, np.inf],
])
def test_bad_nifti_pixdim_is_refused_even_with_a_valid_sform(tmp_path, pixdim):
    """nibabel would silently replace 0 by 1 and -x by x; other software reads pixdim too."""
    data = np.full((SIZE, SIZE, 3), -1000, np.int16)
    path = write_nifti(tmp_path / "bad.nii.gz", data, pixdim=[1.0, *pixdim, 1, 1, 1, 1])
    assert nib.load(str(path)).header["sform_code"] > 0
    with pytest.raises(UnreadableFileError, match=r"pixdim .* must be positive and finite"):
        read_image(path)


def test_2d_nifti_ignores_the_unused_third_pixdim(tmp_path):
    path = write_nifti(tmp_path / "slice.nii", np.full((SIZE, SIZE), -1000, np.int16),
                       pixdim=[1.0, 0.7, 0.7, 0.0, 1, 1, 1, 1])
    assert read_image(path).shape == (1, SIZE, SIZE)


@pytest.mark.parametrize("spacing", ["1 -1 1", "1 0 1", "1 nan 1"])
def test_bad_metaimage_spacing_is_refused(tmp_path, spacing):
    path = tmp_path / "bad.mha"
    path.write_bytes(
        b"ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        b"TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\nElementSpacing = " + spacing.encode()
        + b"\nDimSize = 32 32 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n" + bytes(32 * 32 * 2 * 2)
    )
    with pytest.raises(UnreadableFileError, match="must be positive and finite"):
        read_image(path)


@pytest.mark.parametrize("shape, ok", [
    ((32, 32, 1), True), ((40, 32, 200), True), ((31, 40, 10), False), ((1, 64, 64), False),
])
def test_volume_axial_slice_must_be_32x32(tmp_path, shape, ok):
    """(x, y, z) RAS storage: the axial slice is x by y; a single sagittal slice is refused."""
    path = write_nifti(tmp_path / "v.nii.gz", np.full(shape, -1000, np.int16))
    if ok:
        assert read_image(path).shape == shape[::-1]
    else:
        with pytest.raises(DimensionError, match="axial slice is too small"):
            read_image(path)


def test_nifti_voxel_budget_is_checked_before_reading(tmp_path, monkeypatch):
    path = write_nifti(tmp_path / "v.nii", np.full((SIZE, SIZE, 4), -1000, np.int16))
    monkeypatch.setattr(common, "MAX_VOXELS", SIZE * SIZE * 4 - 1)
    monkeypatch.setattr(nib.Nifti1Image, "get_fdata", lambda *a, **k: pytest.fail("data read"))
    with pytest.raises(DimensionError, match=rf"too large: {SIZE}x{SIZE}x4 "):
        read_image(path)


# ------------------------------------------------------------------------------- DICOM series


def _positions(steps):
    return list(np.concatenate([[0.0], np.cumsum(steps)]))


@pytest.mark.parametrize("zs, outcome", [
    (_positions([2.5] * 5), "ok"),
    # 0.625 mm slices with positions rounded to 0.1 mm: steps 0.6 / 0.7 mm (within 0.1 mm)
    ([round(0.625 * k, 1) for k in range(8)], "ok"),
    (_positions([2.5, 2.5, 2.7, 2.5]), "ok"),  # 8 %: accepted, but recorded as irregular
    (_positions([2.5, 2.5, 2.9, 2.5]), "gap"),  # 16 %
    (_positions([2.5, 5.0, 2.5, 2.5]), "gap"),  # one missing slice
    (_positions([2.5, 2.5, 1.0, 1.5, 2.5, 2.5]), "uneven"),  # overlapping positions
])
def test_slice_spacing_tolerance(tmp_path, zs, outcome):
    folder = write_series(tmp_path / "s", zs)
    if outcome == "ok":
        img = read_image(folder)
        assert img.shape[0] == len(zs)
        irregular = np.ptp(np.diff(zs)) > 0.01 * np.median(np.diff(zs)) + 1e-3
        assert ("irregular_slice_spacing" in img.metadata) == irregular
    else:
        with pytest.raises(DimensionError, match=outcome) as info:
            read_image(folder)
        assert info.value.path == str(folder) and "median step" in info.value.reason


def test_duplicate_positions_name_the_files_and_position(tmp_path):
    folder = write_series(tmp_path / "s", [0, 2.5, 5, 5, 7.5, 7.5])
    expected = r": 4 images share a slice position \(IM\d+\.dcm and IM\d+\.dcm both at 5\.00 mm"
    with pytest.raises(DimensionError, match=expected):
        read_image(folder)


@pytest.mark.parametrize("attrs, match", [
    ({"RescaleSlope": None}, "no valid RescaleSlope"),
    ({"RescaleIntercept": None}, "no valid RescaleIntercept"),
    ({"RescaleSlope": 0}, "invalid RescaleSlope 0"),
])
def test_rescale_is_required(tmp_path, attrs, match):
    path = write_dicom(tmp_path / "a.dcm", **attrs)
    with pytest.raises(UnsupportedFormatError, match=match):
        read_image(path)
    folder = write_series(tmp_path / "s", [0, 2.5, 5], **attrs)
    with pytest.raises(UnsupportedFormatError, match=match):
        read_image(folder)


def test_rescale_is_applied(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", RescaleSlope=2, RescaleIntercept=-2048)
    img = read_image(path)  # stored = HU + 1024, so 2 * stored - 2048 = 2 * HU
    assert set(np.unique(img.array)) == {-2000.0, 2.0 * HU_DISC}


@pytest.mark.filterwarnings("ignore:Invalid value for VR DS")  # pydicom warns while writing "nan"
@pytest.mark.parametrize("spacing", [[0, 0.8], [0.75, -0.8], ["nan", 0.8]])
def test_bad_dicom_pixel_spacing_is_refused(tmp_path, spacing):
    with pytest.raises(UnreadableFileError, match=r"PixelSpacing .* must be positive"):
        read_image(write_dicom(tmp_path / "a.dcm", PixelSpacing=spacing))


def test_dicom_without_pixel_spacing_still_reads_without_spacing(tmp_path):
    img = read_image(write_dicom(tmp_path / "a.dcm", PixelSpacing=None))
    assert img.spacing is None and img.shape == (SIZE, SIZE)
    assert read_image(write_dicom(tmp_path / "b.dcm")).spacing == pytest.approx(PIXEL_SPACING)


def test_tiny_dicom_is_refused(tmp_path):
    with pytest.raises(DimensionError, match="too small: 16x16"):
        read_image(write_dicom(tmp_path / "a.dcm", rows=16, cols=16))


def test_secondary_capture_series_is_skipped_and_explained(tmp_path):
    sc = "1.2.840.10008.5.1.4.1.1.7"
    folder = write_series(tmp_path / "shots", [0, 2.5, 5], SOPClassUID=sc)
    for read in (read_image, find_cases):
        with pytest.raises(NotCTError, match="Secondary Capture"):
            read(folder)


def test_missing_modality_and_sop_class_is_not_ct(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", Modality=None, SOPClassUID=None)
    with pytest.raises(NotCTError, match="without Modality and SOPClassUID"):
        read_image(path)


# ------------------------------------------------------------------------------- catch-all


@pytest.mark.parametrize("raised, expected, match", [
    (ValueError("deep\ninside a decoder"), UnreadableFileError, r"cannot be read \(ValueError: deep inside"),
    (MemoryError(), DimensionError, "not enough memory"),
])
def test_unexpected_reader_failures_stay_typed_and_on_one_line(tmp_path, monkeypatch, caplog, raised, expected,
                                                               match):
    import covidseg.io.readers as readers

    def broken(path):
        raise raised

    monkeypatch.setattr(readers, "read_nifti", broken)
    path = write_nifti(tmp_path / "v.nii.gz", np.full((SIZE, SIZE, 2), -1000, np.int16))
    with caplog.at_level(logging.DEBUG, logger="covidseg.io"):
        with pytest.raises(expected, match=match) as info:
            read_image(path)
    assert "\n" not in str(info.value) and info.value.path == str(path)
    assert info.value.__cause__ is raised
    [case] = find_cases(path)
    from covidseg.io import read_case

    with pytest.raises(expected):
        read_case(case)


def test_a_non_path_argument_is_a_type_error():
    with pytest.raises(TypeError):
        read_image(None)


def test_control_characters_from_the_file_never_split_the_error_line(tmp_path, monkeypatch):
    """Strings copied from a corrupt file (a DICOM UID with a newline byte) stay on one line."""
    import covidseg.io.readers as readers
    from covidseg.errors import NonFiniteError

    def broken(path):
        raise NonFiniteError("transfer syntax 1.2.840\n10008\r.1", path)

    monkeypatch.setattr(readers, "read_nifti", broken)
    path = write_nifti(tmp_path / "v.nii.gz", np.full((SIZE, SIZE, 2), -1000, np.int16))
    with pytest.raises(NonFiniteError) as info:
        read_image(path)
    assert str(info.value) == f"{path}: transfer syntax 1.2.840 10008 .1"


@pytest.mark.parametrize("odd", [0, 2])  # the first file scanned, or one in the middle
def test_one_non_ct_image_in_a_ct_series_is_named(tmp_path, odd):
    folder = write_series(tmp_path / "s", [0, 2.5, 5, 7.5])
    victim = sorted(folder.iterdir())[odd]
    write_dicom(victim, z=float(odd), instance=odd + 1, modality="MR", sop_class="1.2.840.10008.5.1.4.1.1.4")
    with pytest.raises(NotCTError, match=rf": {victim.name}: DICOM modality is 'MR'") as info:
        read_image(folder)
    assert info.value.path == str(folder)
    [case] = find_cases(folder)  # the series is still found (3 of its 4 images are CT) ...
    assert case.kind == "dicom-series"


def test_unknown_sop_class_is_named_once(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", sop_class="1.2.3.4.5")
    with pytest.raises(NotCTError, match=r"DICOM object of SOP class 1\.2\.3\.4\.5, not a CT image$"):
        read_image(path)


@pytest.mark.parametrize("n_slices, ok", [(40, True), (5, False)])
def test_sagittal_dicom_series_needs_enough_slices_for_axial_slices(tmp_path, n_slices, ok):
    """Sagittal images (rows toward feet, columns toward posterior) stacked left to right:
    each axial slice is (posterior x left) = (columns x number of images)."""
    sagittal = {"ImageOrientationPatient": [0, 1, 0, 0, 0, -1]}
    folder = tmp_path / "sag"
    folder.mkdir()
    for k in range(n_slices):
        write_dicom(folder / f"{k}.dcm", z=0.0, instance=k + 1, ImagePositionPatient=[2.5 * k, 0, 0], **sagittal)
    if ok:
        img = read_image(folder)
        assert img.shape == (SIZE, SIZE, n_slices) and img.orientation == ("S", "P", "L")
    else:
        with pytest.raises(DimensionError, match=rf"axial slice is too small: {n_slices}x{SIZE}"):
            read_image(folder)
