"""Every hostile input of the corpus is refused with one clear typed line, or read correctly,
through both reader entry points: ``read_image`` (API, GUI) and ``find_cases`` +
``read_case`` (what ``covidseg predict`` runs)."""

from __future__ import annotations

import re
import struct
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from covidseg.errors import (
    DimensionError,
    EmptyFolderError,
    InputError,
    NonFiniteError,
    NotCTError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from covidseg.io import find_cases, read_case, read_image

from .corpus import (
    BOMB_SIDE,
    HU_BACKGROUND,
    HU_DISC,
    N_SLICES,
    ONE_LUNG_SPACING,
    WHITE_LUNG_SPACING,
    PIXEL_SPACING,
    PNG16_MAX,
    SIZE,
    SLICE_STEP,
    _disc,
    _main,
    make_corpus,
    one_lung_volume,
    white_lung_volume,
    write_dicom,
    write_nifti,
)

# The error type each refused case must raise (a new corpus case must be classified here).
ERROR_TYPES = {
    "empty-file": UnreadableFileError,
    "truncated-png": UnreadableFileError,
    "truncated-jpg": UnreadableFileError,
    "truncated-nifti": UnreadableFileError,
    "truncated-dicom": UnreadableFileError,
    "text-as-nifti": UnreadableFileError,
    "random-bytes-dcm": UnreadableFileError,
    "nifti-nan-inf": NonFiniteError,
    "nifti-zero-spacing": UnreadableFileError,
    "nifti-negative-spacing": UnreadableFileError,
    "nifti-singular-affine": UnreadableFileError,
    "nifti-4d": DimensionError,
    "nifti-1d": DimensionError,
    "nifti-one-pixel-row": DimensionError,
    "nifti-huge-header": DimensionError,
    "mha-negative-spacing": UnreadableFileError,
    "dicom-zero-pixel-spacing": UnreadableFileError,
    "dicom-mr": NotCTError,
    "dicom-secondary-capture": NotCTError,
    "dicom-series-gap": DimensionError,
    "dicom-series-duplicate": DimensionError,
    "dicom-series-mixed-size": UnsupportedFormatError,
    "dicom-series-mixed-spacing": UnsupportedFormatError,
    "dicom-series-no-rescale": UnsupportedFormatError,
    "dicom-localizer-file": UnsupportedFormatError,
    "dicom-series-localizers-only": UnsupportedFormatError,
    "dicom-series-mixed-orientation": UnsupportedFormatError,
    "dicom-series-gantry-tilt": UnsupportedFormatError,
    "dicom-damaged-rle": UnreadableFileError,
    "dicom-unknown-transfer-syntax": UnreadableFileError,
    "dicom-enhanced-no-rescale": UnsupportedFormatError,
    "dicom-enhanced-gantry-tilt": UnsupportedFormatError,
    "png-rgba-translucent": UnsupportedFormatError,
    "png-1x1": DimensionError,
    "png-bomb": DimensionError,
    "truncated-nifti-uncompressed": UnreadableFileError,
    "gzip-garbage-as-nifti": UnreadableFileError,
    "unsupported-file": UnsupportedFormatError,
    "dicom-seg": NotCTError,
    "dicom-multiframe-ct": UnsupportedFormatError,
    "nrrd-4d": DimensionError,
    "mha-nan": NonFiniteError,
    "truncated-nrrd": UnreadableFileError,
    "mha-singular-direction": UnreadableFileError,
    "nifti-empty-axis": DimensionError,
    "empty-folder": EmptyFolderError,
    "unrelated-files": EmptyFolderError,
}

with tempfile.TemporaryDirectory() as _tmp:  # names only, for parametrization (0.3 s)
    _CASES = make_corpus(Path(_tmp))
ERROR_NAMES = [c.name for c in _CASES if c.expect == "error"]
OK_NAMES = [c.name for c in _CASES if c.expect == "ok"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile")
    return {c.name: c for c in make_corpus(root)}


def _via_read_image(path: Path):
    return read_image(path)


def _via_find_cases(path: Path):
    """What `covidseg predict PATH` does: discover the cases, then read each one."""
    return [read_case(case) for case in find_cases(path)]


ENTRY_POINTS = {"read_image": _via_read_image, "find_cases+read_case": _via_find_cases}


# ------------------------------------------------------------------------------- the corpus


def test_corpus_is_well_formed_small_and_repeatable(tmp_path):
    first = make_corpus(tmp_path)
    again = make_corpus(tmp_path)  # rewriting in place must work and give the same cases
    assert [(c.name, c.path, c.expect, c.match) for c in first] == \
           [(c.name, c.path, c.expect, c.match) for c in again]
    names = [c.name for c in first]
    assert len(names) == len(set(names))
    for c in first:
        assert c.expect in ("ok", "error") and c.path.exists(), c.name
        assert bool(c.match) == (c.expect == "error"), c.name
        re.compile(c.match)
    assert set(ERROR_TYPES) == set(ERROR_NAMES), "classify every error case in ERROR_TYPES"
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert on_disk < 1_000_000, on_disk  # the 20000² PNG bomb included


def test_corpus_command_line_prints_a_table(tmp_path, capsys):
    assert _main([str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "png-bomb" in out and "dicom-series-gap" in out and f"{len(_CASES)} cases" in out
    assert (tmp_path / "out" / "bomb.png").is_file()
    assert _main([]) == 2


# ------------------------------------------------------------------------------- refused


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("name", ERROR_NAMES)
def test_error_case_is_refused_with_one_typed_line(corpus, name, entry):
    case = corpus[name]
    with pytest.raises(InputError) as info:
        ENTRY_POINTS[entry](case.path)
    err = info.value
    assert type(err) is ERROR_TYPES[name], f"{type(err).__name__}: {err}"
    message = str(err)
    assert "\n" not in message and "\r" not in message
    assert re.search(case.match, message), message
    # names the input given (a DICOM series: its folder, the offending file in the reason)
    assert err.path == str(case.path)
    assert message.startswith(f"{case.path}: ") and err.reason
    assert len(message) < 600, message


# ------------------------------------------------------------------------------- read correctly


def _check_sane(img, case):
    a = img.array
    assert a.dtype == np.float32 and a.flags.c_contiguous and np.isfinite(a).all()
    assert img.source == case.path
    if img.spacing is not None:
        assert len(img.spacing) == a.ndim and all(s > 0 for s in img.spacing)


def _expect_png16(img):
    assert img.kind == "image" and img.shape == (SIZE, SIZE) and img.spacing is None
    assert img.array.min() == 0 and img.array.max() == PNG16_MAX  # kept as stored, not 8-bit
    assert img.metadata["bit_depth"] == 16 and not img.is_hu


def _expect_grey(img, transparent_rows=0):
    assert img.kind == "image" and img.shape == (SIZE, SIZE) and not img.is_hu
    top, rest = img.array[:transparent_rows], img.array[transparent_rows:]
    assert set(np.unique(rest)) == {30.0, 200.0}  # opaque pixels: their grey exactly
    assert not top.any()  # fully transparent pixels: black, not the white stored beneath
    assert img.metadata.get("transparent_pixels", 0) == transparent_rows * SIZE


def _expect_jpeg(img):
    """Pillow reads the content, not the name: JPEG data named .png is a JPEG image."""
    assert img.kind == "image" and img.shape == (SIZE, SIZE) and img.metadata["format"] == "JPEG"
    assert np.abs(img.array - np.where(img.array > 115, 200, 30)).max() < 25  # lossy, near 30/200


def _expect_ct_volume(img, kind, slices, spacing):
    assert img.kind == kind and img.is_hu and img.shape == (slices, SIZE, SIZE)
    np.testing.assert_allclose(img.spacing, spacing, rtol=1e-5)
    assert set(np.unique(img.array)) == {float(HU_BACKGROUND), float(HU_DISC)}
    assert img.orientation == ("S", "P", "L")


def _expect_one_lung(img):
    """Read like any volume: (z, y, x) = (S, P, L) with the left lung on the high-x side."""
    data, _, lung = one_lung_volume()
    assert img.kind == "nifti" and img.is_hu and img.orientation == ("S", "P", "L")
    np.testing.assert_allclose(img.spacing, ONE_LUNG_SPACING[::-1], rtol=1e-5)
    np.testing.assert_array_equal(img.array, data.transpose(2, 1, 0))
    assert lung.transpose(2, 1, 0)[..., SIZE // 2:].sum() == lung.sum()


def _expect_white_lung(img):
    """Read like any volume, the consolidated lung on the patient's right (low x)."""
    data, _, right, _ = white_lung_volume()
    assert img.kind == "nifti" and img.is_hu and img.orientation == ("S", "P", "L")
    np.testing.assert_allclose(img.spacing, WHITE_LUNG_SPACING[::-1], rtol=1e-5)
    np.testing.assert_array_equal(img.array, data.transpose(2, 1, 0))
    assert right.transpose(2, 1, 0)[..., :32].sum() == right.sum()


OK_EXPECTATIONS = {
    "nifti-one-lung": _expect_one_lung,
    "nifti-white-lung": _expect_white_lung,
    "nifti-4d-one-volume": lambda img: _expect_ct_volume(img, "nifti", 4, (SLICE_STEP, 0.8, 0.8)),
    "png-16bit": _expect_png16,
    "png-rgba-opaque": _expect_grey,
    "png-rgba-transparent": lambda img: _expect_grey(img, transparent_rows=4),
    "unicode-image": _expect_grey,
    "jpg-named-png": _expect_jpeg,
    "unicode-dicom-series": lambda img: _expect_ct_volume(
        img, "dicom-series", N_SLICES, (SLICE_STEP, *PIXEL_SPACING)),
    "dicom-series-with-localizers": lambda img: (
        _expect_ct_volume(img, "dicom-series", N_SLICES, (SLICE_STEP, *PIXEL_SPACING)),
        _expect_equal(img.metadata["skipped_localizers"], ["SCOUT1.dcm", "SCOUT2.dcm"])),
    "dicom-series-rle": lambda img: (
        _expect_ct_volume(img, "dicom-series", N_SLICES, (SLICE_STEP, *PIXEL_SPACING)),
        _expect_equal(img.metadata["transfer_syntax"], "1.2.840.10008.1.2.5")),
    "dicom-enhanced-ct": lambda img: (
        _expect_ct_volume(img, "dicom-series", N_SLICES, (SLICE_STEP, *PIXEL_SPACING)),
        _expect_equal((img.metadata["frames"], img.metadata["sop_class"]), (N_SLICES, "Enhanced CT Image Storage"))),
}


def _expect_equal(got, want):
    assert got == want, (got, want)


def test_every_ok_case_has_expectations():
    assert set(OK_EXPECTATIONS) == set(OK_NAMES)


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("name", OK_NAMES)
def test_ok_case_is_read_correctly(corpus, name, entry):
    case = corpus[name]
    result = ENTRY_POINTS[entry](case.path)
    images = result if isinstance(result, list) else [result]
    assert len(images) == 1
    _check_sane(images[0], case)
    OK_EXPECTATIONS[name](images[0])


def test_unicode_dicom_series_slices_are_in_position_order(corpus):
    img = read_image(corpus["unicode-dicom-series"].path)
    names = [Path(f).name for f in img.metadata["files"]]
    assert names == sorted(names, reverse=True)  # the files were written last slice first
    assert img.affine[2, 0] == pytest.approx(SLICE_STEP)  # z increases toward superior


# ------------------------------------------------------------------------------- the PNG bomb


def test_png_bomb_is_refused_from_its_header_without_allocating(corpus):
    path = corpus["png-bomb"].path
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(DimensionError, match=rf"{BOMB_SIDE}x{BOMB_SIDE} pixels.*before decoding"):
            read_image(path)
        with pytest.raises(DimensionError, match="too large"):
            _via_find_cases(path)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 50e6, f"peak {peak / 1e6:.1f} MB: the image was decoded"
    assert time.perf_counter() - t0 < 10  # decoding would take ~30 s on this machine


def test_png_bomb_is_a_valid_png(corpus):
    """Streamed check (1 MB at a time): chunk CRCs, one complete zlib stream (its Adler-32
    verified by zlib), exactly side rows of 1 filter byte + side/8 bytes."""
    data = corpus["png-bomb"].path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    inflate, total, pos, kinds = zlib.decompressobj(), 0, 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body)
        kinds.append(kind)
        while kind == b"IDAT" and body:
            total += len(inflate.decompress(body, 1 << 20))
            body = inflate.unconsumed_tail
        pos += 12 + n
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert struct.unpack(">II", data[16:24]) == (BOMB_SIDE, BOMB_SIDE)
    assert inflate.eof and total == BOMB_SIDE * (1 + (BOMB_SIDE + 7) // 8)


def test_pillow_decompression_bomb_error_is_a_typed_error(corpus, monkeypatch):
    """If covidseg's own limit were lifted, Pillow's guard still ends in a DimensionError."""
    from PIL import Image

    import covidseg.io._common as common

    monkeypatch.setattr(common, "MAX_PIXELS", 10**10)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", SIZE * SIZE // 3)  # Pillow raises beyond twice this
    with pytest.raises(DimensionError, match="too large") as info:
        read_image(corpus["unicode-image"].path)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------- mutated files


def _seed_files(folder: Path) -> dict[str, bytes]:
    from PIL import Image

    picture = Image.fromarray(np.where(_disc() > 0, 200, 30).astype(np.uint8))
    picture.save(folder / "s.png")
    picture.save(folder / "s.jpg", quality=90)
    return {
        ".dcm": write_dicom(folder / "s.dcm").read_bytes(),
        ".nii": write_nifti(folder / "s.nii", np.repeat(_disc()[:, :, None], 3, axis=2)).read_bytes(),
        ".png": (folder / "s.png").read_bytes(),
        ".jpg": (folder / "s.jpg").read_bytes(),
    }


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns about invalid values it still reads
@pytest.mark.parametrize("suffix", [".dcm", ".nii", ".png", ".jpg"])
def test_randomly_damaged_files_never_escape_the_typed_errors(tmp_path, suffix):
    """1-5 random header bytes overwritten, 60 times per format (seeded): each file is either read
    into a sane array or refused by an anticipated check (not the reader's catch-all for
    unforeseen library failures), on one line."""
    data = _seed_files(tmp_path)[suffix]
    # damage the headers of DICOM and NIfTI (their pixel bytes are just values)
    span = {".dcm": len(data) - SIZE * SIZE * 2, ".nii": 352}.get(suffix, len(data))
    rng = np.random.default_rng(7)
    outcomes = {"read": 0, "refused": 0}
    for i in range(60):
        damaged = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            damaged[int(rng.integers(0, span))] = int(rng.integers(0, 256))
        path = tmp_path / f"{i}{suffix}"
        path.write_bytes(bytes(damaged))
        try:
            img = read_image(path)
        except InputError as err:
            assert "cannot be read (" not in err.reason, f"unanticipated failure: {err}"
            assert "\n" not in str(err) and err.path == str(path)
            outcomes["refused"] += 1
        else:
            assert img.array.dtype == np.float32 and np.isfinite(img.array).all()
            assert min(img.array.shape[-2:]) >= 32
            outcomes["read"] += 1
    assert outcomes["read"] + outcomes["refused"] == 60
